"""Blame: the library named for each failing layer."""

from mlp_weights.verdict import Outcome, blame, explain, format_table, scenario_verdict

THEN = {
    "python": "3.11.7",
    "scikit-learn": "1.9.1",
    "matplotlib": "3.11.2",
    "numpy": "2.4.6",
    "blas": "openblas 0.3.30",
}


def test_rendering_failure_names_matplotlib_versions():
    now = THEN | {"matplotlib": "3.10.0"}
    text = explain("rendering", "digits", "image moved by RMS 9.8", now, THEN)
    assert "layer 'rendering', scenario 'digits': image moved by RMS 9.8" in text
    assert "matplotlib 3.10.0 now, 3.11.2 when the baseline was made" in text
    assert blame("rendering", now, THEN) == "matplotlib"


def test_training_failure_names_what_moved_in_its_stack():
    now = THEN | {"scikit-learn": "1.8.0", "matplotlib": "3.10.0"}
    assert blame("training", now, THEN) == "scikit-learn"
    now = THEN | {"numpy": "2.2.6", "python": "3.10.13"}
    assert blame("training", now, THEN) == "numpy, python"


def test_failure_without_version_change_is_called_local():
    assert blame("training", THEN, THEN) == "scikit-learn (same version; local change)"
    assert "not an upgrade" in explain("training", "digits", "x", THEN, THEN)


def test_scenario_verdicts():
    def outcomes(training, rendering, pipeline):
        return [
            Outcome("digits", "training", training, "scikit-learn" if training == "FAIL" else ""),
            Outcome("digits", "rendering", rendering, "matplotlib" if rendering == "FAIL" else ""),
            Outcome("digits", "pipeline", pipeline),
        ]

    assert scenario_verdict(outcomes("pass", "pass", "pass")) == "all layers hold"
    assert scenario_verdict(outcomes("FAIL", "pass", "FAIL")) == "training moved (scikit-learn)"
    assert scenario_verdict(outcomes("pass", "FAIL", "FAIL")) == "rendering moved (matplotlib)"
    assert "regenerate them together" in scenario_verdict(outcomes("pass", "pass", "FAIL"))
    assert scenario_verdict(outcomes("skip", "skip", "skip")) == "skipped"


def test_table_has_a_row_per_layer_and_a_verdict_per_scenario():
    lines = format_table(
        [
            Outcome("digits", "rendering", "FAIL", "matplotlib"),
            Outcome("digits", "training", "pass"),
            Outcome("mnist", "training", "skip"),
        ]
    )
    assert lines[0].split() == ["scenario", "layer", "result", "blamed"]
    rows = [line.split() for line in lines[2:5]]
    assert rows == [
        ["digits", "training", "pass"],
        ["digits", "rendering", "FAIL", "matplotlib"],
        ["mnist", "training", "skip"],
    ]
    assert "digits: rendering moved (matplotlib)" in lines
    assert "mnist: skipped" in lines


def test_pipeline_row_blames_what_the_layer_rows_blame():
    from mlp_weights.suite import summary_lines

    def record(layer, status, blamed=""):
        return {"scenario": "digits", "layer": layer, "status": status, "blamed": blamed}

    lines = summary_lines(
        [
            record("training", "pass"),
            record("rendering", "FAIL", "matplotlib"),
            record("pipeline", "FAIL", "scikit-learn or matplotlib or numpy"),
        ]
    )
    assert ["digits", "pipeline", "FAIL", "matplotlib"] in [line.split() for line in lines]
    lines = summary_lines(
        [
            record("training", "pass"),
            record("rendering", "pass"),
            record("pipeline", "FAIL", "local change"),
        ]
    )
    assert any("baseline image and snapshot disagree" in line for line in lines)
