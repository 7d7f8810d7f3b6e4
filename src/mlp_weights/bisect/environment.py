"""Building a probe's environment: the pins, and the installer (uv).

uv creates and fills an environment in about a second with a warm cache,
and brings an existing environment to exactly what a new one would get: ``uv pip
compile`` resolves the requirements as for an empty environment (it does
not look at what is installed), then ``uv pip sync`` installs exactly that
and removes the rest. So a worker keeps one environment and changes only
what differs from its last probe, where a new environment means linking,
and later deleting, some 20,000 files. (``uv pip install --exact
--upgrade`` would do both in one process, but ``--upgrade`` implies
``--refresh``: every probe downloaded and unpacked every wheel again and
added a copy of it to uv's cache.) Probes that run
side by side share uv's cache: uv takes its own locks on it, so two
installs at once neither corrupt it nor wait for each other longer than
one wheel's unpacking.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from mlp_weights.bisect.index import IndexUnreachableError
from mlp_weights.bisect.process import run_process
from mlp_weights.bisect.results import REASON_LENGTH
from mlp_weights.core.errors import MLPWeightsError, one_line

#: A probe's requirements, and the versions uv resolved for them, inside its environment.
REQUESTED_NAME = "mlp-weights-requested.txt"
RESOLVED_NAME = "mlp-weights-resolved.txt"
#: Seconds an install may take before the probe gives up on it.
INSTALL_TIMEOUT = 600
#: Variables of the calling environment that would leak into a probe's.
#: Everything else passes through, ``MLP_WEIGHTS_*`` settings included.
DROPPED_ENV = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "UV_CONSTRAINT",
    # A probe's environment keeps its bytecode beside its sources for the next
    # probe in it (compiling the stack's sources costs a probe about 5 s).
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPYCACHEPREFIX",
    # With it (tox passes it), every probe appended its verdict to the CI job's
    # summary; the bisect's own report is what goes there.
    "GITHUB_STEP_SUMMARY",
)
#: Phrases of uv's errors that mean the index or a download could
#: not be reached, not that the release cannot be installed. uv puts "Failed
#: to download `name==version`" (or "Failed to fetch") over whatever broke
#: on the way: a refused or reset connection, a timeout, a body cut short.
NETWORK_ERRORS = (
    "error sending request",
    "dns error",
    "connection refused",
    "failed to download",
    "failed to fetch",
    "request failed after",
    "connection reset",
    "operation timed out",
)
#: What the system says when a file cannot be written for want of space.
DISK_FULL = ("no space left on device", "disk quota exceeded")


def pins_without(pins: dict[str, str], library: str) -> dict[str, str]:
    """``name -> "name==version"`` for every pin but ``library``'s, sorted by name.

    ``pins`` is :func:`mlp_weights.baselines.store.read_pins`'s ``name -> version``.
    """
    return {
        name: f"{name}=={version}"
        for name, version in sorted(pins.items())
        if name != canonicalize_name(library)
    }


#: How uv begins the lines of an error and its causes, outermost first, in
#: its two styles ("error: ..." then "cause: ...", or "×" then "├─▶"/"╰─▶").
_CHAIN_MARKERS = ("×", "├─▶", "╰─▶", "error:", "caused by:", "cause:")


def installer_error(output: str, outermost: bool = False) -> str:
    """Why uv failed, in one line: the innermost cause (``outermost``: what failed, then it).

    The last line of the output when uv marked no error.
    """
    chain = []
    for line in output.splitlines():
        text = line.strip()
        marker = next((m for m in _CHAIN_MARKERS if text.lower().startswith(m)), None)
        if marker and text[len(marker) :].strip():
            chain.append(text[len(marker) :].strip())
    chain = chain or [ln.strip() for ln in output.splitlines() if ln.strip()][-1:]
    if not chain:
        return "no output"
    text = f"{chain[0]}: {chain[-1]}" if outermost and len(chain) > 1 else chain[-1]
    return one_line(text, REASON_LENGTH)


#: The one line a bisect says when uv cannot be found.
NO_UV = "bisect needs uv: python -m pip install uv"


def find_uv() -> str:
    """The ``uv`` executable: on ``PATH``, else from the ``uv`` Python package.

    Raises
    ------
    MLPWeightsError
        :data:`NO_UV`, when neither has it.
    """
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        raise MLPWeightsError(NO_UV) from None


def clean_env(extra: dict | None = None) -> dict:
    """This process's environment less :data:`DROPPED_ENV`, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(extra or {})
    return env


class InstallFailed(Exception):
    """An install did not succeed; the message is the installer's reason in one line."""


