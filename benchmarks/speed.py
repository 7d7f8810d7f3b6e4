"""Every speed and memory figure the documentation quotes, each against its goal.

Run from a checkout, in the environment the package is installed in with its
test extra::

    python benchmarks/speed.py [--repeat N] [--only GROUP ...]

Every figure comes from fresh processes; a row gives the median, min and max
of ``--repeat`` runs (default 3) and checks the median against its goal. The
groups (``--only`` picks some; default: all four, in this order):

- ``seed``: the seed example (``seed_script.py`` beside this file) against a
  warm ``mlp-weights run --dataset mnist-sample --quiet`` on the same 5,000
  images, whole processes, interleaved, after one untimed run of each (which
  fills the run's data cache). Goal: the run takes at most 0.7 x the seed's
  time (ratio of the medians). A note says whether both print the same
  scores, as they must.
- ``load``: ``load_dataset`` for each offline scenario, cold (an empty data
  home: from the source, then the verified cache is written) and warm (from
  that cache), timed in a process that has already imported everything a
  run imports. No goal: the figures are quoted as they are. Beside them,
  ``mlp-weights generations`` on the committed baselines, a whole process.
  Goal: at most 1 s.
- ``memory``: what ``train`` adds to the peak RSS of a process that holds a
  full-MNIST-shaped array (70,000 x 784 seeded random ``uint8`` pixels, labels
  0-9), with the full ``mnist`` scenario's settings. Goal: at most one float64
  copy of the array (its float64 train and test parts), one ``uint8`` copy
  (the split) and a tenth of a float64 copy for everything else. The seed's
  order (``X / 255.0`` of the whole array, then the split) is measured beside
  it for reference.
- ``suite``: ``python -m pytest -q -p no:cacheprovider`` from the repository
  root, serially and with ``-n 2``, ``SCIKIT_LEARN_DATA`` unset (the default
  data home, as a user's), after one untimed run that fills it; interleaved.
  Goals: at most 30 s serially and 20 s with ``-n 2``, on an idle machine.

The probe and bisect times are ``bisect_speed.py``'s. Progress goes to stderr;
the table and its ``#`` notes to stdout. MB are 10^6 bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from mlp_weights.core.table import format_table

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SEED_SCRIPT = HERE / "seed_script.py"
GROUPS = ("seed", "load", "memory", "suite")
COLUMNS = ("figure", "unit", "runs", "median", "min", "max", "goal", "verdict")
MB = 1_000_000
#: ``mlp-weights generations`` answers within this, in seconds.
GENERATIONS_GOAL = 1.0

#: A warm ``run`` should take at most this fraction of the seed script's time.
SEED_RATIO_GOAL = 0.7
SEED_SCENARIO = "mnist-sample"
LOAD_SCENARIOS = ("mnist-sample", "digits")
#: Imported before a load is timed (what every run imports by its end), so that a
#: load's time holds only what the load itself imports.
RUN_IMPORTS = (
    "mlp_weights.cli",
    "mlp_weights.pipeline.data",
    "mlp_weights.pipeline.plot",
    "mlp_weights.pipeline.training",
    "sklearn.neural_network",
    "matplotlib.figure",
)
SYNTHETIC_SHAPE = (70_000, 784)
#: Beyond one float64 and one uint8 copy of the array, training may add this
#: fraction of a float64 copy; another whole float64 copy, as the seed's
#: ``X / 255.0`` before splitting makes, exceeds it.
MEMORY_SLACK = 0.1
#: The suite's two commands (after ``python -m pytest -q``) and their goals in seconds.
SUITE_RUNS = {"serial": [], "-n 2": ["-n", "2"]}
SUITE_GOALS = {"serial": 30.0, "-n 2": 20.0}
#: The variable a user normally leaves unset: the suite then uses ~/scikit_learn_data.
DATA_HOME_ENV = "SCIKIT_LEARN_DATA"
#: pytest's closing line, e.g. ``563 passed, 7 skipped in 48.50s``.
CLOSING_LINE = re.compile(r"^=*\s*(?P<counts>\d+ \w+.*) in (?P<seconds>[0-9.]+)s")


# -- figures and the table -------------------------------------------------------------


def figure_row(name, unit, values, goal=None) -> tuple:
    """One row: the median, min and max of ``values``, checked against ``goal`` (at most)."""
    median = statistics.median(values)
    if goal is None:
        goal_text, verdict = "-", "-"
    else:
        goal_text = f"at most {goal:.4g}" + ("" if unit == "ratio" else f" {unit}")
        verdict = "met" if median <= goal else "NOT met"
    cells = [f"{v:.3f}" if unit != "MB" else f"{v:.1f}" for v in (median, min(values), max(values))]
    return (name, unit, len(values), *cells, goal_text, verdict)


def memory_limit(shape=SYNTHETIC_SHAPE) -> float:
    """The memory goal in MB: one float64 and one uint8 copy, plus the slack."""
    n_values = shape[0] * shape[1]
    return (8 * n_values + n_values + MEMORY_SLACK * 8 * n_values) / MB


def score_lines(stdout: str) -> list[str]:
    """The ``Training/Test set score`` lines of a run's output."""
    return [line.strip() for line in stdout.splitlines() if " set score: " in line]


