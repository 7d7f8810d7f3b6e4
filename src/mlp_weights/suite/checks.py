"""The layer checks, shared by ``tests/`` and importable on their own.

The layer tests are thin: each calls one function here. A check returns a
:class:`~mlp_weights.suite.results.Finding` when it holds (with how close it was)
and raises :class:`~mlp_weights.suite.results.LayerFailure` with a typed finding
when it does not; the image checks return the figure pytest-mpl compares.
The pytest plugin (:mod:`mlp_weights.pytest_plugin`) blames and reports.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlp_weights.baselines.snapshot import (
    ATOL,
    RTOL,
    WEIGHTS_ARRAY,
    Snapshot,
    compare_arrays,
    compare_training,
    load_snapshot,
    regen_command,
    settings_changes,
)
from mlp_weights.baselines.store import image_path, snapshot_path
from mlp_weights.core.errors import DamagedBaselineError, MissingBaselineError, MLPWeightsError
from mlp_weights.pipeline import plot
from mlp_weights.pipeline.plot import SAVEFIG_KWARGS, STYLE
from mlp_weights.pipeline.scenarios import SCENARIOS, Scenario
from mlp_weights.suite.results import Finding, Kind, LayerFailure

#: Image tolerance (RMS of pixel differences, 0-255 scale) for the rendering
#: and pipeline layers. Measured with the pinned stack: the same weights drawn
#: twice give RMS 0, and so do weights with relative noise up to 1e-9 (float
#: noise across library versions is ~1e-15); relative noise of 1e-6 gives
#: 0.005. A matplotlib release that changed image resampling moved this
#: figure by RMS ~10, and a learning rate 1% off moves it by ~0.5. pytest-mpl's
#: default (2) would let such a training change through the pipeline layer.
IMAGE_TOLERANCE = 0.05

#: The ``mpl_image_compare`` settings of every image test, in one place. The
#: baseline folder is given to pytest-mpl by the plugin (``--mlp-baseline-dir``).
MPL_COMPARE = {"style": STYLE, "tolerance": IMAGE_TOLERANCE, "savefig_kwargs": SAVEFIG_KWARGS}


def data_available(scenario: Scenario) -> tuple[bool, str]:
    """Whether a scenario's data loads offline; the reason when it does not."""
    from mlp_weights.pipeline.data import is_cached, resolve_data_home

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
            marks.append(pytest.mark.mpl_image_compare(filename=f"{name}.png", **MPL_COMPARE))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


_FITS: dict = {}


def fresh_fit(name: str):
    """Load and train a scenario once per process and injection; layers share the fit."""
    from mlp_weights.pipeline.data import load_dataset
    from mlp_weights.pipeline.training import train
    from mlp_weights.suite.inject import active_injections

    key = (name, active_injections())
    if key not in _FITS:
        scenario = SCENARIOS[name]
        _FITS[key] = train(scenario, load_dataset(scenario), verbose=False)
    return _FITS[key]


def _baseline_file(where: str | os.PathLike, name: str, path_in_folder) -> Path:
    """A baseline file as given, or, for a baseline folder, the one its generations choose
    (``path_in_folder`` is :func:`snapshot_path` or :func:`image_path`)."""
    where = Path(where)
    return path_in_folder(where, name) if where.is_dir() else where


def stored_snapshot(name: str, snapshot: str | os.PathLike) -> Snapshot:
    """The scenario's snapshot; a typed failure when it is missing or damaged.

    ``snapshot`` is the file, or a baseline folder: then the snapshot of
    the training generation the installed versions select.
    """
    try:
        return load_snapshot(_baseline_file(snapshot, name, snapshot_path), name)
    except (MissingBaselineError, DamagedBaselineError) as exc:
        raise LayerFailure.unusable_baseline(exc) from None


def require_baseline_image(name: str, image: str | os.PathLike) -> Path:
    path = _baseline_file(image, name, image_path)
    if not path.exists():
        raise LayerFailure(
            Finding(
                Kind.MISSING_BASELINE,
                f"missing baseline image {path}; create it with: {regen_command(name)}",
            )
        )
    return path


