"""Blame and the verdict, branch by branch, on hand-made records (no training)."""

import json

import pytest

from mlp_weights.core.environment import LIBRARIES
from mlp_weights.core.layers import LAYERS, layers_for_library, marker_lines
from mlp_weights.report import views as report
from mlp_weights.suite.results import FAIL, NOT_RUN, PASS, SKIP, Kind, LayerResult
from mlp_weights.suite.verdict import (
    LOCAL_CHANGE,
    SETTINGS,
    blame,
    build_verdict,
    describe_amount,
    explain,
    moved_facts,
)

THEN = {
    "python": "3.11.7",
    "scikit-learn": "1.9.1",
    "matplotlib": "3.11.2",
    "numpy": "2.4.6",
    "blas": "openblas 0.3.30 (pthreads)",
    "blas-kernel": "Haswell",
    "blas-threads": "1",
    "numpy-simd": "X86_V2 + X86_V3",
    "freetype": "2.14.3",
    "platform": "Linux",
    "machine": "x86_64",
}
RMS = {"image_rms": 12.573, "tolerance": 0.05, "size_now": None, "size_baseline": None}
WEIGHTS = {
    "arrays": [
        {"name": "loss curve", "n_total": 8, "n_differ": 8, "max_abs": 1e-3, "max_rel": 1e-2},
        {"name": "first-layer weights", "n_total": 2560, "n_differ": 888, "max_abs": 2e-3,
         "max_rel": 3.6e-2},
    ],
    "rtol": 1e-9,
    "atol": 1e-12,
}  # fmt: skip


def blamed(layer, now, then=THEN, kind=Kind.MOVED):
    return blame(LAYERS[layer], kind, now, then)[1]


# -- blame of one layer ---------------------------------------------------------------


def test_one_library_moved_is_blamed():
    assert blamed("rendering", THEN | {"matplotlib": "3.10.0"}) == ["matplotlib"]
    assert blamed("training", THEN | {"scikit-learn": "1.8.0"}) == ["scikit-learn"]


def test_only_the_layers_own_libraries_count():
    now = THEN | {"scikit-learn": "1.8.0", "matplotlib": "3.10.0"}
    assert blamed("training", now) == ["scikit-learn"]
    assert blamed("rendering", now) == ["matplotlib"]


def test_several_libraries_moved_are_all_blamed_most_likely_first():
    now = THEN | {"numpy": "2.2.6", "python": "3.10.13", "scikit-learn": "1.8.0"}
    assert blamed("training", now) == ["scikit-learn", "numpy", "python"]


def test_environment_is_blamed_only_when_no_version_moved():
    now = THEN | {"blas-kernel": "SkylakeX"}
    moves, who = blame(LAYERS["training"], Kind.MOVED, now, THEN)
    assert who == ["blas-kernel"]
    assert [(m.fact, m.kind, m.now, m.then) for m in moves] == [
        ("blas-kernel", "environment", "SkylakeX", "Haswell")
    ]
    assert blamed("training", now | {"numpy": "2.2.6"}) == ["numpy"]
    # FreeType draws; it does not train.
    assert blamed("rendering", THEN | {"freetype": "2.13.2"}) == ["freetype"]
    assert blamed("training", THEN | {"freetype": "2.13.2"}) == [LOCAL_CHANGE]


def test_nothing_recorded_moved_is_a_local_change():
    assert blamed("training", dict(THEN)) == [LOCAL_CHANGE]
    text = explain(
        LayerResult("training", "digits", FAIL, Kind.MOVED, "moved", blamed=[LOCAL_CHANGE])
    )
    assert "nothing recorded moved" in text and "blamed: local change" in text


def test_facts_an_old_manifest_did_not_record_are_unknown_not_moved():
    old = {k: THEN[k] for k in (*LIBRARIES, "blas")}
    assert moved_facts(LAYERS["training"], THEN | {"blas-kernel": "SkylakeX"}, old) == []
    assert blamed("training", THEN | {"blas-kernel": "SkylakeX"}, old) == [LOCAL_CHANGE]


@pytest.mark.parametrize("kind", [Kind.MISSING_BASELINE, Kind.DAMAGED_BASELINE])
def test_an_unreadable_baseline_blames_nobody(kind):
    assert blame(LAYERS["training"], kind, THEN | {"numpy": "1.0"}, THEN) == ([], [])
    text = explain(LayerResult("training", "digits", FAIL, kind, "snapshot x is damaged"))
    assert "blamed: nobody" in text and "numpy" not in text


