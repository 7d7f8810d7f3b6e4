"""How a failing picture of the weight grid reads: mlp_weights.suite.picture.

Every changed picture is the grid drawn from a stored snapshot with one change made through
matplotlib's public API, on the installed matplotlib; each test names the kind it must read
and checks that no other kind is named. The smallest cases still fail the image tolerance
(RMS 0.05), which each asserts.
"""

from __future__ import annotations

import io
import pickle
from typing import NamedTuple

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.testing.compare import calculate_rms
from PIL import Image

from mlp_weights.baselines.snapshot import load_snapshot
from mlp_weights.pipeline.plot import SAVEFIG_KWARGS, drawing_style, render_weights
from mlp_weights.pipeline.scenarios import get_scenario
from mlp_weights.suite.picture import describe, panel_boxes, read_change

#: matplotlib.testing.compare's image tolerance, as the rendering layer uses it.
TOLERANCE = 0.05
GREY = {channel: [(0.0, 0.0, 0.0), (1.0, 1.0, 1.0)] for channel in ("red", "green", "blue")}


class Grid(NamedTuple):
    """A scenario's grid drawn unchanged: its saved PNG, panel boxes, and figure pickled."""

    image: np.ndarray
    boxes: list
    figure: bytes


def draw(grid, change=None, panels=None):
    """A copy of an unchanged grid's figure with a change made, drawn: (RGBA pixels, figure).

    ``change(ax, image)`` is applied to the panels listed (all when None) before drawing. The
    copy is unpickled rather than drawn anew from the snapshot (0.03-0.11 s against 0.14-0.31 s
    for 16 new axes), and its pixels are read from the Agg buffer rather than encoded to PNG and
    decoded (0.04-0.07 s against 0.08-0.15 s); the first tests below show both give the PNG's
    pixels.
    """
    fig = pickle.loads(grid.figure)
    with drawing_style():
        for i, ax in enumerate(fig.axes):
            if change is not None and (panels is None or i in panels):
                change(ax, ax.images[0])
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.array(canvas.buffer_rgba()), fig


def saved_png(fig):
    """``fig`` as saved to PNG by the package's settings, read back."""
    buffer = io.BytesIO()
    with drawing_style():
        fig.savefig(buffer, format="png", **SAVEFIG_KWARGS)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())))


@pytest.fixture(scope="module")
def grids(repo_baselines):
    """Each scenario's grid drawn once from its snapshot, unchanged: name -> Grid."""
    out = {}
    for name in ("digits", "mnist-sample"):
        coefs = load_snapshot(repo_baselines / "training" / "all" / f"{name}.npz", name).coefs
        fig = render_weights(coefs, get_scenario(name))
        out[name] = Grid(saved_png(fig), panel_boxes(fig), pickle.dumps(fig))
    return out


@pytest.fixture(scope="module")
def hanning(grids):
    """mnist-sample's grid drawn with the hanning filter, which two tests read."""
    return draw(grids["mnist-sample"], lambda ax, image: image.set_interpolation("hanning"))


@pytest.fixture
def read(grids):
    """Read a change made to one scenario's grid: (records, rms against the unchanged grid)."""

    def reading(name, change, panels=None):
        before, boxes, _ = grids[name]
        after, _ = draw(grids[name], change, panels)
        same = before.shape == after.shape
        rms = (
            calculate_rms(before[..., :3].astype(int), after[..., :3].astype(int)) if same else None
        )
        return read_change(before, after, boxes), rms

    return reading


def test_a_drawn_copy_has_the_pixels_of_the_saved_png(grids):
    for grid in grids.values():
        drawn, fig = draw(grid)
        assert drawn.dtype == grid.image.dtype and (drawn == grid.image).all()
        assert panel_boxes(fig) == grid.boxes
    # A change reads alike from the buffer and from the PNG it saves to.
    changed, fig = draw(grids["digits"], lambda ax, image: image.set_cmap("gray_r"), panels={3})
    assert (changed == saved_png(fig)).all() and (changed != grids["digits"].image).any()


def kinds(records):
    return [r["kind"] for r in records]


def spines(**settings):
    return lambda ax, image: [spine.set(**settings) for spine in ax.spines.values()]


def roll(shift, axis):
    return lambda ax, image: image.set_data(np.roll(image.get_array(), shift, axis=axis))


def test_an_identical_pair_reads_as_no_change(grids):
    image, boxes, _ = grids["digits"]
    assert read_change(image, image.copy(), boxes) == []
    assert describe([]) == "no change"


def test_another_pixel_size_reads_as_size_alone(read, grids):
    records, _ = read("digits", lambda ax, image: ax.figure.set_size_inches(6.5, 4.8), panels={0})
    assert records == [{"kind": "size", "baseline": [640, 480], "result": [650, 480]}]
    assert describe(records) == "size: image is 650x480 px, was 640x480 px"
    image, boxes, _ = grids["digits"]
    assert kinds(read_change(image, image[:-1, :, :3], boxes)) == ["size"]


