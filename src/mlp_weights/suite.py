"""The regression suite's logic, shared by ``tests/`` and importable on its own.

The test files are thin: they ask this module for a fresh fit, a figure or
a comparison, and the pytest hooks in ``tests/conftest.py`` call
:func:`layer_report` and :func:`summary_lines` to blame and tabulate.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

from .baselines import DEFAULT_BASELINE_DIR, image_path, resolve_baseline_dir, snapshot_path
from .errors import BaselineError, MLPWeightsError
from .manifest import environment_versions, scenario_entry
from .plot import SAVEFIG_KWARGS, STYLE, render_weights
from .scenarios import SCENARIOS, Scenario
from .snapshot import compare_training, load_snapshot, regen_command, settings_changes
from .verdict import LAYERS, Outcome, blame, explain, format_table

#: Image tolerance (RMS of pixel differences, 0-255 scale) for the rendering
#: and pipeline layers. Measured with the pinned stack: the same weights drawn
#: twice give RMS 0, and so do weights with relative noise up to 1e-9 (float
#: noise across library versions is ~1e-15); relative noise of 1e-6 gives
#: 0.005. A matplotlib release that changed image resampling moved this
#: figure by RMS ~10, and a learning rate 1% off moves it by ~0.5. pytest-mpl's
#: default (2) would let such a training change through the pipeline layer.
IMAGE_TOLERANCE = 0.05

#: The ``mpl_image_compare`` settings of every image test, in one place.
MPL_COMPARE = {"style": STYLE, "tolerance": IMAGE_TOLERANCE, "savefig_kwargs": SAVEFIG_KWARGS}

USER_PROPERTY = "mlp-weights"

_state = {"baseline_dir": None}


def configure(
    baseline_dir: str | os.PathLike | None,
    default: str | os.PathLike = DEFAULT_BASELINE_DIR,
) -> Path:
    """Set the baseline folder the suite compares against (absolute path).

    ``baseline_dir``, else ``$MLP_WEIGHTS_BASELINE_DIR``, else ``default``.
    """
    _state["baseline_dir"] = resolve_baseline_dir(baseline_dir, default).absolute()
    return _state["baseline_dir"]


def baseline_dir() -> Path:
    if _state["baseline_dir"] is None:
        configure(None)
    return _state["baseline_dir"]


def compare_kwargs(scenario: str) -> dict:
    """``mpl_image_compare`` arguments for a scenario's baseline image."""
    return {**MPL_COMPARE, "baseline_dir": str(baseline_dir()), "filename": f"{scenario}.png"}


def data_available(scenario: Scenario) -> tuple[bool, str]:
    """Whether a scenario's data loads offline; the reason when it does not."""
    from .data import is_cached, resolve_data_home

    try:
        if is_cached(scenario):
            return True, ""
        home = resolve_data_home()
    except MLPWeightsError as exc:
        return False, str(exc)
    return False, (
        f"{scenario.name}: data not cached under {home}; run "
        f"'mlp-weights run --dataset {scenario.name}' once online (or set SCIKIT_LEARN_DATA)"
    )


def scenario_params(names=None, image: bool = False) -> list:
    """``parametrize`` values for ``scenario_name``, one per scenario.

    A scenario whose data is not available offline is marked skipped with
    the reason; with ``image``, each carries its ``mpl_image_compare`` mark.
    """
    import pytest

    params = []
    for name in names or SCENARIOS:
        marks = []
        available, reason = data_available(SCENARIOS[name])
        if not available:
            marks.append(pytest.mark.skip(reason=reason))
        if image:
            marks.append(pytest.mark.mpl_image_compare(**compare_kwargs(name)))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@functools.cache
def fresh_fit(name: str):
    """Load and train a scenario once per process; layers share the result."""
    from .data import load_dataset
    from .training import train

    scenario = SCENARIOS[name]
    return train(scenario, load_dataset(scenario), verbose=False)


def baseline_versions(scenario: str) -> dict | None:
    try:
        return scenario_entry(baseline_dir(), scenario)["versions"]
    except (BaselineError, KeyError, TypeError):
        return None


