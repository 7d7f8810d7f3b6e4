"""Several probes side by side.

:func:`probe_side_by_side` runs a list of
independent probes (a walk's releases, a search's two ends) on ``jobs``
worker threads; the calling thread only waits, so Ctrl-C and SIGTERM reach
it at once, and it stops every probe in flight before it lets them through.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mlp_weights.bisect.results import ProbeResult

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
            for _ in futures:
                record(_next(finished).result())
        except BaseException:
            for future in futures:
                future.cancel()
            stop = getattr(prober, "stop", None)
            if stop is not None:
                stop()
            raise


def _next(finished: queue.SimpleQueue) -> Future:
    """The next probe to finish; waiting in short steps, so that signals are handled at once."""
    while True:
        try:
            return finished.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            continue
