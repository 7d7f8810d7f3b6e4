"""The pytest plugin from the inside: generated test files, run with ``pytester``.

These tests train nothing: each generated layer test raises a typed
finding (or returns a small figure for pytest-mpl), and the assertions
read the run's outcome, its output and its ``verdict.json``.
"""

from __future__ import annotations

import json

import pytest

from mlp_weights.baselines.manifest import environment_versions
from mlp_weights.core.environment import LIBRARIES
from mlp_weights.report import views as report

pytestmark = pytest.mark.usefixtures("warm_process", "no_ci_summary")

PLUGIN = ("-p", "mlp_weights.pytest_plugin", "-p", "no:cacheprovider")

GENERATED_LAYER_TESTS = """
import pytest
from mlp_weights.suite.results import Finding, Kind, LayerFailure

@pytest.mark.parametrize("scenario_name", ["digits"])
@pytest.mark.training
def test_training(scenario_name, layer_run):
    raise LayerFailure(Finding(Kind.{kind}, "{message}", {amount}))

@pytest.mark.parametrize("scenario_name", ["digits"])
@pytest.mark.scores
def test_scores(scenario_name, layer_run):
    layer_run.keep(Finding(amount={{"scores": {{"train": 0.95, "test": 0.9}},
                                     "floors": {{"train": 0.9, "test": 0.87}}}}))

def test_not_a_layer():
    pass
"""


def make_baselines(folder, **moved):
    """A baseline folder whose manifest records today's facts, some of them changed."""
    folder.mkdir()
    now = environment_versions() | {k.replace("_", "-"): v for k, v in moved.items()}
    entry = {
        "versions": {k: now[k] for k in LIBRARIES},
        "environment": {k: v for k, v in now.items() if k not in LIBRARIES},
    }
    generations = {
        f"{layer}/all": {"layer": layer, "scenarios": {"digits": entry}}
        for layer in ("training", "rendering")
    }
    manifest = {"format_version": 2, "generations": generations}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def run(pytester, *args, baselines=None):
    baselines = baselines or make_baselines(pytester.path / "baselines")
    results = pytester.path / "results"
    result = pytester.runpytest_inprocess(
        *PLUGIN, "--mpl", f"--mpl-results-path={results}", f"--mlp-baseline-dir={baselines}", *args
    )
    path = results / "verdict.json"
    return result, (json.loads(path.read_text()) if path.exists() else None)


def layer(verdict, name, scenario="digits"):
    (found,) = [s for s in verdict["scenarios"] if s["scenario"] == scenario]
    return next(r for r in found["layers"] if r["layer"] == name)


def findings(kind="MOVED", message="weights moved", amount=None):
    return GENERATED_LAYER_TESTS.format(kind=kind, message=message, amount=repr(amount))


@pytest.mark.parametrize(
    ("kind", "blamed"),
    [
        ("MOVED", ["scikit-learn"]),
        ("BELOW_FLOOR", ["scikit-learn"]),
        ("ERROR", ["scikit-learn"]),
        ("SETTINGS_CHANGED", ["scenario settings"]),
        ("MISSING_BASELINE", []),
        ("DAMAGED_BASELINE", []),
    ],
)
def test_each_kind_reaches_the_verdict_with_its_blame(pytester, kind, blamed):
    pytester.makepyfile(test_generated_layers=findings(kind))
    baselines = make_baselines(pytester.path / "b", **{"scikit-learn": "0.0-old"})
    result, verdict = run(pytester, baselines=baselines)
    result.assert_outcomes(passed=2, failed=1)
    training = layer(verdict, "training")
    assert training["status"] == "fail"
    assert training["kind"] == kind.lower().replace("_", "-")
    assert training["blamed"] == blamed
    assert layer(verdict, "scores")["amount"]["scores"]["train"] == 0.95
    # The failure is the finding and its explanation, not a traceback of the check.
    output = result.stdout.str()
    assert "layer 'training', scenario 'digits': weights moved" in output
    assert "LayerFailure" not in output and "Traceback" not in output