def require_baseline_image(scenario: str) -> Path:
    path = image_path(baseline_dir(), scenario)
    if not path.exists():
        raise BaselineError(
            f"missing baseline image {path}; create it with: {regen_command(scenario)}"
        )
    return path


def stored_snapshot(scenario: str):
    return load_snapshot(snapshot_path(baseline_dir(), scenario), scenario)


def training_problems(name: str) -> str | None:
    """Compare a fresh fit with the snapshot; ``None`` when they match."""
    scenario = SCENARIOS[name]
    snapshot = stored_snapshot(name)
    changed = settings_changes(snapshot, scenario.settings_json())
    if changed:
        return (
            "the scenario's settings differ from the snapshot's ("
            + "; ".join(changed)
            + f"); if that is intended: {regen_command(name)}"
        )
    comparisons = compare_training(snapshot, fresh_fit(name))
    failed = [c.describe() for c in comparisons if not c.ok]
    if not failed:
        return None
    return "a fresh fit differs from the stored snapshot:\n  " + "\n  ".join(failed)


def draw_weights(name: str, coefs):
    """The figure the image layers compare: drawn as ``run`` and ``regen`` draw it."""
    return render_weights(coefs, SCENARIOS[name])


# -- blame and the end-of-run table ------------------------------------------------

_RMS = re.compile(r"RMS Value:\s*([0-9.eE+-]+)")


def layer_of(markers: set[str]) -> str | None:
    for layer in LAYERS:
        if layer in markers:
            return layer
    return None


def layer_report(layer: str, scenario: str, failed: bool, failure_text: str = "") -> dict:
    """What a finished test contributes to the verdict (JSON-able, for xdist)."""
    record = {"layer": layer, "scenario": scenario, "blamed": "", "text": ""}
    if not failed:
        return record
    now = environment_versions()
    then = baseline_versions(scenario)
    match = _RMS.search(failure_text)
    if match:
        detail = f"image moved by RMS {float(match.group(1)):.3f} (tolerance {IMAGE_TOLERANCE})"
    elif "missing" in failure_text or "damaged" in failure_text:
        detail = "baseline unusable, see above"
        then = then or {}
    else:
        detail = failure_text.strip().splitlines()[0] if failure_text.strip() else "failed"
    record["blamed"] = (
        "no usable baseline" if detail.startswith("baseline") else blame(layer, now, then)
    )
    record["text"] = explain(layer, scenario, detail, now, then)
    return record


def summary_lines(records: list[dict]) -> list[str]:
    """Aggregate test records into one row per scenario and layer."""
    rank = {"FAIL": 2, "pass": 1, "skip": 0}
    cells: dict[tuple[str, str], Outcome] = {}
    for record in records:
        key = (record["scenario"], record["layer"])
        status = record["status"]
        previous = cells.get(key)
        if previous is None or rank[status] > rank[previous.status]:
            cells[key] = Outcome(key[0], key[1], status, record.get("blamed", ""))
    # The pipeline mixes training and drawing: blame what those rows blame.
    for (scenario, layer), outcome in list(cells.items()):
        if layer != "pipeline" or outcome.status != "FAIL":
            continue
        parts = [
            cells[(scenario, other)].blamed
            for other in ("training", "rendering")
            if (scenario, other) in cells and cells[(scenario, other)].status == "FAIL"
        ]
        blamed = "; ".join(parts) if parts else "baseline image and snapshot disagree"
        cells[(scenario, layer)] = Outcome(scenario, layer, "FAIL", blamed)
    order = list(SCENARIOS)
    outcomes = sorted(
        cells.values(),
        key=lambda o: (order.index(o.scenario) if o.scenario in order else 99, o.layer),
    )
    return format_table(outcomes)


def encode(record: dict) -> tuple[str, str]:
    return USER_PROPERTY, json.dumps(record)


def decode(properties) -> dict | None:
    for key, value in properties:
        if key == USER_PROPERTY:
            return json.loads(value)
    return None
