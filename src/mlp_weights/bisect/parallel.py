"""Probes side by side: worker threads run them, the command's thread drives the search.

The search's plan (:func:`.search.bisect_plan`, :func:`.search.walk_plan`)
names the releases to probe: the one the serial search needs now and, with
more workers, those it may need next. Probes no longer named (the search
went the other way) are cancelled, which frees their worker at once.

Only the command's thread speaks and stores: it answers releases from the
cache, and records each finished probe (cache, progress line) as it comes
back, so progress lines are whole and in the order the probes finished.
Workers only run probes.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mlp_weights.bisect.process import Cancelled
from mlp_weights.bisect.results import ProbeResult
from mlp_weights.bisect.search import SearchResult

#: Seconds the command's thread waits for a probe before it looks again; short,
#: so that Ctrl-C and SIGTERM are handled at once.
WAIT_SECONDS = 0.2

#: ``known outcomes, width -> (result when done, releases to probe next)``.
Plan = Callable[[dict, int], tuple[SearchResult | None, list[str]]]


def default_jobs() -> int:
    """Probes side by side unless told otherwise: one per core this process may use.

    The cores it may use, not the machine's: in a container limited to a few
    cores of a large host, ``os.cpu_count()`` names the host's.
    """
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13
    if counter is not None:
        return counter() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class ProbePool:
    """Up to ``jobs`` probes at once, each ``prober(version)`` on a worker thread.

    A prober with a ``cancel(version)`` method is asked to stop probes that
    are no longer needed (it then raises :class:`.Cancelled`). A probe that
    finishes all the same is not wasted: its result comes back as any other.
    A cancelled probe needed again is taken back while it still runs, and
    started anew if it was stopped.
    """

    def __init__(self, prober: Callable[[str], ProbeResult], jobs: int):
        self.prober = prober
        self.jobs = jobs
        self.executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="probe")
        self.running: dict[str, Future] = {}
        #: Probes cancelled while they ran, until they end.
        self.abandoned: dict[str, Future] = {}
        #: Futures in the order their probes finished (callbacks run as each one does).
        self._done: queue.SimpleQueue[Future] = queue.SimpleQueue()

    def start(self, version: str) -> None:
        if version in self.abandoned:
            self.running[version] = self.abandoned.pop(version)
            return
        future = self.executor.submit(self.prober, version)
        self.running[version] = future
        future.add_done_callback(self._done.put)

    def cancel(self, version: str) -> None:
        future = self.running.pop(version)
        if not future.cancel():
            self.abandoned[version] = future
            stop = getattr(self.prober, "cancel", None)
            if stop is not None:
                stop(version)

    def finished(self) -> list[ProbeResult]:
        """Probes that finished (waiting up to :data:`WAIT_SECONDS` for one), in that order.

        A probe's error is raised here; cancelled probes are left out.
        """
        results = []
        timeout = WAIT_SECONDS
        while self.running or self.abandoned:
            try:
                future = self._done.get(timeout=timeout)
            except queue.Empty:
                break
            timeout = 0
            if future.cancelled():
                continue
            version = next((v for v, f in self.running.items() if f is future), None)
            if version is not None:
                del self.running[version]
                if isinstance(future.exception(), Cancelled):
                    self.start(version)
                else:
                    results.append(future.result())
                continue
            version = next((v for v, f in self.abandoned.items() if f is future), None)
            if version is not None:
                del self.abandoned[version]
                if future.exception() is None:
                    results.append(future.result())
        return results

    def close(self) -> None:
        """Cancel what still runs and wait for the workers (each cleans up its probe)."""
        for version in list(self.running):
            self.cancel(version)
        self.executor.shutdown(wait=True, cancel_futures=True)


def run_search(
    plan: Plan,
    pool: ProbePool,
    instant: Callable[[str], ProbeResult | None],
    record: Callable[[ProbeResult], str],
) -> SearchResult:
    """Probe what ``plan`` names, ``pool.jobs`` at a time, until it has its answer.

    Parameters
    ----------
    instant : callable
        ``version -> result`` known without probing (cached, or not
        installable), else ``None``; called in this thread.
    record : callable
        Stores a result and says so; returns its outcome. Called in this
        thread, once per result, as results come in.
    """
    known: dict[str, str] = {}
    while True:
        found, wanted = plan(known, pool.jobs)
        if found is not None:
            return found
        for version in [v for v in pool.running if v not in wanted]:
            pool.cancel(version)
        answered = False
        for version in wanted:
            if version in pool.running:
                continue
            result = instant(version)
            if result is not None:
                known[version] = record(result)
                answered = True
                break
            pool.start(version)
        if answered:
            continue
        for result in pool.finished():
            known[result.version] = record(result)
