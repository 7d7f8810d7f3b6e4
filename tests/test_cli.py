"""The command-line tool: the seed's output, and one clear line for bad input."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
import pytest

from mlp_weights import __version__
from mlp_weights.cli import main
from mlp_weights.suite import checks as suite

ITERATION = re.compile(r"^Iteration (\d+), loss = \d+\.\d{8}$", re.M)
SCORES = re.compile(r"^Training set score: 0\.\d{6}\nTest set score: 0\.\d{6}$", re.M)

#: Simulates "no network" for a child process on any machine: every HTTP(S)
#: request goes to a proxy on a closed loopback port and is refused at once.
NO_NETWORK = {
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
}


def run_cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "mlp_weights", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@dataclass(frozen=True)
class Run:
    """One in-process ``mlp-weights run``: its exit code, its stdout, the figure's path."""

    code: int
    stdout: str
    out: Path


def run_digits(folder: Path, *options: str) -> Run:
    out = folder / "w.png"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["run", "--dataset", "digits", *options, "--out", str(out)])
    return Run(code, stdout.getvalue(), out)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Run:
    """``run --dataset digits``, trained once for every check of its output."""
    return run_digits(tmp_path_factory.mktemp("loud"))


@pytest.fixture(scope="module")
def quiet_digits_run(tmp_path_factory) -> Run:
    """``run --dataset digits --quiet``, trained once for every check of its output.

    One epoch: a loud run of one epoch prints an iteration line and the weights' block too.
    """
    return run_digits(tmp_path_factory.mktemp("quiet"), "--quiet", "--max-iter", "1")


def test_run_digits_prints_the_seed_lines_and_writes_the_grid(digits_run):
    assert digits_run.code == 0
    assert [int(n) for n in ITERATION.findall(digits_run.stdout)] == list(range(1, 9))
    assert SCORES.search(digits_run.stdout)
    assert matplotlib.image.imread(digits_run.out).shape[:2] == (480, 640)


def test_quiet_hides_the_iterations_only(quiet_digits_run):
    assert quiet_digits_run.code == 0
    assert not ITERATION.search(quiet_digits_run.stdout)
    assert SCORES.search(quiet_digits_run.stdout)


def test_run_prints_what_the_weights_say_after_the_scores(digits_run):
    out = digits_run.stdout
    d = suite.fresh_fit("digits").diagnostics
    block = out[out.index("Test set score") :].splitlines()[1:]
    assert block[0] == "What the weights say (first layer, 64 inputs x 40 hidden units):"
    assert block[1].startswith(
        f"  largest |w|    {d['max_weight_over_init_bound']:.2f} x the initial bound "
        f"{d['init_bound']:.4f}"
    )
    assert block[2] == f"  dead units     {d['dead_units']} of 40, never active on the training set"
    assert f"{d['constant_pixels']} of 64 pixels never vary" in block[3]
    assert block[-1] == f"  final loss     {d['final_loss']:.4g}"


def test_quiet_hides_what_the_weights_say(quiet_digits_run):
    out = quiet_digits_run.stdout
    assert "What the weights say" not in out and "Test set score" in out


def test_options_change_the_fit_and_the_grid(tmp_path, capsys):
    out = tmp_path / "w.pdf"
    args = ["run", "--dataset", "digits", "--hidden", "6", "--max-iter", "3", "--grid", "2x3"]
    assert main([*args, "--out", str(out)]) == 0
    assert len(ITERATION.findall(capsys.readouterr().out)) == 3
    assert out.read_bytes().startswith(b"%PDF")


