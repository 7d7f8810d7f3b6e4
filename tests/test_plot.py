"""The drawing: the seed's grid, as a pure function of the weights."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from mlp_weights.core.errors import UsageError
from mlp_weights.pipeline.plot import STYLE, plot_weight_grid, render_weights, save_figure
from mlp_weights.pipeline.scenarios import get_scenario


@pytest.fixture
def coefs():
    return np.random.RandomState(0).standard_normal((784, 40))


def test_grid_follows_the_seed(coefs, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plot called plt.show()"))
    fig = plot_weight_grid(coefs, image_side=28)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 16
    lo, hi = 0.5 * coefs.min(), 0.5 * coefs.max()
    for ax, unit in zip(fig.axes, coefs.T):
        (image,) = ax.images
        assert image.get_cmap().name == "gray"
        assert image.get_clim() == (lo, hi)
        np.testing.assert_array_equal(image.get_array(), unit.reshape(28, 28))
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


def test_figure_is_not_managed_by_pyplot(coefs):
    before = plt.get_fignums()
    plot_weight_grid(coefs, image_side=28)
    assert plt.get_fignums() == before


@pytest.mark.parametrize("grid", [(7, 7), (0, 4), (4, 0)])
def test_impossible_grids_are_refused(coefs, grid):
    with pytest.raises(UsageError, match="grid"):
        plot_weight_grid(coefs, image_side=28, grid=grid)


def test_wrong_image_side_is_refused(coefs):
    with pytest.raises(UsageError, match="not 8x8"):
        plot_weight_grid(coefs, image_side=8)


def test_render_uses_the_one_style(coefs, tmp_path):
    import matplotlib

    matplotlib.rcParams["figure.figsize"] = (3, 3)
    try:
        fig = render_weights(coefs, get_scenario("mnist-sample"), tmp_path / "w.png")
    finally:
        matplotlib.rcdefaults()
    assert STYLE == "default"
    assert tuple(fig.get_size_inches()) == (6.4, 4.8)


def test_save_is_atomic_and_png_bytes_are_reproducible(coefs, tmp_path):
    fig = render_weights(coefs, get_scenario("mnist-sample"))
    a = save_figure(fig, tmp_path / "a.png").read_bytes()
    b = save_figure(fig, tmp_path / "b.png").read_bytes()
    assert a == b
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(UsageError, match="unknown image format 'xyz'"):
        save_figure(Figure(), tmp_path / "w.xyz")
    assert list(tmp_path.iterdir()) == []


def test_one_figure_cache_draws_the_same_weights_once_per_injection(coefs, monkeypatch):
    """Every caller shares a drawing only when scenario and weights are equal bit for bit."""
    from mlp_weights.pipeline import plot
    from mlp_weights.suite import inject

    scenario = get_scenario("mnist-sample")
    drawn = []
    monkeypatch.setattr(plot, "_DRAWINGS", {})
    monkeypatch.setattr(plot, "render_weights", lambda w, s: drawn.append(w) or object())
    first = plot.draw_weights(coefs, scenario)
    assert plot.draw_weights(coefs.copy(), scenario) is first
    nudged = coefs.copy()
    nudged[0, 0] = np.nextafter(nudged[0, 0], np.inf)
    assert plot.draw_weights(nudged, scenario) is not first
    assert plot.draw_weights(coefs, scenario.with_overrides(vscale=1.0)) is not first
    assert len(drawn) == 3
    frame = inject.begin(["drawing"])
    try:
        under_change = plot.draw_weights(coefs, scenario)
    finally:
        inject.end(frame)
    assert under_change is not first and len(drawn) == 4
    # Undoing the change brings back the drawings made without it.
    assert plot.draw_weights(coefs, scenario) is first and len(drawn) == 4
    # The least recently used drawing goes first.
    for seed in range(plot.DRAWINGS_KEPT):
        plot.draw_weights(np.random.RandomState(seed + 1).standard_normal((784, 40)), scenario)
    plot.draw_weights(coefs, scenario)
    assert len(drawn) == 5 + plot.DRAWINGS_KEPT


def test_the_page_draws_through_the_same_cache_as_run_draws(coefs, monkeypatch):
    from mlp_weights.pipeline import plot
    from mlp_weights.suite import checks, inject

    # Two panels: a drawing of 16 takes 0.1 s, and the cache does not care.
    scenario = get_scenario("mnist-sample").with_overrides(grid=(1, 2))
    monkeypatch.setattr(plot, "_DRAWINGS", {})
    expected = plot.figure_png(render_weights(coefs, scenario))
    calls = []
    draw = plot.plot_weight_grid
    monkeypatch.setattr(plot, "plot_weight_grid", lambda *a, **k: calls.append(1) or draw(*a, **k))
    assert plot.weight_grid_png(coefs, scenario) == expected
    assert plot.weight_grid_png(coefs.copy(), scenario) == expected
    assert plot.draw_weights(coefs, scenario) is plot.draw_weights(coefs.copy(), scenario)
    assert len(calls) == 1
    frame = inject.begin(["drawing"])
    try:
        assert plot.weight_grid_png(coefs, scenario) != expected
    finally:
        inject.end(frame)
    assert len(calls) == 2
    wider = plot.weight_grid_png(coefs, scenario.with_overrides(vscale=1.0))
    assert wider != expected and len(calls) == 3
    # The layers draw through it too.
    assert checks.draw_weights("mnist-sample", coefs) is plot.draw_weights(
        coefs, get_scenario("mnist-sample")
    )