def test_an_unexpected_exception_is_an_error_with_its_traceback(pytester):
    pytester.makepyfile(
        test_generated_layers="""
import pytest

@pytest.mark.parametrize("scenario_name", ["digits"])
@pytest.mark.training
def test_training(scenario_name):
    raise TypeError("MLPClassifier() got an unexpected keyword argument")
"""
    )
    result, verdict = run(pytester)
    training = layer(verdict, "training")
    assert training["kind"] == "error" and "unexpected keyword" in training["message"]
    assert "raise TypeError" in result.stdout.str()
    assert "mlp-weights verdict" in result.stdout.str()


def test_verdict_files_and_ci_summary(pytester, monkeypatch):
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    amount = {"arrays": [{"name": "first-layer weights", "n_total": 10, "n_differ": 3,
                          "max_abs": 1e-3, "max_rel": 2e-2}]}  # fmt: skip
    pytester.makepyfile(test_generated_layers=findings(amount=amount))
    result, verdict = run(pytester)
    assert verdict["layers_run"] == ["training", "scores"]
    assert verdict["counts"] == {"pass": 1, "fail": 1, "skip": 0, "not-run": 2}
    line = verdict["scenarios"][0]["verdict"]
    assert line.startswith("training moved (first-layer weights: 3 of 10 differ, max rel 2.0e-02)")
    markdown = (pytester.path / "results" / "verdict.md").read_text()
    # The same, but the summary's link to the page names where it is.
    link, in_summary = report.page_link(), report.page_link(in_summary=True)
    assert link in markdown
    assert summary.read_text() == markdown.replace(link, in_summary) + "\n"
    assert "| digits | training | FAIL |" in markdown
    result.stdout.fnmatch_lines(["*mlp-weights verdict*", "digits: training moved*"])


def test_blame_follows_the_manifest(pytester):
    pytester.makepyfile(test_generated_layers=findings())
    several = make_baselines(pytester.path / "several", numpy="1.0", python="3.0")
    _, verdict = run(pytester, baselines=several)
    assert layer(verdict, "training")["blamed"] == ["numpy", "python"]
    environment = make_baselines(pytester.path / "env", blas_kernel="Other")
    result, verdict = run(pytester, baselines=environment)
    assert layer(verdict, "training")["blamed"] == ["blas-kernel"]
    assert "BLAS kernel" in result.stdout.str() and "Other at the baseline" in result.stdout.str()
    _, verdict = run(pytester, baselines=make_baselines(pytester.path / "same"))
    assert layer(verdict, "training")["blamed"] == ["local change"]


def test_a_runs_plugin_object_is_freed_with_the_run(repo_baselines):
    """A run's choices and facts live on its state object, so each in-process
    run (``pytester``, or ``pytest.main`` called again) frees its state and,
    with it, its whole ``Config``. A cache on the class kept 26 of them alive
    by the end of this suite, for the garbage collector to walk on every full
    pass."""
    import gc
    import weakref

    from mlp_weights.suite.state import RunState

    state = RunState(repo_baselines)
    state.begin_injections([])
    generation = state.compared_generation("training")
    facts, _ = state.baseline_facts("digits")
    assert generation is not None and facts is not None
    # Asked again, the same answers: chosen once, not read again.
    assert state.compared_generation("training") is generation
    assert state.baseline_facts("digits")[0] is facts
    state.end_injections()
    freed = weakref.ref(state)
    del state
    gc.collect()
    assert freed() is None


IMAGE_TEST = """
import pytest
from matplotlib.figure import Figure

@pytest.mark.parametrize("scenario_name", ["digits"])
@pytest.mark.rendering
@pytest.mark.mpl_image_compare(filename="digits.png", tolerance=0.05, style="default")
def test_rendering(scenario_name):
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().imshow([[0, 0.2], [0.2, 1]], cmap="gray", vmin=0, vmax=1)
    return fig
"""


