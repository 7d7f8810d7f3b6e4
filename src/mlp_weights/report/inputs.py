"""What ``verdict.html`` is made from: the verdict and the files of a results folder.

``mlp-weights report`` reads a folder that may come from another machine
(a CI artifact): its ``verdict.json`` is checked before anything is
written, and the paths it recorded are looked up in the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlp_weights.core.errors import MLPWeightsError

#: Bisection reports the page shows: one in the folder, or one per library
#: in sub-folders (as the upgrade canary keeps them).
BISECT_PATTERNS = ("bisect.json", "bisect*/bisect.json")


class ResultsError(MLPWeightsError):
    """A results folder whose verdict cannot be read: one line, exit code 1."""


def load_verdict(results_dir: str | Path) -> dict:
    """The verdict of a results folder, checked enough to render.

    Raises
    ------
    ResultsError
        When ``verdict.json`` is absent, damaged, or of a newer schema.
    """
    from mlp_weights.report.views import JSON_NAME, SCHEMA, SCHEMA_VERSION

    path = Path(results_dir) / JSON_NAME
    if not path.is_file():
        raise ResultsError(
            f"no {JSON_NAME} in {results_dir}: run the layer tests into it first "
            "(pytest -m layer --mpl-results-path=DIR)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path} is damaged ({type(exc).__name__}: {exc})") from None
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


def load_bisections(results_dir: Path) -> list[dict]:
    """The bisection reports in the folder; one that cannot be read says so."""
    found = []
    for pattern in BISECT_PATTERNS:
        for path in sorted(results_dir.glob(pattern)):
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
                found.append(
                    {
                        "file": str(path.relative_to(results_dir)),
                        "library": str(report["library"]),
                        "ends": [str(v) for v in report.get("ends", [])],
                        "lines": [str(line) for line in report.get("verdict", [])],
                        "changelogs": [
                            str(p["changelog"]) for p in report.get("change_points", [])
                        ],
                        "problem": None,
                    }
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                found.append({"file": str(path.relative_to(results_dir)), "problem": str(exc)})
    return found


def resolve(results_dir: Path, recorded: str | None) -> Path | None:
    """A file the verdict names: relative to the folder, else as recorded, else by its name.

    A folder downloaded from CI keeps its files but not the absolute paths
    the run recorded, so a missing absolute path is looked up by its name
    in the folder.
    """
    if not recorded:
        return None
    path = Path(recorded)
    candidates = [path] if path.is_absolute() else [results_dir / path]
    candidates.append(results_dir / path.name)
    return next((p for p in candidates if p.is_file()), None)
