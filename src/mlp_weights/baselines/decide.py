"""Keep or rewrite: what ``regen`` does with each stored baseline file, and why.

A stored file is kept when it would not change: a snapshot that a fresh fit
matches within the training tolerance with unchanged settings, an image
whose pixels are identical. Anything else is held in memory for rewriting,
with the reason; :mod:`mlp_weights.baselines.regen` writes the new contents
once every scenario succeeded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from mlp_weights.baselines.snapshot import (
    Snapshot,
    compare_training,
    load_snapshot,
    settings_changes,
    snapshot_bytes,
)
from mlp_weights.core.errors import BaselineError, MissingBaselineError
from mlp_weights.pipeline.scenarios import Scenario


@dataclass
class FileDecision:
    """What regeneration does with one baseline file, and why."""

    path: Path
    rewrite: bool
    why: str
    #: The new content of a file to rewrite.
    content: bytes | None = None


@dataclass
class RegenReport:
    """Every file regeneration rewrote (or would) and kept, with the reasons."""

    decisions: list[FileDecision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    #: One line per generation written: its name, range and pins.
    generations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [f"generation: {line}" for line in self.generations]
        verbs = ("would keep", "would rewrite") if self.dry_run else ("kept", "rewrote")
        lines += [f"{verbs[d.rewrite]} {d.path}: {d.why}" for d in self.decisions]
        lines += [f"note: {note}" for note in self.notes]
        if self.dry_run:
            lines.append("dry run: nothing was written")
        return lines


def decide_snapshot(path: Path, scenario: Scenario, result):
    """Keep the stored snapshot when a fresh fit agrees with it and the settings hold.

    Returns the decision and the snapshot that is on disk afterwards (the
    stored one when kept), which is what the image is drawn from.
    """
    fresh = Snapshot.from_result(result, scenario.settings_json())
    try:
        stored = load_snapshot(path, scenario.name)
    except MissingBaselineError:
        why = "no snapshot yet"
    except BaselineError as exc:
        why = f"the stored snapshot is unreadable ({exc})"
    else:
        changes = settings_changes(stored, fresh.settings_json)
        comparisons = compare_training(stored, result)
        if changes:
            why = "settings changed: " + "; ".join(changes)
        elif not all(c.ok for c in comparisons):
            why = "the fresh fit moved: " + "; ".join(c.describe() for c in comparisons)
        elif stored.diagnostics is None and fresh.diagnostics is not None:
            why = "the stored snapshot predates the weight diagnostics; adding them"
        else:
            largest = max(c.max_rel for c in comparisons)
            why = (
                "a fresh fit agrees within the training tolerance and the settings "
                f"are unchanged (largest relative error {largest:.3g})"
            )
            return FileDecision(path, False, why), stored
    return FileDecision(path, True, why, snapshot_bytes(fresh)), fresh


def decide_image(path: Path, scenario: Scenario, coefs) -> FileDecision:
    """Keep the stored image when the new drawing has identical pixels.

    The drawing is the one the image layers compare (:func:`plot.draw_weights`);
    differing pixels are measured by their RMS, as pytest-mpl measures it.
    """
    import matplotlib.image
    import numpy as np
    from matplotlib.testing.compare import calculate_rms

    from mlp_weights.pipeline.plot import weight_grid_png

    content = weight_grid_png(coefs, scenario)
    if not path.exists():
        return FileDecision(path, True, "no image yet", content)
    try:
        old = matplotlib.image.imread(path)
    except Exception as exc:  # any decoding failure means the file cannot serve
        return FileDecision(path, True, f"the stored image is unreadable ({exc})", content)
    new = matplotlib.image.imread(io.BytesIO(content))
    if old.shape != new.shape:
        why = f"size {new.shape[1]}x{new.shape[0]} now, {old.shape[1]}x{old.shape[0]} stored"
    elif np.array_equal(old, new):
        return FileDecision(path, False, "pixels identical")
    else:
        old, new = ((p[..., :3] * 255).round().astype(np.int16) for p in (old, new))
        why = f"pixels differ, RMS {calculate_rms(old, new):.4g}"
    return FileDecision(path, True, why, content)