@pytest.mark.parametrize("pixels", [1, 3])
def test_a_panel_moved_reads_as_layout(read, pixels):
    move = lambda ax, image: ax.set_position(ax.get_position().translated(pixels / 640, 0))  # noqa: E731
    records, rms = read("digits", move, panels={6})
    assert kinds(records) == ["layout"]
    assert records[0] | {"of": 16} == {
        "kind": "layout",
        "panels": [6],
        "moved_px": pixels,
        "resized_px": 0,
        "of": 16,
    }
    assert rms > TOLERANCE


def test_panels_spread_out_read_as_layout(read):
    records, _ = read("digits", lambda ax, image: ax.figure.subplots_adjust(left=0.15))
    assert kinds(records) == ["layout"]
    assert records[0]["panels"] == list(range(16))
    assert records[0]["moved_px"] == 14


@pytest.mark.parametrize(("points", "pixels"), [(2, 2.8), (4, 5.6)])
def test_thicker_spines_read_as_frames(read, points, pixels):
    records, _ = read("digits", spines(linewidth=points))
    assert kinds(records) == ["frames"]  # 4 pt lines sit half a pixel off: not a layout change
    assert records[0]["panels"] == list(range(16))
    assert records[0]["line_px"] == [1.1, pixels]  # from 0.8 pt, at 100 dpi


def test_the_faintest_failing_spine_colour_reads_as_frames(read):
    records, rms = read("digits", spines(edgecolor=(2 / 255,) * 3), panels={6})
    assert kinds(records) == ["frames"]
    assert (records[0]["panels"], records[0]["largest_change"]) == ([6], 2)
    assert rms > TOLERANCE


@pytest.mark.parametrize(
    ("cmap", "largest", "reverse"),
    [
        (LinearSegmentedColormap("gamma", GREY, N=256, gamma=1.01), 1, False),
        (LinearSegmentedColormap("gamma", GREY, N=256, gamma=0.7), 34, False),
        ("gray_r", 255, True),
    ],
    ids=["gamma-1.01", "gamma-0.7", "gray_r"],
)
def test_a_remapped_grey_scale_reads_as_tones(read, cmap, largest, reverse):
    records, rms = read("digits", lambda ax, image: image.set_cmap(cmap))
    assert kinds(records) == ["tones"]
    assert records[0]["largest_change"] == largest
    assert records[0]["reversed"] is reverse
    assert rms > TOLERANCE


def test_one_grey_level_moved_by_one_reads_as_tones(read):
    lut = colormaps["gray"](np.linspace(0, 1, 256))
    lut[0, :3] = 1 / 255  # black, the most common level, one level lighter
    records, rms = read("digits", lambda ax, image: image.set_cmap(ListedColormap(lut)))
    assert kinds(records) == ["tones"]
    assert records[0]["largest_change"] == 1
    assert 1 < len(records[0]["panels"]) < 16
    assert rms > TOLERANCE


def test_a_grey_scale_with_a_band_reversed_is_not_tones(read):
    lut = colormaps["gray"](np.linspace(0, 1, 256))
    lut[120:136] = lut[120:136][::-1]  # one map still explains it, but not a monotonic one
    records, rms = read("digits", lambda ax, image: image.set_cmap(ListedColormap(lut)))
    assert kinds(records) == ["content"]
    assert rms > TOLERANCE


def test_a_slightly_narrower_colour_range_reads_as_tones(read):
    records, rms = read(
        "mnist-sample", lambda ax, image: image.set_clim(*np.multiply(image.get_clim(), 1.001))
    )
    assert kinds(records) == ["tones"]
    assert records[0]["largest_change"] <= 2
    assert rms > TOLERANCE


@pytest.mark.parametrize(("shift", "dy"), [(1, 10.0), (-1, -10.0)])
def test_weights_rolled_by_a_row_read_as_a_shift(read, shift, dy):
    records, _ = read("digits", roll(shift, axis=0))
    assert kinds(records) == ["shift"]
    assert (records[0]["dx"], records[0]["dy"]) == (0.0, dy)  # one 10 px cell
    assert records[0]["panels"] == list(range(16))


def test_one_panel_rolled_by_a_column_reads_as_a_shift_of_that_panel(read):
    records, _ = read("mnist-sample", roll(1, axis=1), panels={6})
    assert kinds(records) == ["shift"]
    assert records[0]["panels"] == [6]
    assert records[0]["dx"] == pytest.approx(80.35 / 28, abs=0.1)  # one cell of a 28-cell panel
    assert records[0]["dy"] == 0.0


