"""One probe: a release of a library, installed in an environment, against the baselines.

For each candidate release an environment gets wheels only: the release,
the project's wheel (built once per bisect from the working tree) and
every other package at its pin (:mod:`.environment`, :mod:`.resolve`). The
layers then run in a subprocess (:mod:`.run_layers`); the probe reads the
run's ``verdict.json`` (:mod:`.results`).

Each worker probes in a folder of its own. The folder keeps its
environment from one probe to the next (uv makes it exact), and with it
the bytecode Python wrote beside the environment's sources, so only the
sources that changed are compiled again. The folder is deleted after a
probe that did not end normally.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from mlp_weights.baselines.generations import GENERATION_ENV
from mlp_weights.baselines.store import DEFAULT_PINNED_FILE, read_pins
from mlp_weights.bisect.environment import Installer, clean_env, find_uv, pins_without
from mlp_weights.bisect.process import run_process
from mlp_weights.bisect.resolve import extra_requirements, install_release, relaxed_pins
from mlp_weights.bisect.results import REASON_LENGTH, ProbeResult, outcome_of, read_cells
from mlp_weights.bisect.run_layers import (
    PROBE_ENV,
    TEST_TIMEOUT,
    failure_line,
    layers_command,
)
from mlp_weights.bisect.search import UNTESTABLE
from mlp_weights.core.errors import one_line
from mlp_weights.report.record import JSON_NAME, ResultsError

#: Folder of a bisect's work folder for the probes in progress (one folder per worker).
PROBE_DIR = "probe"


class LocalProber:
    """Real probes of one library: ``prober(version, forced)`` is one probe's result.

    On first use it makes the work folder, builds the project's wheel into
    it and writes the pins there. Each worker thread probes in a folder of
    its own in it, kept for its next probe, whichever generations
    (``forced``) that probe compares with. :meth:`stop` kills every probe
    in flight; :meth:`close` removes the work folder (call it once no probe
    runs any more: see :func:`.process.probe_side_by_side`).
    """

    def __init__(self, repo, library, layers, scenarios, index_url, data_home=None, installer=None):
        self.repo, self.library, self.layers = repo, library, layers
        self.scenarios, self.data_home = scenarios, data_home
        self.installer = installer or Installer(find_uv(), index_url)
        self.pins = read_pins(repo / DEFAULT_PINNED_FILE)
        self.other_pins = pins_without(self.pins, library)
        self.workdir: Path | None = None
        self.wheel: Path | None = None
        self._lock = threading.Lock()

    def _ready(self) -> None:
        """The work folder with the project's wheel and the pins, made on first use."""
        with self._lock:
            if self.wheel is None:
                self.workdir = Path(tempfile.mkdtemp(prefix="mlp-weights-bisect-"))
                self.constraints = self.workdir / "constraints.txt"
                pins = "".join(f"{pin}\n" for pin in self.other_pins.values())
                self.constraints.write_text(pins, encoding="utf-8")
                self.wheel = self.installer.build_wheel(self.repo, self.workdir / "dist")

    def probe_env(self, forced: str) -> dict[str, str]:
        """Variables a probe's test run gets on top of this process's environment.

        ``forced`` names the generations it compares with (see bisect.generations).
        """
        extra_env = {GENERATION_ENV: forced} if forced else {}
        if self.data_home is not None:
            extra_env["SCIKIT_LEARN_DATA"] = str(Path(self.data_home).resolve())
        return extra_env

    def __call__(self, version: str, forced: str = "") -> ProbeResult:
        worker = threading.current_thread().name
        return self.run(version, worker, self.probe_env(forced))

    def stop(self) -> None:
        """Kill every probe in flight."""
        self.installer.stop.set()

    def close(self) -> None:
        with self._lock:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = self.wheel = None

    def worker_folder(self, worker: str) -> Path:
        """The folder a worker probes in; always the same path for the same worker."""
        return self.workdir / PROBE_DIR / worker

    def run(self, version: str, worker: str = "0", extra_env: dict | None = None) -> ProbeResult:
        """Probe one release in the folder of ``worker``; ``extra_env`` goes to its test run.

        Its results folder is gone when this returns or raises; the
        environment too, unless this probe ended normally (uv makes it
        exact for the next one).
        """
        start = time.perf_counter()
        self._ready()
        folder = self.worker_folder(worker)
        folder.mkdir(parents=True, exist_ok=True)
        ended = False
        try:
            result = self._probe(folder, version, extra_env or {})
            ended = True
        finally:
            shutil.rmtree(folder / "results", ignore_errors=True)
            if not ended:
                shutil.rmtree(folder, ignore_errors=True)
        result.elapsed = round(time.perf_counter() - start, 2)
        return result

    def _probe(self, folder: Path, version: str, extra_env: dict) -> ProbeResult:
        result = ProbeResult(self.library, version, UNTESTABLE)
        env, results = folder / "env", folder / "results"
        requirements = [f"{self.library}=={version}", f"{self.wheel}[test]"]
        requirements += extra_requirements(self.library, version)
        if not install_release(self.installer, env, requirements, self.constraints, result):
            return result
        result.installed = self.installer.installed(env)
        result.relaxed = relaxed_pins(self.pins, self.other_pins, result.installed)
        results.mkdir()
        try:
            done = self._run_layers(env, results, extra_env)
        except subprocess.TimeoutExpired:
            result.reason = f"the layers took longer than {TEST_TIMEOUT} s"
            return result
        return self._read(result, results, done.returncode, done.stdout + "\n" + done.stderr)

    def _run_layers(self, env: Path, results: Path, extra_env: dict):
        """The layers' run in the environment at ``env``."""
        run_env = clean_env({**PROBE_ENV, **extra_env})
        return run_process(
            layers_command(
                self.installer.env_python(env), self.repo, results, self.layers, self.scenarios
            ),
            cwd=self.repo,
            env=run_env,
            timeout=TEST_TIMEOUT,
            stop=self.installer.stop,
        )

    def _read(self, result: ProbeResult, results: Path, code: int, output: str) -> ProbeResult:
        try:
            result.cells = read_cells(results, self.layers, self.scenarios)
        except ResultsError as exc:
            result.reason = one_line(f"unreadable test results: {exc}", REASON_LENGTH)
            return result
        if code not in (0, 1) or not result.cells:
            result.reason = one_line(
                f"the layers did not run (pytest exit {code}): {failure_line(output)}",
                REASON_LENGTH,
            )
            return result
        result.source = JSON_NAME
        result.outcome, result.reason = outcome_of(result.cells)
        return result
