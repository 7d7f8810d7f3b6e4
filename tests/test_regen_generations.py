"""``mlp-weights regen`` per generation: a new one narrows its neighbour; bad input is refused.

Nothing is written unless the whole regen succeeds. The tests hold on any
stack (``tox -e oldest`` runs them too): they work out which committed
rendering generation the installed versions select, and which they do not,
when they run (not when the module is imported, so that a damaged manifest or
a stack outside every range fails the layers instead of the collection).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlp_weights.baselines.generations import choose, read_generations
from mlp_weights.baselines.store import PINNED_FILE_ENV, PINNED_LIBRARIES
from mlp_weights.cli import main
from mlp_weights.core.environment import library_versions

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rendering_generations():
    """``(selected here, the other one)`` of the committed rendering generations."""
    generations = read_generations(REPO / "baseline_images")
    selected = choose(generations, "rendering", library_versions())
    (other,) = [g for g in generations if g.layer == "rendering" and g is not selected]
    return selected, other


@pytest.fixture(autouse=True)
def generations_pins_only(monkeypatch):
    monkeypatch.delenv(PINNED_FILE_ENV, raising=False)


def contents(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def project(tmp_path):
    """The committed baselines, with a pins file that matches what is installed."""
    shutil.copytree(REPO / "baseline_images", tmp_path / "baseline_images")
    requirements = tmp_path / "requirements"
    shutil.copytree(REPO / "requirements", requirements)
    versions = library_versions()
    (requirements / "here.txt").write_text(
        "".join(f"{lib}=={versions[lib]}\n" for lib in PINNED_LIBRARIES)
    )
    return tmp_path


def manifest(baseline_dir: Path) -> dict:
    return json.loads((baseline_dir / "manifest.json").read_text())["generations"]


def regen(baseline_dir: Path, *args) -> int:
    return main(
        ["regen", "--quiet", "--scenario", "digits", "--baseline-dir", str(baseline_dir), *args]
    )


def set_range(baseline_dir: Path, name: str, ranges: dict) -> None:
    data = json.loads((baseline_dir / "manifest.json").read_text())
    data["generations"][name]["range"] = ranges
    (baseline_dir / "manifest.json").write_text(json.dumps(data))


def only_the_other_generation(baselines: Path, selected, other) -> None:
    """As if the generation that does not hold this stack covered every version."""
    set_range(baselines, other.name, {})
    data = json.loads((baselines / "manifest.json").read_text())
    del data["generations"][selected.name]
    (baselines / "manifest.json").write_text(json.dumps(data))


def new_generation(selected) -> list[str]:
    """Arguments of a new rendering generation over the selected one's range."""
    return [
        "--new-generation",
        "rendering/new",
        "--range",
        f"matplotlib{selected.ranges['matplotlib']}",
        "--pins",
        "requirements/here.txt",
    ]


def test_a_new_generation_is_written_and_narrows_its_neighbour_in_the_same_write(
    project, capsys, rendering_generations
):
    selected, other = rendering_generations
    baselines = project / "baseline_images"
    only_the_other_generation(baselines, selected, other)
    before = contents(baselines)
    assert regen(baselines, "--reason", "draws differently", *new_generation(selected)) == 0
    out = capsys.readouterr().out
    assert f"generation: rendering/new ({selected.range_text}), pins " in out
    generations = manifest(baselines)
    # Narrowed back to what it was declared for, in the same write.
    assert generations[other.name]["range"] == other.ranges
    assert generations[other.name]["declared"]["narrowed_for"] == "rendering/new"
    new = generations["rendering/new"]
    assert new["range"] == selected.ranges and new["pins"] == "requirements/here.txt"
    assert new["declared"]["reason"] == "draws differently"
    assert new["scenarios"]["digits"]["versions"] == library_versions()
    # The drawing of this stack: byte for byte the committed image of its generation.
    drawn = (baselines / "rendering" / "new" / "digits.png").read_bytes()
    assert drawn == selected.file_path(REPO / "baseline_images", "digits").read_bytes()
    after = contents(baselines)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {"manifest.json", "rendering/new/digits.png"}


