"""A stack outside every generation's range: the gap that holds it, and what gates it.

``tox -e oldest`` and ``tox -e upgrade`` meet it first: a new release (or an
old one) that no declared range holds. The verdict then names the
generation to declare (:func:`uncovered`), and the page and ``verdict.md``
give its ``mlp-weights regen --new-generation`` command.
"""

from __future__ import annotations

from pathlib import Path

from mlp_weights.baselines.manifest import Generation
from mlp_weights.baselines.ranges import gap_around, range_holds
from mlp_weights.baselines.store import pins_installing


def uncovered(generations: list[Generation], layer: str, versions: dict, root: Path) -> dict | None:
    """What it takes to gate a stack that no ``layer`` generation holds; ``None`` if one does.

    The library whose installed version every range leaves out, the gap
    between the ranges that holds it, a name for the new generation, and a
    pins file that installs it (``pins_exist`` says whether it is there yet).
    """
    candidates = [g for g in generations if g.layer == layer]
    if any(g.holds(versions) for g in candidates):
        return None
    for library in sorted({lib for g in candidates for lib in g.ranges}):
        version = versions.get(library)
        specs = [g.ranges[library] for g in candidates if library in g.ranges]
        if version is None or any(range_holds({library: s}, versions) for s in specs):
            continue
        spec = gap_around(specs, version)
        pins = pins_installing(root, library, version)
        label = f"{library}-{version}"
        return {
            "layer": layer,
            "library": library,
            "version": version,
            "generation": f"{layer}/{label}",
            "range": f"{library}{spec}" if spec else f"{library}=={version}",
            "pins": pins.relative_to(root).as_posix() if pins else f"requirements/{label}.txt",
            "pins_exist": pins is not None,
        }
    return None
