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
import time
from dataclasses import dataclass
from pathlib import Path

from mlp_weights.baselines.store import DEFAULT_PINNED_FILE, read_pins
from mlp_weights.bisect.environment import Installer, clean_env, pins_without
from mlp_weights.bisect.process import run_process
from mlp_weights.bisect.resolve import extra_requirements, install_release, relaxed_pins
from mlp_weights.bisect.results import REASON_LENGTH, ProbeResult, outcome_of, read_cells
from mlp_weights.bisect.run_layers import (
    LAYERS_DROPPED_ENV,
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


@dataclass
class ProbeRunner:
    """Runs probes of one library, sharing the project wheel and the pins.

    Parameters
    ----------
    repo : Path
        The working tree (tests, baselines, pins).
    installer : Installer
    wheel : Path
        The project's wheel, built once per bisect.
    workdir : Path
        A folder for the constraints file and the environments; removed by the caller.
    """

    repo: Path
    installer: Installer
    wheel: Path
    workdir: Path
    library: str
    layers: list[str]
    scenarios: list[str]

    def __post_init__(self):
        self.pins = read_pins(self.repo / DEFAULT_PINNED_FILE)
        self.other_pins = pins_without(self.pins, self.library)
        self.constraints = self.workdir / "constraints.txt"
        self.constraints.write_text("\n".join(self.other_pins.values()) + "\n", encoding="utf-8")

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
        run_env = {**PROBE_ENV, **extra_env}
        run_env = {k: v for k, v in clean_env(run_env).items() if k not in LAYERS_DROPPED_ENV}
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
