"""One probe: a release of a library, installed in a throwaway environment, against the baselines.

For each candidate release a new virtual environment gets wheels only: the
release, the project's wheel (built once per bisect from the working tree)
and every other package at its pin in ``requirements/pinned.txt``. When
those pins cannot go together with the release (an older matplotlib that
needs ``numpy<2``), the installer's resolver chooses the others and the
probe records what it chose. The layers then run in a subprocess, with the
working tree's tests, against the committed baselines; the probe reads the
run's ``verdict.json`` (or, from a suite that does not write one, its JUnit
report) and removes the environment.

uv creates and fills the environments (about a second with a warm cache);
without uv, :mod:`venv` and pip do the same, more slowly. The probes of one
bisect share the bytecode Python compiles (``PYTHONPYCACHEPREFIX``), less
that of every distribution whose version changed: importing the stack from
source would otherwise take most of a probe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..errors import MLPWeightsError, UsageError
from ..layers import LAYERS
from .index import IndexUnreachableError
from .search import HOLDS, MOVES, UNTESTABLE

#: The pins every probe keeps, apart from the library bisected.
PINS_FILE = Path("requirements") / "pinned.txt"
#: The layer tests a probe runs (the seed's comparison lives in its own file).
LAYER_TESTS = Path("tests") / "test_layers.py"
SEED_TESTS = Path("tests") / "test_seed.py"
#: Seconds an install or a test run may take before the probe gives up on it.
INSTALL_TIMEOUT = 600
TEST_TIMEOUT = 900
#: The verdict file the suite writes into its results folder, and the schema it follows.
VERDICT_NAME = "verdict.json"
VERDICT_SCHEMA = "mlp-weights-verdict"
VERDICT_SCHEMA_VERSION = 1
#: As in tox.ini: one thread everywhere, a display-less backend. OPENBLAS_CORETYPE
#: and OPENBLAS_L2_SIZE pass through untouched.
PROBE_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "agg",
}
#: Variables of the calling environment that would leak into a probe's.
DROPPED_ENV = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "UV_CONSTRAINT",
    "PIP_CONSTRAINT",
    # Probes share compiled bytecode (see ProbeRunner.forget_stale_bytecode).
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPYCACHEPREFIX",
)
#: How the reason of a release that cannot be installed begins.
NOT_INSTALLABLE = "does not install on this Python"
#: Folders of a bisect's work folder: the probe in progress (its environment
#: and results) and the bytecode its probes share.
PROBE_DIR = "probe"
BYTECODE_DIR = "bytecode"
#: Longest failure reason kept, in characters.
REASON_LENGTH = 240
#: Phrases of uv's and pip's errors that mean the index could not be reached.
NETWORK_ERRORS = (
    "error sending request",
    "dns error",
    "connection refused",
    "failed to establish a new connection",
    "temporary failure in name resolution",
)
#: Releases from which on a library's wheels import with NumPy 2. Older ones
#: were built against NumPy 1.x, whose ABI NumPy 2.0 broke, but not all of them
#: say ``numpy<2`` in their metadata (matplotlib 3.7.0-3.7.2 do not).
NUMPY1_BUILDS = {"matplotlib": "3.8.4", "scikit-learn": "1.4.2"}
NUMPY1_ONLY = "numpy<2"
#: What an extension built against NumPy 1.x says when NumPy 2 imports it.
NUMPY_ABI_ERROR = re.compile(
    r"compiled using NumPy 1\.x cannot be run in\s+NumPy 2|numpy\.core\.multiarray failed to import"
    r"|_ARRAY_API not found"
)
#: Digits of an image RMS in pytest-mpl's failure message.
_RMS = re.compile(r"RMS Value:\s*([0-9.eE+-]+)")
_MAX_REL = re.compile(r"max rel error ([0-9.eE+-]+|inf|nan)")


def find_repository(start: str | os.PathLike | None = None) -> Path:
    """The working tree the probes test: the nearest folder up from ``start`` with the suite."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / LAYER_TESTS).is_file() and (folder / "pyproject.toml").is_file():
            return folder
    raise UsageError(
        f"no mlp-weights working tree at or above {here} (looked for {LAYER_TESTS}); "
        "run bisect from a checkout of the repository"
    )


