"""One probe: a release of a library, installed in an environment, against the baselines.

For each candidate release an environment gets wheels only: the release,
the project's wheel (built once per bisect from the working tree) and
every other package at its pin (:mod:`.environment`). The probe then reads
the ``verdict.json`` of the layers' run (:mod:`.results`).

The layers run in a subprocess, ``python -m pytest`` in the probe's
environment (the project's wheel is installed there), with the working
tree's tests, from the repository root, against the committed baselines,
writing their ``verdict.json`` into the probe's folder. What a probe never
reads is not written: pytest-mpl's HTML summaries (``--mpl-generate-summary``
emptied), which also keep a copy of every passing image.

The resolver retry: every other package is first held at its pin. When
the pins cannot go together with the release (mlxtend 0.25.0 wants a
newer matplotlib than 3.10.7; matplotlib before 3.8.4 was built against
NumPy 1), the installer's resolver chooses the others, and the probe
records what it chose. Releases built against NumPy 1 whose metadata
allows NumPy 2 get ``numpy<2`` added (:data:`NUMPY1_BUILDS`).

Each worker probes in a folder of its own. The folder keeps its
environment from one probe to the next (uv makes it exact), and with it
the bytecode Python wrote beside the environment's sources, so only the
sources that changed are compiled again. The folder is deleted after a
probe that did not end normally.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from packaging.version import Version

from mlp_weights.baselines.generations import GENERATION_ENV
from mlp_weights.baselines.store import DEFAULT_PINNED_FILE, read_pins
from mlp_weights.bisect.environment import (
    Installer,
    InstallFailed,
    clean_env,
    find_uv,
    pins_without,
)
from mlp_weights.bisect.process import run_process
from mlp_weights.bisect.results import (
    NOT_INSTALLABLE,
    REASON_LENGTH,
    ProbeResult,
    cells_from_verdict,
    outcome_of,
)
from mlp_weights.bisect.search import UNTESTABLE
from mlp_weights.core.errors import MLPWeightsError, UsageError, one_line
from mlp_weights.report.record import JSON_NAME, ResultsError, read_verdict

#: The layer tests a probe runs (the seed's comparison lives in its own file).
LAYER_TESTS = Path("tests") / "test_layers.py"
SEED_TESTS = Path("tests") / "test_seed.py"
#: Empties the ``addopts`` summaries of pytest-mpl (``html,basic-html``).
NO_SUMMARY = "--mpl-generate-summary="
#: Seconds a test run may take before the probe gives up on it.
TEST_TIMEOUT = 900
#: As in tox.ini: one thread everywhere, a display-less backend. OPENBLAS_CORETYPE
#: and OPENBLAS_L2_SIZE pass through untouched.
PROBE_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "agg",
}


def find_repository() -> Path:
    """The working tree the probes test: the nearest folder up from here with the suite."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / LAYER_TESTS).is_file() and (folder / "pyproject.toml").is_file():
            return folder
    raise UsageError(
        f"no mlp-weights working tree at or above {here} (looked for {LAYER_TESTS}); "
        "run bisect from a checkout of the repository"
    )


def keyword_expression(scenarios: list[str]) -> str:
    """``-k`` selecting exactly these scenarios (``[mnist]`` leaves out ``mnist-sample``)."""
    return " or ".join(f"[{name}]" for name in scenarios)


def layers_command(
    python: Path, repo: Path, results: Path, layers: list[str], scenarios: list[str]
) -> list[str]:
    """The pytest command line of one probe's run."""
    files = [str(LAYER_TESTS)]
    if "seed" in layers and "mnist" in scenarios:
        files.append(str(SEED_TESTS))
    return [
        str(python),
        "-m",
        "pytest",
        *files,
        "-m",
        " or ".join(layers),
        "-k",
        keyword_expression(scenarios),
        "-p",
        "no:cacheprovider",
        # The probe reads verdict.json, never these summaries.
        NO_SUMMARY,
        f"--mpl-results-path={results}",
        f"--mlp-baseline-dir={repo / 'baseline_images'}",
        "-q",
    ]


