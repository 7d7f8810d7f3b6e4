"""``mlp-weights regen``: the deliberate rewrite of one generation per layer.

For each layer it writes (training snapshots, rendering images), regen
picks a generation (:mod:`mlp_weights.baselines.generations`): the one the installed
versions select, the one named by ``--generation``, or a new one declared
with ``--new-generation NAME --range SPEC --pins FILE``, whose neighbour's
range is narrowed in the same write. It refuses a stack other than the
generation's pins file, or outside its range; keeps every file whose
content would not change; and replaces nothing unless every scenario
succeeded.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlp_weights.baselines.decide import FileDecision, RegenReport, decide_image, decide_snapshot
from mlp_weights.baselines.generations import choose, narrowed
from mlp_weights.baselines.manifest import (
    FIRST_LABEL,
    GENERATION_LAYERS,
    Generation,
    environment_versions,
    make_entry,
    manifest_bytes,
    manifest_path,
    now_iso,
    read_generations,
    split_name,
)
from mlp_weights.baselines.ranges import parse_range, ranges_overlap
from mlp_weights.baselines.snapshot import load_snapshot
from mlp_weights.baselines.store import (
    DEFAULT_PINNED_FILE,
    REGEN_LAYERS,
    generation_pins,
    image_path,
    relative_pins,
    unpinned_libraries,
)
from mlp_weights.core.environment import library_versions
from mlp_weights.core.errors import MLPWeightsError, UsageError
from mlp_weights.core.io import atomic_write_bytes
from mlp_weights.pipeline.scenarios import Scenario


@dataclass
class GenerationRequest:
    """Which generation to write: the one selected, a named one, or a new one."""

    name: str | None = None
    new_name: str | None = None
    ranges: list[str] = field(default_factory=list)
    pins: str | None = None


def _outside(generation: Generation, versions: dict) -> MLPWeightsError:
    installed = ", ".join(f"{lib} {versions.get(lib)}" for lib in sorted(generation.ranges))
    return MLPWeightsError(
        f"refusing to regenerate {generation.label} on {installed}, outside its range; "
        f"install its pins ({generation.pins or DEFAULT_PINNED_FILE}) or choose the "
        "generation this stack selects (leave out --generation)"
    )


def declare_generation(generations, request: GenerationRequest, versions, reason, baseline_dir):
    """A new generation, and the names of it and its narrowed neighbours; bad input in one line."""
    layer, _ = split_name(request.new_name)
    if any(g.name == request.new_name for g in generations):
        raise UsageError(
            f"generation {request.new_name} already exists; rewrite it with "
            f"--generation {request.new_name}, or choose another name"
        )
    if not request.ranges:
        raise UsageError("--new-generation needs --range, e.g. --range 'matplotlib<3.11'")
    if not request.pins:
        raise UsageError("--new-generation needs --pins, the requirements file it is made from")
    ranges = parse_range(request.ranges, layer)
    new = Generation(
        request.new_name,
        layer,
        ranges,
        pins=relative_pins(Path(request.pins), baseline_dir),
        declared={"created": now_iso(), "reason": (reason or "").strip()},
    )
    if not new.holds(versions):
        raise _outside(new, versions)
    changed = {new.name}
    for old in generations:
        if old.layer != layer or not ranges_overlap(old.ranges, ranges):
            continue
        narrower = narrowed(old, ranges)
        if narrower is None:
            raise UsageError(
                f"--range {new.range_text} overlaps {old.label} and cannot narrow it while "
                "it still holds the versions its files were made with; give a one-sided range"
            )
        old.ranges = narrower
        old.declared = {**old.declared, "narrowed": now_iso(), "narrowed_for": new.name}
        changed.add(old.name)
    return new, changed


def plan_targets(generations, layers, request: GenerationRequest, versions, reason, baseline_dir):
    """``{layer: generation}`` to write, and the names of the generations declared or narrowed."""
    if request.new_name:
        new, changed = declare_generation(generations, request, versions, reason, baseline_dir)
        generations.append(new)
        return {new.layer: new}, changed
    if request.name:
        found = [g for g in generations if g.name == request.name]
        if not found:
            listing = ", ".join(g.name for g in generations) or "none"
            raise UsageError(f"unknown generation {request.name!r}; the generations are: {listing}")
        if not found[0].holds(versions):
            raise _outside(found[0], versions)
        return {found[0].layer: found[0]}, set()
    return {layer: _chosen_or_first(generations, layer, versions) for layer in layers}, set()


def _chosen_or_first(generations, layer, versions) -> Generation:
    """The generation of ``layer`` this stack selects; in a folder without one, its first.

    A rendering-only regen in such a folder then finds no snapshot to draw,
    and fails in one line naming the file.
    """
    if not any(g.layer == layer for g in generations):
        generations.append(Generation(f"{layer}/{FIRST_LABEL}", layer))
    return choose(generations, layer, versions)


def regenerate(
    scenarios: list[Scenario],
    baseline_dir: str | os.PathLike,
    reason: str | None,
    data_home: str | os.PathLike | None = None,
    verbose: bool = True,
    layers: tuple[str, ...] = REGEN_LAYERS,
    dry_run: bool = False,
    allow_unpinned: bool = False,
    pinned_file: str | os.PathLike | None = None,
    generation: GenerationRequest | None = None,
) -> RegenReport:
    """Regenerate the chosen layers' baseline files of each scenario, one generation a layer.

    Parameters
    ----------
    scenarios : list of Scenario
    baseline_dir : path
    reason : str
        Why the baselines change; recorded in the manifest. Optional for a
        dry run.
    data_home : path, optional
    verbose : bool
        Print training output.
    layers : tuple of str
        ``"training"`` refits and rewrites snapshots only; ``"rendering"``
        redraws images from the stored snapshots' weights (what the
        rendering layer compares) and trains nothing. A named or new
        generation sets its own layer.
    dry_run : bool
        Compute and report everything, write nothing.
    allow_unpinned : bool
        Run although the installed libraries differ from the pins; the
        manifest entries record it.
    pinned_file : path, optional
        Default: :func:`generation_pins`.
    generation : GenerationRequest, optional
        A generation to rewrite or to create; default: per layer, the one
        the installed versions select.

    Returns
    -------
    RegenReport
        Every file rewritten (or, in a dry run, that would be) and kept, why.

    Notes
    -----
    Everything is computed first; files are replaced only once every
    scenario succeeded, so a failure leaves the old baselines untouched.
    """
    request = generation or GenerationRequest()
    _check_request(reason, layers, dry_run, request)
    baseline_dir = Path(baseline_dir)
    if baseline_dir.exists() and not baseline_dir.is_dir():
        raise UsageError(f"baseline folder {str(baseline_dir)!r} is a file")
    generations = read_generations(baseline_dir, missing_ok=True)
    versions = library_versions()
    targets, changed = plan_targets(generations, layers, request, versions, reason, baseline_dir)
    report = RegenReport(dry_run=dry_run)
    mismatches = _check_pins(
        targets, baseline_dir, pinned_file, versions, allow_unpinned, dry_run, report
    )
    source = targets.get("training") or _chosen_or_first(generations, "training", versions)
    for scenario in scenarios:
        decisions = _regenerate_scenario(
            scenario, baseline_dir, targets, source, data_home, verbose, report
        )
        report.decisions += decisions.values()
        for target in targets.values():
            entry = _manifest_entry(
                target, scenario, decisions[target.layer], reason, allow_unpinned, mismatches
            )
            if entry is not None:
                target.scenarios[scenario.name] = entry
                changed.add(target.name)
    if changed:
        why = "generations " + ", ".join(sorted(changed)) + " updated"
        content = manifest_bytes(generations)
    else:
        why, content = "every entry already describes this stack", None
    report.decisions.append(FileDecision(manifest_path(baseline_dir), bool(changed), why, content))
    # The manifest last: it describes the files written before it.
    if not dry_run:
        for decision in report.decisions:
            if decision.content is not None:
                decision.path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(decision.path, decision.content)
    return report


def _check_request(reason, layers, dry_run, request: GenerationRequest) -> None:
    if not dry_run and (not reason or not reason.strip()):
        raise UsageError(
            'regen needs --reason "why the baselines change" (it goes in the manifest)'
        )
    if request.name and request.new_name:
        raise UsageError("give --generation or --new-generation, not both")
    if (request.ranges or request.pins) and not request.new_name:
        raise UsageError("--range and --pins declare a new generation: add --new-generation NAME")
    named = request.name or request.new_name
    if named:
        layer, _ = split_name(named)
        if layers != REGEN_LAYERS and layers != (layer,):
            raise UsageError(f"{named} is a {layer} generation; leave out --layer")


def _check_pins(targets, baseline_dir, explicit, versions, allow_unpinned, dry_run, report):
    """Each target's pins against the installed stack; the mismatches, once each.

    Refuses a stack other than the pinned one, unless allowed or only a dry
    run. Allowed, pins that cannot be found or read are one more mismatch
    (recorded in the manifest), not an error: nothing is pinned then, and
    the pins are None when not even their path is known.
    """
    mismatches = []
    for target in targets.values():
        pins = None
        try:
            pins = generation_pins(target, baseline_dir, explicit)
            found = unpinned_libraries(pins, versions)
        except MLPWeightsError as exc:
            if not allow_unpinned:
                raise
            found = [f"no pins could be read from {pins}" if pins else f"no pins: {exc}"]
        if found and not allow_unpinned and not dry_run:
            raise MLPWeightsError(
                f"refusing to regenerate baselines {target.name} on an unpinned stack: "
                + "; ".join(found)
                + " (install the pins, e.g. tox -e regen, or pass --allow-unpinned)"
            )
        if target.pins is None and pins is not None:
            target.pins = relative_pins(pins, baseline_dir)
        report.generations.append(f"{target.label}, pins {pins}")
        mismatches += [m for m in found if m not in mismatches]
    if mismatches and dry_run and not allow_unpinned:
        report.notes.append(
            "a real run would refuse: " + "; ".join(mismatches) + " (or pass --allow-unpinned)"
        )
    return mismatches


def _regenerate_scenario(scenario, baseline_dir, targets, source, data_home, verbose, report):
    """The decision for one scenario's file in each target generation, by layer."""
    decisions = {}
    snap_file = source.file_path(baseline_dir, scenario.name)
    if "training" in targets:
        from mlp_weights.pipeline.data import load_dataset
        from mlp_weights.pipeline.training import format_scores, train

        if verbose:
            print(f"== {scenario.name}: training", file=sys.stderr)
        dataset = load_dataset(scenario, data_home)
        result = train(scenario, dataset, verbose=verbose)
        if verbose:
            print(format_scores(result))
        decisions["training"], snapshot = decide_snapshot(snap_file, scenario, result)
    else:
        # The rendering layer draws the stored weights: so does its regeneration.
        snapshot = load_snapshot(snap_file, scenario.name)
    if "rendering" in targets:
        png_file = targets["rendering"].file_path(baseline_dir, scenario.name)
        decisions["rendering"] = decide_image(png_file, scenario, snapshot.coefs)
    elif decisions["training"].rewrite:
        _note_stale_image(scenario, baseline_dir, snapshot, report)
    return decisions


