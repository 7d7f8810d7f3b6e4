"""Snapshots and manifests: round trips, comparisons, and every kind of damage."""

import json
import zipfile

import numpy as np
import pytest

from mlp_weights.baselines.manifest import (
    MANIFEST_FORMAT,
    Generation,
    environment_versions,
    make_entry,
    manifest_bytes,
    read_generations,
    read_manifest,
    recorded_facts,
)
from mlp_weights.baselines.snapshot import (
    SNAPSHOT_FORMAT,
    Snapshot,
    compare_arrays,
    compare_training,
    load_snapshot,
    save_snapshot,
    settings_changes,
)
from mlp_weights.core.errors import BaselineError
from mlp_weights.pipeline.scenarios import get_scenario
from mlp_weights.pipeline.training import TrainingResult


@pytest.fixture
def result():
    rs = np.random.RandomState(0)
    return TrainingResult(
        scenario="digits",
        loss_curve=np.linspace(2.3, 0.3, 8),
        coefs=rs.standard_normal((64, 40)) * 0.1,
        train_score=0.92,
        test_score=0.9,
    )


@pytest.fixture
def snapshot(result):
    return Snapshot.from_result(result, get_scenario("digits").settings_json())


def test_snapshot_round_trip_is_exact(tmp_path, snapshot, result):
    path = save_snapshot(snapshot, tmp_path / "digits.npz")
    loaded = load_snapshot(path, "digits")
    assert all(c.ok for c in compare_training(loaded, result))
    np.testing.assert_array_equal(loaded.coefs, snapshot.coefs)
    assert loaded.settings_json == snapshot.settings_json
    assert [p.name for p in tmp_path.iterdir()] == ["digits.npz"]


