"""Small, deliberate changes to scikit-learn or matplotlib, for the self-test.

The suite must show that it fails, and in the right layer: ``training``
when scikit-learn trains differently, ``rendering`` when matplotlib draws
differently. These patches stand in for such upgrades. They are applied only
through ``pytest --mlp-inject=KIND``, and undone when that pytest run ends,
so that the suite can test itself inside one process.

Runs nest: a self-test starts a pytest run inside the run that holds it
(``pytester``), possibly with other injections. Each run is one
:class:`Frame` on a stack: its start (:func:`begin`) puts in force exactly
the injections it asked for, undoing the others in force and applying
those it asked for that are not; its end (:func:`end`) puts back in force
what was at its start. A run therefore sees exactly its own injections, and
leaves the run around it as it found it. The fit cache of
:mod:`mlp_weights.suite.checks` is keyed by :func:`active_injections`; the
figure cache of :mod:`mlp_weights.pipeline.plot` by the drawing change in
force (:data:`~mlp_weights.pipeline.plot.drawing_changes`, which that
injection sets): a figure is drawn again only when matplotlib draws it
differently.

Each injection patches an attribute of its own, so one can be undone while
another stays in force.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: A learning rate 1% off: measured on the mnist-sample scenario, it moves the
#: weights by up to 14% but the weight image by RMS 1.9, under pytest-mpl's
#: default tolerance of 2, and leaves the test score unchanged.
LEARNING_RATE_FACTOR = 1.01

#: Grey levels drawn with a gamma of 1.1 instead of 1: a subtle change of
#: the kind a colour-mapping or resampling change in matplotlib makes.
DRAWING_GAMMA = 1.1


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

    from mlp_weights.pipeline import plot

    original, drawn_as = Axes.matshow, plot.drawing_changes

    def patched(self, Z, **kwargs):
        cmap = kwargs.get("cmap")
        if isinstance(cmap, str):
            cmap = matplotlib.colormaps[cmap].copy()
            cmap.set_gamma(DRAWING_GAMMA)
            kwargs["cmap"] = cmap
        return original(self, Z, **kwargs)

    Axes.matshow = patched
    # The figure cache keeps what was drawn before apart from what is drawn now.
    plot.drawing_changes = (*drawn_as, "drawing")

    def undo():
        Axes.matshow = original
        plot.drawing_changes = drawn_as

    return undo


INJECTIONS = {"training": inject_training_change, "drawing": inject_drawing_change}


@dataclass(eq=False)
class Frame:
    """One run: the injections in force at its start, which its end puts back in force."""

    before: tuple[str, ...]


#: What is in force now, in the order applied: name -> its undo.
_IN_FORCE: dict[str, Callable[[], None]] = {}
#: The runs under way, outermost first.
_STACK: list[Frame] = []


def active_injections() -> tuple[str, ...]:
    """The injections in force in this process now (part of the fit cache's key)."""
    return tuple(sorted(_IN_FORCE))


def begin(names: Iterable[str]) -> Frame:
    """Start a run that sees exactly the injections ``names``; :func:`end` it with the frame.

    Raises
    ------
    KeyError
        For a name that is not in :data:`INJECTIONS` (nothing changes then).
    """
    asked = tuple(dict.fromkeys(names))
    unknown = [name for name in asked if name not in INJECTIONS]
    if unknown:
        raise KeyError(f"unknown injection {unknown[0]!r}; known: {', '.join(INJECTIONS)}")
    frame = Frame(tuple(_IN_FORCE))
    _put_in_force(asked)
    _STACK.append(frame)
    return frame


def end(frame: Frame) -> None:
    """End a run begun with :func:`begin`: put back in force what was at its start.

    Runs begun inside it and not ended (a run that stopped before its end)
    end with it, innermost first. A frame that has ended already is left alone.
    """
    if frame not in _STACK:
        return
    while _STACK[-1] is not frame:
        end(_STACK[-1])
    _STACK.pop()
    _put_in_force(frame.before)


def _put_in_force(names: tuple[str, ...]) -> None:
    """Undo the injections in force that are not in ``names``, newest first; then apply
    those of ``names`` that are not in force, in their order."""
    for name in reversed([name for name in _IN_FORCE if name not in names]):
        _IN_FORCE.pop(name)()
    for name in names:
        if name not in _IN_FORCE:
            _IN_FORCE[name] = INJECTIONS[name]()