def _note_stale_image(scenario, baseline_dir, snapshot, report) -> None:
    """After a snapshot rewrite alone: say when the selected image no longer matches it."""
    png_file = image_path(baseline_dir, scenario.name)
    if not png_file.exists():
        return
    check = decide_image(png_file, scenario, snapshot.coefs)
    if check.rewrite:
        report.notes.append(
            f"{png_file} was drawn from the old snapshot and no longer matches the new "
            f"weights ({check.why}); redraw it with: mlp-weights regen --layer rendering "
            f'--scenario {scenario.name} --reason "..."'
        )


def _manifest_entry(target, scenario, decision, reason, allow_unpinned, mismatches):
    """The scenario's new entry in ``target``, or None when the old one still holds.

    The entry records the versions and environment of this run whenever a
    file was rewritten, or when every file was kept but the entry names
    another stack (the kept files were just verified against this one).
    """
    then = target.facts(scenario.name)
    if then is not None and not decision.rewrite:
        if all(then.get(key) == value for key, value in environment_versions().items()):
            return None
    kind, _ = GENERATION_LAYERS[target.layer]
    entry = make_entry(
        (reason or "").strip(), {kind: target.file_name(scenario.name)}, pins=target.pins
    )
    entry["regenerated"] = {
        "layers": [target.layer],
        "rewritten": [decision.path.name] if decision.rewrite else [],
        "kept": [] if decision.rewrite else [decision.path.name],
    }
    if allow_unpinned:
        entry["allow_unpinned"] = True
        entry["unpinned"] = list(mismatches)
    return entry
