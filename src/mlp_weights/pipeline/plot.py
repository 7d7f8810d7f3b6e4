"""Drawing: first-layer weights as a grid of grey images, as the seed does."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import matplotlib.style
import numpy as np
from matplotlib.figure import Figure

from mlp_weights.core.errors import UsageError
from mlp_weights.core.io import atomic_write

#: The seed's figure uses matplotlib's defaults; pytest-mpl would otherwise
#: apply its own default ("classic"). Every figure of this package, in the CLI,
#: in ``regen`` and in the tests, is made and saved inside this one style.
STYLE = "default"

#: Keyword arguments for ``Figure.savefig``. No "Software" stamp, so that the
#: bytes of a PNG depend on its pixels only (pytest-mpl does the same).
SAVEFIG_KWARGS = {"metadata": {"Software": None}}


def plot_weight_grid(
    coefs: np.ndarray,
    image_side: int,
    grid: tuple[int, int] = (4, 4),
    vscale: float = 0.5,
    fig: Figure | None = None,
) -> Figure:
    """Draw the first hidden units' input weights as a grid of images.

    Parameters
    ----------
    coefs : ndarray of shape (n_features, n_hidden)
        First-layer weights, ``MLPClassifier.coefs_[0]``.
    image_side : int
        Each unit's weights are shown as an ``image_side x image_side`` image.
    grid : (rows, cols)
        The first ``rows * cols`` hidden units are drawn.
    vscale : float
        The grey scale spans ``vscale`` times the global min and max of all
        weights, so every panel shares one scale.
    fig : Figure, optional
        Draw into this figure (e.g. one made by pyplot for ``--show``);
        by default a new Figure not managed by pyplot.

    Returns
    -------
    Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_weight_grid(np.zeros((64, 4)), image_side=8, grid=(2, 2))
    >>> len(fig.axes)
    4
    """
    coefs = np.asarray(coefs)
    rows, cols = grid
    n_features, n_hidden = coefs.shape
    if n_features != image_side * image_side:
        raise UsageError(f"weights have {n_features} inputs, not {image_side}x{image_side} pixels")
    if rows < 1 or cols < 1 or rows * cols > n_hidden:
        raise UsageError(
            f"a {rows}x{cols} grid needs {rows * cols} hidden units; there are {n_hidden}"
        )
    if fig is None:
        fig = Figure()
    axes = fig.subplots(rows, cols, squeeze=False)
    # One global min/max so that all panels are on the same scale.
    vmin, vmax = coefs.min(), coefs.max()
    for coef, ax in zip(coefs.T, axes.ravel()):
        ax.matshow(
            coef.reshape(image_side, image_side),
            cmap="gray",
            vmin=vscale * vmin,
            vmax=vscale * vmax,
        )
        ax.set_xticks(())
        ax.set_yticks(())
    return fig


def drawing_style():
    """The one style every figure of this package is drawn and saved in (a context manager)."""
    return matplotlib.style.context(STYLE, after_reset=True)


def output_format(path: str | os.PathLike) -> str:
    """The image format ``path`` asks for (PNG without a suffix).

    Raises a one-line :class:`UsageError` when the format is unknown or the
    folder does not exist, before any work is done.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    supported = Figure().canvas.get_supported_filetypes()
    if fmt not in supported:
        raise UsageError(
            f"cannot write {str(path)!r}: unknown image format {fmt!r} "
            f"(use one of: {', '.join(sorted(supported))})"
        )
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist")
    return fmt


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` atomically; the format follows the suffix.

    The figure is written to a temporary file beside ``path`` and renamed,
    so a failed or interrupted save never leaves a half-written file.
    """
    path = Path(path)
    fmt = output_format(path)
    kwargs = SAVEFIG_KWARGS if fmt == "png" else {}
    try:
        with atomic_write(path) as fh:
            fig.savefig(fh, format=fmt, **kwargs)
    except OSError as exc:
        raise UsageError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return path


def render_weights(
    coefs: np.ndarray,
    scenario,
    path: str | os.PathLike | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Draw a scenario's weights in the package style, and save if ``path`` is given.

    ``fig`` is passed on to :func:`plot_weight_grid` (e.g. a pyplot figure
    for ``--show``).
    """
    with drawing_style():
        fig = plot_weight_grid(coefs, scenario.image_side, scenario.grid, scenario.vscale, fig=fig)
        if path is not None:
            save_figure(fig, path)
    return fig


#: Figures drawn in this process, newest last: (scenario, weights digest,
#: :data:`drawing_changes`) -> Figure. The rendering layer draws the stored
#: weights and the pipeline layer a fresh fit; when that fit equals the
#: snapshot bit for bit, both draw the same figure, and so do ``regen``, the
#: page and the self-tests' inner runs. A drawing takes about 0.08 s (16 axes).
_DRAWINGS: dict = {}
#: Figures kept at most, the least recently used dropped first.
DRAWINGS_KEPT = 8
#: What changes how matplotlib draws in this process now: the self-test's
#: drawing injection (:mod:`mlp_weights.suite.inject`) sets it. Part of the
#: cache's key, so a figure drawn under one state is never given under
#: another, and is given again when that state comes back.
drawing_changes: tuple[str, ...] = ()


def draw_weights(coefs: np.ndarray, scenario) -> Figure:
    """The figure of ``coefs`` that every caller compares or saves, drawn once per process.

    Keyed by the scenario, the weights, bit for bit, and how matplotlib
    draws (:data:`drawing_changes`); callers change nothing in it.
    """
    coefs = np.ascontiguousarray(coefs)
    digest = hashlib.sha256(coefs.view(np.uint8)).hexdigest()
    key = (scenario, coefs.dtype.str, coefs.shape, digest, drawing_changes)
    figure = _DRAWINGS.pop(key, None)
    if figure is None:
        figure = render_weights(coefs, scenario)
    _DRAWINGS[key] = figure
    while len(_DRAWINGS) > DRAWINGS_KEPT:
        _DRAWINGS.pop(next(iter(_DRAWINGS)))
    return figure


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of a matplotlib Figure, saved as the package saves figures."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **SAVEFIG_KWARGS)
    return buffer.getvalue()


def weight_grid_png(coefs: np.ndarray, scenario) -> bytes:
    """PNG bytes of :func:`draw_weights`' figure in the package style (for regen and the page)."""
    with drawing_style():
        return figure_png(draw_weights(coefs, scenario))
