"""One probe: a release of a library, installed in a throwaway environment, against the baselines.

For each candidate release a new virtual environment gets wheels only: the
release, the project's wheel (built once per bisect from the working tree)
and every other package at its pin (:mod:`.environment`, :mod:`.resolve`).
The layers then run in a subprocess (:mod:`.run_layers`); the probe reads
the run's results (:mod:`.results`) and removes the environment.

Probes can run side by side, each on a worker *slot* with a folder of its
own; all share the compiled bytecode (:mod:`.bytecode`). With uv, a slot
keeps its environment from one probe to the next (uv makes it exact), and
the bytecode folder of that environment with it: the next probe's seeding
replaces only the files whose source changed, where making the folder anew
and deleting it cost a probe about 0.25 s of linking and unlinking some 1,800
files. Both are deleted after a probe that did not end normally.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from mlp_weights.bisect.bytecode import BytecodeStore
from mlp_weights.bisect.environment import (
    INSTALL_TIMEOUT,
    PINS_FILE,
    Installer,
    InstallFailed,
    clean_env,
    find_uv,
    installer_error,
    pinned_version,
    pins_without,
    read_pins,
)
from mlp_weights.bisect.process import Cancelled, cancel_scope, run_process
from mlp_weights.bisect.resolve import (
    NUMPY1_BUILDS,
    NUMPY1_ONLY,
    extra_requirements,
    install_release,
    needs_numpy1,
    relaxed_pins,
)
from mlp_weights.bisect.results import (
    NOT_INSTALLABLE,
    VERDICT_NAME,
    Cell,
    ProbeResult,
    cells_from_junit,
    cells_from_verdict,
    one_line,
    outcome_of,
    read_cells,
)
from mlp_weights.bisect.run_layers import (
    LAYER_TESTS,
    LAYERS_DROPPED_ENV,
    PROBE_ENV,
    TEST_TIMEOUT,
    failure_line,
    find_repository,
    keyword_expression,
    layers_command,
)
from mlp_weights.bisect.search import UNTESTABLE

__all__ = [
    "INSTALL_TIMEOUT",
    "LAYER_TESTS",
    "NOT_INSTALLABLE",
    "NUMPY1_BUILDS",
    "NUMPY1_ONLY",
    "PINS_FILE",
    "VERDICT_NAME",
    "Cancelled",
    "Cell",
    "Installer",
    "InstallFailed",
    "ProbeResult",
    "ProbeRunner",
    "cells_from_junit",
    "cells_from_verdict",
    "extra_requirements",
    "find_repository",
    "find_uv",
    "installer_error",
    "keyword_expression",
    "outcome_of",
    "pinned_version",
    "pins_without",
    "read_pins",
]

#: Folder of a bisect's work folder for the probes in progress (one folder per
#: slot: its environment, results and bytecode).
PROBE_DIR = "probe"
#: The store of bytecode in the work folder, unless the runner is given one.
BYTECODE_DIR = "bytecode"


@dataclass
class ProbeRunner:
    """Runs probes of one library, sharing the project wheel, the pins and the bytecode.

    Parameters
    ----------
    repo : Path
        The working tree (tests, baselines, pins).
    installer : Installer
    wheel : Path
        The project's wheel, built once per bisect.
    workdir : Path
        A folder for the pins file and the environments; removed by the caller.
    extra_env : dict
        Variables set for the layers' run, on top of this process's environment.
    bytecode_store : Path or None
        Where compiled bytecode is kept between probes (default: in ``workdir``).
    """

    repo: Path
    installer: Installer
    wheel: Path
    workdir: Path
    library: str
    layers: list[str]
    scenarios: list[str]
    extra_env: dict = field(default_factory=dict)
    bytecode_store: Path | None = None

    def __post_init__(self):
        self.pins = read_pins(self.repo / PINS_FILE)
        self.other_pins = pins_without(self.pins, self.library)
        self.constraints = self.workdir / "constraints.txt"
        self.constraints.write_text("\n".join(self.other_pins.values()) + "\n", encoding="utf-8")
        self.bytecode = BytecodeStore(self.bytecode_store or self.workdir / BYTECODE_DIR)

    def test_command(self, python: Path, results: Path) -> list[str]:
        return layers_command(python, self.repo, results, self.layers, self.scenarios)

    def slot_folder(self, slot: int) -> Path:
        """The folder a worker slot probes in; always the same path for the same slot."""
        return self.workdir / PROBE_DIR / str(slot)

    def run(self, version: str, slot: int = 0, cancel: threading.Event | None = None):
        """Probe one release on ``slot``.

        Its results folder is gone when this returns or raises; the
        environment and its bytecode folder too, unless the installer makes
        the environment exact for the next probe and this one ended normally.

        Raises
        ------
        Cancelled
            When ``cancel`` is set before the probe is done.
        """
        start = time.perf_counter()
        folder = self.slot_folder(slot)
        folder.mkdir(parents=True, exist_ok=True)
        ended = False
        try:
            with cancel_scope(cancel):
                result = self._probe(folder, version)
            ended = True
        finally:
            shutil.rmtree(folder / "results", ignore_errors=True)
            if not (ended and self.installer.syncs_exactly):
                shutil.rmtree(folder, ignore_errors=True)
        result.elapsed = round(time.perf_counter() - start, 2)
        return result

    def _probe(self, folder: Path, version: str) -> ProbeResult:
        result = ProbeResult(self.library, version, UNTESTABLE)
        env, results = folder / "env", folder / "results"
        extra = extra_requirements(self.library, version)
        requirements = [f"{self.library}=={version}", f"{self.wheel}[test]"]
        while True:
            if not install_release(
                self.installer, env, requirements + extra, self.constraints, result
            ):
                return result
            result.installed = self.installer.installed(env)
            result.relaxed = relaxed_pins(self.pins, self.other_pins, result.installed)
            shutil.rmtree(results, ignore_errors=True)
            results.mkdir()
            try:
                done = self._run_layers(env, results, folder / "bytecode")
            except subprocess.TimeoutExpired:
                result.reason = f"the layers took longer than {TEST_TIMEOUT} s"
                return result
            output = done.stdout + "\n" + done.stderr
            if needs_numpy1(output, extra):
                # Built against NumPy 1 although its metadata allows NumPy 2: try again.
                extra = [*extra, NUMPY1_ONLY]
                result.pins_conflict = f"{self.library} {version} was built against NumPy 1.x"
                continue
            return self._read(result, results, done.returncode, output)

    def _run_layers(self, env: Path, results: Path, bytecode: Path):
        """The layers' run, with the stored bytecode of this environment's sources."""
        self.bytecode.seed(env, bytecode)
        run_env = {**PROBE_ENV, "PYTHONPYCACHEPREFIX": str(bytecode), **self.extra_env}
        run_env = {k: v for k, v in clean_env(run_env).items() if k not in LAYERS_DROPPED_ENV}
        try:
            return run_process(
                self.test_command(self.installer.env_python(env), results),
                cwd=self.repo,
                env=run_env,
                timeout=TEST_TIMEOUT,
            )
        finally:
            self.bytecode.harvest(env, bytecode)

    def _read(self, result: ProbeResult, results: Path, code: int, output: str) -> ProbeResult:
        try:
            result.cells, result.source = read_cells(results, self.layers, self.scenarios)
        except (ValueError, ET.ParseError, OSError) as exc:
            result.reason = one_line(f"unreadable test results: {exc}")
            return result
        if code not in (0, 1) or not result.cells:
            result.reason = one_line(
                f"the layers did not run (pytest exit {code}): {failure_line(output)}"
            )
            return result
        result.outcome, result.reason = outcome_of(result.cells)
        return result
