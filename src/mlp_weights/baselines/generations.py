"""Which baseline generation each layer compares with.

Every layer test compares against the generation (:mod:`mlp_weights.baselines.manifest`)
whose range holds the installed versions; ``--mlp-generation`` or
:data:`GENERATION_ENV` forces one. Ranges of one layer never overlap, so at
most one holds; when none does, the layer fails with
:func:`no_generation_message`, and no other generation is tried.

Ranges are version specifiers read by :mod:`packaging` (as pip reads them).
Python and the platform are kept out of them: the same files hold across
Python 3.10 to 3.13, and machine facts are blamed, not selected by.
"""

from __future__ import annotations

import os
from pathlib import Path

from packaging.specifiers import SpecifierSet

from mlp_weights.baselines.manifest import GENERATION_LAYERS, Generation, read_generations
from mlp_weights.baselines.ranges import complement, range_holds, range_libraries, ranges_overlap
from mlp_weights.core.environment import library_versions
from mlp_weights.core.errors import BaselineError, MissingBaselineError, UsageError

#: Forces generations by name (comma-separated), as ``--mlp-generation`` does;
#: a bisect probe's environment passes it through.
GENERATION_ENV = "MLP_WEIGHTS_GENERATION"
#: The generation layer whose files each layer compares: the pipeline compares
#: the rendering layer's image; scores and seed compare no stored file.
COMPARES_FILES_OF = {"training": "training", "rendering": "rendering", "pipeline": "rendering"}


def narrowed(neighbour: Generation, new_ranges: dict[str, str]) -> dict[str, str] | None:
    """The neighbour's range less ``new_ranges``, still holding its own files' versions.

    Each one-sided bound of the new range gives a candidate (``<3.11`` leaves
    ``>=3.11``); the candidate kept is the one that no longer overlaps the
    new range and still holds every version the neighbour's files were made
    with. ``None`` when there is none or more than one.
    """
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


def scenarios_with_baselines(generations: list[Generation]) -> list[str]:
    """Scenarios that some generation holds a file for."""
    return list(dict.fromkeys(s for g in generations for s in g.scenarios))


def forced_names(option: list[str] | None = None) -> list[str]:
    """Generations forced by ``--mlp-generation`` (wins) or :data:`GENERATION_ENV`."""
    names = option or os.environ.get(GENERATION_ENV, "").split(",")
    return [n.strip() for n in names if n.strip()]


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
    # No candidate holds the installed versions: each installed library is suggested.
    suggested = " ".join(
        f"--range '{lib}=={versions[lib]}'" for lib in libraries if lib in versions
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
    forced_here = [g for g in candidates if g.name in forced]
    holding = forced_here or [g for g in candidates if g.holds(versions)]
    if holding:
        return holding[0]
    if not candidates:
        raise MissingBaselineError(
            f"no {layer} generation in the manifest; create one with: "
            'mlp-weights regen --reason "..."'
        )
    raise NoGenerationError(no_generation_message(layer, candidates, versions))


def chosen_path(baseline_dir: str | os.PathLike, layer: str, scenario: str) -> Path:
    """The file ``layer`` compares for ``scenario`` with the installed versions.

    A folder without a readable manifest, or without a generation for this
    stack, gives ``<baseline_dir>/<scenario>`` with the layer's suffix.
    """
    try:
        generations = read_generations(baseline_dir)
        generation = choose(generations, layer, library_versions(), forced_names())
    except BaselineError:
        return Path(baseline_dir) / f"{scenario}{GENERATION_LAYERS[layer][1]}"
    return generation.file_path(baseline_dir, scenario)
