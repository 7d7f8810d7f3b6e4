"""The suite's layers, in one table: what each checks and what it depends on.

Everything else is derived from :data:`LAYERS`: the pytest markers, the
blame of a failing layer (including the pipeline's, which combines two
others), the umbrella marker ``tox.ini`` and the self-test select with, and
the layers ``mlp-weights bisect`` runs for a library. Adding a layer is
adding one entry here (and its test).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Every layer test also carries this marker: ``-m layer`` runs the layers,
#: ``-m "not layer"`` the package's own tests.
UMBRELLA_MARKER = "layer"

#: Facts a training result depends on besides library versions: the BLAS
#: and its kernel and thread count, numpy's SIMD targets, the machine.
#: Identical pins can train differently when one of these differs
#: (scikit-learn issues 13108, 14603, 20516).
TRAINING_ENVIRONMENT = ("blas", "blas-kernel", "blas-threads", "numpy-simd", "platform", "machine")
#: Facts a drawing depends on besides library versions: the FreeType that
#: rasterises it (matplotlib issue 22099) and the machine.
RENDERING_ENVIRONMENT = ("freetype", "platform", "machine")


@dataclass(frozen=True)
class Layer:
    """One layer of the suite.

    Parameters
    ----------
    name : str
        The pytest marker and the name in every report.
    checks : str
        What the layer checks, in one line (the marker's help).
    libraries : tuple of str
        Packages whose version can move the layer, most likely first;
        keys of :func:`mlp_weights.core.environment.library_versions`.
    environment : tuple of str
        Other recorded facts that can move it; keys of
        :func:`mlp_weights.core.environment.environment_facts`.
    combines : tuple of str
        Layers whose work this one repeats end to end. Its blame is theirs
        when they ran; alone it cannot tell which of them moved.
    scenarios : tuple of str, optional
        The scenarios the layer applies to; all when ``None``.
    """

    name: str
    checks: str
    libraries: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()
    combines: tuple[str, ...] = ()
    scenarios: tuple[str, ...] | None = None

    def applies_to(self, scenario: str) -> bool:
        return self.scenarios is None or scenario in self.scenarios


def _combined(name: str, checks: str, combines: tuple[str, ...]) -> Layer:
    """A layer that repeats others end to end: it depends on what they depend on."""
    parts = [_BASE[c] for c in combines]
    libraries = tuple(dict.fromkeys(lib for p in parts for lib in p.libraries))
    environment = tuple(dict.fromkeys(fact for p in parts for fact in p.environment))
    return Layer(name, checks, libraries, environment, combines)


_BASE = {
    layer.name: layer
    for layer in (
        Layer(
            "training",
            "a fresh fit matches the stored numeric snapshot (draws nothing)",
            libraries=("scikit-learn", "numpy", "python"),
            environment=TRAINING_ENVIRONMENT,
        ),
        Layer(
            "rendering",
            "stored weights drawn by today's matplotlib match the baseline image (trains nothing)",
            libraries=("matplotlib", "numpy"),
            environment=RENDERING_ENVIRONMENT,
        ),
    )
}

#: The layers, in report order.
LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        _BASE["training"],
        _BASE["rendering"],
        _combined(
            "pipeline",
            "train and draw end to end, compared with the baseline image",
            ("training", "rendering"),
        ),
        Layer(
            "scores",
            "training and test scores stay above stated floors",
            libraries=("scikit-learn", "numpy", "python"),
            environment=TRAINING_ENVIRONMENT,
        ),
        Layer(
            "seed",
            "full MNIST matches the seed example's published output",
            libraries=("scikit-learn", "numpy", "python"),
            environment=TRAINING_ENVIRONMENT,
            scenarios=("mnist",),
        ),
    )
}


def layer_of_markers(markers) -> Layer | None:
    """The layer a test belongs to, from the names of its markers."""
    names = set(markers)
    for layer in LAYERS.values():
        if layer.name in names:
            return layer
    return None


def marker_lines() -> list[str]:
    """``"name: help"`` lines for ``config.addinivalue_line("markers", ...)``."""
    lines = [f"{layer.name}: {layer.checks}" for layer in LAYERS.values()]
    lines.append(f"{UMBRELLA_MARKER}: any of the layers ({', '.join(LAYERS)}); added automatically")
    return lines


def layers_for_library(library: str) -> list[str]:
    """The layers that isolate ``library``: those that depend on it and combine nothing.

    ``matplotlib`` -> rendering; ``scikit-learn`` -> training, scores, seed;
    ``numpy`` -> all of these.
    """
    return [
        layer.name for layer in LAYERS.values() if library in layer.libraries and not layer.combines
    ]
