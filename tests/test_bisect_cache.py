"""The probe cache: what its key is made of, and that damage is a miss, not an error."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from mlp_weights.bisect.cache import (
    ProbeCache,
    baselines_digest,
    cache_key,
    key_material,
    suite_digest,
)
from mlp_weights.bisect.results import NOT_INSTALLABLE, Cell, ProbeResult
from mlp_weights.bisect.search import MOVES, UNTESTABLE

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = ["mnist-sample", "digits"]


def material(**changes):
    base = {
        "library": "matplotlib",
        "version": "3.10.8",
        "other_pins": {"numpy": "numpy==2.4.6", "scipy": "scipy==1.17.1"},
        "layers": ["rendering"],
        "scenarios": SCENARIOS,
        "baselines": "b" * 64,
        "suite": "s" * 64,
    }
    return key_material(**{**base, **changes})


def result(version="3.10.8"):
    cell = Cell("rendering", "digits", "fail", "moved", "RMS", 12.573)
    return ProbeResult(
        "matplotlib", version, MOVES, installed={"numpy": "2.4.6"}, cells=[cell], elapsed=8.1
    )


def test_a_stored_probe_comes_back_marked_cached(tmp_path):
    cache = ProbeCache(tmp_path)
    assert cache.get(material()) is None
    path = cache.put(material(), result())
    assert path.parent == tmp_path / "matplotlib"
    found = cache.get(material())
    assert found == dataclasses.replace(result(), cached=True)


@pytest.mark.parametrize(
    "change",
    [
        {"version": "3.10.9"},
        {"other_pins": {"numpy": "numpy==2.4.5", "scipy": "scipy==1.17.1"}},
        {"layers": ["training"]},
        {"scenarios": ["digits"]},
        {"baselines": "c" * 64},
        {"suite": "t" * 64},
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_ingredient_of_the_key_changes_it(tmp_path, change):
    cache = ProbeCache(tmp_path)
    cache.put(material(), result())
    assert cache_key(material(**change)) != cache_key(material())
    assert cache.get(material(**change)) is None


def test_python_and_platform_are_in_the_key():
    assert {"python", "platform", "recipe"} <= set(material())


def test_a_release_that_does_not_install_is_kept_one_whose_run_broke_is_not(tmp_path):
    cache = ProbeCache(tmp_path)
    conflict = f"{NOT_INSTALLABLE}: Because matplotlib==3.7.3 depends on numpy>=1.20,<2"
    kept = ProbeResult("matplotlib", "3.7.3", UNTESTABLE, reason=conflict)
    assert kept.cacheable
    cache.put(material(version="3.7.3"), kept)
    assert cache.get(material(version="3.7.3")).reason == conflict
    broke = "the layers did not run (pytest exit 4): ERROR: collection failed"
    assert not ProbeResult("matplotlib", "3.11.2", UNTESTABLE, reason=broke).cacheable


def test_a_damaged_entry_is_a_miss(tmp_path):
    cache = ProbeCache(tmp_path)
    path = cache.put(material(), result())
    path.write_text(path.read_text()[:40])
    assert cache.get(material()) is None


def test_the_baselines_digest_follows_every_baseline_file(tmp_path):
    copy = tmp_path / "baseline_images"
    shutil.copytree(REPO / "baseline_images", copy)
    before = baselines_digest(copy, SCENARIOS)
    assert before == baselines_digest(REPO / "baseline_images", SCENARIOS)
    names = (
        "manifest.json",
        "rendering/mpl-3.11/digits.png",
        "rendering/mpl-3.7/digits.png",
        "training/all/mnist-sample.npz",
    )
    for name in names:
        path = copy / name
        original = path.read_bytes()
        path.write_bytes(original + b" ")
        assert baselines_digest(copy, SCENARIOS) != before, name
        path.write_bytes(original)
    assert baselines_digest(copy, ["digits"]) != before
    # The generation the probes are forced to compare with is part of it.
    assert baselines_digest(copy, SCENARIOS, "rendering/mpl-3.7") != before


def test_the_suite_digest_follows_the_suite_but_not_the_bisect_code(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "tests").mkdir()
    for name in ("conftest.py", "test_layers.py"):
        shutil.copy(REPO / "tests" / name, repo / "tests" / name)
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    before = suite_digest(repo)
    (repo / "src/mlp_weights/bisect/report.py").write_text("# another report\n")
    assert suite_digest(repo) == before
    with (repo / "src/mlp_weights/suite.py").open("a") as fh:
        fh.write("\nIMAGE_TOLERANCE = 2\n")
    after_suite = suite_digest(repo)
    assert after_suite != before
    with (repo / "tests/test_layers.py").open("a") as fh:
        fh.write("\n# changed\n")
    assert suite_digest(repo) != after_suite
