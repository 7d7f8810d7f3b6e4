"""Probes side by side: the same answer as the serial search, sooner, said line by line."""

from __future__ import annotations

import random
import re
import threading
import time

import pytest

from bisect_fakes import FakeProber
from mlp_weights.bisect.parallel import ProbePool, run_search
from mlp_weights.bisect.process import Cancelled
from mlp_weights.bisect.results import ProbeResult
from mlp_weights.bisect.search import (
    HOLDS,
    MOVES,
    UNTESTABLE,
    EndUntestableError,
    bisect,
    bisect_plan,
    walk,
    walk_plan,
)
from test_bisect_command import FINALS, Run, moving_before

VERSIONS = [f"1.{minor}.{micro}" for minor in range(6) for micro in range(4)]


def step(first_moving: str, untestable=()) -> dict[str, str]:
    index = VERSIONS.index(first_moving)
    return {
        v: UNTESTABLE if v in untestable else (HOLDS if i < index else MOVES)
        for i, v in enumerate(VERSIONS)
    }


def tables():
    """Single change points both ways, untestable releases, and results that flip back."""
    for first in VERSIONS[1:]:
        yield step(first)
        yield {v: MOVES if o == HOLDS else HOLDS for v, o in step(first).items()}
    yield step("1.2.1", untestable={"1.2.0", "1.1.3", "1.3.2"})
    yield step("1.4.0", untestable={VERSIONS[-1]})
    pick = random.Random(15)
    for _ in range(15):
        table = {v: pick.choice((HOLDS, HOLDS, MOVES, MOVES, UNTESTABLE)) for v in VERSIONS}
        table[VERSIONS[0]], table[VERSIONS[-1]] = HOLDS, MOVES
        yield table


class Prober:
    """``version -> ProbeResult`` from a table, after a short random delay; counts overlap."""

    def __init__(self, outcomes: dict[str, str], seed: int = 0, delay: float = 0.002):
        self.outcomes = outcomes
        self.pick = random.Random(seed)
        self.delay = delay
        self.calls: list[str] = []
        self.finished: list[str] = []
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, version: str) -> ProbeResult:
        with self.lock:
            self.calls.append(version)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            pause = self.pick.uniform(0, self.delay)
        time.sleep(pause)
        with self.lock:
            self.in_flight -= 1
            self.finished.append(version)
        return ProbeResult("lib", version, self.outcomes[version])


def parallel_bisect(outcomes, jobs, seed=0, ends=(VERSIONS[0], VERSIONS[-1])):
    prober = Prober(outcomes, seed)
    pool = ProbePool(prober, jobs)
    recorded: list[str] = []

    def record(result):
        recorded.append(result.version)
        return result.outcome

    try:
        found = run_search(
            lambda known, width: bisect_plan(VERSIONS, *ends, known, width),
            pool,
            lambda version: None,
            record,
        )
    finally:
        pool.close()
    return found, prober, recorded


@pytest.mark.parametrize("jobs", [2, 3])
def test_any_number_of_workers_finds_what_the_serial_search_finds(jobs):
    for number, outcomes in enumerate(tables()):
        for ends in ((VERSIONS[0], VERSIONS[-1]), (VERSIONS[-1], VERSIONS[0])):
            try:
                serial = bisect(VERSIONS, *ends, outcomes.__getitem__)
            except EndUntestableError as exc:
                with pytest.raises(EndUntestableError) as info:
                    parallel_bisect(outcomes, jobs, number, ends)
                assert info.value.version == exc.version
                continue
            found, prober, _ = parallel_bisect(outcomes, jobs, number, ends)
            assert found == serial, f"table {number}, ends {ends}"
            assert set(serial.outcomes) <= set(prober.calls)
            assert len(prober.calls) == len(set(prober.calls)), "no release probed twice"


def test_one_worker_probes_exactly_what_the_serial_search_probes():
    outcomes = step("1.3.1")
    serial = bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], outcomes.__getitem__)
    found, prober, recorded = parallel_bisect(outcomes, 1)
    assert found == serial
    assert prober.calls == recorded == list(serial.outcomes)
    assert prober.most_in_flight == 1


def test_two_workers_probe_the_ends_together_then_the_midpoint_and_a_next_midpoint():
    ends = (VERSIONS[0], VERSIONS[-1])
    assert bisect_plan(VERSIONS, *ends, {}, 2) == (None, list(ends))
    known = {VERSIONS[0]: HOLDS, VERSIONS[-1]: MOVES}
    found, wanted = bisect_plan(VERSIONS, *ends, known, 3)
    # 24 releases: the midpoint, then the midpoint above it (if it holds) or below (if it moves).
    assert found is None and wanted == ["1.2.3", "1.4.1", "1.1.1"]
    found, prober, _ = parallel_bisect(step("1.3.1"), 2)
    assert prober.most_in_flight == 2


def test_two_workers_take_fewer_rounds_than_one():
    """With every probe taking the same time, wall time counts rounds of probes."""
    outcomes = step("1.3.1")

    def wall_time(jobs):
        prober = Prober(outcomes)
        prober.pick = random.Random(0)
        prober.delay = 0.0
        pool = ProbePool(lambda v: (time.sleep(0.05), prober(v))[1], jobs)
        start = time.perf_counter()
        try:
            run_search(
                lambda known, width: bisect_plan(VERSIONS, VERSIONS[0], VERSIONS[-1], known, width),
                pool,
                lambda version: None,
                lambda result: result.outcome,
            )
        finally:
            pool.close()
        return time.perf_counter() - start, len(prober.calls)

    serial, serial_probes = wall_time(1)
    parallel, parallel_probes = wall_time(2)
    assert serial_probes == 7 and parallel_probes >= serial_probes
    assert parallel < serial * 0.8, f"{parallel:.2f} s with 2 workers, {serial:.2f} s with 1"


