"""Probes side by side: a walk's releases (and a search's ends) on ``--jobs`` workers."""

from __future__ import annotations

import _thread
import re
import threading
import time

import pytest

from bisect_fakes import FakeProber
from mlp_weights.bisect import process
from mlp_weights.bisect.process import probe_side_by_side
from test_bisect_command import FINALS, Run, moving_before


class SlowFake(FakeProber):
    """The command's fake prober, thread-safe, with a delay per release; counts overlap.

    With ``wait_for_two``, the first probe waits (up to :data:`PARTNER_WAIT` seconds) until
    a second one is in flight: two probes at once are then certain, however busy the
    machine, and cost no fixed sleep. Probes taken one at a time run out the wait, and
    ``most_in_flight`` says 1.
    """

    def __init__(self, outcomes, delays, wait_for_two=False):
        super().__init__(outcomes)
        self.delays = delays
        self.finished_at: dict[str, float] = {}
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.two_in_flight = threading.Event()
        if not wait_for_two:
            self.two_in_flight.set()

    def __call__(self, version, forced=""):
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if self.in_flight >= 2:
                self.two_in_flight.set()
        try:
            self.two_in_flight.wait(PARTNER_WAIT)
            time.sleep(self.delays.get(version, 0.0))
            result = super().__call__(version, forced)
        finally:
            with self.lock:
                self.in_flight -= 1
        # The first finish: a walk probes some releases again against their own generation.
        self.finished_at.setdefault(version, time.monotonic())
        return result


#: Seconds a probe waits for a second one to start beside it (only when none ever does).
PARTNER_WAIT = 10.0


PROGRESS = re.compile(
    r"^probe matplotlib (\S+): (holds|moves|untestable) \((\d+\.\d s|cached)\)"
    r"(: RMS mnist-sample \d+\.\d\d, digits \d+\.\d\d)?$"
)


@pytest.mark.parametrize("walk_all", [False, True], ids=["bisect", "walk"])
def test_the_command_with_two_workers_says_what_it_says_with_one(tmp_path, walk_all):
    outcomes = moving_before("3.11.0")
    # Unequal, so that probes finish in another order than they started.
    delays = {v: 0.01 * (i % 3) for i, v in enumerate(FINALS)}
    one = Run(tmp_path / "one", SlowFake(outcomes, delays), bad="3.7.0", walk=walk_all)()
    # The first probe waits until the second worker has started one beside it.
    prober = SlowFake(outcomes, delays, wait_for_two=True)
    two = Run(tmp_path / "two", prober, bad="3.7.0", walk=walk_all, jobs=2)()
    assert two.report()["verdict"] == one.report()["verdict"]
    assert two.report()["change_points"] == one.report()["change_points"]
    assert sorted(two.report()["probe_order"]) == sorted(one.report()["probe_order"])
    assert one.prober.most_in_flight == 1 and two.prober.most_in_flight == 2
    progress = [line for line in two.lines if line.startswith("probe ")]
    assert all(PROGRESS.match(line) for line in progress), progress
    # One whole line per probe, in the order the probes finished (a probe's end and
    # its result reaching the command are microseconds apart: 10 ms of slack).
    said = [PROGRESS.match(line).group(1) for line in progress]
    assert len(said) == len(set(said)) and set(said) == set(two.prober.finished_at)
    ends = [two.prober.finished_at[version] for version in said]
    assert all(earlier <= later + 0.01 for earlier, later in zip(ends, ends[1:])), said
    assert two.lines[0].endswith("; 2 probes at a time")


class Stoppable:
    """Probes that wait until stopped; ``stop()`` as :class:`.LocalProber` has it."""

    def __init__(self):
        self.stopped = threading.Event()
        self.started: list[str] = []
        self.ended: list[str] = []

    def __call__(self, version, forced):
        self.started.append(version)
        self.stopped.wait(30)
        self.ended.append(version)
        raise RuntimeError("stopped")

    def stop(self):
        self.stopped.set()


def test_an_interrupt_stops_every_probe_in_flight_before_it_goes_through():
    """Ctrl-C while two probes run: both are stopped and have ended when it goes through."""
    prober = Stoppable()

    def interrupt_once_both_started():
        while len(prober.started) < 2:
            time.sleep(0.01)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_once_both_started, daemon=True).start()
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        probe_side_by_side(prober, ["1.0", "1.1", "1.2"], "", 2, lambda result: None)
    assert prober.stopped.is_set()
    assert sorted(prober.ended) == ["1.0", "1.1"], "both probes in flight ended first"
    assert "1.2" not in prober.started, "a probe not started yet never starts"
    assert time.perf_counter() - start < 10


def test_results_are_recorded_as_they_come_in_the_calling_thread():
    versions = ["1.0", "1.1", "1.2"]
    recorded = {version: threading.Event() for version in versions}
    # 1.0 ends only once 1.2, started after it, has been recorded; 1.2 only once 1.1 has.
    # Recorded as submitted instead, 1.0 would wait its PARTNER_WAIT out and come first.
    after = {"1.0": "1.2", "1.2": "1.1"}
    prober = FakeProber(dict.fromkeys(versions, "holds"))

    def probe(version, forced):
        if version in after:
            recorded[after[version]].wait(PARTNER_WAIT)
        return prober(version, forced)

    said = []

    def record(result):
        said.append((result.version, threading.current_thread()))
        recorded[result.version].set()

    probe_side_by_side(probe, versions, "", 2, record)
    assert [version for version, _ in said] == ["1.1", "1.2", "1.0"]
    assert {thread for _, thread in said} == {threading.current_thread()}


def test_jobs_default_to_the_cores_this_process_may_use(monkeypatch):
    from mlp_weights.cli import build_parser

    jobs = build_parser().parse_args(["bisect", "numpy"]).jobs
    assert jobs == process.default_jobs() >= 1
    monkeypatch.delattr(process.os, "process_cpu_count", raising=False)
    monkeypatch.setattr(process.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(process.os, "cpu_count", lambda: 64)
    assert process.default_jobs() == 3


@pytest.mark.parametrize("value", ["0", "two"])
def test_jobs_below_one_or_not_a_number_is_one_line_exit_2(capsys, value):
    from mlp_weights.cli import main

    with pytest.raises(SystemExit) as info:
        main(["bisect", "matplotlib", "--jobs", value])
    assert info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mlp-weights bisect: error: argument --jobs: ")
