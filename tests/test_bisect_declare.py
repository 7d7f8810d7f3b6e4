"""The commands that declare a generation where a moving release lies outside every range.

On copies of the committed baselines (real generations, real manifest),
with fake probe results for the search: the proposed range is the gap that
holds the moving release, its pins file installs that release, and the
printed ``regen`` command, run as printed, leaves a folder that
``mlp-weights generations`` accepts.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from bisect_fakes import MATPLOTLIB_VERSIONS, FakeProber, project_page, run_faked
from mlp_weights.baselines.generations import read_generations
from mlp_weights.baselines.ranges import ranges_overlap
from mlp_weights.baselines.store import read_pins, unpinned_libraries
from mlp_weights.bisect.command import Bisection, BisectRequest
from mlp_weights.bisect.index import releases_from_page
from mlp_weights.bisect.search import HOLDS, MOVES
from mlp_weights.cli import main

REPO = Path(__file__).resolve().parent.parent
FINALS = [v for v in MATPLOTLIB_VERSIONS if "rc" not in v]


def copy_repo(tmp_path: Path, ranges: dict[str, str], drop=()) -> Path:
    """Baselines and pins copied to ``tmp_path / "repo"``: ranges set, generations dropped."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "baseline_images", repo / "baseline_images")
    shutil.copytree(REPO / "requirements", repo / "requirements")
    path = repo / "baseline_images" / "manifest.json"
    manifest = json.loads(path.read_text())
    for name in drop:
        del manifest["generations"][name]
        shutil.rmtree(repo / "baseline_images" / name)
    for name, spec in ranges.items():
        manifest["generations"][name]["range"] = {"matplotlib": spec}
    path.write_text(json.dumps(manifest, indent=2))
    return repo


def proposal(tmp_path: Path, repo: Path, outcomes: dict[str, str], **request) -> list[str]:
    """What ``mlp-weights bisect`` proposes on ``repo``, its probes answered by ``outcomes``."""
    prober = FakeProber(outcomes)
    bisection = Bisection(
        BisectRequest(
            "matplotlib", data_home=str(tmp_path / "home"), results_dir=tmp_path / "r", **request
        ),
        repo=repo,
        out=lambda line: None,
    )
    assert run_faked(bisection, prober.factory, fake_index) == 0
    return json.loads((tmp_path / "r" / "bisect.json").read_text())["declare"]


def fake_index(library, url):
    return releases_from_page(project_page("matplotlib", MATPLOTLIB_VERSIONS, tag="py3-none-any"))


def option(command: str, name: str) -> str:
    words = shlex.split(command)
    return words[words.index(name) + 1]


def rendering_ranges(repo: Path) -> list[dict[str, str]]:
    generations = read_generations(repo / "baseline_images")
    return [g.ranges for g in generations if g.layer == "rendering"]


def test_in_a_gap_the_range_is_the_gap_and_the_pins_install_the_moving_release(tmp_path):
    """The older generation narrowed to <3.10: 3.10.x lies between <3.10 and >=3.11."""
    repo = copy_repo(tmp_path, {"rendering/mpl-3.7": "<3.10"})
    outcomes = {v: HOLDS if v in ("3.11.0", "3.11.1", "3.11.2") else MOVES for v in FINALS}
    comment, make_pins, regen = proposal(tmp_path, repo, outcomes, good="3.11.2", bad="3.10.9")

    spec = option(regen, "--range")
    assert spec == "matplotlib>=3.10,<3.11.0"
    gap = SpecifierSet(spec.removeprefix("matplotlib"))
    assert all(gap.contains(v) for v in ("3.10.0", "3.10.8", "3.10.9"))
    assert not gap.contains("3.11.0") and not gap.contains("3.9.1.post1")
    declared = rendering_ranges(repo)
    assert not [r for r in declared if ranges_overlap(r, {"matplotlib": str(gap)})]

    assert comment.startswith("# no pins file installs matplotlib 3.10.9")
    subprocess.run(make_pins, shell=True, cwd=repo, check=True)
    pins = read_pins(repo / option(regen, "--pins"))
    pinned = read_pins(repo / "requirements" / "pinned.txt")
    assert pins == {**pinned, "matplotlib": "3.10.9"}