@dataclass
class Installer:
    """Creates environments with uv and installs into them.

    Parameters
    ----------
    uv : str
        Path of the uv executable.
    index_url : str
        The index to install from.
    python : str
        The interpreter the environments are made from (this one).
    """

    uv: str
    index_url: str
    python: str = sys.executable
    #: Set once a resolution has read the index (see :meth:`install`).
    index_read: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    #: Set when the bisect stops: every child process is killed (see :mod:`.process`).
    stop: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def _run(self, argv: list[str]) -> str:
        """The command's output; its one-line error as :class:`InstallFailed`.

        A failure on the network, which uv has already tried again three
        times ("Request failed after 3 retries"), stops the bisect as
        :class:`IndexUnreachableError`: a release is never called
        uninstallable, or cached as such, for a download that broke.
        """
        try:
            done = run_process(argv, env=clean_env(), timeout=INSTALL_TIMEOUT, stop=self.stop)
        except subprocess.TimeoutExpired:
            took = f"{Path(argv[0]).name} took longer than {INSTALL_TIMEOUT} s"
            raise InstallFailed(took) from None
        if done.returncode == 0:
            return done.stdout
        output = done.stderr + "\n" + done.stdout
        lowered = output.lower()
        if any(phrase in lowered for phrase in DISK_FULL):
            # uv says "Failed to download" for this too: neither the release nor the network.
            raise MLPWeightsError(
                f"no space left on the device while installing ({installer_error(output, True)}); "
                "free some, e.g. with `uv cache prune`"
            )
        if any(phrase in lowered for phrase in NETWORK_ERRORS):
            raise IndexUnreachableError(
                f"package index {self.index_url} cannot be reached while installing "
                f"({installer_error(output, True)})"
            )
        raise InstallFailed(installer_error(output))

    def env_python(self, env: Path) -> Path:
        return env / ("Scripts" if os.name == "nt" else "bin") / "python"

    def create(self, env: Path) -> None:
        """A new, empty virtual environment at ``env``."""
        self._run([self.uv, "venv", "--quiet", "--python", self.python, str(env)])

    def install(self, env: Path, requirements: list[str], constraints: Path | None) -> None:
        """Install wheels only (never build from source); nothing else stays.

        The requirements are resolved as for an empty environment
        (``uv pip compile`` into ``<env>/RESOLVED_NAME``), then the
        environment is made exactly that (``uv pip sync``), from uv's cache
        where it holds the wheels.

        Online, uv asks the index whether each cached page is still current
        (0.3 s a resolution here, and seconds when the network stalls);
        from the cache alone it takes 0.08 s. The first resolution of a
        command reads the index, so later ones see what it lists now, from
        uv's cache alone; one that the cache cannot answer reads the index again.
        """
        options = ["--only-binary", ":all:", "--index-url", self.index_url]
        python = ["--python", str(self.env_python(env))]
        wanted, resolved = env / REQUESTED_NAME, env / RESOLVED_NAME
        wanted.write_text("".join(f"{line}\n" for line in requirements), encoding="utf-8")
        # uv prefers the versions of an existing output file (the last probe's).
        resolved.unlink(missing_ok=True)
        compile_argv = [self.uv, "pip", "compile", "--quiet", "--no-header", *python, *options]
        compile_argv += ["-c", str(constraints)] if constraints is not None else []
        compile_argv += ["-o", str(resolved), str(wanted)]
        offline = self.index_read.is_set()
        try:
            self._run([*compile_argv, "--offline"] if offline else compile_argv)
        except (InstallFailed, IndexUnreachableError):
            if not offline:
                raise
            self._run(compile_argv)  # something uv's cache does not hold
        self.index_read.set()
        self._run([self.uv, "pip", "sync", "--quiet", *python, *options, str(resolved)])

    def installed(self, env: Path) -> dict[str, str]:
        """``canonical name -> version`` of every package in the environment.

        As ``uv pip freeze`` lists them (packages installed from a path or
        URL, with a ``direct_url.json``, left out), read from the installed
        metadata: asking uv costs a process, 0.25 s a probe.
        """
        sites = [str(site) for site in env.glob("lib/python*/site-packages")]
        return {
            canonicalize_name(dist.metadata["Name"]): dist.version
            for dist in importlib.metadata.distributions(path=sites)
            if dist.metadata["Name"] and dist.read_text("direct_url.json") is None
        }

    def build_wheel(self, repo: Path, out: Path) -> Path:
        """The project's wheel, built from the working tree into ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        try:
            self._run([self.uv, "build", "--wheel", "--quiet", "-o", str(out), str(repo)])
        except InstallFailed as exc:
            raise MLPWeightsError(f"cannot build the project's wheel from {repo}: {exc}") from None
        return sorted(out.glob("*.whl"))[-1]
