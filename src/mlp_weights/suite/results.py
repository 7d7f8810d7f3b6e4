"""Typed results: what a layer check found, and what the verdict records of it.

A check either passes (possibly with an amount: how close it was) or raises
:class:`LayerFailure` carrying a :class:`Finding` of a known :class:`Kind`.
The pytest plugin turns findings into :class:`LayerResult` records, adds
what moved and who is blamed, and every report (terminal, JSON, Markdown)
is a view of those records. No decision is ever taken on message text.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field


class Kind(str, enum.Enum):
    """Why a layer failed."""

    MOVED = "moved"
    MISSING_BASELINE = "missing-baseline"
    DAMAGED_BASELINE = "damaged-baseline"
    SETTINGS_CHANGED = "settings-changed"
    BELOW_FLOOR = "below-floor"
    ERROR = "error"

    @property
    def baseline_unusable(self) -> bool:
        """A baseline that cannot be read says nothing about the libraries."""
        return self in (Kind.MISSING_BASELINE, Kind.DAMAGED_BASELINE)


#: Statuses of a layer in a verdict.
PASS, FAIL, SKIP, NOT_RUN = "pass", "fail", "skip", "not-run"


@dataclass
class Finding:
    """What a check found, before anything is blamed.

    ``kind`` is ``None`` for a pass. ``amount`` is JSON-able (see the
    ``verdict.json`` schema in docs/suite.md). ``obtained`` is a fresh fit to
    keep beside the verdict (a :class:`~mlp_weights.baselines.snapshot.Snapshot`).
    ``diagnostics`` is the training layer's reading of the weights, now and
    at the baseline (:func:`mlp_weights.suite.reading.diagnostics_record`).
    """

    kind: Kind | None = None
    message: str = ""
    amount: dict | None = None
    obtained: object | None = field(default=None, repr=False)
    diagnostics: dict | None = None
    #: Image layers: how the picture moved (:func:`mlp_weights.suite.picture.read_change`).
    picture: list | None = None
    #: The panels' boxes in image pixels that ``picture`` names by index.
    panel_boxes: list | None = None


class LayerFailure(Exception):
    """Raised by a check that failed; carries its :class:`Finding`."""

    def __init__(self, finding: Finding):
        super().__init__(finding.message)
        self.finding = finding

    @classmethod
    def unusable_baseline(cls, error: Exception) -> LayerFailure:
        """The failure of a check whose baseline is missing, or cannot be read or chosen."""
        from mlp_weights.core.errors import MissingBaselineError

        missing = isinstance(error, MissingBaselineError)
        return cls(Finding(Kind.MISSING_BASELINE if missing else Kind.DAMAGED_BASELINE, str(error)))


@dataclass(frozen=True)
class Move:
    """One recorded fact that differs between now and the baseline."""

    fact: str
    kind: str  # "library" or "environment"
    now: str | None
    then: str | None


@dataclass
class LayerResult:
    """One layer of one scenario in one run: the unit every report is made of."""

    layer: str
    scenario: str
    status: str
    kind: Kind | None = None
    message: str = ""
    amount: dict | None = None
    moved: list[Move] = field(default_factory=list)
    blamed: list[str] = field(default_factory=list)
    images: dict | None = None
    obtained: str | None = None
    baseline_file: str | None = None
    baseline_snapshot: str | None = None
    nodeid: str = ""
    diagnostics: dict | None = None
    #: The baseline generation compared against (``LAYER/LABEL``); None for a
    #: layer that compares no stored file.
    generation: str | None = None
    #: A failing image layer: how the picture moved, one record per kind, and
    #: the panels' boxes (``[x0, y0, x1, y1]`` in image pixels) its records name.
    picture: list | None = None
    panel_boxes: list | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["kind"] = self.kind.value if self.kind else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> LayerResult:
        data = dict(data)
        data["kind"] = Kind(data["kind"]) if data.get("kind") else None
        data["moved"] = [Move(**m) for m in data.get("moved", [])]
        return cls(**data)