def test_the_3_11_pairs_read_as_boundaries_redrawn_and_nothing_else(repo_baselines, grids):
    for name in ("digits", "mnist-sample"):
        before = np.asarray(Image.open(repo_baselines / "rendering" / "mpl-3.7" / f"{name}.png"))
        after = np.asarray(Image.open(repo_baselines / "rendering" / "mpl-3.11" / f"{name}.png"))
        for records in (
            read_change(before, after, grids[name][1]),
            read_change(after, before, grids[name][1]),
        ):
            assert records == [
                {
                    "kind": "resampling",
                    "panels": list(range(16)),
                    "how": "boundaries",
                    "moved_px": 1,
                    "of": 16,
                }
            ]
            assert describe(records) == (
                "resampling: panel contents redrawn on other pixel boundaries, moved by up to"
                " 1 px (16 of 16 panels, frames unchanged)"
            )


def test_one_panel_drawn_a_third_of_a_pixel_over_reads_as_boundaries_redrawn(read):
    def nudge(ax, image):
        x0, x1, y0, y1 = image.get_extent()
        limits = ax.get_xlim(), ax.get_ylim()
        step = 0.3 * (x1 - x0) / ax.get_window_extent().width
        image.set_extent((x0 + step, x1 + step, y0, y1))
        ax.set(xlim=limits[0], ylim=limits[1])

    records, rms = read("mnist-sample", nudge, panels={6})
    assert kinds(records) == ["resampling"]
    assert (records[0]["how"], records[0]["panels"]) == ("boundaries", [6])
    assert rms > TOLERANCE


@pytest.mark.parametrize("name", ["digits", "mnist-sample"])
def test_bilinear_panels_read_as_smoothed(read, name):
    records, _ = read(name, lambda ax, image: image.set_interpolation("bilinear"))
    assert kinds(records) == ["resampling"]
    assert records[0]["how"] == "smoothed"
    # Bilinear blends across a whole cell: 10 px in digits, 2.9 px in mnist-sample.
    assert records[0]["sigma_px"] == {"digits": 3.0, "mnist-sample": 1.0}[name]


def test_a_smoothed_baseline_drawn_sharp_reads_as_sharpened(grids, hanning):
    smooth, _ = hanning
    records = read_change(smooth, grids["mnist-sample"][0], grids["mnist-sample"][1])
    assert kinds(records) == ["resampling"]
    assert (records[0]["how"], records[0]["sigma_px"]) == ("sharpened", 0.7)


def test_a_slightly_softer_filter_reads_as_smoothed(grids, hanning):
    smooth, fig = hanning
    hamming, _ = draw(grids["mnist-sample"], lambda ax, image: image.set_interpolation("hamming"))
    records = read_change(smooth, hamming, panel_boxes(fig))
    assert kinds(records) == ["resampling"]
    assert records[0]["how"] == "smoothed"


def test_one_panel_with_shuffled_weights_reads_as_content(read):
    def shuffle(ax, image):
        weights = image.get_array()
        image.set_data(np.random.default_rng(0).permutation(weights.ravel()).reshape(weights.shape))

    records, _ = read("digits", shuffle, panels={5})
    assert kinds(records) == ["content"]
    assert records[0]["panels"] == [5]
    assert describe(records).startswith("content: what the panels show differs (")


def test_one_weight_halved_reads_as_content(read):
    def halve_first(ax, image):
        weights = image.get_array().copy()
        weights[0, 0] /= 2
        image.set_data(weights)

    records, rms = read("mnist-sample", halve_first, panels={5})
    assert kinds(records) == ["content"]
    assert records[0]["panels"] == [5]
    assert rms > TOLERANCE


def test_a_title_reads_as_content_outside_the_panels(read):
    records, _ = read("digits", lambda ax, image: ax.figure.suptitle("weights"), panels={0})
    assert kinds(records) == ["content"]
    assert records[0]["panels"] == [] and records[0]["outside_pixels"] > 0


def test_two_kinds_at_once_are_both_named(read):
    def both(ax, image):
        spines(edgecolor="0.3")(ax, image)
        image.set_cmap("gray_r")

    records, _ = read("digits", both)
    assert kinds(records) == ["frames", "tones"]
    assert describe(records).startswith("frames: frame lines changed by up to 77 levels")


def test_panel_boxes_sit_on_the_frame_lines(grids):
    image, boxes, _ = grids["digits"]
    assert len(boxes) == 16
    first = boxes[0]
    # The first panel's spines are drawn on columns 94 and 174, rows 58 and 138.
    assert [round(v) for v in first] == [94, 58, 174, 138]
    assert (image[100, [94, 174], :3] == 0).all()


def test_a_blank_result_reads_as_every_panel_missing(grids):
    image, boxes, _ = grids["digits"]
    records = read_change(image, np.full_like(image, 255), boxes)
    assert kinds(records) == ["layout"]
    assert records[0]["missing"] == list(range(16))
    assert "16 not found in one image" in describe(records)


def test_rgb_images_read_as_the_rgba_png(grids):
    image, boxes, _ = grids["digits"]
    lighter = image.copy()
    lighter[image == 0] = 1  # black one level lighter, everywhere it is drawn
    records = read_change(image, lighter, boxes)
    assert kinds(records) == ["frames", "tones"]
    assert read_change(image[..., :3], lighter[..., :3], boxes) == records
