"""Blame and the verdict: which recorded fact moved when a layer fails.

Everything here is derived from the table of layers
(:data:`mlp_weights.core.layers.LAYERS`):

- a failing layer blames the libraries it depends on whose versions moved
  since the baseline; when none moved, the environment facts it depends on
  that moved (BLAS kernel, FreeType, ...); only when nothing recorded moved
  is the change called local (code or settings);
- a baseline that cannot be read blames nobody: it says so;
- a layer that combines others (the pipeline) takes their blame when they
  ran, and says which to run when they did not; it never guesses.

:func:`build_verdict` turns the records of a run into a :class:`Verdict`,
which :mod:`mlp_weights.report.views` renders as text, Markdown and JSON.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from mlp_weights.core.environment import describe_move
from mlp_weights.core.layers import LAYERS, Layer
from mlp_weights.pipeline.scenarios import SCENARIOS
from mlp_weights.suite.results import FAIL, NOT_RUN, PASS, SKIP, Kind, LayerResult, Move

#: Blamed when a layer failed and no recorded version or fact moved.
LOCAL_CHANGE = "local change"
#: Blamed when the scenario's settings in the code differ from the snapshot's.
SETTINGS = "scenario settings"

_RANK = {FAIL: 3, PASS: 2, SKIP: 1, NOT_RUN: 0}


def moved_facts(layer: Layer, now: dict, then: dict) -> list[Move]:
    """The facts ``layer`` depends on that differ between ``now`` and ``then``.

    A fact the baseline did not record (an older manifest) is unknown, not moved.
    """
    moves = []
    for kind, facts in (("library", layer.libraries), ("environment", layer.environment)):
        for fact in facts:
            if fact in then and now.get(fact) != then[fact]:
                moves.append(Move(fact, kind, now.get(fact), then[fact]))
    return moves


def blame(layer: Layer, kind: Kind | None, now: dict, then: dict | None):
    """``(moves, blamed)`` for one failing layer of one scenario.

    A combined layer is not blamed here: see :func:`combine_blame`.
    """
    if kind is None or kind.baseline_unusable or then is None:
        return [], []
    moves = moved_facts(layer, now, then)
    if layer.combines:
        return moves, []
    if kind is Kind.SETTINGS_CHANGED:
        return moves, [SETTINGS]
    for fact_kind in ("library", "environment"):
        movers = [m.fact for m in moves if m.kind == fact_kind]
        if movers:
            return moves, movers
    return moves, [LOCAL_CHANGE]


def picture_kinds(picture: list | None) -> str:
    """The kinds of a picture's reading in a word or two: ``"resampling"``, ``"layout+shift"``."""
    return "+".join(record["kind"] for record in picture or [])


def describe_amount(layer: dict) -> str:
    """The measured amount in a few words: ``"RMS 12.573"``, ``"weights max rel 3.6e-02"``.

    ``layer`` is a layer's record, as ``verdict.json`` holds it.
    """
    amount = layer.get("amount") or {}
    if amount.get("image_rms") is not None:
        kinds = picture_kinds(layer.get("picture"))
        return f"RMS {amount['image_rms']:.3f}" + (f", {kinds}" if kinds else "")
    if amount.get("size_now") and amount.get("size_baseline"):
        now, then = amount["size_now"], amount["size_baseline"]
        return f"size {now[1]}x{now[0]} px, {then[1]}x{then[0]} in the baseline"
    if amount.get("arrays"):
        differing = [a for a in amount["arrays"] if a["n_differ"]]
        if layer.get("status") != FAIL or not differing:
            worst = max(a["max_rel"] for a in amount["arrays"])
            return f"max rel {worst:.1e}"
        # The weights say most about training; the loss curve and scores follow them.
        by_name = {a["name"]: a for a in differing}
        first = by_name.get("first-layer weights", differing[0])
        return (
            f"{first['name']}: {first['n_differ']} of {first['n_total']} differ, "
            f"max rel {first['max_rel']:.1e}"
        )
    if amount.get("scores") and amount.get("floors"):
        below = [
            f"{part} {amount['scores'][part]:.4f} < {amount['floors'][part]}"
            for part in ("train", "test")
            if amount["scores"][part] < amount["floors"][part]
        ]
        return ", ".join(below) or (
            f"train {amount['scores']['train']:.4f}, test {amount['scores']['test']:.4f}"
        )
    return ""


