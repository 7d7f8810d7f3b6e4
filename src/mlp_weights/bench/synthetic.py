"""The full-MNIST-shaped synthetic array that ``mlp-weights bench`` measures besides the scenarios.

70,000 x 784 random ``uint8`` pixels and labels 0-9 from a seeded
``RandomState``, trained with the full ``mnist`` scenario's settings.
"""

from __future__ import annotations

from mlp_weights.pipeline.scenarios import SCENARIOS, Scenario

SYNTHETIC_SHAPE = (70_000, 784)
SYNTHETIC_SEED = 0
SYNTHETIC_NAME = f"synthetic-{SYNTHETIC_SHAPE[0]}x{SYNTHETIC_SHAPE[1]}"


def synthetic_scenario() -> Scenario:
    """The full ``mnist`` scenario's settings, for the synthetic array."""
    return SCENARIOS["mnist"].with_overrides(
        name=SYNTHETIC_NAME,
        description="random full-MNIST-shaped uint8 array (benchmark only)",
        needs_network=False,
        floors={},
    )


def make_synthetic(shape=SYNTHETIC_SHAPE, seed=SYNTHETIC_SEED):
    """A seeded random ``Dataset`` of ``uint8`` pixels and labels 0-9."""
    import numpy as np

    from mlp_weights.pipeline.data import Dataset

    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, size=shape, dtype=np.uint8)
    y = rng.randint(0, 10, size=shape[0], dtype=np.uint8)
    return Dataset(SYNTHETIC_NAME, X, y)


def bench_scenario(name: str) -> Scenario:
    """The scenario ``name``, or the synthetic array's."""
    return synthetic_scenario() if name == SYNTHETIC_NAME else SCENARIOS[name]
