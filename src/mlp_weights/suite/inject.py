"""Small, deliberate changes to scikit-learn or matplotlib, for the self-test.

The suite must show that it fails, and in the right layer: ``training``
when scikit-learn trains differently, ``rendering`` when matplotlib draws
differently. These patches stand in for such upgrades. They are applied only
through ``pytest --mlp-inject=KIND``, and undone when that pytest run ends,
so that the suite can test itself inside one process.
"""

from __future__ import annotations

#: A learning rate 1% off: measured on the mnist-sample scenario, it moves the
#: weights by up to 14% but the weight image by RMS 1.9, under pytest-mpl's
#: default tolerance of 2, and leaves the test score unchanged.
LEARNING_RATE_FACTOR = 1.01

#: Grey levels drawn with a gamma of 1.1 instead of 1: a subtle change of
#: the kind a colour-mapping or resampling change in matplotlib makes.
DRAWING_GAMMA = 1.1


_ACTIVE: dict[str, object] = {}


def active_injections() -> tuple[str, ...]:
    """The injections in force in this process (part of the fit cache's key)."""
    return tuple(sorted(_ACTIVE))


def inject_training_change():
    """Make scikit-learn's SGD solver use a learning rate 1% off; return the undo."""
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    original = SGDOptimizer.__init__

    def patched(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.learning_rate_init *= LEARNING_RATE_FACTOR
        self.learning_rate *= LEARNING_RATE_FACTOR

    SGDOptimizer.__init__ = patched

    def undo():
        SGDOptimizer.__init__ = original

    return undo


def inject_drawing_change():
    """Make matplotlib's ``matshow`` draw grey levels with a slight gamma; return the undo."""
    import matplotlib
    from matplotlib.axes import Axes

    original = Axes.matshow

    def patched(self, Z, **kwargs):
        cmap = kwargs.get("cmap")
        if isinstance(cmap, str):
            cmap = matplotlib.colormaps[cmap].copy()
            cmap.set_gamma(DRAWING_GAMMA)
            kwargs["cmap"] = cmap
        return original(self, Z, **kwargs)

    Axes.matshow = patched

    def undo():
        Axes.matshow = original

    return undo


INJECTIONS = {"training": inject_training_change, "drawing": inject_drawing_change}


def inject(name: str) -> None:
    """Apply one injection (once) for this process, until :func:`undo_all`."""
    if name not in _ACTIVE:
        _ACTIVE[name] = INJECTIONS[name]()
        _forget_drawings()


def undo_all() -> None:
    """Undo every injection, newest first."""
    for name in reversed(list(_ACTIVE)):
        _ACTIVE.pop(name)()
        _forget_drawings()


def _forget_drawings() -> None:
    from mlp_weights.pipeline.plot import forget_drawings

    forget_drawings()
