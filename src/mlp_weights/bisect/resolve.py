"""The resolver retry: a release with the pins if they fit, else with what the resolver chooses.

Every other package is first held at its pin. When the pins cannot go
together with the release (mlxtend 0.25.0 wants a newer matplotlib than
3.10.7; matplotlib before 3.8.4 was built against NumPy 1), the installer's
resolver chooses the others in a fresh environment, and the probe records
what it chose. Releases built against NumPy 1 whose metadata allows NumPy 2
get ``numpy<2`` added (:data:`NUMPY1_BUILDS`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from packaging.version import Version

from mlp_weights.bisect.environment import Installer, InstallFailed
from mlp_weights.bisect.results import NOT_INSTALLABLE, ProbeResult
from mlp_weights.core.errors import MLPWeightsError

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


def relaxed_pins(
    pins: dict[str, str], others: dict[str, str], installed: dict[str, str]
) -> dict[str, list[str]]:
    """Packages installed at another version than their pin: ``name -> [now, pinned]``.

    ``pins`` maps each name to its pinned version; ``others`` names the packages looked at.
    """
    moved = {}
    for name in others:
        pinned = pins.get(name)
        now = installed.get(name)
        if pinned is not None and now is not None and now != pinned:
            moved[name] = [now, pinned]
    return moved


def install_release(
    installer: Installer,
    env: Path,
    requirements: list[str],
    constraints: Path,
    result: ProbeResult,
) -> bool:
    """The environment at ``env`` with exactly ``requirements``: pins kept if possible.

    An existing environment is reused (uv makes it exact). Returns
    ``False`` (with ``result.reason`` set) when the release installs in no
    way; records in ``result.pins_conflict`` why the pins were dropped.
    """
    for pins in (constraints, None):
        if not installer.env_python(env).exists():
            shutil.rmtree(env, ignore_errors=True)
            try:
                installer.create(env)
            except InstallFailed as exc:
                raise MLPWeightsError(f"cannot create a virtual environment: {exc}") from None
        try:
            installer.install(env, requirements, pins)
        except InstallFailed as exc:
            if pins is None:
                result.reason = f"{NOT_INSTALLABLE}: {exc}"
                return False
            # The pins do not go with this release: the resolver chooses the others.
            result.pins_conflict = str(exc)
            continue
        return True
    return False  # pragma: no cover - the loop returns
