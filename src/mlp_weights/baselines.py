"""Baseline files and their deliberate regeneration.

Per scenario, ``baseline_images/`` holds ``<scenario>.png`` (the weight grid),
``<scenario>.npz`` (the numeric snapshot) and an entry in ``manifest.json``.
:func:`regenerate` is the only writer, and it writes all three together.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .data import load_dataset
from .errors import UsageError
from .manifest import make_entry, read_manifest, write_manifest
from .plot import render_weights
from .scenarios import Scenario, get_scenario
from .snapshot import Snapshot, save_snapshot
from .training import format_scores, train

#: Used when neither ``--baseline-dir`` nor ``MLP_WEIGHTS_BASELINE_DIR`` is given.
DEFAULT_BASELINE_DIR = "baseline_images"
BASELINE_DIR_ENV = "MLP_WEIGHTS_BASELINE_DIR"


def resolve_baseline_dir(
    baseline_dir: str | os.PathLike | None = None,
    default: str | os.PathLike = DEFAULT_BASELINE_DIR,
) -> Path:
    """``baseline_dir``, else ``$MLP_WEIGHTS_BASELINE_DIR``, else ``default``."""
    chosen = baseline_dir or os.environ.get(BASELINE_DIR_ENV) or default
    return Path(chosen)


def image_path(baseline_dir: str | os.PathLike, scenario: str) -> Path:
    return Path(baseline_dir) / f"{scenario}.png"


def snapshot_path(baseline_dir: str | os.PathLike, scenario: str) -> Path:
    return Path(baseline_dir) / f"{scenario}.npz"


def regenerate(
    scenarios: list[Scenario],
    baseline_dir: str | os.PathLike,
    reason: str,
    data_home: str | os.PathLike | None = None,
    verbose: bool = True,
) -> list[Path]:
    """Train and draw each scenario, then write images, snapshots and manifest.

    Everything is computed first; files are replaced only once every
    scenario succeeded, so a failure leaves the old baselines untouched.
    """
    if not reason or not reason.strip():
        raise UsageError(
            'regen needs --reason "why the baselines change" (it goes in the manifest)'
        )
    baseline_dir = Path(baseline_dir)
    if baseline_dir.exists() and not baseline_dir.is_dir():
        raise UsageError(f"baseline folder {str(baseline_dir)!r} is a file")
    baseline_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(baseline_dir, missing_ok=True)
    with tempfile.TemporaryDirectory(dir=baseline_dir, prefix=".regen-") as staging:
        staged = []
        for scenario in scenarios:
            if verbose:
                print(f"== {scenario.name}: training", file=sys.stderr)
            dataset = load_dataset(scenario, data_home)
            result = train(scenario, dataset, verbose=verbose)
            if verbose:
                print(format_scores(result))
            snapshot = Snapshot.from_result(result, scenario.settings_json())
            tmp_npz = save_snapshot(snapshot, Path(staging) / f"{scenario.name}.npz")
            tmp_png = Path(staging) / f"{scenario.name}.png"
            render_weights(snapshot.coefs, scenario, tmp_png)
            entry = make_entry(
                reason.strip(),
                {
                    "image": image_path(".", scenario.name).name,
                    "snapshot": snapshot_path(".", scenario.name).name,
                },
            )
            staged.append((scenario, tmp_npz, tmp_png, entry))
        written = []
        for scenario, tmp_npz, tmp_png, entry in staged:
            os.replace(tmp_npz, snapshot_path(baseline_dir, scenario.name))
            os.replace(tmp_png, image_path(baseline_dir, scenario.name))
            manifest["scenarios"][scenario.name] = entry
            written += [
                snapshot_path(baseline_dir, scenario.name),
                image_path(baseline_dir, scenario.name),
            ]
        written.append(write_manifest(baseline_dir, manifest))
    return written


def scenarios_from_names(names: list[str] | None, default: list[str]) -> list[Scenario]:
    return [get_scenario(name) for name in (names or default)]
