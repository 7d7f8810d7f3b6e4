"""The probes and their child processes: how many at once, run to their end, or stopped.

:func:`probe_side_by_side` runs a list of independent probes (a walk's
releases, a search's two ends) on ``jobs`` worker threads; the calling
thread only waits, so Ctrl-C and SIGTERM reach it at once, and it stops
every probe in flight before it lets them through. A bisect that is
stopping (Ctrl-C, SIGTERM, an error in another probe) sets its stop event:
each child process then dies with its whole process group, so that no
installer or test run outlives the command. Children start in a session of
their own, so a signal meant for the command reaches them only through this.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mlp_weights.bisect.results import ProbeResult

#: Seconds between two looks at the stop event while a child runs.
POLL_SECONDS = 0.1


class Stopped(Exception):
    """The bisect is stopping; the probe's child process has been killed."""


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


def run_process(
    argv: list[str], *, env: dict, timeout: float, stop: threading.Event, cwd=None
) -> subprocess.CompletedProcess:
    """Run ``argv`` to its end and capture its output.

    The child is killed with its process group however this ends early
    (an exception, Ctrl-C in this thread, ``stop``).

    Raises
    ------
    subprocess.TimeoutExpired
        After ``timeout`` seconds.
    Stopped
        When ``stop`` is set before the child ends.
    """
    if stop.is_set():
        raise Stopped
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                stdout, stderr = process.communicate(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                if stop.is_set():
                    raise Stopped from None
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(argv, timeout) from None
                continue
            return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


#: Seconds the calling thread waits for a probe before it looks again; short,
#: so that Ctrl-C and SIGTERM are handled at once.
WAIT_SECONDS = 0.2


def probe_side_by_side(
    prober: Callable[[str, str], ProbeResult],
    versions: list[str],
    forced: str,
    jobs: int,
    record: Callable[[ProbeResult], object],
) -> None:
    """Probe ``versions`` against ``forced``, ``jobs`` at a time; ``record`` each result, in
    this thread, as it comes.

    However this ends early (Ctrl-C, SIGTERM, a probe's error), the
    prober's ``stop()`` (when it has one) kills the probes in flight, and
    this returns only once every worker has cleaned up.
    """
    finished: queue.SimpleQueue[Future] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="probe") as executor:
        futures = [executor.submit(prober, version, forced) for version in versions]
        for future in futures:
            # In the order the probes finish (a done callback runs as each one does).
            future.add_done_callback(finished.put)
        try:
            recorded = 0
            while recorded < len(futures):
                # Waiting in short steps, so that signals are handled at once.
                with contextlib.suppress(queue.Empty):
                    record(finished.get(timeout=WAIT_SECONDS).result())
                    recorded += 1
        except BaseException:
            for future in futures:
                future.cancel()
            stop = getattr(prober, "stop", None)
            if stop is not None:
                stop()
            raise