def closing_line(output: str) -> str:
    """pytest's closing counts (``563 passed, 7 skipped``), or ``?`` when absent."""
    for line in reversed(output.splitlines()):
        match = CLOSING_LINE.match(line.strip())
        if match:
            return match["counts"]
    return "?"


# -- processes -------------------------------------------------------------------------


def progress(message: str) -> None:
    print(f"speed: {message}", file=sys.stderr, flush=True)


def timed(command, **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    """Wall seconds and result of ``command`` run to completion (it must succeed)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        output = done.stderr.strip() or done.stdout.strip()
        tail = " | ".join(output.splitlines()[-3:]) or "no output"
        sys.exit(f"speed: {' '.join(map(str, command[:5]))} ... exited {done.returncode}: {tail}")
    return seconds, done


def measure_in_child(step: str, *args: str) -> dict:
    """One :func:`child` measurement in a fresh process (this script, ``--child``)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", step, *args]
    _, done = timed(command, env={**os.environ, "MPLBACKEND": "Agg"})
    return json.loads(done.stdout.splitlines()[-1])


def interleaved(commands: dict, repeat: int, **kwargs) -> dict:
    """Label -> wall seconds of each of ``repeat`` runs, the order alternating each round
    so that a drift in the machine's load hits every command alike."""
    seconds = {label: [] for label in commands}
    for i in range(repeat):
        for label in list(commands) if i % 2 == 0 else list(reversed(commands)):
            progress(f"{label} {i + 1}/{repeat}")
            seconds[label].append(timed(commands[label], **kwargs)[0])
    return seconds


# -- the groups ------------------------------------------------------------------------


def seed_figures(repeat: int, tmp: Path) -> tuple[list, list]:
    """Seed script against a warm ``run`` on mnist-sample: rows and notes."""
    run = [sys.executable, "-m", "mlp_weights", "run", "--dataset", SEED_SCENARIO, "--quiet"]
    commands = {
        "seed script": [sys.executable, str(SEED_SCRIPT), str(tmp / "seed.png")],
        "run, warm": [*run, "--out", str(tmp / "run.png"), "--data-home", str(tmp / "data")],
    }
    env = {**os.environ, "MPLBACKEND": "Agg"}
    progress("seed script and run, untimed (fills the run's data cache)")
    scores = {label: score_lines(timed(cmd, env=env)[1].stdout) for label, cmd in commands.items()}
    seconds = interleaved(commands, repeat, env=env)
    rows = [
        figure_row(f"{label}, {SEED_SCENARIO}", "s", values) for label, values in seconds.items()
    ]
    ratio = statistics.median(seconds["run, warm"]) / statistics.median(seconds["seed script"])
    rows.append(figure_row("run / seed script (medians)", "ratio", [ratio], SEED_RATIO_GOAL))
    seed_scores, run_scores = ("; ".join(scores[label]) for label in commands)
    if seed_scores and seed_scores == run_scores:
        note = f"the same scores ({seed_scores})"
    else:
        note = f"DIFFERENT scores ({seed_scores} and {run_scores}): not the same work"
    return rows, [f"seed: seed script and run print {note}"]


def load_figures(repeat: int, tmp: Path) -> list:
    """Cold and warm ``load_dataset`` of each offline scenario."""
    rows = []
    for name in LOAD_SCENARIOS:
        times = {"cold": [], "warm": []}
        warm_home = tmp / f"warm-{name}"  # the first cold load fills it
        for i in range(repeat):
            progress(f"load {name} {i + 1}/{repeat}")
            cold_home = warm_home if i == 0 else tmp / f"cold-{name}-{i}"
            times["cold"].append(measure_in_child("load", name, str(cold_home))["seconds"])
            times["warm"].append(measure_in_child("load", name, str(warm_home))["seconds"])
        rows += [figure_row(f"load {name}, {kind}", "s", values) for kind, values in times.items()]
    listing = [sys.executable, "-m", "mlp_weights", "generations"]
    seconds = []
    for i in range(repeat):
        progress(f"generations {i + 1}/{repeat}")
        seconds.append(timed([*listing, "--baseline-dir", str(REPO / "baseline_images")])[0])
    rows.append(figure_row("mlp-weights generations", "s", seconds, GENERATIONS_GOAL))
    return rows


def memory_figures(repeat: int) -> list:
    """Peak RSS that training adds on a full-MNIST-shaped array, and the seed's order."""
    rows, shape = [], "x".join(map(str, SYNTHETIC_SHAPE))
    for step, name, goal in (
        ("train", f"train(), {shape} uint8: added peak RSS", memory_limit()),
        ("seed-split", "seed's X / 255.0, then split: added peak RSS", None),
    ):
        added = []
        for i in range(repeat):
            progress(f"memory {step} {i + 1}/{repeat}")
            added.append(measure_in_child(step)["added_mb"])
        rows.append(figure_row(name, "MB", added, goal))
    return rows


def suite_figures(repeat: int, tmp: Path) -> tuple[list, list]:
    """Wall time of the whole suite, serially and with ``-n 2``."""
    env = {k: v for k, v in os.environ.items() if k != DATA_HOME_ENV}
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    pytest.append(f"--mpl-results-path={tmp / 'mpl-results'}")
    progress("suite, untimed (fills the default data home)")
    _, first = timed(pytest, cwd=REPO, env=env)
    commands = {label: [*pytest, *extra] for label, extra in SUITE_RUNS.items()}
    seconds = interleaved(commands, repeat, cwd=REPO, env=env)
    rows = [
        figure_row(f"suite, {label}", "s", values, SUITE_GOALS[label])
        for label, values in seconds.items()
    ]
    return rows, [f"suite: {closing_line(first.stdout)} (the untimed run)"]


# -- inside a measured process ---------------------------------------------------------


def peak_rss_mb() -> float:
    import resource

    # ru_maxrss is in kibibytes on Linux, in bytes on macOS.
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / MB


def synthetic_dataset(shape=SYNTHETIC_SHAPE, seed: int = 0):
    """A seeded random ``Dataset`` of ``uint8`` pixels and labels 0-9."""
    import numpy as np

    from mlp_weights.pipeline.data import Dataset

    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, size=shape, dtype=np.uint8)
    y = rng.randint(0, 10, size=shape[0], dtype=np.uint8)
    return Dataset(f"synthetic-{shape[0]}x{shape[1]}", X, y)


