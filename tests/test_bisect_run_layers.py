"""The layers' run of a probe: the pytest command, and the scenarios its keyword selects.

The run is ``python -m pytest`` in the probe's environment; here it runs
in this process, where mlp-weights is installed as in a probe's environment.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mlp_weights.bisect.probe import keyword_expression, layers_command

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


def test_a_probes_run_writes_the_verdict_and_no_summaries(tmp_path, monkeypatch, capsys):
    """The probe's own pytest command on the working tree's layers (one image): what it
    leaves. Run in this process (``python -m pytest`` with these arguments, less the
    interpreter's start-up of some 5 s)."""
    results = tmp_path / "results"
    results.mkdir()
    command = layers_command(Path(sys.executable), REPO, results, ["rendering"], ["digits"])
    assert command[1:3] == ["-m", "pytest"]
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    # The generation this stack selects (the oldest stack has its own).
    for name in ("GITHUB_STEP_SUMMARY", "MLP_WEIGHTS_GENERATION"):
        monkeypatch.delenv(name, raising=False)
    code = pytest.main(command[3:])
    assert code == 0, capsys.readouterr().out
    verdict = json.loads((results / "verdict.json").read_text())
    (scenario,) = verdict["scenarios"]
    rendering = next(layer for layer in scenario["layers"] if layer["layer"] == "rendering")
    assert (scenario["scenario"], rendering["status"]) == ("digits", "pass")
    left = {path.name for path in results.iterdir()}
    assert not left & {"fig_comparison.html", "fig_comparison_basic.html", "results.json"}
    assert not [path for path in results.iterdir() if path.is_dir()], "no copies of passing images"