def layer_numbers(layer: dict) -> tuple[str, float | None, dict]:
    """``(measure, value, arrays)``: the amount of a verdict's layer record, as numbers.

    The numbers behind :func:`describe_amount`, read from ``verdict.json``'s
    layer record (``bisect`` compares them between probes).

    ``measure`` names what ``value`` is: ``"RMS"`` (image), ``"max rel"`` (the
    largest relative error over the training arrays) or ``"test score"``;
    empty, with ``None``, when the record holds no amount. ``arrays`` maps
    each training array's name to its largest relative error.
    """
    amount = layer.get("amount") or {}
    if "image_rms" in amount:
        return "RMS", amount["image_rms"], {}
    if "arrays" in amount:
        arrays = {a["name"]: a["max_rel"] for a in amount["arrays"]}
        # An array of another shape has no relative error (None).
        values = [v for v in arrays.values() if v is not None]
        return "max rel", max(values, default=None), arrays
    if "scores" in amount:
        return "test score", amount["scores"]["test"], {}
    return "", None, {}


def explain(
    result: LayerResult, then_problem: str | None = None, generation: str | None = None
) -> str:
    """The failure text of one test: layer, scenario, amount, what moved, who is blamed.

    ``generation`` describes the baseline generation compared against
    (name, range); it defaults to the record's generation name.
    """
    lines = [f"layer {result.layer!r}, scenario {result.scenario!r}: {result.message}"]
    generation = generation or result.generation
    if generation:
        lines.append(f"baseline generation: {generation}")
    reading = moved_reading(result)
    if reading:
        lines.append(f"what the weights say: {reading}")
    if result.picture:
        # numpy and scipy only when a picture moved: the command line imports this module.
        from mlp_weights.suite.picture import describe as describe_picture

        lines.append(f"how the picture moved: {describe_picture(result.picture)}")
    layer = LAYERS[result.layer]
    if result.kind is not None and result.kind.baseline_unusable:
        if result.kind is Kind.MISSING_BASELINE:
            lines.append("blamed: nobody; there is no baseline to compare with")
        else:
            lines.append("blamed: nobody; the baseline cannot be read, so nothing can be compared")
        return "\n".join(lines)
    if then_problem:
        lines.append(f"versions at the baseline unknown: {then_problem}")
        return "\n".join(lines)
    if result.moved:
        lines.append(
            "moved: " + "; ".join(describe_move(m.fact, m.now, m.then) for m in result.moved)
        )
    else:
        lines.append("nothing recorded moved: same versions and environment as the baseline")
    if layer.combines:
        lines.append(
            f"blamed: see the {' and '.join(layer.combines)} layers of this scenario, "
            "which tell which part moved"
        )
    else:
        lines.append("blamed: " + ", ".join(result.blamed))
    return "\n".join(lines)


@dataclass
class ScenarioVerdict:
    """Every applicable layer of one scenario, and one line saying what moved."""

    scenario: str
    layers: list[LayerResult]
    baseline: dict | None
    baseline_problem: str | None
    line: str = ""


@dataclass
class Verdict:
    """The verdict of one run: one :class:`ScenarioVerdict` per scenario that ran."""

    scenarios: list[ScenarioVerdict]
    now: dict
    layers_run: list[str] = field(default_factory=list)
    #: The baseline generations compared against, by name: ``layer``,
    #: ``range`` (as text), ``pins`` and whether it was ``forced``.
    generations: dict = field(default_factory=dict)
    #: Layers no generation holds on this stack, and the generation that would
    #: gate it (:func:`mlp_weights.baselines.gaps.uncovered`).
    uncovered: list = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {PASS: 0, FAIL: 0, SKIP: 0, NOT_RUN: 0}
        for result in (r for s in self.scenarios for r in s.layers):
            counts[result.status] += 1
        return counts


def layer_command(layers, scenario: str) -> str:
    """The pytest command that runs ``layers`` for one scenario."""
    expression = " or ".join(layers)
    return f"pytest -m {shlex.quote(expression)} -k {shlex.quote(scenario)}"


def combine_blame(result: LayerResult, cells: dict[str, LayerResult]) -> str:
    """Blame a failed combined layer from the layers it combines; its verdict phrase."""
    parts = [cells[name] for name in LAYERS[result.layer].combines]
    missing = [p.layer for p in parts if p.status not in (PASS, FAIL)]
    if missing:
        result.blamed = []
        return (
            f"{result.layer} moved but {' and '.join(missing)} did not run, so which part "
            f"moved is not known; run: {layer_command(missing, result.scenario)}"
        )
    failed = [p for p in parts if p.status == FAIL]
    if not failed:
        result.blamed = []
        held = " and ".join(p.layer for p in parts)
        return (
            f"{result.layer} moved while {held} hold: the baseline image and snapshot "
            "disagree; regenerate them together"
        )
    result.blamed = list(dict.fromkeys(b for p in failed for b in p.blamed))
    return ""