def failure_line(output: str) -> str:
    """The error a failed test run ended on: its last ``E   ...Error`` line, else its last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^E\s+\w*(Error|Exception)\b", ln)]
    if errors:
        return errors[-1].lstrip("E ").strip()
    return lines[-1] if lines else "no output"


#: Folder of a bisect's work folder for the probes in progress (one folder per worker).
PROBE_DIR = "probe"
#: Releases from which on a library's wheels import with NumPy 2. Older ones
#: were built against NumPy 1.x, whose ABI NumPy 2.0 broke, but not all of them
#: say ``numpy<2`` in their metadata (matplotlib 3.7.0-3.7.2 do not).
NUMPY1_BUILDS = {"matplotlib": "3.8.4", "scikit-learn": "1.4.2"}
NUMPY1_ONLY = "numpy<2"


def extra_requirements(library: str, version: str) -> list[str]:
    """Requirements a release needs beyond its own metadata (see :data:`NUMPY1_BUILDS`)."""
    first_numpy2 = NUMPY1_BUILDS.get(library)
    if first_numpy2 is not None and Version(version) < Version(first_numpy2):
        return [NUMPY1_ONLY]
    return []


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

    def stop(self) -> None:
        """Kill every probe in flight."""
        self.installer.stop.set()

    def close(self) -> None:
        with self._lock:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = self.wheel = None

    def __call__(self, version: str, forced: str = "") -> ProbeResult:
        """Probe one release in the worker's folder, against the generations ``forced`` names.

        Its results folder is gone when this returns or raises; the
        environment too, unless this probe ended normally (uv makes it
        exact for the next one).
        """
        start = time.perf_counter()
        with self._lock:
            if self.wheel is None:  # the first probe: the work folder, the wheel, the pins
                self.workdir = Path(tempfile.mkdtemp(prefix="mlp-weights-bisect-"))
                self.constraints = self.workdir / "constraints.txt"
                pins = "".join(f"{pin}\n" for pin in self.other_pins.values())
                self.constraints.write_text(pins, encoding="utf-8")
                self.wheel = self.installer.build_wheel(self.repo, self.workdir / "dist")
        # The same folder for each of the worker thread's probes.
        folder = self.workdir / PROBE_DIR / threading.current_thread().name
        folder.mkdir(parents=True, exist_ok=True)
        try:
            result = self._probe(folder, version, forced)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(folder / "results", ignore_errors=True)
        result.elapsed = round(time.perf_counter() - start, 2)
        return result

    def _probe(self, folder: Path, version: str, forced: str) -> ProbeResult:
        result = ProbeResult(self.library, version, UNTESTABLE)
        env, results = folder / "env", folder / "results"
        requirements = [f"{self.library}=={version}", f"{self.wheel}[test]"]
        if not self._install(env, requirements + extra_requirements(self.library, version), result):
            return result
        result.installed = self.installer.installed(env)
        result.relaxed = {
            name: [result.installed[name], self.pins[name]]
            for name in self.other_pins
            if result.installed.get(name, self.pins[name]) != self.pins[name]
        }
        results.mkdir()
        # The generations the run compares with (see bisect.generations), and the data.
        extra_env = {GENERATION_ENV: forced} if forced else {}
        if self.data_home is not None:
            extra_env["SCIKIT_LEARN_DATA"] = str(Path(self.data_home).resolve())
        python = self.installer.env_python(env)
        try:
            done = run_process(
                layers_command(python, self.repo, results, self.layers, self.scenarios),
                cwd=self.repo,
                env=clean_env({**PROBE_ENV, **extra_env}),
                timeout=TEST_TIMEOUT,
                stop=self.installer.stop,
            )
        except subprocess.TimeoutExpired:
            result.reason = f"the layers took longer than {TEST_TIMEOUT} s"
            return result
        return self._read(result, results, done.returncode, done.stdout + "\n" + done.stderr)

    def _install(self, env: Path, requirements: list[str], result: ProbeResult) -> bool:
        """The environment at ``env`` with exactly ``requirements``: pins kept if possible.

        An existing environment is reused (uv makes it exact). Returns
        ``False`` (with ``result.reason`` set) when the release installs in no
        way; records in ``result.pins_conflict`` why the pins were dropped.
        """
        if not self.installer.env_python(env).exists():
            shutil.rmtree(env, ignore_errors=True)
            try:
                self.installer.create(env)
            except InstallFailed as exc:
                raise MLPWeightsError(f"cannot create a virtual environment: {exc}") from None
        try:
            self.installer.install(env, requirements, self.constraints)
        except InstallFailed as exc:
            # The pins do not go with this release: the resolver chooses the others.
            result.pins_conflict = str(exc)
            try:
                self.installer.install(env, requirements, None)
            except InstallFailed as exc:
                result.reason = f"{NOT_INSTALLABLE}: {exc}"
                return False
        return True

    def _read(self, result: ProbeResult, results: Path, code: int, output: str) -> ProbeResult:
        """The cells and outcome of the run's ``verdict.json`` (none when it wrote none)."""
        path = results / JSON_NAME
        try:
            verdict = read_verdict(path) if path.exists() else {}
        except ResultsError as exc:
            result.reason = one_line(f"unreadable test results: {exc}", REASON_LENGTH)
            return result
        result.cells = cells_from_verdict(verdict, self.layers, self.scenarios)
        if code not in (0, 1) or not result.cells:
            result.reason = one_line(
                f"the layers did not run (pytest exit {code}): {failure_line(output)}",
                REASON_LENGTH,
            )
            return result
        result.source = JSON_NAME
        result.outcome, result.reason = outcome_of(result.cells)
        return result
