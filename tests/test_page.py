"""verdict.html without a browser: what it shows, that it is self-contained, bad input."""

from __future__ import annotations

import base64
import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from mlp_weights.cli import main
from mlp_weights.report import page
from mlp_weights.report.images import amplified_difference
from page_data import (
    IMAGE_DIR,
    NOW,
    assert_self_contained,
    failing_results,
    figure_pixels,
    parse_page,
    passing_results,
)


def build(folder) -> str:
    return page.rebuild_page(folder).read_text(encoding="utf-8")


def decoded(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.fixture(scope="module")
def failing_page(tmp_path_factory) -> str:
    """The page of the hand-made failing folder, built once for the tests that only read it."""
    return build(failing_results(tmp_path_factory.mktemp("page") / "results"))


# -- what the page shows -------------------------------------------------------------


def test_failing_page_is_self_contained_and_puts_failures_first(failing_page):
    html = failing_page
    parsed = assert_self_contained(html)
    assert parsed.cells == ["fail", "fail", "pass", "skip"]
    # baseline, result, difference and amplified difference; loss curves and
    # both weight grids, drawn from the kept fits. The swipe and blink views
    # copy baseline and result from the side-by-side panels.
    assert len(parsed.images) == 4 + 3
    assert parsed.copies == ["baseline", "result"] * 2
    assert "some layers moved" in html
    assert "RMS 12.573 (tolerance 0.05)" in html
    assert "120 x 80 px" in html


def test_stack_marks_the_facts_that_moved(failing_page):
    rows = {r["fact"]: r for r in page.stack_rows(NOW, [{"scenario": "digits", "baseline": NOW |
                                                        {"matplotlib": "3.11.2"}}])}  # fmt: skip
    assert rows["matplotlib"] == {"fact": "matplotlib", "now": "3.12.0", "then": "3.11.2",
                                  "moved": True}  # fmt: skip
    assert not rows["numpy"]["moved"]
    assert '<tr class="moved"><td>matplotlib</td><td>3.12.0</td><td>3.11.2</td>' in failing_page


def test_diagnostics_then_and_now_with_the_reading(failing_page):
    html = failing_page
    assert "What the weights say" in html
    assert 'largest |w| / initial bound</td><td class="num">7.5</td><td class="num">52.7' in html
    assert 'units never active</td><td class="num">4</td><td class="num">36' in html
    assert "weights grew as with a higher learning rate: max |w| 7.5 -&gt; 52.7" in html


def test_diagnostics_without_a_baseline_say_unknown(tmp_path):
    diagnostics = {"now": {"dead_units": 3}, "baseline": None, "labels": {}, "reading": ""}
    html = build(failing_results(tmp_path / "results", fits=False, diagnostics=diagnostics))
    assert 'dead_units</td><td class="num">unknown</td><td class="num">3' in html


def test_no_diagnostics_and_no_generation_leave_no_trace(tmp_path):
    folder = failing_results(tmp_path / "results", fits=False)
    data = json.loads((folder / "verdict.json").read_text())
    for record in data["scenarios"][1]["layers"]:
        record.pop("diagnostics", None)
        record.pop("generation", None)
    (folder / "verdict.json").write_text(json.dumps(data))
    html = build(folder)
    assert "What the weights say" not in html and "generation" not in html
    assert_self_contained(html)


def test_generation_is_named_in_the_header_and_the_cell(failing_page):
    html = failing_page
    assert "Compared against baseline generation: <b>2026-11-pinned</b>" in html
    assert "baseline generation: 2026-11-pinned" in html


def test_bisection_in_the_folder_is_shown(tmp_path):
    folder = failing_results(tmp_path / "results", fits=False)
    (folder / "bisect.json").write_text(
        json.dumps(
            {
                "schema": "mlp-weights-bisect",
                "schema_version": 1,
                "library": "matplotlib",
                "ends": ["3.11.2", "3.12.0"],
                "verdict": ["rendering moved between matplotlib 3.11.2 (holds) and 3.12.0"],
                "change_points": [{"changelog": "https://example.org/v3.12.0"}],
            }
        )
    )
    (folder / "bisect-numpy").mkdir()
    (folder / "bisect-numpy" / "bisect.json").write_text("{")
    (folder / "bisect-newer").mkdir()
    newer = {"schema": "mlp-weights-bisect", "schema_version": 2, "library": "numpy"}
    (folder / "bisect-newer" / "bisect.json").write_text(json.dumps(newer))
    (folder / "bisect-other").mkdir()
    (folder / "bisect-other" / "bisect.json").write_text('{"library": "numpy"}')
    html = build(folder)
    assert "rendering moved between matplotlib 3.11.2 (holds) and 3.12.0" in html
    # The changelog is named, not linked: the page refers to nothing outside itself.
    assert "<code>https://example.org/v3.12.0</code>" in html
    assert "bisect-numpy/bisect.json cannot be read" in html
    assert "has schema version 2; this mlp-weights reads up to 1" in html
    assert "bisect-other/bisect.json is not an mlp-weights bisect report" in html
    assert_self_contained(html)


def test_missing_images_show_as_missing_and_never_break_the_page(tmp_path):
    folder = failing_results(tmp_path / "results")
    (folder / IMAGE_DIR / "result.png").unlink()
    (folder / IMAGE_DIR / "result-failed-diff.png").write_text("not a png")
    (folder / "digits.obtained.npz").unlink()
    html = build(folder)
    parsed = assert_self_contained(html)
    assert f"missing: {IMAGE_DIR}/result.png" in html
    assert f"missing: {IMAGE_DIR}/result-failed-diff.png" in html
    assert "swipe needs both the baseline and the result image" in html
    assert "missing: weight grid now (fresh fit)" in html
    # baseline image; loss curve (baseline only) and the baseline's grid.
    assert len(parsed.images) == 3


def test_passing_page_collapses_every_cell_to_one_line(tmp_path):
    html = build(passing_results(tmp_path / "results"))
    parsed = assert_self_contained(html)
    assert "nothing moved" in html
    assert parsed.cells == ["pass", "pass"]
    assert html.count("<details") == 2 and "<section" not in html


def test_text_from_the_verdict_is_escaped(tmp_path):
    folder = failing_results(
        tmp_path / "results", fits=False, message='<script>alert("x")</script>'
    )
    html = build(folder)
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(" in html


def test_a_downloaded_folder_finds_its_files_by_name(tmp_path):
    """Absolute paths recorded on another machine are looked up in the folder."""
    moved = tmp_path / "downloaded"
    shutil.move(failing_results(tmp_path / "results"), moved)
    html = build(moved)
    assert 'class="missing"' not in html
    assert len(parse_page(html).images) == 7


def test_amplified_difference_makes_a_one_pixel_shift_plain():
    then, now = figure_pixels(0), figure_pixels(1)
    data, n_differ = amplified_difference(then, now)
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    # A one-pixel shift of four 40-pixel-wide panels changes two columns of 25 rows each.
    assert n_differ == 4 * 2 * 25
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 160) & (pixels[..., 2] < 160)
    assert np.count_nonzero(red) == n_differ
    assert amplified_difference(then, then)[1] == 0
    assert amplified_difference(then, now[:40]) is None


# -- mlp-weights report: rebuild, and bad input ---------------------------------------


def test_report_rebuilds_the_page(tmp_path, capsys):
    folder = failing_results(tmp_path / "results", fits=False)
    assert main(["report", str(folder)]) == 0
    assert capsys.readouterr().out == f"wrote {folder / 'verdict.html'}\n"
    assert_self_contained((folder / "verdict.html").read_text())


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "no verdict.json in"),
        ("{", "is damaged (JSONDecodeError"),
        ('{"schema": "other", "schema_version": 1}', "is damaged: it is not an mlp-weights"),
        ('{"schema": "mlp-weights-verdict", "schema_version": 2, "scenarios": []}',
         "has schema version 2, newer than this mlp-weights reads (1); upgrade"),
        ('{"schema": "mlp-weights-verdict", "schema_version": 1, "scenarios": [{"layers": 3}]}',
         "is damaged: its scenarios or layers are not as written"),
    ],
)  # fmt: skip
def test_report_on_bad_input_says_one_line_and_writes_nothing(tmp_path, capsys, content, says):
    folder = tmp_path / "results"
    folder.mkdir()
    if content is not None:
        (folder / "verdict.json").write_text(content)
    before = sorted(p.name for p in folder.iterdir())
    assert main(["report", str(folder)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("mlp-weights: error: ") and says in captured.err
    assert captured.err.count("\n") == 1
    assert sorted(p.name for p in folder.iterdir()) == before


def test_report_that_cannot_write_the_page_says_one_line(tmp_path, capsys):
    folder = failing_results(tmp_path / "results", fits=False)
    (folder / "verdict.html").mkdir()
    assert main(["report", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mlp-weights: error: cannot write {folder / 'verdict.html'}: ")
    assert err.count("\n") == 1


def test_report_without_a_folder_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


# -- packaging --------------------------------------------------------------------------


def test_the_template_is_package_data():
    """tox installs the package from its wheel, so there this finds the template in it."""
    from importlib import resources

    from conftest import REPO

    assert resources.files("mlp_weights.report").joinpath(page.TEMPLATE_NAME).is_file()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert f'"mlp_weights.report" = ["{page.TEMPLATE_NAME}"]' in pyproject


def test_a_seed_failure_shows_its_arrays_and_no_figures(tmp_path):
    folder = failing_results(tmp_path / "results", layer="seed", obtained=None)
    html = build(folder)
    assert "digits &middot; seed: moved" in html
    assert "loss per epoch" not in html and "weights: baseline" not in html
    assert "first-layer weights</td>" in html
