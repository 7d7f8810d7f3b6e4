"""Baseline generations: ranges, overlaps, narrowing, the choice, and the committed folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlp_weights.baselines.generations import (
    GENERATION_ENV,
    NoGenerationError,
    check_forced,
    choose,
    forced_names,
    narrowed,
)
from mlp_weights.baselines.manifest import Generation, manifest_bytes, read_generations
from mlp_weights.baselines.ranges import parse_range, ranges_overlap
from mlp_weights.cli import main
from mlp_weights.core.errors import BaselineError, UsageError

REPO = Path(__file__).resolve().parent.parent
REPO_BASELINES = REPO / "baseline_images"

NOW = {"python": "3.11.7", "scikit-learn": "1.9.1", "matplotlib": "3.11.2", "numpy": "2.4.6"}
OLD = {"python": "3.10.13", "scikit-learn": "1.3.0", "matplotlib": "3.7.0", "numpy": "1.21.2"}


def rendering(name, ranges, made_with="3.11.2"):
    entry = {"versions": {"matplotlib": made_with}}
    return Generation(f"rendering/{name}", "rendering", ranges, scenarios={"digits": entry})


NEW = rendering("mpl-3.11", {"matplotlib": ">=3.11"})
OLDER = rendering("mpl-3.7", {"matplotlib": "<3.11"}, made_with="3.7.0")
SNAPSHOTS = Generation("training/all", "training")


# -- ranges ------------------------------------------------------------------------


def test_a_range_is_a_requirement_of_a_library_the_layer_depends_on():
    assert parse_range(["matplotlib<3.11"], "rendering") == {"matplotlib": "<3.11"}
    assert parse_range(["numpy>=2", "matplotlib>=3.7,<3.11"], "rendering") == {
        "numpy": ">=2",
        "matplotlib": "<3.11,>=3.7",
    }


@pytest.mark.parametrize(
    ("items", "layer", "says"),
    [
        (["matplotlib<<3"], "rendering", "cannot read the range"),
        (["scikit-learn<2"], "rendering", "depends on matplotlib, numpy only"),
        (["matplotlib<3"], "training", "depends on scikit-learn, numpy only"),
        (["python<3.12"], "training", "Python and the platform are kept out"),
        (["numpy<2", "numpy>1"], "rendering", "names numpy twice"),
    ],
)
def test_bad_ranges_are_one_line(items, layer, says):
    with pytest.raises(UsageError, match=says) as info:
        parse_range(items, layer)
    assert "\n" not in str(info.value)


def test_a_range_holds_pre_releases_and_reads_as_text():
    assert NEW.holds(NOW) and not NEW.holds(OLD)
    assert NEW.holds(NOW | {"matplotlib": "3.12.0rc1"})
    assert OLDER.holds(NOW | {"matplotlib": "3.10.9"}) and not OLDER.holds(NOW)
    assert SNAPSHOTS.holds(OLD) and SNAPSHOTS.range_text == "any version"
    assert OLDER.label == "rendering/mpl-3.7 (matplotlib<3.11)"


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ({"matplotlib": "<3.11"}, {"matplotlib": ">=3.11"}, False),
        ({"matplotlib": "<=3.11"}, {"matplotlib": ">=3.11"}, True),
        ({"matplotlib": "<3.11"}, {"matplotlib": ">3.10.9"}, True),
        ({"matplotlib": "<3.11"}, {}, True),
        ({"matplotlib": "<3.11"}, {"numpy": ">=2"}, True),
        ({"matplotlib": "<3.11", "numpy": "<2"}, {"matplotlib": "<3.11", "numpy": ">=2"}, False),
        ({"matplotlib": "==3.7.*"}, {"matplotlib": ">=3.8"}, False),
        ({"matplotlib": "~=3.7.0"}, {"matplotlib": ">=3.7.5,<3.8"}, True),
    ],
)
def test_overlap(a, b, overlap):
    assert ranges_overlap(a, b) is overlap
    assert ranges_overlap(b, a) is overlap


def test_narrowing_keeps_the_versions_the_neighbours_files_were_made_with():
    everything = rendering("all", {}, made_with="3.11.2")
    assert narrowed(everything, {"matplotlib": "<3.11"}) == {"matplotlib": ">=3.11"}
    assert narrowed(everything, {"matplotlib": ">=3.7,<3.11"}) == {"matplotlib": ">=3.11"}
    # The new range would take the neighbour's own stack: nothing to narrow to.
    assert narrowed(everything, {"matplotlib": ">=3.11"}) is None


# -- the choice --------------------------------------------------------------------


def test_each_layer_compares_with_the_generation_that_holds_the_installed_versions():
    generations = [SNAPSHOTS, NEW, OLDER]
    assert choose(generations, "rendering", NOW) is NEW
    assert choose(generations, "rendering", OLD) is OLDER
    assert choose(generations, "training", OLD) is SNAPSHOTS
    assert choose(generations, "rendering", NOW, forced=["rendering/mpl-3.7"]) is OLDER


def test_no_generation_fails_in_one_line_naming_version_ranges_and_command():
    bounded = rendering("mpl-3.7", {"matplotlib": ">=3.7,<3.11"}, made_with="3.7.0")
    with pytest.raises(NoGenerationError) as info:
        choose([SNAPSHOTS, NEW, bounded], "rendering", NOW | {"matplotlib": "3.6.3"})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("no rendering generation holds matplotlib 3.6.3")
    assert "rendering/mpl-3.11 (matplotlib>=3.11); rendering/mpl-3.7 (matplotlib>=3.7,<3.11)" in (
        message
    )
    assert (
        "mlp-weights regen --new-generation rendering/NAME --range 'matplotlib==3.6.3' "
        "--pins requirements/FILE.txt" in message
    )


def test_forced_names_come_from_the_option_else_the_variable(monkeypatch):
    monkeypatch.setenv(GENERATION_ENV, "rendering/mpl-3.7, training/all")
    assert forced_names() == ["rendering/mpl-3.7", "training/all"]
    assert forced_names(["rendering/mpl-3.11"]) == ["rendering/mpl-3.11"]
    with pytest.raises(UsageError, match="unknown generation 'rendering/x'; the generations"):
        check_forced([NEW, OLDER], ["rendering/x"])
    with pytest.raises(UsageError, match="two rendering generations forced"):
        check_forced([NEW, OLDER], ["rendering/mpl-3.7", "rendering/mpl-3.11"])


# -- reading the folder ----------------------------------------------------------------


def test_the_committed_folder_has_two_rendering_generations_sharing_one_snapshot_set():
    generations = {g.name: g for g in read_generations(REPO_BASELINES)}
    assert set(generations) == {"training/all", "rendering/mpl-3.11", "rendering/mpl-3.7"}
    assert generations["rendering/mpl-3.7"].ranges == {"matplotlib": "<3.11"}
    assert generations["rendering/mpl-3.7"].pins == "requirements/oldest.txt"
    assert generations["rendering/mpl-3.7"].facts("digits")["matplotlib"] == "3.7.0"
    assert generations["rendering/mpl-3.11"].ranges == {"matplotlib": ">=3.11"}
    for generation in generations.values():
        for scenario in ("digits", "mnist-sample"):
            assert generation.file_path(REPO_BASELINES, scenario).is_file()
    # The snapshots are stored once.
    assert sorted(p.name for p in REPO_BASELINES.rglob("*.npz")) == [
        "digits.npz",
        "mnist-sample.npz",
    ]


def test_the_committed_manifest_reads_and_writes_back_byte_for_byte():
    committed = (REPO_BASELINES / "manifest.json").read_bytes()
    assert manifest_bytes(read_generations(REPO_BASELINES)) == committed


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"range": {"matplotlib": "<<3"}}, "cannot read the range"),
        ({"range": {"scikit-learn": "<2"}}, "not a rendering library"),
        ({"range": {"matplotlib": "<3.12"}}, "overlap"),
        ({"layer": "training"}, "does not name its layer"),
    ],
)
def test_a_damaged_generation_is_named_in_one_line(tmp_path, change, says):
    folder = tmp_path / "baseline_images"
    shutil.copytree(REPO_BASELINES, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["generations"]["rendering/mpl-3.7"].update(change)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BaselineError, match=says) as info:
        read_generations(folder)
    assert "\n" not in str(info.value)


# -- mlp-weights generations ----------------------------------------------------------


def test_generations_command_on_the_committed_folder(capsys):
    assert main(["generations", "--baseline-dir", str(REPO_BASELINES)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("t", "r"))}
    assert "any version" in rows["training/all"]
    assert "requirements/oldest.txt, requirements/pinned.txt" in rows["training/all"]
    newer = rows["rendering/mpl-3.11"]
    assert "matplotlib>=3.11" in newer and "digits.png, mnist-sample.png" in newer
    assert newer.endswith("requirements/pinned.txt  requirements/pinned.txt")
    older = rows["rendering/mpl-3.7"]
    assert "matplotlib<3.11" in older
    assert older.endswith("requirements/oldest.txt  requirements/oldest.txt")
    header = "generation layer range files pins selected by"
    assert " ".join(out.splitlines()[2].split()) == header
    assert "rendering/mpl-3.7: made 2026-11-30 from requirements/oldest.txt with python 3.10" in out
    assert "problem" not in out


def project_copy(tmp_path):
    """The committed baselines and pins, in a folder of their own."""
    shutil.copytree(REPO_BASELINES, tmp_path / "baseline_images")
    shutil.copytree(REPO / "requirements", tmp_path / "requirements")
    return tmp_path / "baseline_images"


def edit_manifest(folder, edit):
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest["generations"])
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_generations_command_reports_every_kind_of_problem(tmp_path, capsys):
    folder = project_copy(tmp_path)
    (folder / "rendering" / "mpl-3.7" / "digits.png").unlink()
    (tmp_path / "requirements" / "newest.txt").write_text("matplotlib==3.6.0\nnumpy==1.21.2\n")

    def overlap_and_orphan(generations):
        generations["rendering/mpl-3.11"]["range"] = {"matplotlib": ">=3.10"}
        generations["rendering/mpl-3.7"]["range"] = {"matplotlib": ">=3.7,<3.11"}
        orphan = dict(generations["rendering/mpl-3.7"], range={"numpy": "==0.1"}, scenarios={})
        generations["rendering/orphan"] = orphan

    edit_manifest(folder, overlap_and_orphan)
    assert main(["generations", "--baseline-dir", str(folder)]) == 1
    problems = [line for line in capsys.readouterr().out.splitlines() if line.startswith("problem")]
    text = "\n".join(problems)
    assert "the ranges of rendering/mpl-3.11 (matplotlib>=3.10) and rendering/mpl-3.7" in text
    assert "overlap; narrow one" in text
    assert "requirements/newest.txt falls in no rendering generation" in text
    assert "--new-generation rendering/NAME --range SPEC --pins requirements/newest.txt" in text
    assert "no pins file selects rendering/orphan (numpy==0.1): it can be retired" in text
    assert f"the manifest lists {folder / 'rendering' / 'mpl-3.7' / 'digits.png'}" in text


def test_generations_command_in_a_real_process():
    """How long it takes is benchmarks/speed.py's figure (goal: 1 s), not a test's."""
    done = subprocess.run(
        [sys.executable, "-m", "mlp_weights", "generations", "--baseline-dir", str(REPO_BASELINES)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("generations in ") and "rendering/mpl-3.7" in done.stdout


def test_generations_command_names_a_damaged_manifest_in_one_line(tmp_path, capsys):
    folder = project_copy(tmp_path)
    edit_manifest(folder, lambda g: g["rendering/mpl-3.7"].update(range={"matplotlib": "<<3"}))
    assert main(["generations", "--baseline-dir", str(folder)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read the range of 'rendering/mpl-3.7'" in err[0]


@pytest.mark.parametrize("where", ["missing default folder", "folder outside a project"])
def test_generations_outside_a_project_is_one_line(tmp_path, monkeypatch, capsys, where):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLP_WEIGHTS_BASELINE_DIR", raising=False)
    args = ["generations"]
    if where == "folder outside a project":
        shutil.copytree(REPO_BASELINES, tmp_path / "b")
        args += ["--baseline-dir", "b"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not in a project" in err[0]
    assert f"{tmp_path} has no requirements/ folder" in err[0]