def test_image_comparison_is_read_from_pytest_mpl(pytester):
    from matplotlib.figure import Figure

    baselines = make_baselines(pytester.path / "b", matplotlib="0.0-old")
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().imshow([[0, 0.8], [0.8, 1]], cmap="gray", vmin=0, vmax=1)
    (baselines / "rendering" / "all").mkdir(parents=True)
    fig.savefig(baselines / "rendering" / "all" / "digits.png")
    pytester.makepyfile(test_generated_layers=IMAGE_TEST)
    result, verdict = run(pytester, baselines=baselines)
    rendering = layer(verdict, "rendering")
    assert rendering["kind"] == "moved" and rendering["blamed"] == ["matplotlib"]
    assert rendering["amount"]["image_rms"] > 10
    results = pytester.path / "results"
    assert all((results / path).exists() for path in rendering["images"].values())
    assert "image moved by RMS" in result.stdout.str()


def test_results_folder_starts_clean_but_keeps_what_is_not_ours(pytester):
    results = pytester.path / "results"
    stale = results / "test_layers.test_old_digits"
    stale.mkdir(parents=True)
    (stale / "result-failed-diff.png").write_bytes(b"old")
    (results / "results-xdist-abc-gw0.json").write_text("{}")
    (results / "digits.obtained.npz").write_bytes(b"old")
    (results / "notes.txt").write_text("mine")
    # Another run's results folder, still empty (tox: mpl-results/<env>/).
    (results / "oldest-own").mkdir()
    pytester.makepyfile(test_generated_layers="def test_nothing():\n    pass\n")
    run(pytester)
    assert not stale.exists()
    assert not (results / "results-xdist-abc-gw0.json").exists()
    assert not (results / "digits.obtained.npz").exists()
    assert (results / "notes.txt").read_text() == "mine"
    assert (results / "oldest-own").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "image tests need --mpl"),
        (["--mpl", "--mpl-generate-path=somewhere"], "use mlp-weights regen"),
    ],
)
def test_suite_refuses_to_skip_comparison_or_write_baselines(pytester, args, message):
    pytester.makepyfile(test_generated_layers="def test_nothing():\n    pass\n")
    result = pytester.runpytest_inprocess(*PLUGIN, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert not (pytester.path / "somewhere").exists()


def test_the_plugin_is_inert_unless_loaded(pytester):
    """Installed, mlp-weights changes nothing in another project's pytest run."""
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "mlp-weights" not in result.stdout.str()
    assert not (pytester.path / "mpl-results").exists()


def test_an_unknown_forced_generation_is_a_usage_error(pytester, monkeypatch):
    pytester.makepyfile(test_generated_layers="def test_nothing():\n    pass\n")
    baselines = make_baselines(pytester.path / "b")
    result, _ = run(pytester, "--mlp-generation=rendering/nope", baselines=baselines)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "unknown generation 'rendering/nope'; the generations are: rendering/all, training/all"
        in result.stderr.str()
    )
    monkeypatch.setenv("MLP_WEIGHTS_GENERATION", "training/nope")
    result, _ = run(pytester, baselines=baselines)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown generation 'training/nope'" in result.stderr.str()


def test_the_header_names_the_generations(pytester):
    pytester.makepyfile(test_generated_layers=findings())
    result, verdict = run(pytester)
    # An old single-generation folder reads as one generation per layer.
    result.stdout.fnmatch_lines(
        ["mlp-weights: generations training/all (any version); rendering/all (any version)"]
    )
    assert layer(verdict, "training")["generation"] == "training/all"
    assert layer(verdict, "scores")["generation"] is None
    assert verdict["generations"]["training/all"] == {
        "layer": "training",
        "range": "any version",
        "pins": None,
        "forced": False,
    }
    assert "baseline generation: training/all (any version)" in result.stdout.str()
