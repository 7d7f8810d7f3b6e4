"""Running the layers in a probe's environment: the pytest command, its environment, its errors.

The layers run in a subprocess, ``python -m pytest`` in the probe's
environment (the project's wheel is installed there), with the working
tree's tests, from the repository root, against the committed baselines,
writing their ``verdict.json`` into the probe's folder. What a probe never
reads is not written: pytest-mpl's HTML summaries (``--mpl-generate-summary``
emptied), which also keep a copy of every passing image.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlp_weights.core.errors import UsageError

#: The layer tests a probe runs (the seed's comparison lives in its own file).
LAYER_TESTS = Path("tests") / "test_layers.py"
SEED_TESTS = Path("tests") / "test_seed.py"
#: Empties the ``addopts`` summaries of pytest-mpl (``html,basic-html``).
NO_SUMMARY = "--mpl-generate-summary="
#: Seconds a test run may take before the probe gives up on it.
TEST_TIMEOUT = 900
#: As in tox.ini: one thread everywhere, a display-less backend. OPENBLAS_CORETYPE
#: and OPENBLAS_L2_SIZE pass through untouched.
PROBE_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "agg",
}


def find_repository(start: str | os.PathLike | None = None) -> Path:
    """The working tree the probes test: the nearest folder up from ``start`` with the suite."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / LAYER_TESTS).is_file() and (folder / "pyproject.toml").is_file():
            return folder
    raise UsageError(
        f"no mlp-weights working tree at or above {here} (looked for {LAYER_TESTS}); "
        "run bisect from a checkout of the repository"
    )


def keyword_expression(scenarios: list[str]) -> str:
    """``-k`` selecting exactly these scenarios (``[mnist]`` leaves out ``mnist-sample``)."""
    return " or ".join(f"[{name}]" for name in scenarios)


def layers_command(
    python: Path, repo: Path, results: Path, layers: list[str], scenarios: list[str]
) -> list[str]:
    """The pytest command line of one probe's run."""
    files = [str(LAYER_TESTS)]
    if "seed" in layers and "mnist" in scenarios:
        files.append(str(SEED_TESTS))
    return [
        str(python),
        "-m",
        "pytest",
        *files,
        "-m",
        " or ".join(layers),
        "-k",
        keyword_expression(scenarios),
        "-p",
        "no:cacheprovider",
        # The probe reads verdict.json, never these summaries.
        NO_SUMMARY,
        f"--mpl-results-path={results}",
        f"--mlp-baseline-dir={repo / 'baseline_images'}",
        "-q",
    ]


def failure_line(output: str) -> str:
    """The error a failed test run ended on: its last ``E   ...Error`` line, else its last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^E\s+\w*(Error|Exception)\b", ln)]
    if errors:
        return errors[-1].lstrip("E ").strip()
    return lines[-1] if lines else "no output"
