"""Small, deliberate changes to scikit-learn or matplotlib, for the self-test.

The suite must show that it fails, and in the right layer: ``training``
when scikit-learn trains differently, ``rendering`` when matplotlib draws
differently. These patches stand in for such upgrades. They are applied only
through ``pytest --mlp-inject=KIND``, and undone when that pytest run ends,
so that the suite can test itself inside one process.

Runs nest: a self-test starts a pytest run inside the run that holds it
(``pytester``), possibly with other injections. Each run is one
:class:`Frame` on a stack: its start (:func:`begin`) suspends the injections
in force that it did not ask for and applies those it asked for that are not
in force; its end (:func:`end`) undoes what it applied and applies again what
it suspended. A run therefore sees exactly its own injections, and leaves
the run around it as it found it. The fit cache of
:mod:`mlp_weights.suite.checks` is keyed by :func:`active_injections`. The
drawings of :mod:`mlp_weights.pipeline.plot` (the one figure cache) are set
aside when the drawing change comes into force or leaves it, and come back
when it leaves or comes back: a figure is drawn again only when matplotlib
draws it differently.

Each injection patches an attribute of its own, so one can be undone while
another stays in force.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

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


@dataclass(eq=False)
class Frame:
    """One run's injections: what it asked for, applied, and suspended.

    ``applied`` holds the names this run applied itself (the others it asked
    for were in force already, applied by a run around it); ``suspended``
    the names in force at its start that it did not ask for, in the order
    they were applied.
    """

    asked: tuple[str, ...]
    applied: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)


#: What is in force now, in the order applied: name -> its undo.
_IN_FORCE: dict[str, Callable[[], None]] = {}
#: The runs under way, outermost first.
_STACK: list[Frame] = []
#: Frames begun by :func:`inject`, ended by :func:`undo_all`.
_LOOSE: list[Frame] = []
#: The injections that change how matplotlib draws.
CHANGES_DRAWING = ("drawing",)
#: The figure cache's drawings made under the other state of
#: :data:`CHANGES_DRAWING`: (those in force when drawn) -> (the cache they
#: were in, its entries). The self-tests' inner runs drew 31 weight grids
#: (6.1 s of CPU) when every change of injection forgot the drawings; 6
#: (1.3 s) with them set aside.
_DRAWINGS_SET_ASIDE: dict[tuple[str, ...], tuple[dict, dict]] = {}


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
    frame = Frame(asked, suspended=[name for name in _IN_FORCE if name not in asked])
    for name in reversed(frame.suspended):
        _undo(name)
    for name in asked:
        if name not in _IN_FORCE:
            _apply(name)
            frame.applied.append(name)
    _STACK.append(frame)
    return frame


def end(frame: Frame) -> None:
    """End a run begun with :func:`begin`: undo what it applied, restore what it suspended.

    Runs begun inside it and not ended (a run that stopped before its end)
    end with it, innermost first. A frame that has ended already is left alone.
    """
    if frame not in _STACK:
        return
    while _STACK[-1] is not frame:
        end(_STACK[-1])
    _STACK.pop()
    for name in reversed(frame.applied):
        _undo(name)
    for name in frame.suspended:
        _apply(name)


@contextlib.contextmanager
def injected(*names: str) -> Iterator[Frame]:
    """A block that sees exactly the injections ``names`` (none: the libraries as installed)."""
    frame = begin(names)
    try:
        yield frame
    finally:
        end(frame)


def inject(name: str) -> None:
    """Add one injection to what is in force, until :func:`undo_all`.

    For code outside a pytest run of the suite; a run uses :func:`begin`.
    """
    _LOOSE.append(begin((*_IN_FORCE, name)))


def undo_all() -> None:
    """Undo what :func:`inject` added, newest first; what runs applied stays in force."""
    while _LOOSE:
        end(_LOOSE.pop())


def _apply(name: str) -> None:
    before = _drawn_under()
    _IN_FORCE[name] = INJECTIONS[name]()
    _switch_drawings(before)


def _undo(name: str) -> None:
    before = _drawn_under()
    _IN_FORCE.pop(name)()
    _switch_drawings(before)


def _drawn_under() -> tuple[str, ...]:
    return tuple(name for name in active_injections() if name in CHANGES_DRAWING)


def _switch_drawings(before: tuple[str, ...]) -> None:
    """Set aside the drawings made under ``before``; bring back those of what is in force.

    Entries come back only into the cache they were taken from, so a cache
    put in place meanwhile (a test's own) receives nothing it did not hold.
    """
    from mlp_weights.pipeline import plot

    now = _drawn_under()
    if now == before:
        return
    cache = plot._DRAWINGS
    _DRAWINGS_SET_ASIDE[before] = (cache, dict(cache))
    plot.forget_drawings()
    taken_from, entries = _DRAWINGS_SET_ASIDE.pop(now, (cache, {}))
    if taken_from is cache:
        cache.update(entries)
