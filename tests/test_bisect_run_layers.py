"""The layers' run of a probe: pytest in the probe's environment, ended without a teardown.

A probe runs ``python -m mlp_weights.bisect.run_layers <pytest arguments>``:
pytest's run and exit code, its exit handlers, and then the end of the
process without the interpreter's teardown (which only costs time). These
tests run it with this interpreter, where mlp-weights is installed as in a
probe's environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlp_weights.bisect.run_layers import RUNNER, layers_command

REPO = Path(__file__).resolve().parent.parent

TESTS = """\
import atexit, pathlib, threading, time

OUT = pathlib.Path(__file__).parent

# Called by the interpreter's usual ending (before it waits for threads),
# never by os._exit. Unlike a module global's __del__, on every Python.
threading._register_atexit(lambda: (OUT / "teardown").write_text("ran"))
atexit.register(lambda: (OUT / "atexit").write_text("ran"))

def test_passes():
    pass

def test_fails():
    assert {fails}

def test_leaves_a_thread():
    if {thread}:
        def late():
            time.sleep(0.5)
            (OUT / "thread").write_text("done")
        threading.Thread(target=late).start()
"""


def run_tests(folder: Path, fails: bool = True, thread: bool = False):
    (folder / "test_run.py").write_text(TESTS.format(fails=not fails, thread=thread))
    environ = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", RUNNER, "test_run.py", "-p", "no:cacheprovider", "-q"]
        + ["--junitxml=junit.xml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """One run with a failing test, and its folder (a process start costs about 0.3 s)."""
    folder = tmp_path_factory.mktemp("failed-run")
    return run_tests(folder), folder


def test_the_run_is_pytests_with_its_exit_code_and_reports(failed_run, tmp_path):
    done, folder = failed_run
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 2 passed" in done.stdout, "the output reaches the probe whole"
    assert (folder / "junit.xml").read_text().count("<testcase") == 3
    assert run_tests(tmp_path, fails=False).returncode == 0


def test_the_process_ends_after_the_exit_handlers_without_a_teardown(failed_run):
    done, folder = failed_run
    assert done.returncode == 1
    assert (folder / "atexit").exists(), "exit handlers run"
    assert not (folder / "teardown").exists(), "the interpreter is not torn down"


def test_a_thread_still_running_is_waited_for(tmp_path):
    done = run_tests(tmp_path, thread=True)
    assert done.returncode == 1
    assert (tmp_path / "thread").read_text() == "done"
    assert (tmp_path / "teardown").exists(), "the usual ending, which waits for the thread"


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
    assert (results / "junit.xml").exists()
    left = {path.name for path in results.iterdir()}
    assert not left & {"fig_comparison.html", "fig_comparison_basic.html", "results.json"}
    assert not [path for path in results.iterdir() if path.is_dir()], "no copies of passing images"
