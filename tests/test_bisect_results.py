"""What a probe found: the cells of its verdict, their amounts, its outcome."""

from __future__ import annotations

from bisect_fakes import verdict_document
from mlp_weights.bisect.results import Cell, ProbeResult, cells_from_verdict, outcome_of
from mlp_weights.bisect.search import HOLDS, MOVES, UNTESTABLE


def test_verdict_cells_carry_the_amount_of_each_layer():
    verdict = verdict_document(rendering_rms=None, training_rel=3e-6)
    cells = cells_from_verdict(verdict, ["training", "scores", "pipeline"], ["digits"])
    assert [(c.layer, c.status, c.measure) for c in cells] == [
        ("training", "fail", "max rel"),
        ("scores", "pass", "test score"),
    ]
    training, scores = cells
    assert training.value == 3e-6 and training.kind == "moved"
    assert training.arrays == {"loss curve": 1.5e-6, "first-layer weights": 3e-6}
    assert scores.value == 0.93


def test_a_probe_says_how_each_failing_picture_moved():
    from mlp_weights.bisect.report import moved_amounts

    verdict = verdict_document(rendering_rms=12.573)
    rendering = next(
        layer for layer in verdict["scenarios"][0]["layers"] if layer["layer"] == "rendering"
    )
    rendering["picture"] = [{"kind": "resampling", "how": "boundaries", "panels": [0], "of": 16}]
    (cell,) = cells_from_verdict(verdict, ["rendering"], ["digits"])
    assert cell.picture == "resampling"
    probe = ProbeResult("matplotlib", "3.10.9", MOVES, cells=[cell])
    assert moved_amounts(probe) == "RMS digits 12.57 (resampling)"
    rendering.pop("picture")
    (held,) = cells_from_verdict(verdict, ["rendering"], ["digits"])
    assert held.picture == ""


def test_outcome_of_cells():
    def cell(status):
        return Cell("rendering", "digits", status)

    assert outcome_of([cell("pass"), cell("fail")]) == (MOVES, "")
    assert outcome_of([cell("pass"), cell("skip")]) == (HOLDS, "")
    skipped = Cell("rendering", "digits", "skip", message="digits: data not cached")
    assert outcome_of([skipped]) == (UNTESTABLE, "no layer ran: digits: data not cached")
