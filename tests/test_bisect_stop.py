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


#: The signal, the exit code and the last line on stderr.
STOPS = [
    (signal.SIGTERM, 143, "mlp-weights: terminated"),
    (signal.SIGINT, 130, "mlp-weights: interrupted"),
]


def fake_uv(folder: Path, started: Path) -> Path:
    """A folder with the stand-in ``uv``, whose environments note their pid in ``started``."""
    folder.mkdir()
    slow = SLOW_PYTHON.format(python=sys.executable, started=str(started))
    uv = folder / "uv"
    uv.write_text(
        FAKE_UV.format(python=sys.executable).replace(
            "import pathlib, sys\n", f"import pathlib, sys\nSLOW_PYTHON = {slow!r}\n"
        )
    )
    uv.chmod(0o755)
    return folder


def start_bisect(tmp_path: Path, url: str) -> tuple[subprocess.Popen, Path, Path]:
    """``mlp-weights bisect --jobs 2`` with the stand-in uv: the process, temp and pid folders."""
    started, temp = tmp_path / "started", tmp_path / "tmp"
    started.mkdir()
    temp.mkdir()
    bin_dir = fake_uv(tmp_path / "bin", started)
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
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run started in the background (a CI
        # script's `cmd &`, say) inherits SIGINT ignored, and so would the command.
        preexec_fn=_default_sigint,
    )
    return process, temp, started


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigterm_and_ctrl_c_stop_both_probes_and_leave_no_folder(tmp_path):
    """SIGTERM and SIGINT, each to its own bisect, both run at once (the test waits for neither)."""
    versions = ["3.7.0", "3.8.0", "3.9.0", "3.10.0", "3.11.0", "3.11.2"]
    page = project_page("matplotlib", versions, tag="py3-none-any")
    runs = []
    with serve_index({"matplotlib": page}) as url:
        try:
            for signum, _, _ in STOPS:
                folder = tmp_path / signal.Signals(signum).name
                folder.mkdir()
                runs.append(start_bisect(folder, url))
            deadline = time.monotonic() + 60
            for process, temp, started in runs:
                while len(list(started.iterdir())) < 2 and process.poll() is None:
                    assert time.monotonic() < deadline, "the two probes never started"
                    time.sleep(0.05)
                assert process.poll() is None, process.communicate()
                assert list(temp.glob("mlp-weights-bisect-*")), "a probe's folder while it runs"
            for (process, _, _), (signum, _, _) in zip(runs, STOPS):
                process.send_signal(signum)
            outputs = [process.communicate(timeout=30) for process, _, _ in runs]
        finally:
            for process, _, _ in runs:
                if process.poll() is None:
                    process.kill()
                    process.communicate()
    for (process, temp, started), (stdout, stderr), (_, code, said) in zip(runs, outputs, STOPS):
        pids = [int(path.name) for path in started.iterdir()]
        assert len(pids) == 2
        assert process.returncode == code, stderr
        assert stderr.splitlines()[-1] == said
        assert "Traceback" not in stderr
        assert not list(temp.glob("mlp-weights-bisect-*")), "the work folder was left behind"
        assert not any(alive(pid) for pid in pids), "a probe's test run outlived the command"
        assert not any(line.startswith("probe ") for line in stdout.splitlines())
