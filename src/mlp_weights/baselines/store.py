"""Baseline files: where they are, the pins they are made with, and keep-or-rewrite.

Per scenario, ``baseline_images/`` holds ``<scenario>.npz`` (the numeric
snapshot) in a training generation's folder, ``<scenario>.png`` (the weight
grid) in a rendering generation's folder (:mod:`mlp_weights.baselines.generations`),
and an entry per generation in ``manifest.json``. :mod:`mlp_weights.baselines.regen`
is the only writer; this module decides, file by file, whether a stored
file is kept (a snapshot that a fresh fit matches within the training
tolerance, an image whose pixels are identical) or rewritten, and why.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mlp_weights.core.errors import BaselineError, MLPWeightsError
from mlp_weights.core.layers import LAYERS
from mlp_weights.pipeline.scenarios import Scenario, get_scenario

#: Used when neither ``--baseline-dir`` nor ``MLP_WEIGHTS_BASELINE_DIR`` is given.
DEFAULT_BASELINE_DIR = "baseline_images"
BASELINE_DIR_ENV = "MLP_WEIGHTS_BASELINE_DIR"
#: The pins the baselines are made with, relative to the baseline folder's parent.
DEFAULT_PINNED_FILE = Path("requirements") / "pinned.txt"
#: Pins files, relative to the project root (one per stack: pinned, oldest).
PINS_GLOB = "requirements/*.txt"
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


def project_root(baseline_dir: str | os.PathLike) -> Path:
    """The folder pins paths are relative to: the baseline folder's parent."""
    return Path(baseline_dir).resolve().parent


def resolve_baseline_dir(
    baseline_dir: str | os.PathLike | None = None,
    default: str | os.PathLike = DEFAULT_BASELINE_DIR,
) -> Path:
    """``baseline_dir``, else ``$MLP_WEIGHTS_BASELINE_DIR``, else ``default``."""
    chosen = baseline_dir or os.environ.get(BASELINE_DIR_ENV) or default
    return Path(chosen)


def _chosen_or_top(baseline_dir, layer: str, scenario: str, suffix: str) -> Path:
    from mlp_weights.baselines.generations import chosen_path

    try:
        return chosen_path(baseline_dir, layer, scenario)
    except BaselineError:
        return Path(baseline_dir) / f"{scenario}{suffix}"


def image_path(baseline_dir: str | os.PathLike, scenario: str) -> Path:
    """The image the rendering layer compares, in the generation the installed stack selects.

    A folder without a readable manifest, or without a generation for this
    stack, gives ``<baseline_dir>/<scenario>.png``.
    """
    return _chosen_or_top(baseline_dir, "rendering", scenario, ".png")


def snapshot_path(baseline_dir: str | os.PathLike, scenario: str) -> Path:
    """The snapshot the training layer compares (as :func:`image_path` chooses)."""
    return _chosen_or_top(baseline_dir, "training", scenario, ".npz")


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
    # src/mlp_weights/baselines/store.py -> the checkout's root
    checkout = Path(__file__).resolve().parents[3] / DEFAULT_PINNED_FILE
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
    #: One line per generation written: its name, range and pins.
    generations: list[str] = field(default_factory=list)

    @property
    def rewritten(self) -> list[Path]:
        return [d.path for d in self.decisions if d.rewrite]

    @property
    def kept(self) -> list[Path]:
        return [d.path for d in self.decisions if not d.rewrite]

    def lines(self) -> list[str]:
        lines = [f"pins: {self.pinned_file}"] if self.pinned_file else []
        lines += [f"generation: {line}" for line in self.generations]
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
    from mlp_weights.baselines.snapshot import (
        Snapshot,
        compare_training,
        load_snapshot,
        save_snapshot,
        settings_changes,
    )

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
    """Keep the stored image when the new drawing has identical pixels.

    The drawing is the one the image layers compare (:func:`plot.draw_weights`).
    """
    import numpy as np

    from mlp_weights.pipeline.plot import draw_weights, drawing_style, save_figure

    staged = staging / path.name
    with drawing_style():
        save_figure(draw_weights(coefs, scenario), staged)
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


def replace_file(source: Path, target: Path) -> None:
    """Move a staged file into the baseline folder atomically (same file system)."""
    from mlp_weights.core.io import atomic_write

    with atomic_write(target) as fh:
        fh.write(source.read_bytes())


def scenarios_from_names(names: list[str] | None, default: list[str]) -> list[Scenario]:
    return [get_scenario(name) for name in (names or default)]