def seed_split(scenario, dataset):
    """The seed's order: scale the whole array, then split."""
    from sklearn.model_selection import train_test_split

    return train_test_split(
        dataset.X / scenario.pixel_max,
        dataset.y,
        random_state=scenario.split_random_state,
        test_size=scenario.test_size,
    )


def child(step: str, *args: str) -> dict:
    """One measurement in this process: ``load NAME HOME``, ``train`` or ``seed-split``."""
    import importlib

    for module in RUN_IMPORTS:
        importlib.import_module(module)
    from mlp_weights.pipeline.data import load_dataset
    from mlp_weights.pipeline.scenarios import SCENARIOS
    from mlp_weights.pipeline.training import train

    if step == "load":
        name, home = args
        start = time.perf_counter()
        load_dataset(SCENARIOS[name], home)
        return {"seconds": time.perf_counter() - start}
    scenario, dataset = SCENARIOS["mnist"], synthetic_dataset()
    before = peak_rss_mb()
    if step == "train":
        train(scenario, dataset, verbose=False)
    elif step == "seed-split":
        seed_split(scenario, dataset)
    else:
        raise ValueError(f"unknown step {step!r}")
    return {"added_mb": peak_rss_mb() - before}


# -- the command -----------------------------------------------------------------------


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="speed.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=positive_int, default=3, metavar="N", help="timed runs per figure"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        metavar="GROUP",
        help=f"measure only this group; repeat for several ({', '.join(GROUPS)}; default: all)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.only = [group for group in GROUPS if group in (args.only or GROUPS)]
    return args


def header() -> list[str]:
    # Versions from the installed metadata: this process stays small, since a
    # child's peak RSS starts at its parent's.
    libraries = ("numpy", "scikit-learn", "matplotlib", "mlp-weights")
    versions = ", ".join(f"{name} {version(name)}" for name in libraries)
    return [f"# python {sys.version.split()[0]}, {versions}; {os.cpu_count()} CPUs"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    rows, notes = [], []
    with tempfile.TemporaryDirectory(prefix="mlp-weights-speed-") as tmp:
        tmp = Path(tmp)
        if "seed" in args.only:
            seed_rows, notes = seed_figures(args.repeat, tmp)
            rows += seed_rows
        if "load" in args.only:
            rows += load_figures(args.repeat, tmp)
        if "memory" in args.only:
            rows += memory_figures(args.repeat)
        if "suite" in args.only:
            suite_rows, suite_notes = suite_figures(args.repeat, tmp)
            rows, notes = rows + suite_rows, notes + suite_notes
    print("\n".join(header()))
    print(f"# {args.repeat} timed run(s) per figure, each a fresh process; goals on the median")
    print(format_table(COLUMNS, rows))
    for note in [*notes, "probe and bisect times: python benchmarks/bisect_speed.py"]:
        print(f"# {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
