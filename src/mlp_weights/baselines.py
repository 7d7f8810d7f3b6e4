"""Baseline files and their deliberate regeneration.

Per scenario, ``baseline_images/`` holds ``<scenario>.png`` (the weight grid),
``<scenario>.npz`` (the numeric snapshot) and an entry in ``manifest.json``.
:func:`regenerate` is the only writer. It refuses to run on a stack other
than the pinned one (``requirements/pinned.txt``), keeps every file whose
content would not change (a snapshot that a fresh fit matches within the
training tolerance, an image whose pixels are identical), and says which
files it rewrote and why.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BaselineError, MLPWeightsError, UsageError
from .layers import LAYERS
from .manifest import make_entry, read_manifest, recorded_facts, write_manifest
from .scenarios import Scenario, get_scenario

#: Used when neither ``--baseline-dir`` nor ``MLP_WEIGHTS_BASELINE_DIR`` is given.
DEFAULT_BASELINE_DIR = "baseline_images"
BASELINE_DIR_ENV = "MLP_WEIGHTS_BASELINE_DIR"
#: The pins the baselines are made with, relative to the baseline folder's parent.
DEFAULT_PINNED_FILE = Path("requirements") / "pinned.txt"
#: Used, when set, instead of DEFAULT_PINNED_FILE (``--pinned`` wins over both).
PINNED_FILE_ENV = "MLP_WEIGHTS_PINNED"
#: The layers whose stored files ``regen`` writes: the snapshot is what the
#: training layer compares, the image what the rendering layer compares.
REGEN_LAYERS = ("training", "rendering")
#: Libraries whose installed version must equal its pin: every library the
#: regenerated layers depend on, except Python itself (not a pin).
PINNED_LIBRARIES = tuple(
    dict.fromkeys(lib for name in REGEN_LAYERS for lib in LAYERS[name].libraries if lib != "python")
)


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


def default_pinned_file(baseline_dir: str | os.PathLike) -> Path:
    """The pins ``regen`` checks the installed stack against.

    ``$MLP_WEIGHTS_PINNED`` when set; else ``requirements/pinned.txt`` beside
    the baseline folder; else, for a baseline folder elsewhere (a temporary
    one, say), that of the source checkout this package runs from. When none
    exists, the first candidate is returned, and reading it fails in one line.
    """
    if os.environ.get(PINNED_FILE_ENV):
        return Path(os.environ[PINNED_FILE_ENV])
    beside = Path(baseline_dir).resolve().parent / DEFAULT_PINNED_FILE
    # src/mlp_weights/baselines.py -> the checkout's root
    checkout = Path(__file__).resolve().parents[2] / DEFAULT_PINNED_FILE
    for candidate in (beside, checkout):
        if candidate.is_file():
            return candidate
    return beside


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: str | os.PathLike) -> dict[str, str]:
    """Exact pins (``name==version``) of a requirements file, by normalized name.

    Raises
    ------
    MLPWeightsError
        One line when the file cannot be read.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MLPWeightsError(
            f"cannot read the pins {path} ({exc.strerror or exc}); point --pinned at "
            "the requirements file the baselines are made with, or pass --allow-unpinned"
        ) from None
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s,]+)", line)
        if match:
            pins[_normalize(match.group(1))] = match.group(2)
    return pins


def _same_version(installed: str, pinned: str) -> bool:
    try:
        from packaging.version import Version

        return Version(installed) == Version(pinned)
    except Exception:  # an unparsable version compares as text
        return installed == pinned


def unpinned_libraries(pinned_file: str | os.PathLike, installed: dict[str, str]) -> list[str]:
    """One phrase per library of :data:`PINNED_LIBRARIES` that differs from its pin."""
    pins = read_pins(pinned_file)
    mismatches = []
    for library in PINNED_LIBRARIES:
        pin = pins.get(_normalize(library))
        now = installed.get(library, "not installed")
        if pin is None:
            mismatches.append(f"{library} {now} is installed but {pinned_file} does not pin it")
        elif not _same_version(now, pin):
            mismatches.append(f"{library} {now} is installed, {pinned_file} pins {pin}")
    return mismatches


@dataclass
class FileDecision:
    """What regeneration does with one baseline file, and why."""

    path: Path
    rewrite: bool
    why: str
    staged: Path | None = None

    def line(self, dry_run: bool) -> str:
        if self.rewrite:
            verb = "would rewrite" if dry_run else "rewrote"
        else:
            verb = "would keep" if dry_run else "kept"
        return f"{verb} {self.path}: {self.why}"


