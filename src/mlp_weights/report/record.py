"""The ``verdict.json`` record: its schema, and its one reader.

The suite writes it (:func:`mlp_weights.report.views.write_verdict`); the
page, ``mlp-weights report`` and ``bisect``'s probes read it through
:func:`read_verdict`, so that a damaged or newer file says so in one line
wherever it is read.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlp_weights.core.errors import MLPWeightsError

SCHEMA = "mlp-weights-verdict"
#: Bumped whenever a field changes meaning or disappears; adding fields keeps it.
SCHEMA_VERSION = 1
JSON_NAME = "verdict.json"
#: ``bisect``'s report, which the page shows beside the verdict.
BISECT_SCHEMA = "mlp-weights-bisect"
BISECT_SCHEMA_VERSION = 1
BISECT_JSON_NAME = "bisect.json"


class ResultsError(MLPWeightsError):
    """A results folder whose verdict cannot be read: one line, exit code 1."""


def load_verdict(results_dir: str | Path) -> dict:
    """The verdict of a results folder, checked enough to render.

    Raises
    ------
    ResultsError
        When ``verdict.json`` is absent, damaged, or of a newer schema.
    """
    path = Path(results_dir) / JSON_NAME
    if not path.is_file():
        raise ResultsError(
            f"no {JSON_NAME} in {results_dir}: run the layer tests into it first "
            "(pytest -m layer --mpl-results-path=DIR)"
        )
    return read_verdict(path)


def read_verdict(path: str | Path) -> dict:
    """The verdict in ``path`` (a ``verdict.json``), checked: every reader goes through here.

    Raises
    ------
    ResultsError
        When the file is unreadable, damaged, or of a newer schema.
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultsError(f"{path} is damaged: it is not an mlp-weights verdict")
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise ResultsError(f"{path} is damaged: no schema version")
    if version > SCHEMA_VERSION:
        raise ResultsError(
            f"{path} has schema version {version}, newer than this mlp-weights reads "
            f"({SCHEMA_VERSION}); upgrade mlp-weights"
        )
    if not _well_formed(data):
        raise ResultsError(f"{path} is damaged: its scenarios or layers are not as written")
    return data


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path} is damaged ({type(exc).__name__}: {exc})") from None


def _well_formed(data: dict) -> bool:
    scenarios = data.get("scenarios")
    if not isinstance(scenarios, list) or not isinstance(data.get("now", {}), dict):
        return False
    for scenario in scenarios:
        if not isinstance(scenario, dict) or not isinstance(scenario.get("scenario"), str):
            return False
        layers = scenario.get("layers")
        if not isinstance(layers, list):
            return False
        for layer in layers:
            if not isinstance(layer, dict):
                return False
            if not isinstance(layer.get("layer"), str) or not isinstance(layer.get("status"), str):
                return False
    return True


def read_bisection(path: str | Path) -> dict:
    """A ``bisect.json``, checked as :func:`read_verdict` checks a verdict.

    Raises
    ------
    ResultsError
        When the file is unreadable, not a bisect report, or of a newer schema.
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("schema") != BISECT_SCHEMA:
        raise ResultsError(f"{path} is not an mlp-weights bisect report")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > BISECT_SCHEMA_VERSION:
        raise ResultsError(
            f"{path} has schema version {version!r}; this mlp-weights reads up to "
            f"{BISECT_SCHEMA_VERSION}"
        )
    return data
