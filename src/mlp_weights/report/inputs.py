"""What ``verdict.html`` is made from besides the verdict: bisections and recorded files.

``mlp-weights report`` reads a folder that may come from another machine
(a CI artifact): the paths its verdict recorded are looked up in the folder.
The verdict itself is read by :func:`mlp_weights.report.record.load_verdict`.
"""

from __future__ import annotations

from pathlib import Path

from mlp_weights.report.record import ResultsError, read_bisection

#: Bisection reports the page shows: one in the folder, or one per library
#: in sub-folders (as the upgrade canary keeps them).
BISECT_PATTERNS = ("bisect.json", "bisect*/bisect.json")


def load_bisections(results_dir: Path) -> list[dict]:
    """The bisection reports in the folder, by file; one that cannot be read says so."""
    found = []
    for pattern in BISECT_PATTERNS:
        for path in sorted(results_dir.glob(pattern)):
            name = str(path.relative_to(results_dir))
            try:
                found.append({"file": name, "report": read_bisection(path)})
            except ResultsError as exc:
                found.append({"file": name, "problem": str(exc)})
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
