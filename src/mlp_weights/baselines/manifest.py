"""The baseline manifest, ``baseline_images/manifest.json``: its generations and entries.

The one module that reads and writes the file. Format 2 lists generations
by name, ``<layer>/<label>``, which is also the folder of the generation's
files in the baseline folder::

    baseline_images/
      manifest.json
      training/all/        digits.npz ...  (any version)
      rendering/mpl-3.11/  digits.png ...  (matplotlib>=3.11)
      rendering/mpl-3.7/   digits.png ...  (matplotlib<3.11)

A generation holds one layer's stored files (training snapshots, rendering
images) and is valid for a declared range of the libraries that layer
depends on (:mod:`mlp_weights.baselines.ranges`). Its manifest entry gives
its layer, range and pins file (relative to the project root), when and why
it was declared, and per scenario an entry recording the versions of
Python, scikit-learn, matplotlib and numpy (``versions``), the machine facts
of :mod:`mlp_weights.core.environment` (``environment``: BLAS and its
kernel, numpy's SIMD targets, FreeType, platform), the pins file, the files,
and when and why they were made. Verdicts compare the chosen generation's
entry (:mod:`mlp_weights.baselines.generations`) with what is in use now.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from mlp_weights.baselines.ranges import (
    range_holds,
    range_libraries,
    ranges_overlap,
    specifier_set,
)
from mlp_weights.core.environment import environment_facts, library_versions
from mlp_weights.core.errors import DamagedBaselineError, MissingBaselineError, UsageError

MANIFEST_FORMAT = 2
MANIFEST_NAME = "manifest.json"
#: The layers with stored files, and the kind of file each stores per scenario.
GENERATION_LAYERS = {"training": ("snapshot", ".npz"), "rendering": ("image", ".png")}
#: Label ``regen`` gives a layer's first generation in an empty folder.
FIRST_LABEL = "all"


def environment_versions() -> dict[str, str]:
    """Library versions and machine facts now, as one flat mapping.

    The manifest keeps them apart (``versions`` and ``environment``);
    :func:`recorded_facts` merges an entry's the same way.
    """
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


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def make_entry(reason: str, files: dict[str, str], pins: str | None = None) -> dict:
    """A scenario's provenance: versions and machine facts now, date, reason, pins, files."""
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


@dataclass
class Generation:
    """One layer's baseline files for one range of the stack, and their provenance.

    Parameters
    ----------
    name : str
        ``<layer>/<label>``; also its folder unless ``folder`` says otherwise.
    layer : str
        ``training`` or ``rendering``.
    ranges : dict
        Library -> specifier string; empty: every version.
    pins : str or None
        The pins file it is made from, relative to the project root.
    scenarios : dict
        Per scenario, its provenance: the manifest entry (versions and
        environment at creation, date, reason, pins, files).
    declared : dict
        When and why the generation (or its range) was declared.
    """

    name: str
    layer: str
    ranges: dict[str, str] = field(default_factory=dict)
    pins: str | None = None
    scenarios: dict[str, dict] = field(default_factory=dict)
    declared: dict = field(default_factory=dict)

    @property
    def range_text(self) -> str:
        """``{"matplotlib": "<3.11"}`` reads ``matplotlib<3.11``; an empty range ``any version``."""
        ranges = sorted(self.ranges.items())
        return "; ".join(f"{lib}{spec}" if spec else lib for lib, spec in ranges) or "any version"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.range_text})"

    def holds(self, versions: dict[str, str]) -> bool:
        """Whether the range holds these installed versions (pre-releases included)."""
        return range_holds(self.ranges, versions)

    def directory(self, baseline_dir: str | os.PathLike) -> Path:
        return Path(baseline_dir) / self.name

    def file_name(self, scenario: str) -> str:
        kind, suffix = GENERATION_LAYERS[self.layer]
        listed = self.scenarios.get(scenario, {}).get("files", {})
        return listed.get(kind) or f"{scenario}{suffix}"

    def file_path(self, baseline_dir: str | os.PathLike, scenario: str) -> Path:
        return self.directory(baseline_dir) / self.file_name(scenario)

    def facts(self, scenario: str) -> dict[str, str] | None:
        """The versions and environment the scenario's file was made with, if recorded."""
        entry = self.scenarios.get(scenario)
        return recorded_facts(entry) if entry is not None else None

    def to_manifest(self) -> dict:
        return {
            "layer": self.layer,
            "range": dict(sorted(self.ranges.items())),
            "pins": self.pins,
            "declared": self.declared,
            "scenarios": self.scenarios,
        }


