"""The baseline manifest: which library versions made each scenario's baselines.

``baseline_images/manifest.json`` records, per scenario, the versions of
Python, scikit-learn, matplotlib and numpy, the BLAS in use, and when and
why the baselines were made. Verdicts compare it with the versions now.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path

from ._io import atomic_write
from .errors import BaselineError

MANIFEST_FORMAT = 1
MANIFEST_NAME = "manifest.json"

#: The libraries the manifest records, in report order.
LIBRARIES = ("python", "scikit-learn", "matplotlib", "numpy", "blas")


def _blas_description() -> str:
    """The BLAS numpy and scikit-learn use, e.g. ``openblas 0.3.29 (pthreads)``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return "unknown"
    import numpy  # noqa: F401  (loads the BLAS so that it is listed)
    import sklearn.utils.extmath  # noqa: F401

    found = sorted(
        {
            f"{info.get('internal_api')} {info.get('version')} "
            f"({info.get('threading_layer', 'unknown')})"
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        }
    )
    return ", ".join(found) or "none found"


def environment_versions() -> dict[str, str]:
    """The versions in use now, keyed as in :data:`LIBRARIES`."""
    import matplotlib
    import numpy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "numpy": numpy.__version__,
        "blas": _blas_description(),
    }


def manifest_path(baseline_dir: str | os.PathLike) -> Path:
    return Path(baseline_dir) / MANIFEST_NAME


def read_manifest(baseline_dir: str | os.PathLike, missing_ok: bool = False) -> dict:
    """Read the manifest; a one-line :class:`BaselineError` for any defect."""
    path = manifest_path(baseline_dir)
    if not path.exists():
        if missing_ok:
            return {"format_version": MANIFEST_FORMAT, "scenarios": {}}
        raise BaselineError(
            f'missing manifest {path}; create the baselines with: mlp-weights regen --reason "..."'
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        version = int(manifest["format_version"])
        scenarios = manifest["scenarios"]
        if not isinstance(scenarios, dict):
            raise TypeError("'scenarios' is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BaselineError(
            f"manifest {path} is damaged ({type(exc).__name__}: {exc}); restore it with "
            f"'git checkout -- {path}' or recreate it with: mlp-weights regen --reason \"...\""
        ) from None
    if version > MANIFEST_FORMAT:
        raise BaselineError(
            f"manifest {path} has format version {version}, newer than this mlp-weights "
            f"reads ({MANIFEST_FORMAT}); upgrade mlp-weights"
        )
    return manifest


def scenario_entry(baseline_dir: str | os.PathLike, scenario: str) -> dict:
    """One scenario's manifest entry (versions, date, reason)."""
    manifest = read_manifest(baseline_dir)
    try:
        return manifest["scenarios"][scenario]
    except KeyError:
        raise BaselineError(
            f"manifest {manifest_path(baseline_dir)} has no entry for scenario {scenario!r}; "
            f'create it with: mlp-weights regen --scenario {scenario} --reason "..."'
        ) from None


def make_entry(reason: str, files: dict[str, str]) -> dict:
    return {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "reason": reason,
        "versions": environment_versions(),
        "files": files,
    }


def write_manifest(baseline_dir: str | os.PathLike, manifest: dict) -> Path:
    path = manifest_path(baseline_dir)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    with atomic_write(path) as fh:
        fh.write(text.encode("utf-8"))
    return path
