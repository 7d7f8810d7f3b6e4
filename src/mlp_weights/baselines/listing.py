"""``mlp-weights generations``: the generations, what selects each, and their problems.

For each generation: its layer, range, files and provenance, and which pins
files of the project (:data:`~mlp_weights.baselines.store.PINS_GLOB`) select
it. Problems, each one line: a pins file that no
generation of a layer covers, overlapping ranges, a generation no pins file
selects (it can be retired), a manifest entry whose file is missing.
"""

from __future__ import annotations

from pathlib import Path

from mlp_weights.baselines.manifest import (
    GENERATION_LAYERS,
    Generation,
    overlaps,
    read_generations,
)
from mlp_weights.baselines.store import PINS_GLOB, project_root, read_pins
from mlp_weights.core.table import format_table

#: The provenance facts shown for each generation, in this order.
PROVENANCE = ("python", "scikit-learn", "matplotlib", "numpy", "freetype", "platform")
COLUMNS = ("generation", "layer", "range", "files", "pins", "selected by")


def provenance_line(generation: Generation) -> str:
    """When, from which pins, with which versions and why the generation's files were made."""
    entries = list(generation.scenarios.values())
    if not entries:
        return f"{generation.name}: no files yet"
    facts = generation.facts(next(iter(generation.scenarios))) or {}
    stack = ", ".join(f"{k} {facts[k]}" for k in PROVENANCE if k in facts)
    created = max(str(e.get("created", "?")) for e in entries)[:10]
    reasons = "; ".join(dict.fromkeys(str(e.get("reason", "")) for e in entries))
    pins = generation.pins or "pins not recorded"
    return f"{generation.name}: made {created} from {pins} with {stack}: {reasons}"


def find_problems(generations, pins, selected, root: Path, baseline_dir: Path) -> list[str]:
    """One line per problem; empty when the folder is sound.

    ``selected`` gives, by generation name, the pins files that select it.
    """
    problems = [
        f"the ranges of {a.label} and {b.label} overlap; narrow one"
        for a, b in overlaps(generations)
    ]
    for layer in dict.fromkeys(g.layer for g in generations):
        own = [g for g in generations if g.layer == layer]
        for path, pinned in pins.items():
            if not any(g.holds(pinned) for g in own):
                problems.append(
                    f"{path} falls in no {layer} generation "
                    f"({'; '.join(g.label for g in own)}); declare one with: mlp-weights regen "
                    f"--new-generation {layer}/NAME --range SPEC --pins {path}"
                )
    for generation in generations:
        if not selected[generation.name]:
            problems.append(
                f"no pins file selects {generation.label}: it can be retired (remove its "
                "entry from manifest.json and its folder)"
            )
        if generation.pins and not (root / generation.pins).is_file():
            problems.append(f"{generation.name} was made from {generation.pins}, which is missing")
        for scenario in generation.scenarios:
            path = generation.file_path(baseline_dir, scenario)
            if not path.is_file():
                problems.append(f"{generation.name}: the manifest lists {path}, which is missing")
    return problems


def generations_report(baseline_dir: Path) -> tuple[list[str], list[str]]:
    """The lines ``mlp-weights generations`` prints, and the problems found."""
    root = project_root(baseline_dir)
    order = list(GENERATION_LAYERS)
    generations = sorted(
        read_generations(baseline_dir, check=False),
        key=lambda g: (order.index(g.layer), g.name),
    )
    pins = {p.relative_to(root).as_posix(): read_pins(p) for p in sorted(root.glob(PINS_GLOB))}
    # By generation, the pins files whose versions fall in its range.
    selected = {g.name: [p for p, pinned in pins.items() if g.holds(pinned)] for g in generations}
    rows = []
    for g in generations:
        files = sorted(g.file_name(s) for s in g.scenarios)
        rows.append(
            (
                g.name,
                g.layer,
                g.range_text,
                ", ".join(files) or "-",
                g.pins or "-",
                ", ".join(selected[g.name]) or "-",
            )
        )
    lines = [f"generations in {baseline_dir}", "", format_table(COLUMNS, rows, rule=True), ""]
    lines += [provenance_line(g) for g in generations]
    return lines, find_problems(generations, pins, selected, root, baseline_dir)
