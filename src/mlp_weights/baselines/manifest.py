"""The baseline manifest: which library versions made each baseline file.

``baseline_images/manifest.json`` (format 2) lists the generations
(:mod:`mlp_weights.baselines.generations`): per generation its layer, range and pins
file, and per scenario an entry recording the versions of Python,
scikit-learn, matplotlib and numpy (``versions``), the machine facts of
:mod:`mlp_weights.core.environment` (``environment``: BLAS and its kernel,
numpy's SIMD targets, FreeType, platform), the pins file, and when and why
the file was made. Verdicts compare the chosen generation's entry with what
is in use now. Format 1 (one entry per scenario, files at the top) is still
read, as one generation per layer covering everything.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from mlp_weights.core.errors import DamagedBaselineError, MissingBaselineError
from mlp_weights.core.io import atomic_write

MANIFEST_FORMAT = 2
#: Each format and the mapping it must hold.
FORMAT_KEYS = {1: "scenarios", 2: "generations"}
MANIFEST_NAME = "manifest.json"


def environment_versions() -> dict[str, str]:
    """Library versions and machine facts now, as one flat mapping.

    The manifest keeps them apart (``versions`` and ``environment``);
    :func:`recorded_facts` merges an entry's the same way.
    """
    from mlp_weights.core.environment import environment_facts, library_versions

    return {**library_versions(), **environment_facts()}


def recorded_facts(entry: dict) -> dict[str, str]:
    """An entry's versions and environment, merged as :func:`environment_versions` merges.

    Entries written before the environment was recorded hold ``versions``
    only (with ``blas`` among them); the facts they lack are simply absent.
    """
    facts = {}
    for key in ("versions", "environment"):
        part = entry.get(key)
        if isinstance(part, dict):
            facts.update({str(k): str(v) for k, v in part.items()})
    return facts


def manifest_path(baseline_dir: str | os.PathLike) -> Path:
    return Path(baseline_dir) / MANIFEST_NAME


def read_manifest(baseline_dir: str | os.PathLike, missing_ok: bool = False) -> dict:
    """Read the manifest; a one-line :class:`BaselineError` for any defect."""
    path = manifest_path(baseline_dir)
    if not path.exists():
        if missing_ok:
            return {"format_version": MANIFEST_FORMAT, "generations": {}}
        raise MissingBaselineError(
            f'missing manifest {path}; create the baselines with: mlp-weights regen --reason "..."'
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        version = int(manifest["format_version"])
        if version <= MANIFEST_FORMAT and not isinstance(manifest[FORMAT_KEYS[version]], dict):
            raise TypeError(f"{FORMAT_KEYS[version]!r} is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DamagedBaselineError(
            f"manifest {path} is damaged ({type(exc).__name__}: {exc}); restore it with "
            f"'git checkout -- {path}' or recreate it with: mlp-weights regen --reason \"...\""
        ) from None
    if version > MANIFEST_FORMAT:
        raise DamagedBaselineError(
            f"manifest {path} has format version {version}, newer than this mlp-weights "
            f"reads ({MANIFEST_FORMAT}); upgrade mlp-weights"
        )
    return manifest


def scenario_entry(baseline_dir: str | os.PathLike, scenario: str, layer: str = "training") -> dict:
    """One scenario's entry (versions, date, reason) in the generation ``layer`` compares with."""
    from mlp_weights.baselines.generations import choose, forced_names, read_generations
    from mlp_weights.core.environment import library_versions

    generation = choose(read_generations(baseline_dir), layer, library_versions(), forced_names())
    try:
        return generation.scenarios[scenario]
    except KeyError:
        raise MissingBaselineError(
            f"manifest {manifest_path(baseline_dir)} has no entry for scenario {scenario!r} "
            f"in {generation.name}; create it with: "
            f'mlp-weights regen --scenario {scenario} --reason "..."'
        ) from None


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def make_entry(reason: str, files: dict[str, str], pins: str | None = None) -> dict:
    """A scenario's provenance: versions and machine facts now, date, reason, pins, files."""
    from mlp_weights.core.environment import environment_facts, library_versions

    entry = {
        "created": now_iso(),
        "reason": reason,
        "versions": library_versions(),
        "environment": environment_facts(),
        "files": files,
    }
    if pins is not None:
        entry["pins"] = pins
    return entry


def write_manifest(baseline_dir: str | os.PathLike, manifest: dict) -> Path:
    path = manifest_path(baseline_dir)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    with atomic_write(path) as fh:
        fh.write(text.encode("utf-8"))
    return path
