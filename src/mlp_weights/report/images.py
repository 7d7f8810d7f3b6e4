"""The pictures of ``verdict.html``: read, compared, drawn.

The readers and comparers return PNG bytes (or decoded pixels), or ``None``
when a file is absent or not a PNG (the page then says "missing"); such a
file never raises. :func:`png_data_uri` turns bytes into the ``data:`` URI
the page embeds. Figures are drawn with the package's own plot functions,
in its one style (:func:`mlp_weights.pipeline.plot.drawing_style`).
"""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

#: The first bytes of every PNG file.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: In the amplified difference, every pixel that differs at all is drawn in
#: this colour (RGB, 0-1), however small the difference: a one-pixel shift of
#: a panel edge changes grey levels by a few units of 255, which pytest-mpl's
#: own difference image (|difference| x 10) shows as a faint grey line.
AMPLIFIED_COLOUR = (1.0, 0.0, 0.0)
#: The colour's strength: :data:`AMPLIFIED_FLOOR` for a difference of one
#: grey level, full from :data:`AMPLIFIED_FULL` grey levels (of 255) on, so
#: the smallest change is plainly red and larger ones stand out from it.
AMPLIFIED_FLOOR = 0.45
AMPLIFIED_FULL = 16
#: The unchanged pixels of the amplified difference: the baseline, faded to
#: this fraction of its contrast, so the red marks sit on the figure they belong to.
FADED_CONTRAST = 0.25
#: Size of the loss-curve figure, inches at 100 dpi (480 x 300 px).
LOSS_FIGSIZE = (4.8, 3.0)

LOSS_DPI = 100
#: At most this many ticks on an axis (each costs text layout).
LOSS_TICKS = 5
#: Its margins, as fractions of the figure: room for the axis labels.
LOSS_MARGINS = {"left": 0.14, "right": 0.97, "top": 0.9, "bottom": 0.15}


def png_data_uri(data: bytes) -> str:
    """``data:`` URI of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def read_png(path: Path | None) -> bytes | None:
    """The bytes of a PNG file; ``None`` when it is absent, unreadable or no PNG."""
    if path is None:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return data if data.startswith(PNG_SIGNATURE) else None


@functools.lru_cache(maxsize=32)
def decode_png(data: bytes) -> np.ndarray | None:
    """RGB pixels (uint8, height x width x 3) of PNG bytes; ``None`` if they do not decode.

    Cached by content: the rendering and pipeline layers of a scenario keep
    the same baseline image, and often the same result.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, UnidentifiedImageError):
        return None
    pixels.flags.writeable = False
    return pixels


@functools.lru_cache(maxsize=16)
def amplified_png(baseline: bytes, result: bytes) -> tuple[bytes, int] | None:
    """:func:`amplified_difference` of two PNG files; cached."""
    then, now = decode_png(baseline), decode_png(result)
    if then is None or now is None:
        return None
    return amplified_difference(then, now)


def amplified_difference(baseline: np.ndarray, result: np.ndarray) -> tuple[bytes, int] | None:
    """Every differing pixel in red on the faded baseline (PNG bytes), and how many differ.

    ``None`` when the two images differ in size (the page shows the sizes instead).
    """
    if baseline.shape != result.shape:
        return None
    levels = np.abs(baseline.astype(np.int16) - result).max(axis=-1)
    differs = levels > 0
    # float32 throughout: half the time of float64 on a 640 x 480 figure.
    strength = AMPLIFIED_FLOOR + (1 - AMPLIFIED_FLOOR) / AMPLIFIED_FULL * levels.astype(np.float32)
    strength = np.where(differs, np.minimum(strength, 1), 0).astype(np.float32)[..., None]
    grey = baseline.mean(axis=-1, keepdims=True, dtype=np.float32) / 255
    faded = 1 - FADED_CONTRAST + FADED_CONTRAST * grey
    colour = np.array(AMPLIFIED_COLOUR, dtype=np.float32)
    pixels = (1 - strength) * faded + strength * colour
    buffer = io.BytesIO()
    Image.fromarray((pixels * 255 + 0.5).astype(np.uint8), "RGB").save(buffer, format="png")
    return buffer.getvalue(), int(np.count_nonzero(differs))


def loss_curves_png(baseline, now) -> bytes:
    """Loss per epoch of the baseline and of the fresh fit, in one small figure.

    The title gives the largest difference between them: a learning rate 1%
    off moves the loss by about 0.3%, which hides the curves under each other.
    """
    from matplotlib.figure import Figure

    from mlp_weights.pipeline.plot import drawing_style, figure_png

    with drawing_style():
        # Fixed margins, one axes, few ticks and a placed legend: drawn in 46 ms
        # of CPU here, where a second axes for the difference took 88 ms, and a
        # layout engine more again.
        fig = Figure(figsize=LOSS_FIGSIZE, dpi=LOSS_DPI)
        fig.subplots_adjust(**LOSS_MARGINS)
        ax = fig.add_subplot()
        for label, curve, style in (("baseline", baseline, "-o"), ("now", now, "--s")):
            if curve is not None and len(curve):
                ax.plot(np.arange(1, len(curve) + 1), curve, style, label=label, markersize=3)
        if baseline is not None and now is not None and len(baseline) == len(now):
            gap = np.asarray(now, dtype=float) - np.asarray(baseline, dtype=float)
            epoch = int(np.argmax(np.abs(gap)))
            ax.set_title(
                f"largest difference {gap[epoch]:+.3g} (epoch {epoch + 1})", fontsize="medium"
            )
        ax.locator_params(nbins=LOSS_TICKS)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.legend(loc="upper right")
        return figure_png(fig)


def picture_marks(layer: dict, baseline) -> tuple[list[dict], list[dict]]:
    """How the picture moved, kind by kind, and a mark on each panel a kind names.

    A mark's box is in percent of the image, so that it stays on its panel
    at any zoom.
    """
    from mlp_weights.suite.picture import describe

    records = [r for r in layer.get("picture") or [] if isinstance(r, dict) and "kind" in r]
    reading = [{"kind": r["kind"], "line": describe([r])} for r in records]
    boxes = layer.get("panel_boxes") or []
    if baseline is None or not boxes:
        return reading, []
    height, width = baseline.shape[:2]
    named: dict[int, list[str]] = {}
    for record in records:
        for index in record.get("panels") or []:
            named.setdefault(index, []).append(record["kind"])
    marks = []
    for index, kinds in sorted(named.items()):
        if not 0 <= index < len(boxes):
            continue
        x0, y0, x1, y1 = boxes[index]
        marks.append(
            {
                "label": f"panel {index}: {', '.join(kinds)}",
                "style": f"left: {100 * x0 / width:.3f}%; top: {100 * y0 / height:.3f}%; "
                f"width: {100 * (x1 - x0) / width:.3f}%; height: {100 * (y1 - y0) / height:.3f}%",
            }
        )
    return reading, marks
