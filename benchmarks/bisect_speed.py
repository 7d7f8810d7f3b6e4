"""Probe median and wall time of real bisects: ``python benchmarks/bisect_speed.py``.

Runs ``mlp-weights bisect`` as a user does (uv from ``PATH`` or the ``uv``
package; wheels from the package index, so the first run fills uv's
cache), with ``--no-cache`` so that every probe really runs, and prints for
each run: the probes run, their median and spread, the wall time, the CPU
time of the command and its children, and the load average around it (on
a shared machine the wall times are inflated by whatever else runs; the
CPU time much less).

Usage::

    python benchmarks/bisect_speed.py                 # bisect, then walk, --jobs 1 and 2
    python benchmarks/bisect_speed.py --jobs 2 --skip-walk
    python benchmarks/bisect_speed.py --library matplotlib --bad 3.7.0 --good 3.11.2
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: A progress line: ``probe matplotlib 3.10.9: moves (3.4 s): ...``.
PROGRESS = re.compile(r"^probe \S+ (\S+): (\w+) \((\d+\.\d) s\)", re.M)
#: The goals of the figures this prints (seconds, warm uv cache, idle 2-core machine).
GOALS = {"probe median": 3.0, "bisect wall": 20.0, "walk wall": 90.0}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: argparse.Namespace, jobs: int, walk: bool) -> dict:
    """One bisect (or walk) from a fresh process; its figures."""
    command = [sys.executable, "-m", "mlp_weights", "bisect", args.library, "--bad", args.bad]
    command += ["--jobs", str(jobs), "--no-cache"]
    if args.good:
        command += ["--good", args.good]
    if walk:
        command.append("--walk")
    load_before = os.getloadavg()[0]
    cpu_before = children_cpu()
    # The report files are not read (the progress lines are): nothing stays behind.
    with tempfile.TemporaryDirectory(prefix="bisect-speed-") as results:
        start = time.perf_counter()
        done = subprocess.run(
            [*command, "--results-dir", results], cwd=REPO, capture_output=True, text=True
        )
        wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bisect failed (exit {done.returncode}): {done.stderr.strip()}")
    times = [float(m.group(3)) for m in PROGRESS.finditer(done.stdout)]
    return {
        "mode": "walk" if walk else "bisect",
        "jobs": jobs,
        "probes": len(times),
        "median_s": statistics.median(times) if times else float("nan"),
        "min_s": min(times, default=float("nan")),
        "max_s": max(times, default=float("nan")),
        "wall_s": wall,
        "cpu_s": children_cpu() - cpu_before,
        "load": f"{load_before:.1f}-{os.getloadavg()[0]:.1f}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", default="matplotlib")
    parser.add_argument("--bad", default="3.7.0")
    parser.add_argument("--good", help="default: the baselines' version")
    parser.add_argument(
        "--jobs", type=int, action="append", help="repeat for several (default: 1 and 2)"
    )
    parser.add_argument("--skip-walk", action="store_true", help="time the bisect only")
    args = parser.parse_args(argv)
    jobs_list = args.jobs or [1, 2]
    rows = []
    header = "mode    jobs  probes  median_s  min_s  max_s  wall_s  cpu_s  load"
    print(header)
    for walk in (False,) if args.skip_walk else (False, True):
        for jobs in jobs_list:
            row = run(args, jobs, walk)
            rows.append(row)
            print(
                f"{row['mode']:<6}  {row['jobs']:>4}  {row['probes']:>6}  {row['median_s']:>8.1f}"
                f"  {row['min_s']:>5.1f}  {row['max_s']:>5.1f}  {row['wall_s']:>6.1f}"
                f"  {row['cpu_s']:>5.1f}  {row['load']}",
                flush=True,
            )
    best = {
        mode: min(r["wall_s"] for r in rows if r["mode"] == mode)
        for mode in ("bisect", "walk")
        if any(r["mode"] == mode for r in rows)
    }
    medians = [r["median_s"] for r in rows if r["jobs"] == max(jobs_list)]
    figures = {"probe median": statistics.median(medians)}
    figures.update({f"{mode} wall": wall for mode, wall in best.items()})
    for name, value in figures.items():
        verdict = "met" if value <= GOALS[name] else "not met"
        print(f"# {name}: {value:.1f} s (goal at most {GOALS[name]:.0f} s): {verdict}")
    print(f"# machine: {os.cpu_count()} cores; load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
