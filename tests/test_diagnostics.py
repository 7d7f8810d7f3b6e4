"""Weight diagnostics: definitions, readings of measured variants, and where they show up."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from mlp_weights.baselines.snapshot import DIAGNOSTICS_FIELD, Snapshot, load_snapshot, save_snapshot
from mlp_weights.baselines.store import snapshot_path
from mlp_weights.pipeline import diagnostics as dg
from mlp_weights.pipeline.scenarios import SCENARIOS
from mlp_weights.suite import checks as suite
from mlp_weights.suite.reading import diagnostics_record, read_change
from mlp_weights.suite.results import FAIL, PASS, Kind, LayerFailure, LayerResult
from mlp_weights.suite.verdict import ScenarioVerdict, explain, scenario_line

REPO = Path(__file__).resolve().parent.parent
BASELINES = REPO / "baseline_images"
LAYER_TESTS = REPO / "tests" / "test_layers.py"

# -- definitions, on arrays small enough to work out by hand ---------------------------


def test_init_bound_is_glorots():
    assert dg.init_bound(2, 4) == 1.0  # sqrt(6 / 6)
    assert dg.init_bound(784, 40) == pytest.approx(0.0853, abs=5e-5)


def test_initial_weights_are_scikit_learns_first_draws():
    """A fit that can barely move (learning rate 1e-12, no penalty) ends where it started."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    rng = np.random.RandomState(0)
    X, y = rng.uniform(size=(30, 16)), np.arange(30) % 3
    mlp = MLPClassifier(
        hidden_layer_sizes=(5,),
        solver="sgd",
        max_iter=1,
        alpha=0.0,
        learning_rate_init=1e-12,
        random_state=7,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    np.testing.assert_allclose(mlp.coefs_[0], dg.initial_weights(16, 5, 7), rtol=0, atol=1e-9)
    assert not np.allclose(mlp.coefs_[0], dg.initial_weights(16, 5, 8), atol=1e-3)


def diagnose_2x2(W, W0=None, X=None, bound=1.0) -> dict:
    """:func:`dg.diagnose` of weights for 2x2 images; no intercepts, starts at 0 by default."""
    W = np.asarray(W, dtype=np.float64)
    W0 = np.zeros_like(W) if W0 is None else W0
    X = np.eye(4) if X is None else np.asarray(X)
    return dg.diagnose(W, W0, np.zeros(W.shape[1]), X, [1.0], bound, 2)


def test_max_weight_over_init_bound():
    W = [[0.5, -2.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    assert diagnose_2x2(W, bound=0.5)["max_weight_over_init_bound"] == 4.0


def test_dead_units_are_never_positive_on_the_training_set():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    W = np.array([[1.0, -1.0, 0.0, -1.0], [1.0, -1.0, 0.0, 2.0]])
    b = np.array([0.0, 0.0, 0.0, 0.0])
    # Pre-activations per unit: [1, 1], [-1, -1], [0, 0] (never positive), [-1, 2].
    assert dg.dead_units(X, W, b) == 2
    assert dg.dead_units(X, W, np.array([0.0, 1.5, 0.0, 0.0])) == 1


def test_fraction_at_init_counts_within_the_tolerance_of_the_bound():
    W = [[0.0], [0.0005], [0.002], [-0.001]]
    # Moved from 0 by 0, 0.0005, 0.002 and 0.001 (at the tolerance: still counts).
    assert diagnose_2x2(W, bound=1.0)["fraction_at_init"] == 0.75
    assert diagnose_2x2(W, bound=0.1)["fraction_at_init"] == 0.25


def test_unit_norms_and_stable_rank():
    d = diagnose_2x2([[3.0, 0.0], [4.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    assert (d["min_unit_norm"], d["median_unit_norm"]) == (1.0, 3.0)
    # Singular values 3 and 1: (9 + 1) / 9.
    assert dg.stable_rank(np.diag([3.0, 1.0])) == pytest.approx(10 / 9, rel=1e-15)
    assert dg.stable_rank(np.outer([1.0, 2.0, 3.0], [1.0, -1.0])) == pytest.approx(1.0)
    assert dg.stable_rank(np.eye(4)[:, :3]) == pytest.approx(3.0)


def test_total_variation_of_a_two_by_two_image():
    # The unit's image is [[0, 1], [2, 4]]: across |1-0| + |4-2| = 3, down |2-0| + |4-1| = 5.
    W = np.array([[0.0], [1.0], [2.0], [4.0]])
    np.testing.assert_array_equal(dg.total_variation(W, 2), [8.0])


def test_smoothness_is_relative_to_the_start_and_ignores_scale():
    # Unit 0 is three times its start (same roughness per norm: 1); unit 1 went
    # from the checkerboard [[1, 0], [0, 1]] to a flat image (TV 0: ratio 0).
    W0 = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [4.0, 1.0]])
    W = np.array([[0.0, 1.0], [3.0, 1.0], [6.0, 1.0], [12.0, 1.0]])
    assert dg.smoothness_vs_init(W, W0, 2) == pytest.approx(0.5)
    assert dg.smoothness_vs_init(W0, W0, 2) == 1.0
    # A unit of zeros is flat; a unit whose start was flat is left out.
    assert dg.smoothness_vs_init(np.zeros((4, 2)), W0, 2) == 0.0
    assert dg.smoothness_vs_init(W, np.ones((4, 2)), 2) == 1.0
    assert dg.stable_rank(np.zeros((4, 2))) == 0.0


def test_constant_pixels():
    X = np.array([[0, 5, 1, 7], [0, 5, 2, 8]], dtype=np.uint8)
    assert diagnose_2x2(np.ones((4, 1)), X=X)["constant_pixels"] == 2


def test_diagnose_gives_every_labelled_key_as_a_number():
    rng = np.random.RandomState(0)
    W0 = rng.uniform(-1, 1, (4, 3))
    d = dg.diagnose(W0 * 2, W0, np.zeros(3), rng.uniform(size=(5, 4)), [1.0, 0.5], 1.0, 2)
    assert list(d) == list(dg.LABELS)
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in d.values())
    assert d["fraction_at_init"] == 0.0 and d["smoothness_vs_init"] == pytest.approx(1.0)
    assert d["final_loss"] == 0.5 and d["input_pixels"] == 4 and d["hidden_units"] == 3


# -- the readings, on fits with measured variants of the seed's settings ---------------

#: Each variant of the seed's settings, and the start of its reading against them.
VARIANTS = {
    "learning rate x1.01": ({"learning_rate_init": 0.202}, "weights moved by at most"),
    "random_state 2": ({"random_state": 2}, "weights moved by at most"),
    "learning rate x0.1": ({"learning_rate_init": 0.02}, "weights stayed closer to their random"),
    "learning rate x5": ({"learning_rate_init": 1.0}, "weights grew as with a higher learning"),
    "alpha 1": ({"alpha": 1.0}, "weights shrank as with stronger regularization"),
}
#: The reading with the variant as the baseline and the seed's settings now.
REVERSED = {
    "learning rate x1.01": "weights moved by at most",
    "random_state 2": "weights moved by at most",
    "learning rate x0.1": "weights grew as with a higher learning rate",
    "learning rate x5": "weights stayed closer to their random start",
    "alpha 1": "weights shrank less, as with weaker regularization",
}
OFFLINE = suite.scenario_params(["mnist-sample", "digits"])


@pytest.fixture(scope="module")
def variant_fit():
    from mlp_weights.pipeline.data import load_dataset
    from mlp_weights.pipeline.training import train

    fits = {}

    def fit(name: str, variant: str):
        if (name, variant) not in fits:
            scenario = SCENARIOS[name]
            changes = VARIANTS[variant][0]
            fits[name, variant] = train(
                scenario.with_overrides(**changes), load_dataset(scenario), verbose=False
            )
        return fits[name, variant]

    return fit


def max_abs(a, b) -> float:
    return float(np.max(np.abs(a.coefs - b.coefs)))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("scenario_name", OFFLINE)
def test_each_variant_reads_as_its_kind(scenario_name, variant, variant_fit):
    seed, fit = suite.fresh_fit(scenario_name), variant_fit(scenario_name, variant)
    reading = read_change(fit.diagnostics, seed.diagnostics, max_abs(fit, seed))
    assert reading.startswith(VARIANTS[variant][1]), reading
    assert reading.count("as with") <= 1, reading  # one kind of change, not several
    reverse = read_change(seed.diagnostics, fit.diagnostics, max_abs(fit, seed))
    assert reverse.startswith(REVERSED[variant]), reverse


def test_a_higher_learning_rate_reads_in_the_seeds_words_with_numbers(variant_fit):
    seed, fit = suite.fresh_fit("digits"), variant_fit("digits", "learning rate x5")
    then, now = seed.diagnostics, fit.diagnostics
    assert read_change(now, then) == (
        "weights grew as with a higher learning rate: "
        f"max |w| {then['max_weight_over_init_bound']:.1f} → "
        f"{now['max_weight_over_init_bound']:.1f} × initial bound, "
        f"dead units {then['dead_units']} → {now['dead_units']}"
    )


def test_unchanged_character_says_how_far_the_weights_moved():
    d = suite.fresh_fit("digits").diagnostics
    assert read_change(d, d, 3e-6).startswith("weights moved by at most 3e-06; their character")
    assert read_change(d, d, 0.0).startswith("weights are identical; their character is unchanged")
    assert read_change(d, d).startswith("their character is unchanged (max |w| ")


@pytest.mark.parametrize(
    ("changes", "start"),
    [
        ({"stable_rank": 1.6}, "weights stayed closer to their random start"),
        ({"max_weight_over_init_bound": 0.5}, "weights stayed closer to their random start"),
        ({"max_weight_over_init_bound": 2.1}, "weights grew as with a higher learning rate"),
        ({"fraction_at_init": 0.4}, "weights shrank as with stronger regularization"),
        ({"fraction_at_init": 2.5}, "weights shrank less, as with weaker regularization"),
    ],
)
def test_each_rule_on_its_own(changes, start):
    d = suite.fresh_fit("digits").diagnostics
    assert read_change({**d, **{k: d[k] * f for k, f in changes.items()}}, d).startswith(start)


def test_units_that_newly_died_read_as_growth():
    d = suite.fresh_fit("digits").diagnostics
    assert read_change(dict(d, dead_units=d["dead_units"] + 10), d).startswith("weights grew")
    assert "unchanged" in read_change(dict(d, dead_units=d["dead_units"] + 9), d)


def test_outside_the_band_but_no_known_kind_lists_what_moved():
    d = suite.fresh_fit("digits").diagnostics
    lossier = dict(d, final_loss=d["final_loss"] * 1.6)
    assert read_change(lossier, d).startswith("weights changed character: final loss ")
    within = dict(d, final_loss=d["final_loss"] * 1.4)
    assert "unchanged" in read_change(within, d)


def test_the_record_has_the_shape_verdict_json_promises():
    d = suite.fresh_fit("digits").diagnostics
    record = diagnostics_record(d, None)
    assert set(record) == {"now", "baseline", "labels", "reading"}
    assert record["baseline"] is None and set(record["labels"]) == set(d)
    assert record["reading"].startswith("no diagnostics at the baseline")
    assert diagnostics_record(None, d) is None
    json.dumps(record)


# -- snapshots, old and new -------------------------------------------------------------


def test_new_snapshots_keep_the_diagnostics_exactly(tmp_path):
    result = suite.fresh_fit("digits")
    path = save_snapshot(
        Snapshot.from_result(result, SCENARIOS["digits"].settings_json()), tmp_path / "d.npz"
    )
    assert load_snapshot(path, "digits").diagnostics == result.diagnostics


def old_snapshot(folder: Path, name: str = "digits") -> Path:
    """A copy of the baselines whose snapshot has no diagnostics (as written before them)."""
    shutil.copytree(BASELINES, folder)
    path = snapshot_path(folder, name)
    save_snapshot(dataclasses.replace(load_snapshot(path, name), diagnostics=None), path)
    with np.load(path) as npz:
        assert DIAGNOSTICS_FIELD not in npz.files
    return folder


def new_snapshot(folder: Path, result, name: str = "digits") -> Path:
    """A copy of the baselines whose snapshot is ``result``, diagnostics included."""
    shutil.copytree(BASELINES, folder)
    save_snapshot(
        Snapshot.from_result(result, SCENARIOS[name].settings_json()),
        snapshot_path(folder, name),
    )
    return folder


def test_old_snapshots_load_and_the_training_layer_still_works(tmp_path):
    folder = old_snapshot(tmp_path / "old")
    assert load_snapshot(snapshot_path(folder, "digits"), "digits").diagnostics is None
    finding = suite.check_training("digits", folder)
    assert finding.kind is None
    assert finding.diagnostics["baseline"] is None
    assert finding.diagnostics["now"] == suite.fresh_fit("digits").diagnostics
    assert finding.diagnostics["reading"].startswith("no diagnostics at the baseline")


def test_a_training_change_reads_against_the_baselines_diagnostics(tmp_path, variant_fit):
    # The baseline was made by a fit with a tenth of the learning rate, under
    # the same settings: as if a library had slowed training down.
    slow = variant_fit("digits", "learning rate x0.1")
    folder = new_snapshot(tmp_path / "slow", slow)
    with pytest.raises(LayerFailure) as info:
        suite.check_training("digits", folder)
    finding = info.value.finding
    assert finding.kind is Kind.MOVED
    assert finding.diagnostics["baseline"] == slow.diagnostics
    assert finding.diagnostics["reading"].startswith("weights grew as with a higher learning rate")
    result = LayerResult(
        "training", "digits", FAIL, kind=finding.kind, amount=finding.amount,
        blamed=["scikit-learn"], diagnostics=finding.diagnostics,
    )  # fmt: skip
    line = scenario_line(ScenarioVerdict("digits", [result], None, None))
    assert line.startswith("training moved (first-layer weights: ")
    assert line.endswith(
        "blamed: scikit-learn; weights grew as with a higher learning rate: max |w| "
        f"{slow.diagnostics['max_weight_over_init_bound']:.1f} → "
        f"{suite.fresh_fit('digits').diagnostics['max_weight_over_init_bound']:.1f} "
        f"× initial bound, dead units {slow.diagnostics['dead_units']} → "
        f"{suite.fresh_fit('digits').diagnostics['dead_units']}"
    )
    assert "what the weights say: weights grew" in explain(result)


def test_a_passing_training_layer_adds_no_reading_to_the_line():
    record = diagnostics_record(suite.fresh_fit("digits").diagnostics, None)
    passing = LayerResult("training", "digits", PASS, diagnostics=record)
    assert scenario_line(ScenarioVerdict("digits", [passing], None, None)) == "all layers hold"


# -- the suite's verdict.json ---------------------------------------------------------


@pytest.mark.usefixtures("warm_process", "no_ci_summary")
def test_verdict_json_carries_the_diagnostics_and_the_line_the_reading(pytester, tmp_path):
    """A learning rate 1% off, against a snapshot with diagnostics: moved, same character."""
    folder = new_snapshot(tmp_path / "baselines", suite.fresh_fit("digits"))
    results = tmp_path / "results"
    pytester.runpytest_inprocess(
        str(LAYER_TESTS),
        "-p",
        "no:cacheprovider",
        "-m",
        "training or scores",
        "-k",
        "digits",
        "--mlp-inject=training",
        f"--mpl-results-path={results}",
        f"--mlp-baseline-dir={folder}",
    )
    verdict = json.loads((results / "verdict.json").read_text())
    (scenario,) = verdict["scenarios"]
    layers = {r["layer"]: r for r in scenario["layers"]}
    training = layers["training"]
    assert training["status"] == "fail"
    diagnostics = training["diagnostics"]
    assert set(diagnostics) == {"now", "baseline", "labels", "reading"}
    assert diagnostics["baseline"] == suite.fresh_fit("digits").diagnostics
    assert set(diagnostics["now"]) == set(diagnostics["labels"]) == set(dg.LABELS)
    assert diagnostics["now"] != diagnostics["baseline"]
    weights = next(a for a in training["amount"]["arrays"] if a["name"] == "first-layer weights")
    reading = diagnostics["reading"]
    assert reading.startswith(f"weights moved by at most {weights['max_abs']:.2g}; their charac")
    assert scenario["verdict"].endswith("; " + reading)
    assert layers["scores"]["diagnostics"] is None
