"""The layers' run of a probe: the pytest command, and the scenarios its keyword selects.

The run is ``python -m pytest`` in the probe's environment; here it runs
with this interpreter, where mlp-weights is installed as in a probe's
environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mlp_weights.bisect.run_layers import keyword_expression, layers_command

REPO = Path(__file__).resolve().parent.parent


def test_the_keyword_selects_exactly_the_scenarios(pytester, monkeypatch):
    """``mnist`` must not also select ``mnist-sample``: checked with pytest itself."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makepyfile(
        test_k="""
        import pytest

        @pytest.mark.parametrize("s", ["mnist", "mnist-sample", "digits"])
        def test_x(s):
            pass
        """
    )

    def collected(scenarios):
        expression = keyword_expression(scenarios)
        result = pytester.runpytest_inprocess(
            "--co", "-q", "-p", "no:cacheprovider", "-k", expression
        )
        return [line.split("[")[1].rstrip("]") for line in result.outlines if "test_x[" in line]

    assert collected(["mnist"]) == ["mnist"]
    assert collected(["mnist-sample", "digits"]) == ["mnist-sample", "digits"]


def test_a_probes_run_writes_the_verdict_and_no_summaries(tmp_path):
    """The probe's own command on the working tree's layers (one image): what it leaves."""
    results = tmp_path / "results"
    results.mkdir()
    command = layers_command(Path(sys.executable), REPO, results, ["rendering"], ["digits"])
    environ = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    environ["MPLBACKEND"] = "agg"
    # The generation this stack selects (the oldest stack has its own).
    for name in ("GITHUB_STEP_SUMMARY", "MLP_WEIGHTS_GENERATION"):
        environ.pop(name, None)
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300, env=environ
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads((results / "verdict.json").read_text())
    (scenario,) = verdict["scenarios"]
    rendering = next(layer for layer in scenario["layers"] if layer["layer"] == "rendering")
    assert (scenario["scenario"], rendering["status"]) == ("digits", "pass")
    left = {path.name for path in results.iterdir()}
    assert not left & {"fig_comparison.html", "fig_comparison_basic.html", "results.json"}
    assert not [path for path in results.iterdir() if path.is_dir()], "no copies of passing images"
