"""How a picture moved reaches the failure text, verdict.json's record and the page."""

import shutil

import numpy as np

from conftest import REPO
from mlp_weights.report.images import picture_marks
from mlp_weights.suite import recording
from mlp_weights.suite.results import Kind
from mlp_weights.suite.verdict import describe_amount, explain

RENDERING = REPO / "baseline_images" / "rendering"


def mpl_summary(tmp_path, baseline, result):
    """pytest-mpl's record of a failed comparison, with its two images in the results folder."""
    folder = tmp_path / "test_rendering_digits"
    folder.mkdir()
    shutil.copyfile(baseline, folder / "baseline.png")
    shutil.copyfile(result, folder / "result.png")
    summary = {
        "status": "failed",
        "image_status": "diff",
        "rms": 12.573,
        "tolerance": 0.05,
        "baseline_image": "test_rendering_digits/baseline.png",
        "result_image": "test_rendering_digits/result.png",
        "diff_image": None,
    }
    return summary


def test_the_matplotlib_311_redraw_reads_as_resampling_in_every_report(tmp_path):
    summary = mpl_summary(
        tmp_path, RENDERING / "mpl-3.7" / "digits.png", RENDERING / "mpl-3.11" / "digits.png"
    )
    finding, images = recording.image_finding(summary, tmp_path, "digits")
    assert finding.kind is Kind.MOVED
    assert [r["kind"] for r in finding.picture] == ["resampling"]
    assert finding.picture[0]["how"] == "boundaries"
    assert len(finding.panel_boxes) == 16 and finding.picture[0]["panels"] == list(range(16))

    record = recording.LayerResult(
        "rendering",
        "digits",
        "fail",
        kind=finding.kind,
        message=finding.message,
        amount=finding.amount,
        picture=finding.picture,
        panel_boxes=finding.panel_boxes,
    )
    assert describe_amount(record.to_dict()) == "RMS 12.573, resampling"
    text = explain(record)
    assert (
        "how the picture moved: resampling: panel contents redrawn on other pixel boundaries"
        in text
    )
    assert "frames unchanged" in text
    # verdict.md says it once per scenario, though rendering and pipeline both read it.
    from mlp_weights.report.views import to_json, to_markdown
    from mlp_weights.suite.verdict import build_verdict

    pipeline = recording.LayerResult(**{**vars(record), "layer": "pipeline"})
    markdown = to_markdown(to_json(build_verdict([record, pipeline], {}, {}), "", ""))
    assert markdown.count("how the picture moved: resampling: panel contents redrawn") == 1
    # verdict.json carries it as data.
    data = record.to_dict()
    assert data["picture"] == finding.picture and len(data["panel_boxes"]) == 16

    reading, marks = picture_marks(data, np.zeros((480, 640, 3), np.uint8))
    assert [r["kind"] for r in reading] == ["resampling"]
    assert len(marks) == 16 and marks[0]["label"] == "panel 0: resampling"
    left = float(marks[0]["style"].split("left: ")[1].split("%")[0])
    assert 0 < left < 50


def test_a_passing_or_missing_image_pays_for_no_reading(tmp_path, monkeypatch):
    def forbidden(*args):
        raise AssertionError("no reading for an image that did not move")

    monkeypatch.setattr(recording, "read_picture", forbidden)
    same = RENDERING / "mpl-3.11" / "digits.png"
    summary = mpl_summary(tmp_path, same, same)
    finding, _ = recording.image_finding(dict(summary, status="passed"), tmp_path, "digits")
    assert finding.kind is None and finding.picture is None
    missing = dict(summary, image_status="missing", rms=None)
    finding, _ = recording.image_finding(missing, tmp_path, "digits")
    assert finding.kind is Kind.MISSING_BASELINE and finding.picture is None


def test_an_unreadable_image_leaves_the_rms_finding_as_it_was(tmp_path):
    summary = mpl_summary(
        tmp_path, RENDERING / "mpl-3.7" / "digits.png", RENDERING / "mpl-3.11" / "digits.png"
    )
    (tmp_path / summary["result_image"]).write_bytes(b"not a png")
    finding, _ = recording.image_finding(summary, tmp_path, "digits")
    assert finding.kind is Kind.MOVED and "RMS 12.573" in finding.message
    assert finding.picture is None and finding.panel_boxes is None


def test_the_boxes_are_the_panels_as_saved_whatever_the_weights(monkeypatch):
    """matshow's equal aspect shrinks each axes at drawing time: boxes read before would be off."""
    import io

    from mlp_weights.pipeline import plot
    from mlp_weights.pipeline.scenarios import SCENARIOS
    from mlp_weights.suite.picture import panel_boxes

    monkeypatch.setattr(plot, "_DRAWINGS", {})
    recording.scenario_boxes.cache_clear()
    laid_out = recording.scenario_boxes("digits")
    recording.scenario_boxes.cache_clear()
    weights = np.random.RandomState(1).standard_normal((64, 16))
    figure = plot.draw_weights(weights, SCENARIOS["digits"])
    figure.savefig(io.BytesIO(), format="png")
    assert recording.scenario_boxes("digits") == laid_out == tuple(panel_boxes(figure))
    recording.scenario_boxes.cache_clear()
    # 8x8 panels drawn square: each box as wide as it is high.
    x0, y0, x1, y1 = laid_out[0]
    assert abs((x1 - x0) - (y1 - y0)) < 0.5
