"""``bisect`` and generations: the good end's generation, the walk's column, a new range."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bisect_fakes import MATPLOTLIB_VERSIONS, FakeProber, project_page, run_faked
from mlp_weights.bisect.command import Bisection, BisectRequest
from mlp_weights.bisect.index import releases_from_page
from mlp_weights.bisect.search import HOLDS, MOVES

REPO = Path(__file__).resolve().parent.parent
ANY_TAG = "py3-none-any"
FINALS = [v for v in MATPLOTLIB_VERSIONS if "rc" not in v]


def moving_before(first_holding):
    index = FINALS.index(first_holding)
    return {v: MOVES if i < index else HOLDS for i, v in enumerate(FINALS)}


def run(tmp_path, repo=REPO, prober=None, **request):
    lines = []
    prober = prober or FakeProber(moving_before("3.11.0"))
    made = []

    def factory(*args):
        made.append(args)
        return prober

    bisection = Bisection(
        BisectRequest(
            "matplotlib", data_home=str(tmp_path / "home"), results_dir=tmp_path / "r", **request
        ),
        repo=repo,
        out=lines.append,
    )
    run_faked(
        bisection,
        factory,
        lambda library, url: releases_from_page(
            project_page("matplotlib", MATPLOTLIB_VERSIONS, tag=ANY_TAG)
        ),
    )
    report = json.loads((tmp_path / "r" / "bisect.json").read_text())
    return lines, report, made


def test_every_probe_compares_with_the_generation_the_good_end_selects(tmp_path):
    prober = FakeProber(moving_before("3.11.0"))
    lines, report, made = run(tmp_path, prober=prober, bad="3.7.0")
    assert lines[1] == (
        "compared with rendering/mpl-3.11 (matplotlib>=3.11): what matplotlib 3.11.2 selects"
    )
    assert report["generations"] == ["rendering/mpl-3.11"]
    # Every probe forces it (a real one through MLP_WEIGHTS_GENERATION).
    assert len(made) == 1 and made[0][0] == REPO
    assert {f for forced in prober.forced.values() for f in forced} == {"rendering/mpl-3.11"}
    # The older side is declared (rendering/mpl-3.7): no new range to propose.
    assert report["declare"] == []
    assert not any("declare a generation there" in line for line in lines)


def test_the_walk_says_whether_each_release_holds_against_its_own_generation(tmp_path):
    prober = FakeProber(moving_before("3.11.0"))
    lines, report, made = run(tmp_path, prober=prober, bad="3.7.0", walk=True)
    own = report["own_generation"]
    assert own["3.11.2"] == {"generation": "rendering/mpl-3.11", "outcome": HOLDS}
    # The fake answers every probe alike; a real 3.10.9 holds against mpl-3.7.
    assert own["3.10.9"] == {"generation": "rendering/mpl-3.7", "outcome": MOVES}
    # One prober, asked again with the other generation: the same wheel and folders.
    assert len(made) == 1 and prober.closed
    assert prober.forced["3.10.9"] == ["rendering/mpl-3.11", "rendering/mpl-3.7"]
    assert prober.forced["3.11.2"] == ["rendering/mpl-3.11"]
    header = next(line for line in lines if line.startswith("version "))
    assert "own generation" in header
    row = next(line for line in lines if line.startswith("3.10.9 "))
    assert "moves (rendering/mpl-3.7)" in row
    # The timing counts the probes against the releases' own generations too.
    probed = sum(1 for line in lines if line.startswith("probe "))
    again = sum(1 for line in lines if line.startswith("against rendering/mpl-3.7: probe "))
    assert again > 0 and f"; {probed + again} probes run" in lines[-1]


def test_a_moving_side_outside_every_range_ends_with_the_command_that_declares_one(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "baseline_images", repo / "baseline_images")
    shutil.copytree(REPO / "requirements", repo / "requirements")
    manifest = json.loads((repo / "baseline_images" / "manifest.json").read_text())
    del manifest["generations"]["rendering/mpl-3.7"]
    (repo / "baseline_images" / "manifest.json").write_text(json.dumps(manifest))
    lines, report, _ = run(tmp_path, repo=repo, bad="3.7.0")
    # No generation below: the range starts at the boundary; no pins file has 3.10.9.
    declare = [
        "# no pins file installs matplotlib 3.10.9: make one from requirements/pinned.txt",
        "sed -e 's/^matplotlib==.*$/matplotlib==3.10.9/' requirements/pinned.txt "
        "> requirements/matplotlib-3.10.9.txt",
        "mlp-weights regen --new-generation rendering/matplotlib-3.10.9 "
        "--range 'matplotlib<3.11.0' --pins requirements/matplotlib-3.10.9.txt "
        '--reason "matplotlib 3.11.0 holds, 3.10.9 moves"',
    ]
    assert report["declare"] == declare
    said = lines.index("outside every declared range; declare a generation there:")
    assert lines[said + 1 : said + 4] == [f"  {line}" for line in declare]