def read_pins(path: str | os.PathLike) -> dict[str, str]:
    """``canonical name -> requirement line`` of a constraints file."""
    pins = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MLPWeightsError(f"cannot read the pins {path}: {exc.strerror or exc}") from None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            raise MLPWeightsError(f"{path}: {line!r} is not a requirement") from None
        pins[canonicalize_name(requirement.name)] = line
    return pins


def pins_without(pins: dict[str, str], library: str) -> dict[str, str]:
    """The pins of every package but ``library``, sorted by name."""
    return dict(sorted((k, v) for k, v in pins.items() if k != canonicalize_name(library)))


def pinned_version(pins: dict[str, str], name: str) -> str | None:
    """The exact version a pin names (``name==X``), else ``None``."""
    line = pins.get(canonicalize_name(name))
    if line is None:
        return None
    specifiers = list(Requirement(line).specifier)
    if len(specifiers) == 1 and specifiers[0].operator in ("==", "==="):
        return specifiers[0].version
    return None


def one_line(text: str, limit: int = REASON_LENGTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def installer_error(output: str) -> str:
    """The line of an installer's error output that says why, in one line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for marker in ("Because", "╰─▶", "ERROR: ", "error: ", "×"):
        for index, line in enumerate(lines):
            if marker in line:
                rest = line.split(marker, 1)[1] if marker != "Because" else line
                rest = rest.strip(" :")
                if marker == "╰─▶" or (marker == "×" and not rest):
                    rest = " ".join(lines[index : index + 2])
                return one_line(rest.replace("╰─▶", "").strip())
    return one_line(lines[-1] if lines else "no output")


def extra_requirements(library: str, version: str) -> list[str]:
    """Requirements a release needs beyond its own metadata (see :data:`NUMPY1_BUILDS`)."""
    first_numpy2 = NUMPY1_BUILDS.get(library)
    if first_numpy2 is not None and Version(version) < Version(first_numpy2):
        return [NUMPY1_ONLY]
    return []


def test_error(output: str) -> str:
    """The error a failed test run ended on: its last ``E   ...Error`` line, else its last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^E\s+\w*(Error|Exception)\b", ln)]
    if errors:
        return errors[-1].lstrip("E ").strip()
    return lines[-1] if lines else "no output"


def find_uv() -> str | None:
    """The ``uv`` executable: on ``PATH``, else from the ``uv`` Python package."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return find_uv_bin()
    except FileNotFoundError:
        return None


def _clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(extra or {})
    return env


class InstallFailed(Exception):
    """An install did not succeed; the message is the installer's reason in one line."""


@dataclass
class Installer:
    """Creates environments and installs into them: uv when given, else venv and pip.

    Parameters
    ----------
    uv : str or None
        Path of the uv executable; ``None`` for the venv + pip fallback.
    index_url : str
        The index to install from.
    python : str
        The interpreter the environments are made from (this one).
    """

    uv: str | None
    index_url: str
    python: str = sys.executable

    @property
    def name(self) -> str:
        return "uv" if self.uv else "pip"

    def _run(self, argv: list[str], timeout: float = INSTALL_TIMEOUT) -> str:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, env=_clean_env()
            )
        except subprocess.TimeoutExpired:
            raise InstallFailed(f"{Path(argv[0]).name} took longer than {timeout} s") from None
        if done.returncode != 0:
            output = done.stderr + "\n" + done.stdout
            if any(phrase in output.lower() for phrase in NETWORK_ERRORS):
                raise IndexUnreachableError(
                    f"package index {self.index_url} cannot be reached while installing "
                    f"({installer_error(output)})"
                )
            raise InstallFailed(installer_error(output))
        return done.stdout

    def env_python(self, env: Path) -> Path:
        return env / ("Scripts" if os.name == "nt" else "bin") / "python"

    def create(self, env: Path) -> Path:
        """A new, empty virtual environment at ``env``; its interpreter."""
        if self.uv:
            self._run([self.uv, "venv", "--quiet", "--python", self.python, str(env)])
        else:
            self._run([self.python, "-m", "venv", str(env)])
        return self.env_python(env)

    def install(self, env: Path, requirements: list[str], constraints: Path | None) -> None:
        """Install wheels only (never build from source)."""
        options = ["--only-binary", ":all:", "--index-url", self.index_url]
        if constraints is not None:
            options += ["-c", str(constraints)]
        if self.uv:
            argv = [self.uv, "pip", "install", "--quiet", "--python", str(self.env_python(env))]
        else:
            argv = [str(self.env_python(env)), "-m", "pip", "install", "--quiet"]
            argv += ["--disable-pip-version-check"]
        self._run(argv + options + requirements)

    def installed(self, env: Path) -> dict[str, str]:
        """``canonical name -> version`` of every package in the environment."""
        if self.uv:
            argv = [self.uv, "pip", "freeze", "--python", str(self.env_python(env))]
        else:
            argv = [str(self.env_python(env)), "-m", "pip", "freeze", "--all"]
        versions = {}
        for line in self._run(argv).splitlines():
            if "==" in line:
                name, version = line.split("==", 1)
                versions[canonicalize_name(name)] = version.strip()
        return versions

    def build_wheel(self, repo: Path, out: Path) -> Path:
        """The project's wheel, built from the working tree into ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        try:
            if self.uv:
                self._run([self.uv, "build", "--wheel", "--quiet", "-o", str(out), str(repo)])
            else:
                # This interpreter may have no pip (a venv made by uv has none):
                # a venv of its own brings one.
                builder = self.create(out / "build-env")
                argv = [str(builder), "-m", "pip", "wheel", "--no-deps", "--quiet"]
                self._run(argv + ["-w", str(out), str(repo)])
        except InstallFailed as exc:
            raise MLPWeightsError(f"cannot build the project's wheel from {repo}: {exc}") from None
        wheels = sorted(out.glob("*.whl"))
        if not wheels:
            raise MLPWeightsError(f"building the project's wheel from {repo} produced no wheel")
        return wheels[-1]


@dataclass
class Cell:
    """One layer of one scenario in one probe.

    Parameters
    ----------
    measure : str
        What ``value`` is: ``"RMS"`` (image), ``"max rel"`` (largest relative
        error over the training arrays), ``"test score"``; empty when unknown.
    arrays : dict
        Training only: ``array name -> largest relative error``.
    """

    layer: str
    scenario: str
    status: str
    kind: str | None = None
    measure: str = ""
    value: float | None = None
    message: str = ""
    arrays: dict = field(default_factory=dict)


@dataclass
class ProbeResult:
    """What one probe found; JSON-able through :meth:`to_dict`.

    Parameters
    ----------
    outcome : str
        ``holds``, ``moves`` or ``untestable``.
    reason : str
        Why it is untestable (empty otherwise).
    installed : dict
        Every package in the environment, ``name -> version``.
    relaxed : dict
        Packages the resolver installed at another version than the pin,
        ``name -> [installed, pinned]``; empty when every pin held.
    pins_conflict : str
        Why the pins could not be kept (the installer's reason), when they were not.
    source : str
        Where the cells were read: ``verdict.json`` or ``junit``.
    """

    library: str
    version: str
    outcome: str
    reason: str = ""
    installed: dict = field(default_factory=dict)
    relaxed: dict = field(default_factory=dict)
    pins_conflict: str = ""
    cells: list[Cell] = field(default_factory=list)
    elapsed: float = 0.0
    source: str = ""
    cached: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("cached")
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ProbeResult:
        data = dict(data)
        cells = [Cell(**cell) for cell in data.pop("cells", [])]
        data.pop("cached", None)
        return cls(**data, cells=cells)

    @property
    def cacheable(self) -> bool:
        """Whether another probe would find the same: not when the run itself broke down."""
        return self.outcome != UNTESTABLE or self.reason.startswith(NOT_INSTALLABLE)

    def failing(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.status == "fail"]


def outcome_of(cells: list[Cell]) -> tuple[str, str]:
    """``(outcome, reason)``: moves when any layer failed, holds when the rest passed."""
    if any(cell.status == "fail" for cell in cells):
        return MOVES, ""
    if any(cell.status == "pass" for cell in cells):
        return HOLDS, ""
    skipped = [cell.message for cell in cells if cell.status == "skip" and cell.message]
    return UNTESTABLE, one_line("no layer ran" + (f": {skipped[0]}" if skipped else ""))


def _measure(layer: str, amount) -> tuple[str, float | None, dict]:
    """``(measure, value, arrays)`` from a verdict layer's ``amount``."""
    if not isinstance(amount, dict):
        return "", None, {}
    if "image_rms" in amount:
        return "RMS", amount.get("image_rms"), {}
    if "arrays" in amount:
        arrays = {
            str(a.get("name")): a.get("max_rel")
            for a in amount.get("arrays") or []
            if isinstance(a, dict)
        }
        values = [v for v in arrays.values() if isinstance(v, (int, float))]
        return "max rel", (max(values) if values else None), arrays
    if "scores" in amount:
        scores = amount.get("scores") or {}
        return "test score", scores.get("test"), {}
    return "", None, {}


def cells_from_verdict(verdict: dict, layers: list[str], scenarios: list[str]) -> list[Cell]:
    """The cells of the chosen layers and scenarios in a ``verdict.json`` (schema 1)."""
    if verdict.get("schema") != VERDICT_SCHEMA:
        raise ValueError(f"not a verdict file (schema {verdict.get('schema')!r})")
    version = verdict.get("schema_version")
    if not isinstance(version, int) or version > VERDICT_SCHEMA_VERSION:
        raise ValueError(
            f"verdict schema version {version!r}; this reads up to {VERDICT_SCHEMA_VERSION}"
        )
    cells = []
    for entry in verdict.get("scenarios", []):
        scenario = entry.get("scenario")
        if scenario not in scenarios:
            continue
        for layer in entry.get("layers", []):
            name = layer.get("layer")
            if name not in layers or layer.get("status") == "not-run":
                continue
            measure, value, arrays = _measure(name, layer.get("amount"))
            cells.append(
                Cell(
                    layer=name,
                    scenario=scenario,
                    status=layer.get("status", ""),
                    kind=layer.get("kind"),
                    measure=measure,
                    value=value,
                    message=one_line(layer.get("message") or ""),
                    arrays=arrays,
                )
            )
    return cells


def _layer_of_test(function: str) -> str | None:
    """The layer a test function belongs to, by the layer name in it (JUnit lacks markers)."""
    words = set(function.split("_"))
    for name in LAYERS:
        if name in words:
            return name
    return None


def cells_from_junit(path: Path, layers: list[str], scenarios: list[str]) -> list[Cell]:
    """Cells from pytest's JUnit XML, for a suite that writes no ``verdict.json``."""
    cells = []
    for case in ET.parse(path).getroot().iter("testcase"):
        match = re.fullmatch(r"(\w+)\[(.+)\]", case.get("name", ""))
        if not match:
            continue
        layer, scenario = _layer_of_test(match.group(1)), match.group(2)
        if layer not in layers or scenario not in scenarios:
            continue
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        text = ""
        if problem is not None:
            status, text = "fail", (problem.get("message") or "") + "\n" + (problem.text or "")
        elif skipped is not None:
            status, text = "skip", skipped.get("message") or ""
        else:
            status = "pass"
        cell = Cell(layer, scenario, status, "moved" if status == "fail" else None)
        cell.message = one_line(text)
        rms, rel = _RMS.search(text), _MAX_REL.findall(text)
        if rms:
            cell.measure, cell.value = "RMS", float(rms.group(1))
        elif rel:
            cell.measure, cell.value = "max rel", max(float(v) for v in rel)
        cells.append(cell)
    return cells


def keyword_expression(scenarios: list[str]) -> str:
    """``-k`` selecting exactly these scenarios (``[mnist]`` leaves out ``mnist-sample``)."""
    return " or ".join(f"[{name}]" for name in scenarios)


def marker_expression(layers: list[str]) -> str:
    return " or ".join(layers)


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
        A folder for the pins file and the environments; removed by the caller.
    """

    repo: Path
    installer: Installer
    wheel: Path
    workdir: Path
    library: str
    layers: list[str]
    scenarios: list[str]
    extra_env: dict = field(default_factory=dict)

    def __post_init__(self):
        #: ``bytecode folder -> {name: version}`` of the distributions compiled there.
        self.compiled: dict[Path, dict[str, str]] = {}
        self.pins = read_pins(self.repo / PINS_FILE)
        self.other_pins = pins_without(self.pins, self.library)
        self.constraints = self.workdir / "constraints.txt"
        self.constraints.write_text("\n".join(self.other_pins.values()) + "\n", encoding="utf-8")

    def test_command(self, python: Path, results: Path) -> list[str]:
        files = [str(LAYER_TESTS)]
        if "seed" in self.layers and "mnist" in self.scenarios:
            files.append(str(SEED_TESTS))
        return [
            str(python),
            "-m",
            "pytest",
            *files,
            "-m",
            marker_expression(self.layers),
            "-k",
            keyword_expression(self.scenarios),
            "-p",
            "no:cacheprovider",
            f"--mpl-results-path={results}",
            f"--mlp-baseline-dir={self.repo / 'baseline_images'}",
            f"--junitxml={results / 'junit.xml'}",
            "-q",
        ]

    def bytecode_folder(self, installed: dict[str, str]) -> Path:
        """Where this stack's bytecode goes: one folder per set of versions of the others.

        Probes whose resolver chose other versions (NumPy 1 for old releases)
        then do not evict the bytecode of the pinned stack, and back.
        """
        others = sorted((k, v) for k, v in installed.items() if k != self.library)
        digest = hashlib.sha256(json.dumps(others).encode()).hexdigest()[:16]
        return self.workdir / BYTECODE_DIR / digest

    def forget_stale_bytecode(self, env: Path, folder: Path) -> None:
        """Delete the bytecode under ``folder`` of every distribution whose version changed.

        Python checks bytecode against its source's modification time and
        size only. Two versions of a file extracted by the installer within
        the same second and of equal size would pass that check, so the
        bytecode of a distribution is kept only while its version is the one
        it was compiled from (a version's wheel never changes).
        """
        compiled = self.compiled.setdefault(folder, {})
        sites = sorted(env.glob("lib/python*/site-packages")) + sorted(
            env.glob("Lib/site-packages")
        )
        if not sites:
            shutil.rmtree(folder, ignore_errors=True)
            compiled.clear()
            return
        site = sites[0]
        tag = sys.implementation.cache_tag
        for dist_info in site.glob("*.dist-info"):
            name, _, version = dist_info.name[: -len(".dist-info")].partition("-")
            name = canonicalize_name(name)
            if compiled.get(name) == version:
                continue
            try:
                record = (dist_info / "RECORD").read_text(encoding="utf-8")
            except OSError:
                shutil.rmtree(folder, ignore_errors=True)
                compiled.clear()
                return
            for line in record.splitlines():
                path = line.split(",", 1)[0]
                if not path.endswith(".py"):
                    continue
                source = Path(os.path.normpath(site / path))
                cached = folder / source.parent.relative_to(source.anchor)
                for suffix in ("", ".opt-1", ".opt-2"):
                    (cached / f"{source.stem}.{tag}{suffix}.pyc").unlink(missing_ok=True)
            compiled[name] = version

    def relaxed(self, installed: dict[str, str]) -> dict[str, list[str]]:
        """Packages installed at another version than their pin: ``name -> [now, pinned]``."""
        moved = {}
        for name in self.other_pins:
            pinned = pinned_version(self.pins, name)
            now = installed.get(name)
            if pinned is not None and now is not None and now != pinned:
                moved[name] = [now, pinned]
        return moved

    def run(self, version: str) -> ProbeResult:
        """Probe one release; the environment is gone when this returns or raises."""
        start = time.perf_counter()
        # Always the same path, so that the compiled bytecode of unchanged
        # packages (see bytecode_folder) stays valid from one probe to the next.
        folder = self.workdir / PROBE_DIR
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        try:
            result = self._run_in(folder, version)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        result.elapsed = round(time.perf_counter() - start, 2)
        return result

    def _install(self, env: Path, version: str, extra: list[str], result: ProbeResult) -> bool:
        """A fresh environment with the release: pins kept if possible, else resolver's choice."""
        requirements = [f"{self.library}=={version}", f"{self.wheel}[test]", *extra]
        for constraints in (self.constraints, None):
            shutil.rmtree(env, ignore_errors=True)
            try:
                self.installer.create(env)
            except InstallFailed as exc:
                raise MLPWeightsError(f"cannot create a virtual environment: {exc}") from None
            try:
                self.installer.install(env, requirements, constraints)
            except InstallFailed as exc:
                if constraints is None:
                    result.reason = f"{NOT_INSTALLABLE}: {exc}"
                    return False
                # The pins do not go with this release: the resolver chooses the others.
                result.pins_conflict = str(exc)
                continue
            return True
        return False  # pragma: no cover - the loop returns

    def _run_in(self, folder: Path, version: str) -> ProbeResult:
        result = ProbeResult(self.library, version, UNTESTABLE)
        env = folder / "env"
        extra = extra_requirements(self.library, version)
        while True:
            if not self._install(env, version, extra, result):
                return result
            result.installed = self.installer.installed(env)
            result.relaxed = self.relaxed(result.installed)
            results = folder / "results"
            shutil.rmtree(results, ignore_errors=True)
            results.mkdir()
            bytecode = self.bytecode_folder(result.installed)
            self.forget_stale_bytecode(env, bytecode)
            run_env = {**PROBE_ENV, "PYTHONPYCACHEPREFIX": str(bytecode), **self.extra_env}
            try:
                done = subprocess.run(
                    self.test_command(self.installer.env_python(env), results),
                    cwd=self.repo,
                    capture_output=True,
                    text=True,
                    timeout=TEST_TIMEOUT,
                    env=_clean_env(run_env),
                )
            except subprocess.TimeoutExpired:
                result.reason = f"the layers took longer than {TEST_TIMEOUT} s"
                return result
            output = done.stdout + "\n" + done.stderr
            if NUMPY1_ONLY not in extra and NUMPY_ABI_ERROR.search(output):
                # Built against NumPy 1 although its metadata allows NumPy 2: try again.
                extra = [*extra, NUMPY1_ONLY]
                result.pins_conflict = f"{self.library} {version} was built against NumPy 1.x"
                continue
            break
        verdict_path, junit_path = results / VERDICT_NAME, results / "junit.xml"
        try:
            if verdict_path.exists():
                verdict = json.loads(verdict_path.read_text(encoding="utf-8"))
                result.cells = cells_from_verdict(verdict, self.layers, self.scenarios)
                result.source = VERDICT_NAME
            elif junit_path.exists():
                result.cells = cells_from_junit(junit_path, self.layers, self.scenarios)
                result.source = "junit"
        except (ValueError, ET.ParseError, OSError) as exc:
            result.reason = one_line(f"unreadable test results: {exc}")
            return result
        if done.returncode not in (0, 1) or not result.cells:
            result.reason = one_line(
                f"the layers did not run (pytest exit {done.returncode}): {test_error(output)}"
            )
            return result
        result.outcome, result.reason = outcome_of(result.cells)
        return result