@dataclass
class RegenReport:
    """Every file regeneration rewrote (or would) and kept, with the reasons."""

    decisions: list[FileDecision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    pinned_file: Path | None = None

    @property
    def rewritten(self) -> list[Path]:
        return [d.path for d in self.decisions if d.rewrite]

    @property
    def kept(self) -> list[Path]:
        return [d.path for d in self.decisions if not d.rewrite]

    def lines(self) -> list[str]:
        lines = [f"pins: {self.pinned_file}"] if self.pinned_file else []
        lines += [d.line(self.dry_run) for d in self.decisions]
        lines += [f"note: {note}" for note in self.notes]
        if self.dry_run:
            lines.append("dry run: nothing was written")
        return lines


def _describe_arrays(comparisons) -> str:
    return "; ".join(c.describe() for c in comparisons)


def decide_snapshot(path: Path, scenario: Scenario, result, staging: Path):
    """Keep the stored snapshot when a fresh fit agrees with it and the settings hold.

    Returns the decision and the snapshot that is on disk afterwards (the
    stored one when kept), which is what the image is drawn from.
    """
    from .snapshot import Snapshot, compare_training, load_snapshot, save_snapshot, settings_changes

    fresh = Snapshot.from_result(result, scenario.settings_json())
    why = None
    if not path.exists():
        why = "no snapshot yet"
    else:
        try:
            stored = load_snapshot(path, scenario.name)
        except BaselineError as exc:
            why = f"the stored snapshot is unreadable ({exc})"
        else:
            changes = settings_changes(stored, fresh.settings_json)
            comparisons = compare_training(stored, result)
            if changes:
                why = "settings changed: " + "; ".join(changes)
            elif not all(c.ok for c in comparisons):
                why = "the fresh fit moved: " + _describe_arrays(comparisons)
            elif stored.diagnostics is None and fresh.diagnostics is not None:
                why = "the stored snapshot predates the weight diagnostics; adding them"
            else:
                largest = max(c.max_rel for c in comparisons)
                return (
                    FileDecision(
                        path,
                        False,
                        "a fresh fit agrees within the training tolerance and the settings "
                        f"are unchanged (largest relative error {largest:.3g})",
                    ),
                    stored,
                )
    staged = save_snapshot(fresh, staging / path.name)
    return FileDecision(path, True, why, staged), fresh


def _read_pixels(path: Path):
    import matplotlib.image

    return matplotlib.image.imread(path)


def image_rms(expected: Path, actual: Path) -> float | None:
    """RMS of the pixel difference as pytest-mpl measures it; None when sizes differ."""
    import numpy as np
    from matplotlib.testing.compare import calculate_rms

    a = (_read_pixels(expected)[..., :3] * 255).round().astype(np.int16)
    b = (_read_pixels(actual)[..., :3] * 255).round().astype(np.int16)
    if a.shape != b.shape:
        return None
    return float(calculate_rms(a, b))


def decide_image(path: Path, scenario: Scenario, coefs, staging: Path) -> FileDecision:
    """Keep the stored image when the new drawing has identical pixels."""
    import numpy as np

    from .plot import render_weights

    staged = staging / path.name
    render_weights(coefs, scenario, staged)
    if not path.exists():
        return FileDecision(path, True, "no image yet", staged)
    try:
        old = _read_pixels(path)
    except Exception as exc:  # any decoding failure means the file cannot serve
        return FileDecision(path, True, f"the stored image is unreadable ({exc})", staged)
    new = _read_pixels(staged)
    if old.shape == new.shape and np.array_equal(old, new):
        return FileDecision(path, False, "pixels identical")
    if old.shape != new.shape:
        why = f"size {new.shape[1]}x{new.shape[0]} now, {old.shape[1]}x{old.shape[0]} stored"
    else:
        why = f"pixels differ, RMS {image_rms(path, staged):.4g}"
    return FileDecision(path, True, why, staged)


def check_stack(pinned_file: Path, allow_unpinned: bool, dry_run: bool) -> list[str]:
    """Refuse a stack other than the pinned one, unless allowed or only a dry run."""
    from .environment import library_versions

    mismatches = unpinned_libraries(pinned_file, library_versions())
    if mismatches and not allow_unpinned and not dry_run:
        raise MLPWeightsError(
            "refusing to regenerate baselines on an unpinned stack: "
            + "; ".join(mismatches)
            + " (install the pins, e.g. tox -e regen, or pass --allow-unpinned)"
        )
    return mismatches


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
) -> RegenReport:
    """Regenerate the chosen layers' baseline files of each scenario.

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
        rendering layer compares) and trains nothing.
    dry_run : bool
        Compute and report everything, write nothing.
    allow_unpinned : bool
        Run although the installed libraries differ from ``pinned_file``;
        the manifest entries record it.
    pinned_file : path, optional
        Default: :func:`default_pinned_file`.

    Returns
    -------
    RegenReport
        Every file rewritten (or, in a dry run, that would be) and kept, why.

    Notes
    -----
    Everything is computed first; files are replaced only once every
    scenario succeeded, so a failure leaves the old baselines untouched.
    """
    if not dry_run and (not reason or not reason.strip()):
        raise UsageError(
            'regen needs --reason "why the baselines change" (it goes in the manifest)'
        )
    unknown = [name for name in layers if name not in REGEN_LAYERS]
    if unknown or not layers:
        raise UsageError(f"--layer must be one of: {', '.join(REGEN_LAYERS)}")
    baseline_dir = Path(baseline_dir)
    if baseline_dir.exists() and not baseline_dir.is_dir():
        raise UsageError(f"baseline folder {str(baseline_dir)!r} is a file")
    pinned_file = Path(pinned_file) if pinned_file else default_pinned_file(baseline_dir)
    mismatches = check_stack(pinned_file, allow_unpinned, dry_run)
    report = RegenReport(dry_run=dry_run, pinned_file=pinned_file)
    if mismatches and dry_run and not allow_unpinned:
        report.notes.append(
            "a real run would refuse: " + "; ".join(mismatches) + " (or pass --allow-unpinned)"
        )
    if not dry_run:
        baseline_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(baseline_dir, missing_ok=True) if baseline_dir.is_dir() else None
    if manifest is None:
        manifest = {"format_version": 1, "scenarios": {}}
    with tempfile.TemporaryDirectory(prefix=".regen-") as staging_name:
        staging = Path(staging_name)
        entries = {}
        for scenario in scenarios:
            decisions = _regenerate_scenario(
                scenario, baseline_dir, staging, layers, data_home, verbose, report
            )
            report.decisions += decisions
            entry = _manifest_entry(
                manifest["scenarios"].get(scenario.name),
                scenario,
                decisions,
                layers,
                reason,
                allow_unpinned,
                mismatches,
            )
            if entry is not None:
                entries[scenario.name] = entry
        manifest_file = baseline_dir / "manifest.json"
        if entries:
            report.decisions.append(
                FileDecision(
                    manifest_file, True, "entries for " + ", ".join(sorted(entries)) + " updated"
                )
            )
        else:
            report.decisions.append(
                FileDecision(manifest_file, False, "every entry already describes this stack")
            )
        if dry_run:
            return report
        for decision in report.decisions:
            if decision.rewrite and decision.staged is not None:
                _replace(decision.staged, decision.path)
        if entries:
            manifest["scenarios"].update(entries)
            write_manifest(baseline_dir, manifest)
    return report


