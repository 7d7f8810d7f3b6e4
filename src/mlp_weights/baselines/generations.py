"""Baseline generations: one set of baseline files per range of the stack.

A generation holds one layer's stored files (training snapshots, rendering
images) and is valid for a declared range of the libraries that layer
depends on (:data:`mlp_weights.core.layers.LAYERS`), e.g. rendering images for
``matplotlib<3.11`` and for ``matplotlib>=3.11``. Its name is its folder in
the baseline folder, ``<layer>/<label>``, so that the layout shows the
generations at a glance::

    baseline_images/
      manifest.json
      training/all/        digits.npz ...  (any version)
      rendering/mpl-3.11/  digits.png ...  (matplotlib>=3.11)
      rendering/mpl-3.7/   digits.png ...  (matplotlib<3.11)

Every layer test compares against the generation whose range holds the
installed versions; ``--mlp-generation`` or :data:`GENERATION_ENV` forces
one. Ranges of one layer never overlap, so at most one holds; when none
does, the layer fails with :func:`no_generation_message`, and no other
generation is tried. A folder of manifest format 1 (files at the top, one
entry per scenario) reads as one generation per layer that covers
everything.

Ranges are version specifiers read by :mod:`packaging` (as pip reads them).
Python and the platform are kept out of them: the same files hold across
Python 3.10 to 3.13, and machine facts are blamed, not selected by.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mlp_weights.baselines.ranges import (
    complement,
    format_range,
    range_holds,
    range_libraries,
    ranges_overlap,
    specifier_set,
)
from mlp_weights.core.errors import DamagedBaselineError, MissingBaselineError, UsageError

#: Forces generations by name (comma-separated), as ``--mlp-generation`` does;
#: a bisect probe's environment passes it through.
GENERATION_ENV = "MLP_WEIGHTS_GENERATION"
#: The layers with stored files, and the kind of file each stores per scenario.
GENERATION_LAYERS = {"training": ("snapshot", ".npz"), "rendering": ("image", ".png")}
#: The generation layer whose files each layer compares: the pipeline compares
#: the rendering layer's image; scores and seed compare no stored file.
COMPARES_FILES_OF = {"training": "training", "rendering": "rendering", "pipeline": "rendering"}
#: Label of the generation each layer of a format-1 folder reads as; its files
#: are at the top of the folder.
LEGACY_LABEL = "all"
#: Label ``regen`` gives a layer's first generation in an empty folder.
FIRST_LABEL = "all"


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
    folder : str
        Folder of its files, relative to the baseline folder.
    """

    name: str
    layer: str
    ranges: dict[str, str] = field(default_factory=dict)
    pins: str | None = None
    scenarios: dict[str, dict] = field(default_factory=dict)
    declared: dict = field(default_factory=dict)
    folder: str = ""

    def __post_init__(self):
        self.folder = self.folder or self.name

    @property
    def range_text(self) -> str:
        return format_range(self.ranges)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.range_text})"

    def holds(self, versions: dict[str, str]) -> bool:
        """Whether the range holds these installed versions (pre-releases included)."""
        return range_holds(self.ranges, versions)

    def directory(self, baseline_dir: str | os.PathLike) -> Path:
        return Path(baseline_dir) / self.folder

    def file_name(self, scenario: str) -> str:
        kind, suffix = GENERATION_LAYERS[self.layer]
        listed = self.scenarios.get(scenario, {}).get("files", {})
        return listed.get(kind) or f"{scenario}{suffix}"

    def file_path(self, baseline_dir: str | os.PathLike, scenario: str) -> Path:
        return self.directory(baseline_dir) / self.file_name(scenario)

    def facts(self, scenario: str) -> dict[str, str] | None:
        """The versions and environment the scenario's file was made with, if recorded."""
        from mlp_weights.baselines.manifest import recorded_facts

        entry = self.scenarios.get(scenario)
        return recorded_facts(entry) if entry is not None else None

    def to_manifest(self) -> dict:
        data = {
            "layer": self.layer,
            "range": dict(sorted(self.ranges.items())),
            "pins": self.pins,
            "declared": self.declared,
            "scenarios": self.scenarios,
        }
        if self.folder != self.name:
            data["folder"] = self.folder
        return data


def split_name(name: str) -> tuple[str, str]:
    """``"rendering/mpl-3.7"`` -> ``("rendering", "mpl-3.7")``; a one-line error otherwise."""
    layer, _, label = name.partition("/")
    if layer not in GENERATION_LAYERS or not label or "/" in label or label in (".", ".."):
        raise UsageError(
            f"generation name {name!r} must be LAYER/LABEL with LAYER one of "
            f"{', '.join(GENERATION_LAYERS)}, e.g. rendering/mpl-3.7"
        )
    return layer, label


def _damaged(path, what: str) -> DamagedBaselineError:
    return DamagedBaselineError(
        f"manifest {path}: {what}; restore it with 'git checkout -- {path}' or fix the entry"
    )


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
        folder=str(data.get("folder") or name),
    )


def legacy_generations(manifest: dict) -> list[Generation]:
    """A format-1 manifest as one generation per layer, covering everything, files at the top."""
    found = []
    for layer, (kind, _) in GENERATION_LAYERS.items():
        scenarios = {}
        for scenario, entry in manifest.get("scenarios", {}).items():
            entry = dict(entry)
            entry["files"] = {kind: entry.get("files", {}).get(kind) or ""}
            if not entry["files"][kind]:
                entry["files"] = {}
            scenarios[scenario] = entry
        found.append(Generation(f"{layer}/{LEGACY_LABEL}", layer, scenarios=scenarios, folder="."))
    return found