def test_a_dry_run_of_a_new_generation_writes_nothing(project, capsys, rendering_generations):
    baselines = project / "baseline_images"
    only_the_other_generation(baselines, *rendering_generations)
    before = contents(baselines)
    assert regen(baselines, "--dry-run", *new_generation(rendering_generations[0])) == 0
    assert contents(baselines) == before
    out = capsys.readouterr().out
    image = baselines / "rendering" / "new" / "digits.png"
    assert f"would rewrite {image}: no image yet" in out
    assert out.strip().endswith("dry run: nothing was written")


def test_a_range_that_cannot_narrow_its_neighbour_is_refused(project, capsys):
    baselines = project / "baseline_images"
    before = contents(baselines)
    # The range holds this stack's numpy and overlaps both rendering generations;
    # narrowing the selected one below it would leave out the numpy its files
    # were made with.
    args = ["--new-generation", "rendering/x", "--range", f"numpy>={library_versions()['numpy']}"]
    assert regen(baselines, "--reason", "r", *args, "--pins", "requirements/here.txt") == 2
    assert contents(baselines) == before
    assert "cannot narrow it" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--generation", "rendering/nope"], 2, "unknown generation 'rendering/nope'"),
        (["--generation", "nope"], 2, "must be LAYER/LABEL"),
        # The generation that does not hold this stack, named when the test runs.
        (["--generation", "{other}"], 1, "outside its range"),
        (
            ["--new-generation", "rendering/mpl-3.11", "--range", "matplotlib>=3.12"],
            2,
            "rendering/mpl-3.11 already exists",
        ),
        (["--new-generation", "rendering/x", "--range", "matplotlib<<3"], 2, "cannot read"),
        (
            ["--new-generation", "rendering/x", "--range", "scikit-learn<2"],
            2,
            "depends on matplotlib, numpy only",
        ),
        (["--new-generation", "rendering/x", "--range", "matplotlib==0.1"], 1, "outside its range"),
        (["--range", "matplotlib<3.8"], 2, "add --new-generation"),
        (["--generation", "rendering/mpl-3.11", "--layer", "training"], 2, "leave out --layer"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    project, capsys, rendering_generations, args, code, says
):
    args = [arg.format(other=rendering_generations[1].name) for arg in args]
    baselines = project / "baseline_images"
    before = contents(baselines)
    pins = ["--pins", "requirements/here.txt"] if "--new-generation" in args else []
    assert regen(baselines, "--reason", "r", *args, *pins) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert contents(baselines) == before


def test_overlapping_ranges_in_the_manifest_refuse_regen(project, capsys):
    baselines = project / "baseline_images"
    set_range(baselines, "rendering/mpl-3.7", {"matplotlib": "<3.12"})
    before = contents(baselines)
    assert regen(baselines, "--reason", "r") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "overlap" in err[0]
    assert contents(baselines) == before


def test_regen_rewrites_only_the_generations_this_stack_selects(
    project, capsys, rendering_generations
):
    selected, other = rendering_generations
    baselines = project / "baseline_images"
    # This stack's pins are the generations' own, as tox -e regen has them.
    data = json.loads((baselines / "manifest.json").read_text())
    for name in ("training/all", selected.name):
        data["generations"][name]["pins"] = "requirements/here.txt"
    (baselines / "manifest.json").write_text(json.dumps(data))
    before = contents(baselines)
    assert regen(baselines, "--reason", "again") == 0
    out = capsys.readouterr().out
    assert "generation: training/all (any version)" in out
    assert f"generation: {selected.label}" in out
    assert f"kept {selected.file_path(baselines, 'digits')}: pixels identical" in out
    after = contents(baselines)
    assert {k for k in after if before.get(k) != after[k]} <= {"manifest.json"}
    assert manifest(baselines)[other.name] == data["generations"][other.name]