def test_a_pins_file_that_installs_the_moving_release_is_named(tmp_path):
    repo = copy_repo(tmp_path, {"rendering/mpl-3.7": "<3.10"})
    (repo / "requirements" / "mpl-3.10.9.txt").write_text(
        (repo / "requirements" / "pinned.txt")
        .read_text()
        .replace("matplotlib==3.11.2", "matplotlib==3.10.9")
    )
    outcomes = {v: HOLDS if v in ("3.11.0", "3.11.1", "3.11.2") else MOVES for v in FINALS}
    (regen,) = proposal(tmp_path, repo, outcomes, good="3.11.2", bad="3.10.9")
    assert option(regen, "--pins") == "requirements/mpl-3.10.9.txt"


def test_the_pins_made_for_the_moving_release_keep_what_its_probe_needed(tmp_path):
    repo = copy_repo(tmp_path, {"rendering/mpl-3.7": "<3.10"})
    outcomes = {v: HOLDS if v in ("3.11.0", "3.11.1", "3.11.2") else MOVES for v in FINALS}
    prober = FakeProber(outcomes, relaxed={"3.10.9": {"mlxtend": ["0.23.4", "0.25.0"]}})
    bisection = Bisection(
        BisectRequest(
            "matplotlib",
            good="3.11.2",
            bad="3.10.9",
            data_home=str(tmp_path / "home"),
            results_dir=tmp_path / "r",
        ),
        repo=repo,
        out=lambda line: None,
    )
    run_faked(bisection, prober.factory, fake_index)
    _, make_pins, regen = json.loads((tmp_path / "r" / "bisect.json").read_text())["declare"]
    subprocess.run(make_pins, shell=True, cwd=repo, check=True)
    pins = read_pins(repo / option(regen, "--pins"))
    assert (pins["matplotlib"], pins["mlxtend"]) == ("3.10.9", "0.23.4")


def installed_stack_is_pinned() -> bool:
    from mlp_weights.core.environment import library_versions

    return not unpinned_libraries(REPO / "requirements" / "pinned.txt", library_versions())


@pytest.mark.skipif(not installed_stack_is_pinned(), reason="regen needs the pinned stack")
def test_the_proposed_regen_run_as_printed_leaves_a_consistent_folder(
    tmp_path, monkeypatch, capsys
):
    """A gap above <3.10 with no newer generation: the pinned 3.11.2 is the moving release,
    so the printed command runs here, in process, as printed."""
    repo = copy_repo(tmp_path, {"rendering/mpl-3.7": "<3.10"}, drop=["rendering/mpl-3.11"])
    outcomes = {v: MOVES if v == "3.11.2" else HOLDS for v in FINALS}
    (regen,) = proposal(tmp_path, repo, outcomes, good="3.9.0", bad="3.11.2")
    assert option(regen, "--range") == "matplotlib>=3.11.2"
    assert option(regen, "--pins") == "requirements/pinned.txt"

    words = shlex.split(regen)
    assert words[:2] == ["mlp-weights", "regen"]
    monkeypatch.chdir(repo)
    monkeypatch.delenv("MLP_WEIGHTS_PINNED", raising=False)
    monkeypatch.delenv("MLP_WEIGHTS_GENERATION", raising=False)
    assert main([*words[1:], "--baseline-dir", "baseline_images", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["generations", "--baseline-dir", "baseline_images"]) == 0
    listing = capsys.readouterr().out
    assert "problem" not in listing and "rendering/matplotlib-3.11.2" in listing
    generations = {g.name: g for g in read_generations(repo / "baseline_images")}
    assert generations["rendering/matplotlib-3.11.2"].ranges == {"matplotlib": ">=3.11.2"}
    assert generations["rendering/mpl-3.7"].ranges == {"matplotlib": "<3.10"}
