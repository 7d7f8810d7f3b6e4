"""What a probe found: its cells (layer x scenario), its outcome, read from the run's verdict.

The layers' run writes ``verdict.json`` (the suite's own verdict, with the
amount each layer moved); it is read through
:func:`mlp_weights.report.record.read_verdict`, its amounts through
:func:`mlp_weights.suite.verdict.layer_numbers`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlp_weights.bisect.search import HOLDS, MOVES, UNTESTABLE
from mlp_weights.core.errors import one_line
from mlp_weights.suite.verdict import layer_numbers, picture_kinds

#: How the reason of a release that cannot be installed begins.
NOT_INSTALLABLE = "does not install on this Python"
#: Longest failure reason kept, in characters.
REASON_LENGTH = 240


@dataclass
class Cell:
    """One layer of one scenario in one probe.

    Parameters
    ----------
    measure : str
        What ``value`` is: ``"RMS"`` (image), ``"max rel"`` (largest relative
        error over the training arrays), ``"test score"``; empty when unknown.
    arrays : dict
        Training only: ``array name -> largest relative error``.
    picture : str
        Image layers: the kinds of change the picture shows (``"resampling"``,
        ``"layout+shift"``), from the probe's verdict; empty when it held.
    """

    layer: str
    scenario: str
    status: str
    kind: str | None = None
    measure: str = ""
    value: float | None = None
    message: str = ""
    arrays: dict = field(default_factory=dict)
    picture: str = ""


@dataclass
class ProbeResult:
    """What one probe found; JSON-able through :func:`dataclasses.asdict`.

    Parameters
    ----------
    outcome : str
        ``holds``, ``moves`` or ``untestable``.
    reason : str
        Why it is untestable (empty otherwise).
    installed : dict
        Every package in the environment, ``name -> version``.
    relaxed : dict
        Packages the resolver installed at another version than the pin,
        ``name -> [installed, pinned]``; empty when every pin held.
    pins_conflict : str
        Why the pins could not be kept (the installer's reason), when they were not.
    source : str
        Where the cells were read: ``verdict.json`` (empty when none was).
    """

    library: str
    version: str
    outcome: str
    reason: str = ""
    installed: dict = field(default_factory=dict)
    relaxed: dict = field(default_factory=dict)
    pins_conflict: str = ""
    cells: list[Cell] = field(default_factory=list)
    elapsed: float = 0.0
    source: str = ""
    cached: bool = False

    @property
    def cacheable(self) -> bool:
        """Whether another probe would find the same: not when the run itself broke
        down (an install that broke on the network stops the bisect instead)."""
        return self.outcome != UNTESTABLE or self.reason.startswith(NOT_INSTALLABLE)

    def failing(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.status == "fail"]


def outcome_of(cells: list[Cell]) -> tuple[str, str]:
    """``(outcome, reason)``: moves when any layer failed, holds when the rest passed."""
    if any(cell.status == "fail" for cell in cells):
        return MOVES, ""
    if any(cell.status == "pass" for cell in cells):
        return HOLDS, ""
    skipped = [cell.message for cell in cells if cell.status == "skip" and cell.message]
    reason = "no layer ran" + (f": {skipped[0]}" if skipped else "")
    return UNTESTABLE, one_line(reason, REASON_LENGTH)


def cells_from_verdict(verdict: dict, layers: list[str], scenarios: list[str]) -> list[Cell]:
    """The cells of the chosen layers and scenarios in a verdict, as ``read_verdict`` gives it."""
    cells = []
    for entry in verdict.get("scenarios", []):
        scenario = entry.get("scenario")
        if scenario not in scenarios:
            continue
        for layer in entry.get("layers", []):
            name = layer.get("layer")
            if name not in layers or layer.get("status") == "not-run":
                continue
            measure, value, arrays = layer_numbers(layer)
            cells.append(
                Cell(
                    layer=name,
                    scenario=scenario,
                    status=layer.get("status", ""),
                    kind=layer.get("kind"),
                    picture=picture_kinds(layer.get("picture")),
                    measure=measure,
                    value=value,
                    message=one_line(layer.get("message") or "", REASON_LENGTH),
                    arrays=arrays,
                )
            )
    return cells
