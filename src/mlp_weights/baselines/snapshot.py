"""Numeric snapshots of a fit, and their comparison with a fresh fit.

A snapshot is an ``.npz`` of plain arrays (no pickles) holding the loss
curve, the first-layer weights and the two scores, with the scenario's
settings as JSON text so that a change of settings is told apart from a
change of behaviour, and the fit's weight diagnostics
(:mod:`mlp_weights.pipeline.diagnostics`) as JSON text. Snapshots written before the
diagnostics existed lack that field; they load with ``diagnostics=None``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlp_weights.core.errors import DamagedBaselineError, MissingBaselineError
from mlp_weights.core.io import atomic_write_bytes
from mlp_weights.pipeline.training import TrainingResult

#: Adding a field keeps the format: older readers ignore ``diagnostics_json``.
SNAPSHOT_FORMAT = 1
#: Name of the diagnostics field in the ``.npz``.
DIAGNOSTICS_FIELD = "diagnostics_json"

#: Relative tolerance for weights and losses. Float noise across numpy and
#: scikit-learn versions is about 1e-15; a relative change of 1e-6 in the
#: learning rate moves weights by about 1e-6. 1e-9 sits far from both.
RTOL = 1e-9
#: Absolute floor for values near zero, far below any weight that matters.
ATOL = 1e-12
#: Name of the weights in array comparisons (and in ``verdict.json``).
WEIGHTS_ARRAY = "first-layer weights"


def regen_command(scenario: str) -> str:
    return f'mlp-weights regen --scenario {scenario} --reason "..."'


@dataclass(frozen=True)
class ArrayComparison:
    """How far an obtained array is from the expected one."""

    name: str
    n_total: int
    n_differ: int
    max_abs: float
    max_rel: float
    shape_mismatch: str = ""
    rtol: float = RTOL
    atol: float = ATOL

    @property
    def ok(self) -> bool:
        return not self.shape_mismatch and self.n_differ == 0

    def describe(self) -> str:
        if self.shape_mismatch:
            return f"{self.name}: {self.shape_mismatch}"
        return (
            f"{self.name}: {self.n_differ} of {self.n_total} values differ "
            f"(max abs error {self.max_abs:.3g}, max rel error {self.max_rel:.3g}; "
            f"rtol {self.rtol:g}, atol {self.atol:g})"
        )

    def as_dict(self) -> dict:
        """JSON-able: infinite errors (shapes differ) become ``None``."""
        data = dataclasses.asdict(self)
        for key in ("max_abs", "max_rel"):
            if not math.isfinite(data[key]):
                data[key] = None
        return data


def compare_arrays(name: str, expected, obtained, rtol: float = RTOL, atol: float = ATOL):
    """Compare two arrays elementwise, as :func:`numpy.isclose` does."""
    expected = np.asarray(expected, dtype=np.float64)
    obtained = np.asarray(obtained, dtype=np.float64)
    if expected.shape != obtained.shape:
        return ArrayComparison(
            name,
            expected.size,
            expected.size,
            np.inf,
            np.inf,
            f"shape {obtained.shape} now, {expected.shape} in the baseline",
            rtol,
            atol,
        )
    diff = np.abs(obtained - expected)
    close = diff <= atol + rtol * np.abs(expected)
    # Relative error where it is defined (expected != 0); zeros count by atol.
    nonzero = expected != 0
    rel = diff[nonzero] / np.abs(expected[nonzero])
    return ArrayComparison(
        name=name,
        n_total=int(expected.size),
        n_differ=int(np.count_nonzero(~close)),
        max_abs=float(diff.max()) if diff.size else 0.0,
        max_rel=float(rel.max()) if rel.size else 0.0,
        rtol=rtol,
        atol=atol,
    )


@dataclass(frozen=True)
class Snapshot:
    """A stored fit: what the ``training`` layer compares a fresh fit with."""

    scenario: str
    settings_json: str
    loss_curve: np.ndarray
    coefs: np.ndarray
    train_score: float
    test_score: float
    #: The fit's weight diagnostics; ``None`` in snapshots older than them.
    diagnostics: dict | None = None

    @classmethod
    def from_result(cls, result: TrainingResult, settings_json: str) -> Snapshot:
        return cls(
            scenario=result.scenario,
            settings_json=settings_json,
            loss_curve=result.loss_curve,
            coefs=result.coefs,
            train_score=result.train_score,
            test_score=result.test_score,
            diagnostics=result.diagnostics,
        )


def snapshot_bytes(snapshot: Snapshot) -> bytes:
    """The ``.npz`` of a snapshot; diagnostics as JSON text (floats round-trip exactly)."""
    fields = {}
    if snapshot.diagnostics is not None:
        fields[DIAGNOSTICS_FIELD] = np.str_(json.dumps(snapshot.diagnostics, sort_keys=True))
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        format_version=np.int64(SNAPSHOT_FORMAT),
        scenario=np.str_(snapshot.scenario),
        settings_json=np.str_(snapshot.settings_json),
        loss_curve=snapshot.loss_curve,
        coefs=snapshot.coefs,
        scores=np.array([snapshot.train_score, snapshot.test_score]),
        **fields,
    )
    return buffer.getvalue()


def save_snapshot(snapshot: Snapshot, path: str | os.PathLike) -> Path:
    """Write a snapshot atomically."""
    return atomic_write_bytes(path, snapshot_bytes(snapshot))


def load_snapshot(path: str | os.PathLike, scenario: str) -> Snapshot:
    """Read a snapshot, with a one-line :class:`BaselineError` for any defect."""
    path = Path(path)
    if not path.exists():
        raise MissingBaselineError(
            f"missing snapshot {path} for scenario {scenario!r}; "
            f"create it with: {regen_command(scenario)}"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            fields = {key: npz[key] for key in npz.files}
        version = int(fields["format_version"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DamagedBaselineError(
            f"snapshot {path} is damaged ({type(exc).__name__}: {exc}); restore it with "
            f"'git checkout -- {path}' or recreate it with: {regen_command(scenario)}"
        ) from None
    if version > SNAPSHOT_FORMAT:
        raise DamagedBaselineError(
            f"snapshot {path} has format version {version}, newer than this mlp-weights "
            f"reads ({SNAPSHOT_FORMAT}); upgrade mlp-weights"
        )
    try:
        scores = fields["scores"]
        return Snapshot(
            scenario=str(fields["scenario"]),
            settings_json=str(fields["settings_json"]),
            loss_curve=fields["loss_curve"].astype(np.float64),
            coefs=fields["coefs"].astype(np.float64),
            train_score=float(scores[0]),
            test_score=float(scores[1]),
            diagnostics=(
                json.loads(str(fields[DIAGNOSTICS_FIELD])) if DIAGNOSTICS_FIELD in fields else None
            ),
        )
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise DamagedBaselineError(
            f"snapshot {path} lacks a field ({exc}); recreate it with: {regen_command(scenario)}"
        ) from None


def settings_changes(snapshot: Snapshot, settings_json: str) -> list[str]:
    """The scenario settings that differ between the snapshot and the code now."""
    then = json.loads(snapshot.settings_json)
    now = json.loads(settings_json)
    return [
        f"{key}: {then.get(key)!r} in the baseline, {now.get(key)!r} now"
        for key in sorted(set(then) | set(now))
        if then.get(key) != now.get(key)
    ]


def compare_training(snapshot: Snapshot, result: TrainingResult) -> list[ArrayComparison]:
    """Compare a fresh fit with a snapshot: losses, weights and scores."""
    return [
        compare_arrays("loss curve", snapshot.loss_curve, result.loss_curve),
        compare_arrays(WEIGHTS_ARRAY, snapshot.coefs, result.coefs),
        # Scores are counts of right answers over a fixed set: one more or
        # fewer is a real difference, so they must agree to float precision.
        compare_arrays(
            "scores",
            [snapshot.train_score, snapshot.test_score],
            [result.train_score, result.test_score],
        ),
    ]