def read_generations(
    baseline_dir: str | os.PathLike, missing_ok: bool = False, check: bool = True
) -> list[Generation]:
    """Every generation of a baseline folder: ranges parse and (with ``check``) never overlap."""
    from mlp_weights.baselines.manifest import manifest_path, read_manifest

    manifest = read_manifest(baseline_dir, missing_ok=missing_ok)
    if "generations" not in manifest:
        return legacy_generations(manifest)
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


def overlaps(generations: list[Generation]) -> list[tuple[Generation, Generation]]:
    """Pairs of generations of one layer whose ranges overlap."""
    pairs = []
    for i, a in enumerate(generations):
        for b in generations[i + 1 :]:
            if a.layer == b.layer and ranges_overlap(a.ranges, b.ranges):
                pairs.append((a, b))
    return pairs


def narrowed(neighbour: Generation, new_ranges: dict[str, str]) -> dict[str, str] | None:
    """The neighbour's range less ``new_ranges``, still holding its own files' versions.

    Each one-sided bound of the new range gives a candidate (``<3.11`` leaves
    ``>=3.11``); the candidate kept is the one that no longer overlaps the
    new range and still holds every version the neighbour's files were made
    with. ``None`` when there is none or more than one.
    """
    from packaging.specifiers import SpecifierSet

    candidates = []
    for library, spec in new_ranges.items():
        for clause in SpecifierSet(spec):
            flipped = complement(clause)
            if flipped is None:
                continue
            ranges = dict(neighbour.ranges)
            ranges[library] = str(SpecifierSet(ranges.get(library, "")) & SpecifierSet(flipped))
            if ranges_overlap(ranges, new_ranges):
                continue
            made_with = [neighbour.facts(s) or {} for s in neighbour.scenarios]
            if all(range_holds(ranges, facts) for facts in made_with):
                candidates.append(ranges)
    return candidates[0] if len(candidates) == 1 else None


# -- choice ---------------------------------------------------------------------------


def scenarios_with_baselines(generations: list[Generation]) -> list[str]:
    """Scenarios that some generation holds a file for."""
    return list(dict.fromkeys(s for g in generations for s in g.scenarios))


def forced_names(option: list[str] | None = None) -> list[str]:
    """Generations forced by ``--mlp-generation`` (wins) or :data:`GENERATION_ENV`."""
    names = list(option or [])
    if not names:
        names = [n for n in os.environ.get(GENERATION_ENV, "").split(",") if n.strip()]
    return [n.strip() for n in names]


def check_forced(generations: list[Generation], names: list[str]) -> None:
    """A one-line error for a forced name that is not a generation, or two of one layer."""
    known = {g.name: g for g in generations}
    for name in names:
        if name not in known:
            listing = ", ".join(sorted(known)) or "none"
            raise UsageError(f"unknown generation {name!r}; the generations are: {listing}")
    layers = [known[n].layer for n in names]
    for layer in set(layers):
        if layers.count(layer) > 1:
            raise UsageError(f"two {layer} generations forced; force one per layer")


def no_generation_message(layer: str, candidates: list[Generation], versions: dict) -> str:
    """The one line of a layer whose installed versions no declared range holds."""
    libraries = sorted({lib for g in candidates for lib in g.ranges}) or list(
        range_libraries(layer)
    )
    installed = ", ".join(f"{lib} {versions.get(lib, 'not installed')}" for lib in libraries)
    declared = "; ".join(g.label for g in candidates) or "none"
    outside = [
        lib
        for lib in libraries
        if not any(g.holds({**versions, lib: versions.get(lib, "")}) for g in candidates)
        and lib in versions
    ]
    suggested = " ".join(
        f"--range '{lib}=={versions[lib]}'" for lib in (outside or libraries) if lib in versions
    )
    return (
        f"no {layer} generation holds {installed} (declared: {declared}); create one with: "
        f"mlp-weights regen --new-generation {layer}/NAME {suggested} "
        f'--pins requirements/FILE.txt --reason "..."'
    )


class NoGenerationError(MissingBaselineError):
    """No declared range of a layer holds the installed versions."""


def choose(
    generations: list[Generation], layer: str, versions: dict, forced: list[str] = ()
) -> Generation:
    """The generation ``layer`` compares against: the forced one, else the one that holds.

    Raises
    ------
    NoGenerationError
        When the layer has generations but none holds ``versions``.
    MissingBaselineError
        When the layer has no generation at all.
    """
    candidates = [g for g in generations if g.layer == layer]
    for generation in candidates:
        if generation.name in forced:
            return generation
    holding = [g for g in candidates if g.holds(versions)]
    if holding:
        return holding[0]
    if not candidates:
        raise MissingBaselineError(
            f"no {layer} generation in the manifest; create one with: "
            'mlp-weights regen --reason "..."'
        )
    raise NoGenerationError(no_generation_message(layer, candidates, versions))


def chosen_path(
    baseline_dir: str | os.PathLike, layer: str, scenario: str, versions: dict | None = None
) -> Path:
    """The file ``layer`` compares for ``scenario`` with the installed (or given) versions."""
    from mlp_weights.core.environment import library_versions

    generations = read_generations(baseline_dir)
    generation = choose(generations, layer, versions or library_versions(), forced_names())
    return generation.file_path(baseline_dir, scenario)