def split_name(name: str) -> tuple[str, str]:
    """``"rendering/mpl-3.7"`` -> ``("rendering", "mpl-3.7")``; a one-line error otherwise."""
    layer, _, label = name.partition("/")
    if layer not in GENERATION_LAYERS or not label or "/" in label or label in (".", ".."):
        raise UsageError(
            f"generation name {name!r} must be LAYER/LABEL with LAYER one of "
            f"{', '.join(GENERATION_LAYERS)}, e.g. rendering/mpl-3.7"
        )
    return layer, label


def manifest_path(baseline_dir: str | os.PathLike) -> Path:
    return Path(baseline_dir) / MANIFEST_NAME


def _damaged(path, what: str) -> DamagedBaselineError:
    return DamagedBaselineError(
        f"manifest {path}: {what}; restore it with 'git checkout -- {path}' or fix the entry"
    )


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
        if version == MANIFEST_FORMAT and not isinstance(manifest["generations"], dict):
            raise TypeError("'generations' is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DamagedBaselineError(
            f"manifest {path} is damaged ({type(exc).__name__}: {exc}); restore it with "
            f"'git checkout -- {path}' or recreate it with: mlp-weights regen --reason \"...\""
        ) from None
    if version != MANIFEST_FORMAT:
        newer = version > MANIFEST_FORMAT
        raise DamagedBaselineError(
            f"manifest {path} has format version {version}, {'newer' if newer else 'older'} "
            f"than this mlp-weights reads ({MANIFEST_FORMAT}); "
            + (
                "upgrade mlp-weights"
                if newer
                else 'remove it and recreate the baselines with: mlp-weights regen --reason "..."'
            )
        )
    return manifest


def generation_from_manifest(name: str, data: dict, path) -> Generation:
    """One generation from its manifest entry; a one-line error for any defect."""
    try:
        layer, _ = split_name(name)
    except UsageError as exc:
        raise _damaged(path, str(exc)) from None
    if not isinstance(data, dict) or data.get("layer") != layer:
        raise _damaged(path, f"generation {name!r} does not name its layer {layer!r}")
    ranges = data.get("range") or {}
    if not isinstance(ranges, dict):
        raise _damaged(path, f"the range of {name!r} is not a mapping of library to specifier")
    for library, spec in ranges.items():
        if library not in range_libraries(layer):
            raise _damaged(path, f"the range of {name!r} names {library!r}, not a {layer} library")
        if specifier_set(str(spec)) is None:
            raise _damaged(path, f"cannot read the range of {name!r}: {library}{spec}")
    return Generation(
        name=name,
        layer=layer,
        ranges={str(k): str(v) for k, v in ranges.items()},
        pins=data.get("pins"),
        scenarios=dict(data.get("scenarios") or {}),
        declared=dict(data.get("declared") or {}),
    )


def overlaps(generations: list[Generation]) -> list[tuple[Generation, Generation]]:
    """Pairs of generations of one layer whose ranges overlap."""
    pairs = itertools.combinations(generations, 2)
    return [(a, b) for a, b in pairs if a.layer == b.layer and ranges_overlap(a.ranges, b.ranges)]


def read_generations(
    baseline_dir: str | os.PathLike, missing_ok: bool = False, check: bool = True
) -> list[Generation]:
    """Every generation of a baseline folder: ranges parse and (with ``check``) never overlap."""
    manifest = read_manifest(baseline_dir, missing_ok=missing_ok)
    path = manifest_path(baseline_dir)
    generations = [
        generation_from_manifest(name, data, path) for name, data in manifest["generations"].items()
    ]
    clashes = overlaps(generations) if check else []
    if clashes:
        a, b = clashes[0]
        raise _damaged(
            path,
            f"the ranges of {a.label} and {b.label} overlap; narrow one so that "
            "one generation holds each stack",
        )
    return generations


def manifest_bytes(generations: list[Generation]) -> bytes:
    """The manifest (current format) of ``generations``, as ``regen`` writes it."""
    manifest = {
        "format_version": MANIFEST_FORMAT,
        "generations": {g.name: g.to_manifest() for g in generations},
    }
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
