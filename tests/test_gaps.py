"""A stack outside every range: the gap that holds it, and the generation that would gate it."""

import dataclasses
import shutil

import pytest

from conftest import REPO
from mlp_weights.baselines.gaps import uncovered
from mlp_weights.baselines.manifest import read_generations
from mlp_weights.baselines.ranges import gap_around


@pytest.mark.parametrize(
    ("specs", "version", "bounds", "gap"),
    [
        (["<3.10", ">=3.11"], "3.10.9", [], ">=3.10,<3.11"),
        (["<3.11", ">=3.12"], "3.11.2", [], ">=3.11,<3.12"),
        (["<3.11"], "3.12.0", [], ">=3.11"),
        # A boundary a bisect found tightens the gap on its side.
        (["<3.10", ">=3.11"], "3.10.9", ["<3.11.0"], ">=3.10,<3.11.0"),
        (["<3.10", ">=3.11"], "3.10.9", [">=3.10.5"], ">=3.10.5,<3.11"),
    ],
)
def test_the_gap_is_bounded_by_the_nearest_ranges(specs, version, bounds, gap):
    assert gap_around(specs, version, bounds) == gap


def project_with_ranges(tmp_path, ranges: dict[str, str]):
    """A copy of the committed baselines and pins, the rendering ranges edited."""
    shutil.copytree(REPO / "requirements", tmp_path / "requirements")
    generations = read_generations(REPO / "baseline_images")
    return [
        dataclasses.replace(g, ranges={"matplotlib": ranges[g.name]}) if g.name in ranges else g
        for g in generations
    ], tmp_path


def test_a_release_between_the_ranges_gets_its_gap_and_the_pins_that_install_it(tmp_path):
    generations, root = project_with_ranges(
        tmp_path, {"rendering/mpl-3.11": ">=3.12", "rendering/mpl-3.7": "<3.11"}
    )
    versions = {"python": "3.11.7", "matplotlib": "3.11.2", "numpy": "2.4.6"}
    gap = uncovered(generations, "rendering", versions, root)
    assert gap == {
        "layer": "rendering",
        "library": "matplotlib",
        "version": "3.11.2",
        "generation": "rendering/matplotlib-3.11.2",
        "range": "matplotlib>=3.11,<3.12",
        "pins": "requirements/pinned.txt",
        "pins_exist": True,
    }
    # A release no pins file installs names the file to make.
    gap = uncovered(generations, "rendering", dict(versions, matplotlib="3.11.1"), root)
    assert gap["pins"] == "requirements/matplotlib-3.11.1.txt" and not gap["pins_exist"]


def test_a_stack_a_range_holds_needs_no_new_generation(tmp_path):
    generations, root = project_with_ranges(tmp_path, {})
    versions = {"python": "3.11.7", "matplotlib": "3.11.2", "numpy": "2.4.6"}
    assert uncovered(generations, "rendering", versions, root) is None
    assert uncovered(generations, "training", versions, root) is None