def test_a_walk_with_workers_is_the_serial_walk():
    outcomes = dict(zip(VERSIONS, [HOLDS, MOVES, UNTESTABLE] * 8))
    prober = Prober(outcomes, delay=0.01)
    pool = ProbePool(prober, 2)
    try:
        found = run_search(
            lambda known, width: walk_plan(VERSIONS, known, width),
            pool,
            lambda version: None,
            lambda result: result.outcome,
        )
    finally:
        pool.close()
    assert found == walk(VERSIONS, outcomes.__getitem__)
    assert sorted(prober.calls) == sorted(VERSIONS) and prober.most_in_flight == 2


class SlowFake(FakeProber):
    """The command's fake prober, thread-safe, with a delay per release."""

    def __init__(self, outcomes, delays):
        super().__init__(outcomes)
        self.delays = delays
        self.finished_at: dict[str, float] = {}

    def __call__(self, version):
        time.sleep(self.delays.get(version, 0.0))
        result = super().__call__(version)
        # The first finish: a walk probes some releases again against their own generation.
        self.finished_at.setdefault(version, time.monotonic())
        return result


PROGRESS = re.compile(
    r"^probe matplotlib (\S+): (holds|moves|untestable) \((\d+\.\d s|cached)\)"
    r"(: RMS mnist-sample \d+\.\d\d, digits \d+\.\d\d)?$"
)


@pytest.mark.parametrize("walk_all", [False, True], ids=["bisect", "walk"])
def test_the_command_with_two_workers_says_what_it_says_with_one(tmp_path, walk_all):
    outcomes = moving_before("3.11.0")
    delays = {v: 0.01 * (i % 3) for i, v in enumerate(FINALS)}
    one = Run(tmp_path / "one", SlowFake(outcomes, delays), bad="3.7.0", walk=walk_all)()
    two = Run(tmp_path / "two", SlowFake(outcomes, delays), bad="3.7.0", walk=walk_all, jobs=2)()
    assert two.report()["verdict"] == one.report()["verdict"]
    assert two.report()["change_points"] == one.report()["change_points"]
    assert two.report()["probe_order"] == one.report()["probe_order"]
    progress = [line for line in two.lines if line.startswith("probe ")]
    assert all(PROGRESS.match(line) for line in progress), progress
    # One whole line per probe, in the order the probes finished (a probe's end and
    # its result reaching the command are microseconds apart: 10 ms of slack).
    said = [PROGRESS.match(line).group(1) for line in progress]
    # (A probe run ahead that finishes after the answer is not said.)
    assert len(said) == len(set(said)) and set(said) <= set(two.prober.finished_at)
    ends = [two.prober.finished_at[version] for version in said]
    assert all(earlier <= later + 0.01 for earlier, later in zip(ends, ends[1:])), said
    assert two.lines[0].endswith("; 2 probes at a time")


class StoppableProber(Prober):
    """Probes that take ``delay`` seconds unless cancelled first (then :class:`Cancelled`)."""

    def __init__(self, outcomes, delays):
        super().__init__(outcomes)
        self.delays = delays
        self.events: dict[str, threading.Event] = {}
        self.cancelled: list[str] = []
        self.started: list[str] = []

    def __call__(self, version):
        self.started.append(version)
        event = self.events.setdefault(version, threading.Event())
        if event.wait(self.delays.get(version, 0.0)):
            raise Cancelled
        return super().__call__(version)

    def cancel(self, version):
        self.cancelled.append(version)
        self.events.setdefault(version, threading.Event()).set()


def test_a_probe_made_useless_is_stopped_and_its_worker_freed():
    outcomes = step("1.1.0")
    serial = bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], outcomes.__getitem__)
    # Releases the serial search does not need take long: probed ahead, they must be stopped.
    # The needed ones take 0.1 s, so that those run ahead have started by the time they end.
    delays = {v: 30.0 if v not in serial.outcomes else 0.1 for v in VERSIONS}
    prober = StoppableProber(outcomes, delays)
    pool = ProbePool(prober, 2)
    recorded = []
    start = time.perf_counter()
    try:
        found = run_search(
            lambda known, width: bisect_plan(VERSIONS, VERSIONS[0], VERSIONS[-1], known, width),
            pool,
            lambda version: None,
            lambda result: recorded.append(result.version) or result.outcome,
        )
    finally:
        pool.close()
    assert found == serial
    # Probed ahead: the useless ones that had started were stopped (one not yet
    # started is dropped from the queue, which depends on thread timing).
    useless = [v for v in prober.started if v not in serial.outcomes]
    assert useless or prober.cancelled, "no probe was run ahead"
    assert set(useless) <= set(prober.cancelled)
    assert not set(prober.cancelled) & set(recorded)
    assert set(recorded) == set(serial.outcomes)
    assert time.perf_counter() - start < 10, "the search waited for a useless probe"


def test_jobs_default_to_the_cores_this_process_may_use(monkeypatch):
    from mlp_weights.bisect import parallel
    from mlp_weights.cli import build_parser

    assert build_parser().parse_args(["bisect", "numpy"]).jobs == parallel.default_jobs() >= 1
    monkeypatch.delattr(parallel.os, "process_cpu_count", raising=False)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 64)
    assert parallel.default_jobs() == 3


@pytest.mark.parametrize("value", ["0", "two"])
def test_jobs_below_one_or_not_a_number_is_one_line_exit_2(capsys, value):
    from mlp_weights.cli import main

    with pytest.raises(SystemExit) as info:
        main(["bisect", "matplotlib", "--jobs", value])
    assert info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mlp-weights bisect: error: argument --jobs: ")