def check_training(name: str, snapshot: str | os.PathLike) -> Finding:
    """The training layer: a fresh fit against the stored snapshot (rtol :data:`RTOL`).

    ``snapshot`` is the file, or a baseline folder (see :func:`stored_snapshot`).
    """
    scenario = SCENARIOS[name]
    snapshot = stored_snapshot(name, snapshot)
    changed = settings_changes(snapshot, scenario.settings_json())
    result = fresh_fit(name)
    comparisons = compare_training(snapshot, result)
    diagnostics = weight_diagnostics(snapshot, result, comparisons)
    if changed:
        raise LayerFailure(
            Finding(
                Kind.SETTINGS_CHANGED,
                "the scenario's settings differ from the snapshot's ("
                + "; ".join(changed)
                + f"); if that is intended: {regen_command(name)}",
                diagnostics=diagnostics,
            )
        )
    return arrays_finding(
        comparisons,
        {"rtol": RTOL, "atol": ATOL},
        "the stored snapshot",
        obtained=Snapshot.from_result(result, scenario.settings_json()),
        diagnostics=diagnostics,
    )


def weight_diagnostics(snapshot: Snapshot, result, comparisons) -> dict:
    """The fresh fit's weight diagnostics against the snapshot's, with the reading."""
    from mlp_weights.suite.reading import diagnostics_record

    weights = next(c for c in comparisons if c.name == WEIGHTS_ARRAY)
    max_abs = weights.max_abs if not weights.shape_mismatch else None
    return diagnostics_record(result.diagnostics, snapshot.diagnostics, max_abs)


def arrays_finding(
    comparisons, tolerances: dict, against: str, obtained=None, diagnostics=None
) -> Finding:
    """A passing finding with the arrays' errors, or the failure listing those that differ."""
    amount = {"arrays": [c.as_dict() for c in comparisons], **tolerances}
    failed = [c for c in comparisons if not c.ok]
    if not failed:
        return Finding(amount=amount, diagnostics=diagnostics)
    raise LayerFailure(
        Finding(
            Kind.MOVED,
            f"a fresh fit differs from {against}:\n  " + "\n  ".join(c.describe() for c in failed),
            amount,
            obtained=obtained,
            diagnostics=diagnostics,
        )
    )


def draw_weights(name: str, coefs):
    """The figure the image layers compare, drawn as ``run`` and ``regen`` draw it."""
    return plot.draw_weights(coefs, SCENARIOS[name])


def rendering_figure(name: str, image: str | os.PathLike, snapshot: str | os.PathLike):
    """The rendering layer: the stored weights, drawn by today's matplotlib.

    ``image`` and ``snapshot`` are files, or a baseline folder: then the
    generations' choice for this stack.
    """
    require_baseline_image(name, image)
    return draw_weights(name, stored_snapshot(name, snapshot).coefs)


def pipeline_figure(name: str, image: str | os.PathLike):
    """The pipeline layer: a fresh fit, drawn, as the seed example does."""
    require_baseline_image(name, image)
    return draw_weights(name, fresh_fit(name).coefs)


def check_scores(name: str) -> Finding:
    """The scores layer: training and test scores above the scenario's floors."""
    floors = SCENARIOS[name].floors
    result = fresh_fit(name)
    scores = {"train": result.train_score, "test": result.test_score}
    amount = {"scores": scores, "floors": dict(floors)}
    below = [part for part in ("train", "test") if scores[part] < floors[part]]
    if not below:
        return Finding(amount=amount)
    raise LayerFailure(
        Finding(
            Kind.BELOW_FLOOR,
            "; ".join(
                f"{'training' if p == 'train' else 'test'} score {scores[p]:.6f} "
                f"below the floor {floors[p]}"
                for p in below
            ),
            amount,
        )
    )


def check_published(
    name: str,
    losses,
    train_score: float,
    test_score: float,
    loss_tolerance: float,
    score_tolerance: float,
) -> Finding:
    """The seed layer: a fresh fit against published losses and scores (absolute tolerances)."""
    result = fresh_fit(name)
    comparisons = [
        compare_arrays("loss curve", losses, result.loss_curve, rtol=0, atol=loss_tolerance),
        compare_arrays(
            "scores",
            [train_score, test_score],
            [result.train_score, result.test_score],
            rtol=0,
            atol=score_tolerance,
        ),
    ]
    tolerances = {"loss_tolerance": loss_tolerance, "score_tolerance": score_tolerance}
    return arrays_finding(comparisons, tolerances, "the published output")