def test_snapshot_holds_no_pickles(tmp_path, snapshot):
    path = save_snapshot(snapshot, tmp_path / "digits.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[key].dtype != object for key in npz.files)


def test_missing_snapshot_names_the_regen_command(tmp_path):
    with pytest.raises(BaselineError, match=r"mlp-weights regen --scenario digits"):
        load_snapshot(tmp_path / "digits.npz", "digits")


@pytest.mark.parametrize("keep", [0, 10, 200])
def test_truncated_snapshot_is_reported(tmp_path, snapshot, keep):
    path = save_snapshot(snapshot, tmp_path / "digits.npz")
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(BaselineError, match="is damaged") as info:
        load_snapshot(path, "digits")
    assert "\n" not in str(info.value)
    assert "git checkout" in str(info.value)


def test_newer_snapshot_format_is_refused(tmp_path, snapshot):
    path = tmp_path / "digits.npz"
    np.savez(path, format_version=np.int64(SNAPSHOT_FORMAT + 1))
    with pytest.raises(BaselineError, match="newer than this mlp-weights reads"):
        load_snapshot(path, "digits")


def test_snapshot_with_pickled_field_is_refused(tmp_path):
    path = tmp_path / "digits.npz"
    np.savez(path, format_version=np.int64(1), coefs=np.array([{"a": 1}], dtype=object))
    with pytest.raises(BaselineError, match="damaged"):
        load_snapshot(path, "digits")


def test_snapshot_missing_a_field_is_reported(tmp_path):
    path = tmp_path / "digits.npz"
    np.savez(path, format_version=np.int64(1), scenario=np.str_("digits"))
    with pytest.raises(BaselineError, match="lacks a field"):
        load_snapshot(path, "digits")


def test_compare_arrays_reports_count_and_errors():
    expected = np.array([1.0, 2.0, 0.0, 4.0])
    obtained = np.array([1.0, 2.2, 1e-13, 4.0 * (1 + 1e-12)])
    comparison = compare_arrays("w", expected, obtained)
    assert not comparison.ok
    assert comparison.n_differ == 1
    assert comparison.max_abs == pytest.approx(0.2)
    assert comparison.max_rel == pytest.approx(0.1)
    assert "1 of 4 values differ" in comparison.describe()


def test_compare_arrays_tolerance_sits_between_noise_and_change():
    rs = np.random.RandomState(1)
    weights = rs.standard_normal((784, 40)) * 0.1
    noise = weights * (1 + 1e-14 * rs.standard_normal(weights.shape))
    change = weights * (1 + 1e-7 * rs.standard_normal(weights.shape))
    assert compare_arrays("w", weights, noise).ok
    assert not compare_arrays("w", weights, change).ok


def test_compare_arrays_shape_mismatch():
    comparison = compare_arrays("w", np.zeros((3, 2)), np.zeros((2, 3)))
    assert not comparison.ok
    assert "shape (2, 3) now, (3, 2) in the baseline" in comparison.describe()


def test_settings_change_is_told_apart(snapshot):
    changed = get_scenario("digits").with_overrides(max_iter=9).settings_json()
    assert settings_changes(snapshot, changed) == [
        "estimator: "
        + repr(json.loads(snapshot.settings_json)["estimator"])
        + " in the baseline, "
        + repr(json.loads(changed)["estimator"])
        + " now"
    ]
    assert settings_changes(snapshot, snapshot.settings_json) == []


def test_manifest_round_trip(tmp_path):
    entry = make_entry("because", {"snapshot": "digits.npz"}, pins="requirements/pinned.txt")
    made = Generation("training/all", "training", scenarios={"digits": entry})
    (tmp_path / "manifest.json").write_bytes(manifest_bytes([made]))
    (read,) = read_generations(tmp_path)
    assert read == made
    stored = read.scenarios["digits"]
    assert stored["reason"] == "because" and stored["pins"] == "requirements/pinned.txt"
    assert set(stored["versions"]) == {"python", "scikit-learn", "matplotlib", "numpy"}
    assert {"blas", "blas-kernel", "freetype", "numpy-simd"} <= set(stored["environment"])
    assert recorded_facts(stored) == environment_versions()
    assert read.facts("digits") == environment_versions()


def test_a_format_1_manifest_is_named_in_one_line(tmp_path):
    entry = make_entry("because", {"image": "digits.png", "snapshot": "digits.npz"})
    manifest = {"format_version": 1, "scenarios": {"digits": entry}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BaselineError, match="format version 1, older than") as info:
        read_generations(tmp_path)
    assert "\n" not in str(info.value) and "mlp-weights regen" in str(info.value)


def test_old_manifest_entries_keep_working():
    """Entries from before the environment was recorded: versions only, blas among them."""
    old = {"versions": {"python": "3.11.7", "numpy": "2.4.6", "blas": "openblas 0.3.30"}}
    assert recorded_facts(old) == old["versions"]
    assert recorded_facts({}) == {}


def test_missing_manifest(tmp_path):
    with pytest.raises(BaselineError, match=r"missing manifest .*mlp-weights regen"):
        read_manifest(tmp_path)
    assert read_manifest(tmp_path, missing_ok=True)["generations"] == {}


@pytest.mark.parametrize(
    "text",
    ['{"format_version": 2, "gen', "", "[]", '{"format_version": 2, "generations": []}'],
)
def test_damaged_manifest(tmp_path, text):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(BaselineError, match="is damaged") as info:
        read_manifest(tmp_path)
    assert "\n" not in str(info.value)


def test_newer_manifest_format(tmp_path):
    (tmp_path / "manifest.json").write_text(
        json.dumps({"format_version": MANIFEST_FORMAT + 1, "scenarios": {}})
    )
    with pytest.raises(BaselineError, match="newer than this mlp-weights reads"):
        read_manifest(tmp_path)


def test_manifest_without_the_scenario(tmp_path):
    """A generation with no entry for a scenario: no recorded facts, the default file name."""
    empty = Generation("training/all", "training")
    (tmp_path / "manifest.json").write_bytes(manifest_bytes([empty]))
    (generation,) = read_generations(tmp_path)
    assert generation.scenarios == {} and generation.facts("digits") is None
    assert generation.file_path(tmp_path, "digits") == tmp_path / "training" / "all" / "digits.npz"


def test_snapshot_file_is_a_zip_of_plain_arrays(tmp_path, snapshot):
    path = save_snapshot(snapshot, tmp_path / "digits.npz")
    names = set(zipfile.ZipFile(path).namelist())
    assert {"coefs.npy", "loss_curve.npy", "scores.npy", "format_version.npy"} <= names