def _replace(source: Path, target: Path) -> None:
    """Move a staged file into the baseline folder atomically (same file system)."""
    from ._io import atomic_write

    with atomic_write(target) as fh:
        fh.write(source.read_bytes())


def _regenerate_scenario(scenario, baseline_dir, staging, layers, data_home, verbose, report):
    from .snapshot import load_snapshot

    snap_file = snapshot_path(baseline_dir, scenario.name)
    decisions = []
    if "training" in layers:
        from .data import load_dataset
        from .training import format_scores, train

        if verbose:
            print(f"== {scenario.name}: training", file=sys.stderr)
        dataset = load_dataset(scenario, data_home)
        result = train(scenario, dataset, verbose=verbose)
        if verbose:
            print(format_scores(result))
        snap_decision, snapshot = decide_snapshot(snap_file, scenario, result, staging)
        decisions.append(snap_decision)
    else:
        # The rendering layer draws the stored weights: so does its regeneration.
        snapshot = load_snapshot(snap_file, scenario.name)
    png_file = image_path(baseline_dir, scenario.name)
    if "rendering" in layers:
        decisions.append(decide_image(png_file, scenario, snapshot.coefs, staging))
    elif decisions[0].rewrite and png_file.exists():
        check_dir = staging / "check"
        check_dir.mkdir(exist_ok=True)
        check = decide_image(png_file, scenario, snapshot.coefs, check_dir)
        if check.rewrite:
            report.notes.append(
                f"{png_file} was drawn from the old snapshot and no longer matches the new "
                f"weights ({check.why}); redraw it with: mlp-weights regen --layer rendering "
                f'--scenario {scenario.name} --reason "..."'
            )
    return decisions


def _manifest_entry(old, scenario, decisions, layers, reason, allow_unpinned, mismatches):
    """The scenario's new manifest entry, or None when the old one still holds.

    The entry records the versions and environment of this run whenever a
    file was rewritten, or when every file was kept but the entry names
    another stack (the kept files were just verified against this one).
    """
    from .manifest import environment_versions

    now = environment_versions()
    rewrote = any(d.rewrite for d in decisions)
    if old is not None and not rewrote:
        then = recorded_facts(old)
        if all(then.get(key) == value for key, value in now.items()):
            return None
    entry = make_entry(
        (reason or "").strip(),
        {
            "image": image_path(".", scenario.name).name,
            "snapshot": snapshot_path(".", scenario.name).name,
        },
    )
    entry["regenerated"] = {
        "layers": list(layers),
        "rewritten": sorted(d.path.name for d in decisions if d.rewrite),
        "kept": sorted(d.path.name for d in decisions if not d.rewrite),
    }
    if allow_unpinned:
        entry["allow_unpinned"] = True
        entry["unpinned"] = list(mismatches)
    return entry


def scenarios_from_names(names: list[str] | None, default: list[str]) -> list[Scenario]:
    return [get_scenario(name) for name in (names or default)]