def test_unknown_baseline_versions_blame_nobody():
    assert blame(LAYERS["rendering"], Kind.MOVED, THEN, None) == ([], [])
    result = LayerResult("rendering", "digits", FAIL, Kind.MOVED, "image moved")
    text = explain(result, "manifest m is damaged (JSONDecodeError)")
    assert "versions at the baseline unknown: manifest m is damaged" in text


def test_changed_settings_blame_the_settings():
    assert blamed("training", dict(THEN), kind=Kind.SETTINGS_CHANGED) == [SETTINGS]


def test_a_combined_layer_is_not_blamed_alone():
    moves, who = blame(LAYERS["pipeline"], Kind.MOVED, THEN | {"matplotlib": "3.10.0"}, THEN)
    assert who == [] and [m.fact for m in moves] == ["matplotlib"]


# -- the table of layers ----------------------------------------------------------------


def test_layer_table_drives_markers_and_library_selection():
    assert [line.split(":")[0] for line in marker_lines()] == [*LAYERS, "layer"]
    assert layers_for_library("matplotlib") == ["rendering"]
    assert layers_for_library("scikit-learn") == ["training", "scores", "seed"]
    assert set(layers_for_library("numpy")) == {"training", "rendering", "scores", "seed"}
    pipeline = LAYERS["pipeline"]
    assert set(pipeline.libraries) == set(LAYERS["training"].libraries) | {"matplotlib"}
    assert "freetype" in pipeline.environment and "blas-kernel" in pipeline.environment


# -- a scenario's verdict ------------------------------------------------------------


def result(layer, status, kind=None, who=(), amount=None, scenario="digits"):
    return LayerResult(layer, scenario, status, kind, "", amount, blamed=list(who))


def line_of(*records, baselines=None):
    verdict = build_verdict(list(records), baselines or {"digits": (THEN, None)}, THEN)
    return verdict.scenarios[0].line, verdict


def test_all_layers_hold_only_when_all_ran():
    line, _ = line_of(*(result(name, PASS) for name in ("training", "rendering", "pipeline",
                                                        "scores")))  # fmt: skip
    assert line == "all layers hold"
    line, verdict = line_of(result("rendering", PASS))
    assert line == "rendering hold; not run: training, pipeline, scores"
    assert [r.status for r in verdict.scenarios[0].layers] == [NOT_RUN, PASS, NOT_RUN, NOT_RUN]
    assert verdict.layers_run == ["rendering"]


def test_skipped_scenario_is_one_line_and_one_row():
    line, verdict = line_of(result("training", SKIP), result("rendering", SKIP))
    assert line == "skipped"
    assert report.table_rows(report.to_json(verdict, "", "")) == [("digits", "all", "skip", "", "")]


def test_moved_layer_line_has_numbers_and_blame():
    line, _ = line_of(
        result("training", FAIL, Kind.MOVED, ["scikit-learn"], WEIGHTS),
        result("rendering", PASS),
    )
    assert line == (
        "training moved (first-layer weights: 888 of 2560 differ, max rel 3.6e-02), "
        "blamed: scikit-learn"
    )


def test_pipeline_takes_the_blame_of_the_layers_it_combines():
    line, verdict = line_of(
        result("training", PASS),
        result("rendering", FAIL, Kind.MOVED, ["matplotlib"], RMS),
        result("pipeline", FAIL, Kind.MOVED, [], RMS),
    )
    assert line == "rendering moved (RMS 12.573), blamed: matplotlib"
    assert verdict.scenarios[0].layers[2].blamed == ["matplotlib"]


def test_pipeline_failing_while_its_parts_hold_means_the_baselines_disagree():
    line, verdict = line_of(
        result("training", PASS), result("rendering", PASS), result("pipeline", FAIL, Kind.MOVED)
    )
    assert "baseline image and snapshot disagree" in line
    assert verdict.scenarios[0].layers[2].blamed == []


def test_pipeline_alone_never_guesses():
    line, verdict = line_of(result("pipeline", FAIL, Kind.MOVED, amount=RMS))
    assert "training and rendering did not run" in line
    assert "run: pytest -m 'training or rendering' -k digits" in line
    assert verdict.scenarios[0].layers[2].blamed == []
    assert LOCAL_CHANGE not in line and "disagree" not in line


