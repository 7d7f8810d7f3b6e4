"""Stopping a real ``mlp-weights bisect`` process with two probes in flight: Ctrl-C and SIGTERM.

The command runs as users run it (``python -m mlp_weights bisect``), against a
package index on loopback and a stand-in ``uv`` on ``PATH`` whose environments'
``python`` waits forever: so both probes are still running when the signal comes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bisect_fakes import project_page, serve_index

REPO = Path(__file__).resolve().parent.parent

#: A stand-in for uv: builds an empty wheel, makes environments whose python
#: notes its process id and waits, installs nothing, lists matplotlib.
FAKE_UV = """\
#!{python}
import pathlib, sys
args = sys.argv[1:]
if args[0] == "build":
    out = pathlib.Path(args[args.index("-o") + 1])
    out.mkdir(parents=True, exist_ok=True)
    (out / "mlp_weights-0-py3-none-any.whl").write_bytes(b"")
elif args[0] == "venv":
    python = pathlib.Path(args[-1]) / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(SLOW_PYTHON)
    python.chmod(0o755)
elif args[:2] == ["pip", "freeze"]:
    print("matplotlib==3.9.0")
"""
SLOW_PYTHON = """\
#!{python}
import os, pathlib, time
pathlib.Path({started!r}, str(os.getpid())).touch()
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [
        (signal.SIGTERM, 143, "mlp-weights: terminated"),
        (signal.SIGINT, 130, "mlp-weights: interrupted"),
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_signal_stops_both_probes_and_leaves_no_folder(tmp_path, signum, code, said):
    started, temp, bin_dir = tmp_path / "started", tmp_path / "tmp", tmp_path / "bin"
    for folder in (started, temp, bin_dir):
        folder.mkdir()
    slow = SLOW_PYTHON.format(python=sys.executable, started=str(started))
    uv = bin_dir / "uv"
    uv.write_text(
        FAKE_UV.format(python=sys.executable).replace(
            "import pathlib, sys\n", f"import pathlib, sys\nSLOW_PYTHON = {slow!r}\n"
        )
    )
    uv.chmod(0o755)
    versions = ["3.7.0", "3.8.0", "3.9.0", "3.10.0", "3.11.0", "3.11.2"]
    page = project_page("matplotlib", versions, tag="py3-none-any")
    with serve_index({"matplotlib": page}) as url:
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "TMPDIR": str(temp),
            "MLP_WEIGHTS_INDEX_URL": url,
        }
        env.pop("PYTEST_ADDOPTS", None)
        command = [sys.executable, "-m", "mlp_weights", "bisect", "matplotlib", "--bad", "3.7.0"]
        command += ["--jobs", "2", "--data-home", str(tmp_path / "home")]
        command += ["--results-dir", str(tmp_path / "results")]
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while len(list(started.iterdir())) < 2 and process.poll() is None:
                assert time.monotonic() < deadline, "the two probes never started"
                time.sleep(0.05)
            assert process.poll() is None, process.communicate()
            assert list(temp.glob("mlp-weights-bisect-*")), "a probe's folder while it runs"
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    pids = [int(path.name) for path in started.iterdir()]
    assert len(pids) == 2
    assert process.returncode == code, stderr
    assert stderr.splitlines()[-1] == said
    assert "Traceback" not in stderr
    assert not list(temp.glob("mlp-weights-bisect-*")), "the work folder was left behind"
    assert not any(alive(pid) for pid in pids), "a probe's test run outlived the command"
    assert not any(line.startswith("probe ") for line in stdout.splitlines())
