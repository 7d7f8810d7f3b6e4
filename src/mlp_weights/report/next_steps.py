"""What to run next after a failing verdict: exact commands to copy, never run for you.

Read from the ``verdict.json`` record alone, so that ``verdict.md``, the
page and ``mlp-weights report`` on a folder from CI give the same steps:

- **accept**: ``mlp-weights regen`` for the generation and layer that failed;
- **find the release**: ``mlp-weights bisect`` for each library that moved;
- **keep the old stack gated**: ``regen --new-generation`` when the installed
  version falls outside every generation's range (the record's ``uncovered``).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from mlp_weights.core.layers import LAYERS

#: The layers whose stored files ``regen`` rewrites; the pipeline layer
#: compares a fresh fit's drawing with the rendering generation's image.
STORED_LAYERS = ("training", "rendering")
#: Libraries ``mlp-weights bisect`` can search.
BISECTABLE = ("scikit-learn", "matplotlib", "numpy")
#: Failures that a new baseline can accept (a damaged file is restored, not accepted).
ACCEPTABLE_KINDS = ("moved", "settings-changed")


@dataclass(frozen=True)
class Step:
    """One thing to do next: what it is for, the command, and why this one."""

    action: str
    command: str
    why: str


def _failed_layers(record: dict):
    for scenario in record.get("scenarios", []):
        for layer in scenario.get("layers", []):
            if layer.get("status") == "fail":
                yield scenario["scenario"], layer


def _stored_layer(layer: dict) -> str | None:
    """The stored layer whose baseline a failure would be accepted into."""
    generation = layer.get("generation") or ""
    stored = generation.split("/", 1)[0] if generation else layer.get("layer")
    return stored if stored in STORED_LAYERS else None


def _moved_libraries(layer: dict) -> list[tuple[str, str, str]]:
    """``(library, then, now)`` for each blamed library a bisect can search.

    A layer that combines others (the pipeline) blames through them, so it
    names no library of its own here.
    """
    if LAYERS.get(layer.get("layer")) is None or LAYERS[layer["layer"]].combines:
        return []
    blamed = set(layer.get("blamed") or [])
    return [
        (m["fact"], m.get("then") or "", m.get("now") or "")
        for m in layer.get("moved", [])
        if m.get("kind") == "library" and m.get("fact") in BISECTABLE and m["fact"] in blamed
    ]


def _reason(layer: str, moved: list[tuple[str, str, str]]) -> str:
    if moved:
        changes = ", ".join(f"{lib} {now} (baseline {then})" for lib, then, now in moved)
        return f"accept the {layer} of {changes}"
    return f"accept the new {layer} baselines"


def accept_steps(record: dict) -> list[Step]:
    """One ``regen`` per failed generation and layer, naming the scenarios that failed."""
    wanted: dict[tuple[str, str], dict] = {}
    for scenario, layer in _failed_layers(record):
        stored = _stored_layer(layer)
        if layer.get("kind") not in ACCEPTABLE_KINDS or stored is None:
            continue
        entry = wanted.setdefault(
            (layer.get("generation") or "", stored), {"scenarios": [], "moved": [], "reading": []}
        )
        if scenario not in entry["scenarios"]:
            entry["scenarios"].append(scenario)
        reading = (layer.get("diagnostics") or {}).get("reading")
        if stored == "training" and reading:
            entry["reading"].append(f"{scenario}: {reading}")
        entry["moved"] += [m for m in _moved_libraries(layer) if m not in entry["moved"]]
    steps = []
    for (generation, stored), entry in wanted.items():
        argv = ["mlp-weights", "regen"]
        if generation:
            argv += ["--generation", generation]
        argv += ["--layer", stored]
        for scenario in entry["scenarios"]:
            argv += ["--scenario", scenario]
        argv += ["--reason", _reason(stored, entry["moved"])]
        pins = record.get("generations", {}).get(generation, {}).get("pins")
        why = f"write today's {stored} " + (f"into {generation}" if generation else "baselines")
        if entry["reading"]:
            why = "the weights say " + "; ".join(entry["reading"]) + "; if that is right, " + why
        if pins:
            why += f"; regen refuses unless the installed stack matches {pins}"
        steps.append(Step("accept", shlex.join(argv), why))
    return steps


def bisect_steps(record: dict) -> list[Step]:
    """One ``bisect`` per library that moved under a failed layer."""
    seen: dict[str, tuple[str, str]] = {}
    for _, layer in _failed_layers(record):
        for library, then, now in _moved_libraries(layer):
            if then and now:
                seen.setdefault(library, (then, now))
    return [
        Step(
            "find the release",
            shlex.join(["mlp-weights", "bisect", library, "--good", then, "--bad", now]),
            f"which release of {library} between {then} and {now} moved it",
        )
        for library, (then, now) in seen.items()
    ]


def gated_steps(record: dict) -> list[Step]:
    """``--new-generation`` for each layer whose installed version no range holds."""
    steps = []
    for gap in record.get("uncovered", []):
        argv = ["mlp-weights", "regen", "--new-generation", gap["generation"]]
        argv += ["--range", gap["range"], "--pins", gap["pins"]]
        argv += ["--reason", f"gate {gap['library']} {gap['version']} with its own baselines"]
        why = f"no {gap['layer']} generation holds {gap['library']} {gap['version']}"
        if gap.get("pins_exist", True):
            why += f"; {gap['pins']} installs it"
        else:
            why += (
                f"; make {gap['pins']} first: a copy of requirements/pinned.txt with "
                f"{gap['library']}=={gap['version']}, and the stack it needs"
            )
        steps.append(Step("keep the old stack gated", shlex.join(argv), why))
    return steps


def next_steps(record: dict) -> list[Step]:
    """Every step, in the order a maintainer takes them; empty when nothing failed."""
    return accept_steps(record) + bisect_steps(record) + gated_steps(record)


def steps_markdown(steps: list[Step]) -> list[str]:
    """The steps as Markdown lines: a heading, then each command in a code block."""
    if not steps:
        return []
    lines = ["### What to do next", ""]
    for step in steps:
        lines += [f"**{step.action}**: {step.why}.", "", "```bash", step.command, "```", ""]
    return lines
