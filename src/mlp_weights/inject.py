"""Small, deliberate changes to scikit-learn or matplotlib, for the self-test.

The suite must show that it fails, and in the right layer: ``training``
when scikit-learn trains differently, ``rendering`` when matplotlib draws
differently. These patches stand in for such upgrades. They are applied only
through ``pytest --mlp-inject=KIND`` and last for that process.
"""

from __future__ import annotations

#: A learning rate 1% off: FINDINGS shows it moves the weight image by less
#: than pytest-mpl's default tolerance and leaves the scores unchanged.
LEARNING_RATE_FACTOR = 1.01

#: Grey levels drawn with a gamma of 1.1 instead of 1: a subtle change of
#: the kind a colour-mapping or resampling change in matplotlib makes.
DRAWING_GAMMA = 1.1


def inject_training_change() -> None:
    """Make scikit-learn's SGD solver use a learning rate 1% off."""
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    original = SGDOptimizer.__init__

    def patched(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.learning_rate_init *= LEARNING_RATE_FACTOR
        self.learning_rate *= LEARNING_RATE_FACTOR

    SGDOptimizer.__init__ = patched


def inject_drawing_change() -> None:
    """Make matplotlib's ``matshow`` draw grey levels with a slight gamma."""
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


INJECTIONS = {"training": inject_training_change, "drawing": inject_drawing_change}
