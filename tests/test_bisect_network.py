"""A real bisect: matplotlib releases installed from the package index, the layers run on each.

Opt-in (MLP_WEIGHTS_NETWORK_TESTS=1): it downloads wheels and takes about half
a minute with a warm installer cache.
"""

from __future__ import annotations

import json
import os
import re
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
    r"^rendering moved between matplotlib (\S+) \(holds\) and (\S+) \(moves: RMS digits (\S+)\)$",
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
