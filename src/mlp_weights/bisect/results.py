"""What a probe found: its cells (layer x scenario), its outcome, read from the run's results.

The layers' run writes ``verdict.json`` (the suite's own verdict, with the
amount each layer moved); a suite that does not write one is read from its
JUnit report instead, with the amounts taken from the failure messages.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlp_weights.bisect.search import HOLDS, MOVES, UNTESTABLE
from mlp_weights.core import errors
from mlp_weights.core.layers import LAYERS

#: The verdict file the suite writes into its results folder, and the schema it follows.
VERDICT_NAME = "verdict.json"
VERDICT_SCHEMA = "mlp-weights-verdict"
VERDICT_SCHEMA_VERSION = 1
#: The JUnit report every layers' run also writes.
JUNIT_NAME = "junit.xml"
#: How the reason of a release that cannot be installed begins.
NOT_INSTALLABLE = "does not install on this Python"
#: Phrases of uv's and pip's errors that mean the index or a download could
#: not be reached, not that the release cannot be installed. uv puts "Failed
#: to download `name==version`" (or "Failed to fetch") over whatever broke
#: on the way: a refused or reset connection, a timeout, a body cut short.
NETWORK_ERRORS = (
    "error sending request",
    "dns error",
    "connection refused",
    "failed to establish a new connection",
    "temporary failure in name resolution",
    "failed to download",
    "failed to fetch",
    "request failed after",
    "connection reset",
    "operation timed out",
    "read timed out",
)
#: Longest failure reason kept, in characters.
REASON_LENGTH = 240
#: Digits of an image RMS in pytest-mpl's failure message.
_RMS = re.compile(r"RMS Value:\s*([0-9.eE+-]+)")
_MAX_REL = re.compile(r"max rel error ([0-9.eE+-]+|inf|nan)")


def one_line(text: str, limit: int = REASON_LENGTH) -> str:
    """``text`` on one line, cut to ``limit`` characters (:func:`core.errors.one_line`)."""
    return errors.one_line(text, limit)


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
    """

    layer: str
    scenario: str
    status: str
    kind: str | None = None
    measure: str = ""
    value: float | None = None
    message: str = ""
    arrays: dict = field(default_factory=dict)


@dataclass
class ProbeResult:
    """What one probe found; JSON-able through :meth:`to_dict`.

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
        Where the cells were read: ``verdict.json`` or ``junit``.
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

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("cached")
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ProbeResult:
        data = dict(data)
        cells = [Cell(**cell) for cell in data.pop("cells", [])]
        data.pop("cached", None)
        return cls(**data, cells=cells)

    @property
    def cacheable(self) -> bool:
        """Whether another probe would find the same: not when the run itself broke
        down, nor when an install broke on the network (a cache written before
        that was told apart may hold such results: they are read as absent)."""
        if self.outcome != UNTESTABLE:
            return True
        broke = any(phrase in self.reason.lower() for phrase in NETWORK_ERRORS)
        return self.reason.startswith(NOT_INSTALLABLE) and not broke

    def failing(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.status == "fail"]


def outcome_of(cells: list[Cell]) -> tuple[str, str]:
    """``(outcome, reason)``: moves when any layer failed, holds when the rest passed."""
    if any(cell.status == "fail" for cell in cells):
        return MOVES, ""
    if any(cell.status == "pass" for cell in cells):
        return HOLDS, ""
    skipped = [cell.message for cell in cells if cell.status == "skip" and cell.message]
    return UNTESTABLE, one_line("no layer ran" + (f": {skipped[0]}" if skipped else ""))


def _measure(layer: str, amount) -> tuple[str, float | None, dict]:
    """``(measure, value, arrays)`` from a verdict layer's ``amount``."""
    if not isinstance(amount, dict):
        return "", None, {}
    if "image_rms" in amount:
        return "RMS", amount.get("image_rms"), {}
    if "arrays" in amount:
        arrays = {
            str(a.get("name")): a.get("max_rel")
            for a in amount.get("arrays") or []
            if isinstance(a, dict)
        }
        values = [v for v in arrays.values() if isinstance(v, (int, float))]
        return "max rel", (max(values) if values else None), arrays
    if "scores" in amount:
        scores = amount.get("scores") or {}
        return "test score", scores.get("test"), {}
    return "", None, {}


def cells_from_verdict(verdict: dict, layers: list[str], scenarios: list[str]) -> list[Cell]:
    """The cells of the chosen layers and scenarios in a ``verdict.json`` (schema 1)."""
    if verdict.get("schema") != VERDICT_SCHEMA:
        raise ValueError(f"not a verdict file (schema {verdict.get('schema')!r})")
    version = verdict.get("schema_version")
    if not isinstance(version, int) or version > VERDICT_SCHEMA_VERSION:
        raise ValueError(
            f"verdict schema version {version!r}; this reads up to {VERDICT_SCHEMA_VERSION}"
        )
    cells = []
    for entry in verdict.get("scenarios", []):
        scenario = entry.get("scenario")
        if scenario not in scenarios:
            continue
        for layer in entry.get("layers", []):
            name = layer.get("layer")
            if name not in layers or layer.get("status") == "not-run":
                continue
            measure, value, arrays = _measure(name, layer.get("amount"))
            cells.append(
                Cell(
                    layer=name,
                    scenario=scenario,
                    status=layer.get("status", ""),
                    kind=layer.get("kind"),
                    measure=measure,
                    value=value,
                    message=one_line(layer.get("message") or ""),
                    arrays=arrays,
                )
            )
    return cells


def _layer_of_test(function: str) -> str | None:
    """The layer a test function belongs to, by the layer name in it (JUnit lacks markers)."""
    words = set(function.split("_"))
    for name in LAYERS:
        if name in words:
            return name
    return None


def cells_from_junit(path: Path, layers: list[str], scenarios: list[str]) -> list[Cell]:
    """Cells from pytest's JUnit XML, for a suite that writes no ``verdict.json``."""
    cells = []
    for case in ET.parse(path).getroot().iter("testcase"):
        match = re.fullmatch(r"(\w+)\[(.+)\]", case.get("name", ""))
        if not match:
            continue
        layer, scenario = _layer_of_test(match.group(1)), match.group(2)
        if layer not in layers or scenario not in scenarios:
            continue
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        text = ""
        if problem is not None:
            status, text = "fail", (problem.get("message") or "") + "\n" + (problem.text or "")
        elif skipped is not None:
            status, text = "skip", skipped.get("message") or ""
        else:
            status = "pass"
        cell = Cell(layer, scenario, status, "moved" if status == "fail" else None)
        cell.message = one_line(text)
        rms, rel = _RMS.search(text), _MAX_REL.findall(text)
        if rms:
            cell.measure, cell.value = "RMS", float(rms.group(1))
        elif rel:
            cell.measure, cell.value = "max rel", max(float(v) for v in rel)
        cells.append(cell)
    return cells


def read_cells(results: Path, layers: list[str], scenarios: list[str]) -> tuple[list[Cell], str]:
    """``(cells, source)`` from a run's results folder: ``verdict.json``, else the JUnit report.

    Raises
    ------
    ValueError, xml.etree.ElementTree.ParseError, OSError
        When a results file is there but cannot be read.
    """
    verdict_path, junit_path = results / VERDICT_NAME, results / JUNIT_NAME
    if verdict_path.exists():
        verdict = json.loads(verdict_path.read_text(encoding="utf-8"))
        return cells_from_verdict(verdict, layers, scenarios), VERDICT_NAME
    if junit_path.exists():
        return cells_from_junit(junit_path, layers, scenarios), "junit"
    return [], ""
