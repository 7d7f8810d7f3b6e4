"""Probes of real releases, and several of them side by side.

:class:`LocalProber` builds the project's wheel on first use, then probes
each release in an environment of the calling worker's own
(:class:`.probe.ProbeRunner`). :func:`probe_side_by_side` runs a list of
independent probes (a walk's releases, a search's two ends) on ``jobs``
worker threads; the calling thread only waits, so Ctrl-C and SIGTERM reach
it at once, and it stops every probe in flight before it lets them through.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from mlp_weights.baselines.generations import GENERATION_ENV
from mlp_weights.bisect.environment import Installer, find_uv
from mlp_weights.bisect.probe import ProbeRunner
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


class LocalProber:
    """Real probes: builds the project wheel on first use, then probes in environments.

    Each worker thread probes in a folder of its own, kept for its next
    probe, whichever generations that probe compares with. :meth:`stop`
    kills every probe in flight; :meth:`close` removes the work folder
    (call it once no probe runs any more: see :func:`probe_side_by_side`).
    """

    def __init__(self, repo, library, layers, scenarios, index_url, data_home=None):
        self.repo, self.library, self.layers = repo, library, layers
        self.scenarios, self.data_home = scenarios, data_home
        self.installer = Installer(find_uv(), index_url)
        self.workdir: Path | None = None
        self.runner: ProbeRunner | None = None
        self._lock = threading.Lock()

    def probe_env(self, forced: str) -> dict[str, str]:
        """Variables a probe's test run gets on top of this process's environment.

        ``forced`` names the generations it compares with (see bisect.generations).
        """
        extra_env = {GENERATION_ENV: forced} if forced else {}
        if self.data_home is not None:
            extra_env["SCIKIT_LEARN_DATA"] = str(Path(self.data_home).resolve())
        return extra_env

    def _ready(self) -> ProbeRunner:
        """The runner, made on first use: a work folder and the project's wheel in it."""
        with self._lock:
            if self.runner is None:
                self.workdir = Path(tempfile.mkdtemp(prefix="mlp-weights-bisect-"))
                wheel = self.installer.build_wheel(self.repo, self.workdir / "dist")
                self.runner = ProbeRunner(
                    self.repo,
                    self.installer,
                    wheel,
                    self.workdir,
                    self.library,
                    self.layers,
                    self.scenarios,
                )
            return self.runner

    def __call__(self, version: str, forced: str = "") -> ProbeResult:
        worker = threading.current_thread().name
        return self._ready().run(version, worker, self.probe_env(forced))

    def stop(self) -> None:
        """Kill every probe in flight."""
        self.installer.stop.set()

    def close(self) -> None:
        with self._lock:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None
            self.runner = None
