"""mlp-weights: scikit-learn's MLP-weights example as a regression suite.

Data flows one way: scenario -> load -> train -> snapshot -> draw -> compare
-> verdict, one module per step. The public names below are imported on
first use, so that ``mlp-weights --help`` does not pay for numpy, scikit-learn
and matplotlib.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "Dataset": "pipeline.data",
    "load_dataset": "pipeline.data",
    "BaselineError": "core.errors",
    "DataUnavailableError": "core.errors",
    "MLPWeightsError": "core.errors",
    "UsageError": "core.errors",
    "STYLE": "pipeline.plot",
    "plot_weight_grid": "pipeline.plot",
    "render_weights": "pipeline.plot",
    "save_figure": "pipeline.plot",
    "SCENARIOS": "pipeline.scenarios",
    "Scenario": "pipeline.scenarios",
    "get_scenario": "pipeline.scenarios",
    "Snapshot": "baselines.snapshot",
    "compare_training": "baselines.snapshot",
    "load_snapshot": "baselines.snapshot",
    "save_snapshot": "baselines.snapshot",
    "TrainingResult": "pipeline.training",
    "train": "pipeline.training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlp_weights' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
