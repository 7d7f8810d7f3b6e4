"""The suite proves it can fail, in the right layer.

Each test runs the layer tests in a separate pytest process (so that an
injected change cannot leak into this one) and reads the outcome of every
test from a JUnit XML report.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
LAYER_TESTS = REPO / "tests" / "test_layers.py"
BASELINES = REPO / "baseline_images"
OFFLINE = "digits or sample"  # -k expression: the offline scenarios

pytestmark = pytest.mark.selftest

LAYER_OF_TEST = {
    "test_training_matches_snapshot": "training",
    "test_rendering_matches_baseline_image": "rendering",
    "test_pipeline_matches_baseline_image": "pipeline",
    "test_scores_above_floors": "scores",
}


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_layers(tmp_path: Path, *args: str) -> tuple[dict, str]:
    """Run the layer tests; return ``{(layer, scenario): outcome}`` and the output."""
    junit = tmp_path / f"junit-{len(list(tmp_path.glob('junit-*')))}.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(LAYER_TESTS),
        "-p",
        "no:cacheprovider",
        "-k",
        OFFLINE,
        f"--mpl-results-path={tmp_path / 'mpl-results'}",
        f"--junitxml={junit}",
        *args,
    ]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert junit.exists(), proc.stdout + proc.stderr
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test, _, scenario = case.get("name").partition("[")
        outcome = "pass"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "fail"
        elif case.find("skipped") is not None:
            outcome = "skip"
        outcomes[(LAYER_OF_TEST[test], scenario.rstrip("]"))] = outcome
    return outcomes, proc.stdout + proc.stderr


def layer_outcomes(outcomes: dict, layer: str) -> set[str]:
    return {outcome for (name, _), outcome in outcomes.items() if name == layer}


@pytest.fixture(scope="module")
def baselines_digest():
    return tree_digest(BASELINES)


@pytest.fixture
def untouched_baselines(baselines_digest):
    """Fail if a test run changed any byte of baseline_images/."""
    yield
    assert tree_digest(BASELINES) == baselines_digest, "a test run modified baseline_images/"


def copy_baselines(folder: Path, **versions: str) -> Path:
    """A copy of the baselines whose manifest records today's versions.

    Then a failure's blame does not depend on which Python runs the suite
    (the baselines were made on one; tox runs several), and ``versions``
    can pretend a library moved.
    """
    from mlp_weights.manifest import environment_versions

    shutil.copytree(BASELINES, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["scenarios"].values():
        entry["versions"] = {**environment_versions(), **versions}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def training_change_run(tmp_path_factory, baselines_digest):
    """One run with the training change injected, shared by two tests."""
    tmp = tmp_path_factory.mktemp("training")
    baselines = copy_baselines(tmp / "baselines")
    result = run_layers(tmp, "--mlp-inject=training", f"--mlp-baseline-dir={baselines}")
    assert tree_digest(BASELINES) == baselines_digest, "a test run modified baseline_images/"
    return result


def test_training_change_fails_training_not_rendering(training_change_run):
    outcomes, output = training_change_run
    assert layer_outcomes(outcomes, "training") == {"fail"}, output
    assert layer_outcomes(outcomes, "rendering") == {"pass"}, output
    # The image of a 1%-off fit is caught too, at the suite's tolerance.
    assert layer_outcomes(outcomes, "pipeline") == {"fail"}, output
    assert "training moved (scikit-learn (same version; local change))" in output
    assert "first-layer weights:" in output and "max rel error" in output


def test_failing_run_leaves_the_baselines_byte_for_byte(tmp_path, untouched_baselines):
    # (The clean run against these baselines is the layer tests of this session.)
    outcomes, output = run_layers(tmp_path, "--mlp-inject=drawing")
    assert layer_outcomes(outcomes, "rendering") == {"fail"}, output
    assert layer_outcomes(outcomes, "training") == {"pass"}, output
    # untouched_baselines compares every byte of baseline_images/ afterwards.


def test_drawing_change_fails_rendering_not_training(tmp_path, untouched_baselines):
    baselines = copy_baselines(tmp_path / "baselines", matplotlib="0.0-baseline")
    outcomes, output = run_layers(
        tmp_path, "--mlp-inject=drawing", f"--mlp-baseline-dir={baselines}"
    )
    assert layer_outcomes(outcomes, "rendering") == {"fail"}, output
    assert layer_outcomes(outcomes, "training") == {"pass"}, output
    assert layer_outcomes(outcomes, "scores") == {"pass"}, output
    import matplotlib

    # The failure names the version now and the one the baseline was drawn with.
    assert f"matplotlib {matplotlib.__version__} now, 0.0-baseline when the baseline" in output
    assert "rendering moved (matplotlib)" in output
    assert "image moved by RMS" in output


def test_same_verdicts_under_xdist(tmp_path, untouched_baselines, training_change_run):
    pytest.importorskip("xdist")
    serial, _ = training_change_run
    baselines = copy_baselines(tmp_path / "baselines")
    parallel, output = run_layers(
        tmp_path, "--mlp-inject=training", f"--mlp-baseline-dir={baselines}", "-n", "2"
    )
    assert parallel == serial
    assert "mlp-weights verdict" in output and "training moved (scikit-learn" in output


def spoil_png(path: Path) -> None:
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    pixels[40:80, 100:200, :3] = 1.0 - pixels[40:80, 100:200, :3]
    matplotlib.image.imsave(path, pixels)


def test_spoiled_baseline_images_fail_rendering(tmp_path, untouched_baselines):
    spoiled = tmp_path / "baselines"
    shutil.copytree(BASELINES, spoiled)
    spoil_png(spoiled / "digits.png")
    # A baseline of the wrong size (as if drawn at another dpi).
    import matplotlib.image

    pixels = matplotlib.image.imread(spoiled / "mnist-sample.png")
    matplotlib.image.imsave(spoiled / "mnist-sample.png", pixels[::2, ::2])
    outcomes, output = run_layers(tmp_path, f"--mlp-baseline-dir={spoiled}")
    assert layer_outcomes(outcomes, "rendering") == {"fail"}, output
    assert layer_outcomes(outcomes, "training") == {"pass"}, output
    assert "Image dimensions did not match" in output
    assert "layer 'rendering', scenario 'digits': image moved by RMS" in output


def test_missing_baseline_names_the_regen_command(tmp_path, untouched_baselines):
    partial = tmp_path / "baselines"
    shutil.copytree(BASELINES, partial)
    (partial / "digits.png").unlink()
    (partial / "digits.npz").unlink()
    outcomes, output = run_layers(tmp_path, f"--mlp-baseline-dir={partial}")
    assert outcomes[("training", "digits")] == "fail"
    assert outcomes[("rendering", "digits")] == "fail"
    assert outcomes[("training", "mnist-sample")] == "pass"
    assert 'mlp-weights regen --scenario digits --reason "..."' in output
    assert sorted(p.name for p in partial.iterdir()) == [
        "manifest.json",
        "mnist-sample.npz",
        "mnist-sample.png",
    ], "the test run wrote into the baseline folder"


def test_what_regen_writes_is_what_the_suite_compares(tmp_path, untouched_baselines):
    fresh = tmp_path / "baselines"
    regen = [
        sys.executable,
        "-m",
        "mlp_weights",
        "regen",
        "--quiet",
        "--reason",
        "selftest",
        "--baseline-dir",
        str(fresh),
        "--scenario",
        "digits",
        "--scenario",
        "mnist-sample",
    ]
    subprocess.run(regen, check=True, capture_output=True, timeout=300)
    outcomes, output = run_layers(tmp_path, f"--mlp-baseline-dir={fresh}")
    assert outcomes and set(outcomes.values()) == {"pass"}, output


def test_numeric_snapshot_catches_what_the_image_hides():
    """FINDINGS: a 1e-4 change hides below image tolerance but not in the weights."""
    from mlp_weights.snapshot import compare_arrays

    rs = np.random.RandomState(0)
    weights = rs.standard_normal((64, 40)) * 0.1
    nudged = weights * (1 + 1e-6 * rs.standard_normal(weights.shape))
    noisy = weights * (1 + 1e-15 * rs.standard_normal(weights.shape))
    assert not compare_arrays("w", weights, nudged).ok
    assert compare_arrays("w", weights, noisy).ok


@pytest.mark.parametrize("scenario_name", ["digits", "mnist-sample"])
def test_learning_rate_one_millionth_off_fails_training(scenario_name):
    """The issue's bar: a relative change of 1e-6 in the learning rate must fail."""
    from mlp_weights import suite
    from mlp_weights.data import load_dataset
    from mlp_weights.scenarios import get_scenario
    from mlp_weights.snapshot import compare_training
    from mlp_weights.training import train

    scenario = get_scenario(scenario_name)
    nudged = scenario.with_overrides(learning_rate_init=scenario.learning_rate_init * (1 + 1e-6))
    dataset = load_dataset(scenario)
    snapshot = suite.stored_snapshot(scenario_name)
    assert all(c.ok for c in compare_training(snapshot, train(scenario, dataset, verbose=False)))
    failed = [
        c for c in compare_training(snapshot, train(nudged, dataset, verbose=False)) if not c.ok
    ]
    assert [c.name for c in failed][:2] == ["loss curve", "first-layer weights"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "addopts="], "image tests need --mpl"),
        (["--mpl-generate-path=somewhere"], "use mlp-weights regen"),
    ],
)
def test_suite_refuses_to_skip_comparison_or_write_baselines(tmp_path, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(LAYER_TESTS), "-p", "no:cacheprovider", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert not (tmp_path / "somewhere").exists()