def test_unreadable_manifest_is_named_once_per_scenario():
    line, _ = line_of(
        result("training", FAIL, Kind.DAMAGED_BASELINE),
        result("rendering", PASS),
        baselines={"digits": (None, "manifest m.json is damaged")},
    )
    assert (
        line == "training baseline damaged; baseline versions unknown (manifest m.json is damaged)"
    )


def test_below_floor_and_error_lines():
    amount = {"scores": {"train": 0.95, "test": 0.80}, "floors": {"train": 0.9, "test": 0.87}}
    line, _ = line_of(result("scores", FAIL, Kind.BELOW_FLOOR, ["scikit-learn"], amount))
    assert line.startswith("scores below floor (test 0.8000 < 0.87), blamed: scikit-learn")
    line, _ = line_of(result("training", FAIL, Kind.ERROR, ["numpy"]))
    assert line.startswith("training raised an error, blamed: numpy")


def test_the_worst_record_of_a_cell_wins():
    _, verdict = line_of(result("training", PASS), result("training", FAIL, Kind.MOVED))
    assert verdict.scenarios[0].layers[0].status == FAIL


def test_amounts_in_words():
    assert describe_amount(result("rendering", FAIL, amount=RMS).to_dict()) == "RMS 12.573"
    sizes = RMS | {"image_rms": None, "size_now": [480, 640], "size_baseline": [240, 320]}
    assert describe_amount(result("rendering", FAIL, amount=sizes).to_dict()) == (
        "size 640x480 px, 320x240 in the baseline"
    )
    assert describe_amount(result("training", PASS, amount=WEIGHTS).to_dict()) == "max rel 3.6e-02"


# -- the files ---------------------------------------------------------------------------


def test_json_and_markdown_views(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv(report.STEP_SUMMARY_ENV, str(summary))
    verdict = build_verdict(
        [
            result("training", PASS, amount=WEIGHTS),
            result("rendering", FAIL, Kind.MOVED, ["matplotlib"], RMS),
        ],
        {"digits": (THEN, None)},
        THEN | {"matplotlib": "3.10.0"},
    )
    for name in report.RUN_URL_ENV:
        monkeypatch.delenv(name, raising=False)
    record = report.to_json(verdict, tmp_path / "baselines", tmp_path / "results")
    written = report.write_verdict(record, tmp_path / "results")
    assert [p.name for p in written] == ["verdict.json", "verdict.md", "verdict.html"]
    data = json.loads(written[0].read_text())
    assert data["schema"] == "mlp-weights-verdict" and data["schema_version"] == 1
    assert data["layers_run"] == ["training", "rendering"]
    assert data["counts"] == {"pass": 1, "fail": 1, "skip": 0, "not-run": 2}
    (digits,) = data["scenarios"]
    assert digits["baseline"] == THEN and digits["baseline_problem"] is None
    rendering = digits["layers"][1]
    assert rendering["status"] == "fail" and rendering["kind"] == "moved"
    assert rendering["amount"]["image_rms"] == 12.573 and rendering["blamed"] == ["matplotlib"]
    markdown = written[1].read_text()
    assert "| digits | rendering | FAIL | RMS 12.573 | matplotlib |" in markdown
    assert "- **digits**: rendering moved (RMS 12.573), blamed: matplotlib" in markdown
    # verdict.md links to the page beside it; the job summary says where it is.
    assert markdown.endswith(
        "\nImages, loss curves and blame in one page: [verdict.html](verdict.html) "
        "(beside this file).\n"
    )
    in_summary = markdown.replace(report.page_link(), report.page_link(in_summary=True))
    assert in_summary.endswith("one page: `verdict.html`, in the results folder.\n")
    assert summary.read_text() == "earlier step\n" + in_summary + "\n"
    assert "rendering moved (RMS 12.573), blamed: matplotlib" in report.to_text(data)


def test_the_job_summary_links_to_the_runs_artifacts(monkeypatch):
    for name, value in zip(report.RUN_URL_ENV, ("https://github.com", "o/r", "42")):
        monkeypatch.setenv(name, value)
    assert report.page_link(in_summary=True) == (
        "Images, loss curves and blame in one page: `verdict.html`, in "
        "[this run's artifacts](https://github.com/o/r/actions/runs/42#artifacts)."
    )
