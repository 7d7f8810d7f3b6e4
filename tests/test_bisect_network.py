"""A real bisect: matplotlib releases installed from the package index, the layers run on each.

Opt-in (MLP_WEIGHTS_NETWORK_TESTS=1): it downloads wheels and takes about half
a minute with a warm installer cache.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mlp_weights.suite.checks import IMAGE_TOLERANCE

REPO = Path(__file__).resolve().parent.parent
NETWORK_TESTS = os.environ.get("MLP_WEIGHTS_NETWORK_TESTS") == "1"
#: Two close releases: the last of 3.10 and the first of 3.11.
ENDS = ("3.11.0", "3.10.8")
VERDICT = re.compile(
    # The amount, then how the picture moved when the probe could tell ("(resampling)").
    r"^rendering moved between matplotlib (\S+) \(holds\) and (\S+) "
    r"\(moves: RMS digits (\S+)(?: \([^)]*\))?\)$",
    re.M,
)


def bisect(tmp_path, *extra):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mlp_weights",
            "bisect",
            "matplotlib",
            "--good",
            ENDS[0],
            "--bad",
            ENDS[1],
            "--scenario",
            "digits",
            "--data-home",
            str(tmp_path / "home"),
            "--results-dir",
            str(tmp_path / "results"),
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.network
@pytest.mark.skipif(
    not NETWORK_TESTS, reason="installs matplotlib releases; set MLP_WEIGHTS_NETWORK_TESTS=1"
)
def test_real_bisect_between_two_close_matplotlib_releases(tmp_path):
    before = set(Path(tempfile.gettempdir()).glob("mlp-weights-bisect-*"))
    done = bisect(tmp_path)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr

    report = json.loads((tmp_path / "results" / "bisect.json").read_text())
    (point,) = report["change_points"]
    holds, moves, rms = VERDICT.search(done.stdout).groups()
    assert (holds, moves) == (point["holds"], point["moves"])
    assert point["untestable"] == []
    probes = {p["version"]: p for p in report["probes"]}
    assert set(probes) == {"3.10.8", "3.10.9", "3.11.0"}
    assert all(p["source"] == "verdict.json" and not p["cached"] for p in probes.values())
    assert probes[holds]["outcome"] == "holds" and probes[moves]["outcome"] == "moves"
    assert probes[moves]["installed"]["matplotlib"] == moves
    (cell,) = probes[moves]["cells"]
    assert cell["measure"] == "RMS" and cell["value"] > IMAGE_TOLERANCE
    assert f"{cell['value']:.2f}" == rms
    assert "changelog of matplotlib" in done.stdout
    assert set(Path(tempfile.gettempdir()).glob("mlp-weights-bisect-*")) == before

    again = bisect(tmp_path)
    assert again.returncode == 0
    assert VERDICT.search(again.stdout).groups() == (holds, moves, rms)
    assert "0 probes run, 3 from the cache" in again.stdout


@pytest.mark.network
@pytest.mark.skipif(
    not NETWORK_TESTS, reason="installs matplotlib 3.10.9; set MLP_WEIGHTS_NETWORK_TESTS=1"
)
def test_the_proposal_in_a_gap_runs_as_printed_on_the_moving_release(tmp_path, capsys):
    """The older generation narrowed to <3.10: the commands bisect prints for 3.10.9 make its
    pins, and the regen run as printed on them (matplotlib 3.10.9 installed) leaves a folder
    that ``mlp-weights generations`` accepts."""
    from mlp_weights.baselines.generations import read_generations
    from mlp_weights.bisect.environment import find_uv
    from mlp_weights.bisect.search import HOLDS, MOVES
    from mlp_weights.cli import main
    from test_bisect_declare import FINALS, copy_repo, option, proposal

    repo = copy_repo(tmp_path, {"rendering/mpl-3.7": "<3.10"})
    outcomes = {v: HOLDS if v in ("3.11.0", "3.11.1", "3.11.2") else MOVES for v in FINALS}
    _, make_pins, regen = proposal(tmp_path, repo, outcomes, good="3.11.2", bad="3.10.9")
    subprocess.run(make_pins, shell=True, cwd=repo, check=True)

    uv, env = find_uv(), tmp_path / "env"
    quiet = {"capture_output": True, "text": True, "timeout": 900}
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(env)], check=True)
    python = str(env / "bin" / "python")
    pins = option(regen, "--pins")
    done = subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", python, "-r", pins, str(REPO)],
        cwd=repo,
        **quiet,
    )
    assert done.returncode == 0, done.stderr
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLP_WEIGHTS_")}
    clean.pop("VIRTUAL_ENV", None)
    words = shlex.split(regen)
    done = subprocess.run(
        [python, "-m", "mlp_weights", *words[1:], "--baseline-dir", "baseline_images", "--quiet"],
        cwd=repo,
        env=clean,
        **quiet,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    capsys.readouterr()
    assert main(["generations", "--baseline-dir", str(repo / "baseline_images")]) == 0
    assert "problem" not in capsys.readouterr().out
    generations = {g.name: g for g in read_generations(repo / "baseline_images")}
    new = generations["rendering/matplotlib-3.10.9"]
    assert new.facts("digits")["matplotlib"] == "3.10.9"
    assert new.ranges == {"matplotlib": "<3.11.0,>=3.10"}
    assert generations["rendering/mpl-3.7"].ranges == {"matplotlib": "<3.10"}
    assert generations["rendering/mpl-3.11"].ranges == {"matplotlib": ">=3.11"}
