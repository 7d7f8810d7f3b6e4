"""Blame: which library moved when a layer fails, and the end-of-run table.

Each layer depends on a known set of libraries. When a layer fails, the
libraries whose versions differ from the manifest's are named; when none
differ, the change is local (code, settings or machine) and that is said.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Layers of the suite, in report order.
LAYERS = ("training", "rendering", "pipeline", "scores", "seed")

#: What each layer exercises; the first is blamed when versions did not move.
LAYER_LIBRARIES = {
    "training": ("scikit-learn", "numpy", "blas", "python"),
    "scores": ("scikit-learn", "numpy", "blas", "python"),
    "seed": ("scikit-learn", "numpy", "blas", "python"),
    "rendering": ("matplotlib", "numpy"),
    "pipeline": ("scikit-learn", "matplotlib", "numpy", "blas", "python"),
}


def changed_versions(layer: str, now: dict, then: dict) -> list[str]:
    """``"matplotlib 3.11.2 now, 3.10.0 when the baseline was made"`` for each mover."""
    return [
        f"{lib} {now.get(lib, '?')} now, {then.get(lib, '?')} when the baseline was made"
        for lib in LAYER_LIBRARIES[layer]
        if now.get(lib) != then.get(lib)
    ]


def blame(layer: str, now: dict, then: dict | None) -> str:
    """The short name of the library to blame for a failing layer."""
    if then is None:
        return "no baseline"
    movers = [lib for lib in LAYER_LIBRARIES[layer] if now.get(lib) != then.get(lib)]
    if layer == "pipeline":
        # The pipeline mixes both; the training and rendering rows split it.
        return " or ".join(movers) if movers else "local change"
    if movers:
        return ", ".join(movers)
    return f"{LAYER_LIBRARIES[layer][0]} (same version; local change)"


def explain(layer: str, scenario: str, detail: str, now: dict, then: dict | None) -> str:
    """The failure text: layer, scenario, how far it moved, versions now vs then."""
    lines = [f"layer {layer!r}, scenario {scenario!r}: {detail}"]
    if then is None:
        lines.append("no manifest entry to compare versions with")
    else:
        moved = changed_versions(layer, now, then)
        if moved:
            lines.append("versions moved: " + "; ".join(moved))
        else:
            libs = ", ".join(f"{lib} {now.get(lib, '?')}" for lib in LAYER_LIBRARIES[layer][:2])
            lines.append(
                f"same versions as the baseline ({libs}): the change is local "
                "(code, settings or machine), not an upgrade"
            )
        lines.append(f"blamed: {blame(layer, now, then)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Outcome:
    scenario: str
    layer: str
    status: str  # "pass", "FAIL", "skip"
    blamed: str = ""


def scenario_verdict(outcomes: list[Outcome]) -> str:
    """One line saying which library moved, from a scenario's layer outcomes."""
    by_layer = {o.layer: o for o in outcomes}
    failed = [o for o in outcomes if o.status == "FAIL"]
    if not failed:
        if all(o.status == "skip" for o in outcomes):
            return "skipped"
        return "all layers hold"
    training = by_layer.get("training")
    rendering = by_layer.get("rendering")
    parts = []
    if training and training.status == "FAIL":
        parts.append(f"training moved ({training.blamed})")
    if rendering and rendering.status == "FAIL":
        parts.append(f"rendering moved ({rendering.blamed})")
    if not parts:
        names = ", ".join(o.layer for o in failed)
        if training and rendering and training.status == rendering.status == "pass":
            return (
                f"{names} failed while training and rendering hold: "
                "the baseline image and snapshot disagree; regenerate them together"
            )
        return f"{names} failed"
    return "; ".join(parts)


def format_table(outcomes: list[Outcome]) -> list[str]:
    """Rows of the end-of-run table: scenario, layer, result, blamed library."""
    if not outcomes:
        return []
    scenarios = list(dict.fromkeys(o.scenario for o in outcomes))
    rows = [("scenario", "layer", "result", "blamed")]
    verdicts = []
    for scenario in scenarios:
        mine = [o for o in outcomes if o.scenario == scenario]
        for layer in LAYERS + tuple(sorted({o.layer for o in mine} - set(LAYERS))):
            for o in mine:
                if o.layer == layer:
                    rows.append((scenario, layer, o.status, o.blamed if o.status == "FAIL" else ""))
        verdicts.append(f"{scenario}: {scenario_verdict(mine)}")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines + [""] + verdicts