def _failure_phrase(result: LayerResult) -> str:
    """A failed layer's phrase, with what the weights say when training moved."""
    if result.kind is Kind.MISSING_BASELINE:
        return f"{result.layer} baseline missing"
    if result.kind is Kind.DAMAGED_BASELINE:
        return f"{result.layer} baseline damaged"
    if result.kind is Kind.SETTINGS_CHANGED:
        phrase = f"{result.layer}: scenario settings changed since the baseline"
    else:
        verb = {
            Kind.MOVED: "moved",
            Kind.BELOW_FLOOR: "below floor",
            Kind.ERROR: "raised an error",
        }[result.kind]
        amount = describe_amount(result.to_dict())
        who = ", ".join(result.blamed) if result.blamed else "versions at the baseline unknown"
        phrase = f"{result.layer} {verb}{' (' + amount + ')' if amount else ''}, blamed: {who}"
    reading = moved_reading(result)
    return f"{phrase}; {reading}" if reading else phrase


def moved_reading(result: LayerResult) -> str:
    """What the weight diagnostics say of a training change; empty when it did not move."""
    if result.kind not in (Kind.MOVED, Kind.SETTINGS_CHANGED):
        return ""
    return (result.diagnostics or {}).get("reading") or ""


def scenario_line(verdict: ScenarioVerdict) -> str:
    """One line per scenario: what moved and who is to blame, or what holds."""
    cells = {r.layer: r for r in verdict.layers}
    phrases = []
    for result in verdict.layers:
        if result.status != FAIL:
            continue
        if LAYERS[result.layer].combines:
            phrase = combine_blame(result, cells)
            if phrase:
                phrases.append(phrase)
            continue
        phrases.append(_failure_phrase(result))
    if verdict.baseline_problem:
        phrases.append(f"baseline versions unknown ({verdict.baseline_problem})")
    ran = [r.layer for r in verdict.layers if r.status in (PASS, FAIL)]
    if any(r.status == FAIL for r in verdict.layers):
        return "; ".join(phrases)
    if not ran:
        return "skipped" if any(r.status == SKIP for r in verdict.layers) else "not run"
    not_ran = [r.layer for r in verdict.layers if r.status not in (PASS, FAIL)]
    if not not_ran:
        line = "all layers hold"
    else:
        line = f"{', '.join(ran)} hold; not run: {', '.join(not_ran)}"
    return "; ".join([line] + phrases)


def build_verdict(
    records: list[LayerResult],
    baselines: dict[str, tuple[dict | None, str | None]],
    now: dict,
    generations: dict | None = None,
    uncovered: list | None = None,
) -> Verdict:
    """Aggregate a run's records into a verdict.

    Parameters
    ----------
    records : list of LayerResult
        One per finished layer test (several for one cell keep the worst).
    baselines : dict
        Per scenario, ``(facts, problem)``: the manifest's recorded facts,
        or ``None`` with the reason they cannot be read.
    now : dict
        The facts in use now.
    generations : dict, optional
        The generations compared against (see :attr:`Verdict.generations`).
    uncovered : list, optional
        Layers no generation holds (see :attr:`Verdict.uncovered`).
    """
    cells: dict[tuple[str, str], LayerResult] = {}
    for record in records:
        key = (record.scenario, record.layer)
        if key not in cells or _RANK[record.status] > _RANK[cells[key].status]:
            cells[key] = record
    present = {s for s, _ in cells}
    scenarios = []
    for name in [s for s in SCENARIOS if s in present] + sorted(present - set(SCENARIOS)):
        layers = [
            cells.get((name, layer.name)) or LayerResult(layer.name, name, NOT_RUN)
            for layer in LAYERS.values()
            if layer.applies_to(name) or (name, layer.name) in cells
        ]
        facts, problem = baselines.get(name, (None, None))
        verdict = ScenarioVerdict(name, layers, facts, problem)
        verdict.line = scenario_line(verdict)
        scenarios.append(verdict)
    ran = {layer for (_, layer), r in cells.items() if r.status in (PASS, FAIL)}
    used = {r.generation for r in cells.values() if r.generation}
    chosen = {k: v for k, v in (generations or {}).items() if k in used}
    return Verdict(
        scenarios, now, [layer for layer in LAYERS if layer in ran], chosen, uncovered or []
    )