def test_console_script_and_module_run_mnist_sample(tmp_path):
    proc = run_cli("run", "--dataset", "mnist-sample", "--out", "w.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(ITERATION.findall(proc.stdout)) == 8
    assert SCORES.search(proc.stdout)
    assert (tmp_path / "w.png").stat().st_size > 1000


def test_mnist_offline_fails_fast_with_one_line(tmp_path, capsys, monkeypatch):
    import urllib.request

    for name, value in NO_NETWORK.items():
        monkeypatch.setenv(name, value)
    # urllib reads the proxy variables when it builds its default opener.
    monkeypatch.setattr(urllib.request, "_opener", None)
    # The pause between tries is tested with the data layer; here it only waits.
    monkeypatch.setattr("mlp_weights.pipeline.data.sources.OPENML_RETRY_DELAY", 0.001)
    args = ["run", "--dataset", "mnist", "--data-home", str(tmp_path / "empty")]
    code = main([*args, "--out", str(tmp_path / "w.png")])
    stderr = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Connection refused" in lines[0]
    assert "MNIST is not cached" in lines[0]
    assert "--data-home" in lines[0] and "mnist-sample" in lines[0]
    assert not (tmp_path / "w.png").exists()


BAD_INPUTS = {
    "unknown dataset": ["--dataset", "fashion"],
    "max-iter zero": ["--max-iter", "0"],
    "max-iter not a number": ["--max-iter", "eight"],
    "hidden negative": ["--hidden", "-3"],
    "grid larger than hidden": ["--grid", "7x7"],
    "grid larger than a smaller hidden": ["--hidden", "10"],
    "grid with zero side": ["--grid", "0x4"],
    "grid malformed": ["--grid", "four"],
    "out folder missing": ["--out", "{tmp}/no/such/folder/w.png"],
    "out is a folder": ["--out", "{tmp}"],
    "out unknown format": ["--out", "{tmp}/w.xyz"],
    "data-home is a file": ["--data-home", "{tmp}/afile"],
}


@pytest.mark.parametrize("args", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args):
    (tmp_path / "afile").write_text("not a folder")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--dataset" not in args:
        args = ["--dataset", "digits", *args]
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "w.png")]
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SystemExit) as info:
        sys.exit(main(["run", *args]))
    assert info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("mlp-weights")
    assert "Traceback" not in captured.err
    assert not ITERATION.search(captured.out), "bad input must be caught before training"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_bad_input_through_the_real_process(tmp_path):
    proc = run_cli("run", "--dataset", "fashion")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "mlp-weights: error: unknown scenario 'fashion'; choose one of: mnist, mnist-sample, digits"
    )


def test_failed_save_leaves_no_file(tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken)
    out = tmp_path / "w.png"
    # One epoch: the save fails after training, however long it trained.
    args = ["run", "--dataset", "digits", "--quiet", "--max-iter", "1"]
    assert main([*args, "--out", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


#: ``mlp-weights --help`` in a fresh process, then the libraries it loaded, on stderr.
HELP_THEN_IMPORTS = """
import sys
from mlp_weights.cli import main
try:
    main(["--help"])
finally:
    loaded = [m for m in ("numpy", "sklearn", "matplotlib") if m in sys.modules]
    print("loaded:", *loaded, file=sys.stderr)
"""


def test_help_lists_the_commands_and_loads_no_library():
    proc = subprocess.run(
        [sys.executable, "-c", HELP_THEN_IMPORTS], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    commands = re.findall(r"^    ([a-z]+)", proc.stdout, re.M)
    assert commands == ["run", "regen", "bisect", "report", "generations"]
    assert proc.stderr.strip() == "loaded:"


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"mlp-weights {__version__}\n"


def test_show_without_a_display_says_where_the_figure_is(tmp_path, capsys, monkeypatch):
    import matplotlib
    import matplotlib.pyplot as plt

    monkeypatch.setattr(matplotlib, "get_backend", lambda: "agg")
    out = tmp_path / "w.png"
    open_before = plt.get_fignums()
    args = ["run", "--dataset", "digits", "--quiet", "--show", "--max-iter", "1"]
    assert main([*args, "--out", str(out)]) == 0
    assert f"--show: no display here (backend agg); the figure is in {out}" in (
        capsys.readouterr().err
    )
    assert out.exists()
    # No figure is left open in pyplot for a window that cannot open.
    assert plt.get_fignums() == open_before


def test_show_with_a_display_opens_the_grid_in_a_window(tmp_path, monkeypatch):
    import matplotlib
    import matplotlib.pyplot as plt

    shown = []

    def show():
        fig = plt.gcf()
        shown.append(len(fig.axes))
        plt.close(fig)  # as closing the window does

    monkeypatch.setattr(matplotlib, "get_backend", lambda: "TkAgg")
    monkeypatch.setattr(plt, "show", show)
    args = ["run", "--dataset", "digits", "--quiet", "--show", "--max-iter", "1"]
    assert main([*args, "--out", str(tmp_path / "w.png")]) == 0
    assert shown == [16]
