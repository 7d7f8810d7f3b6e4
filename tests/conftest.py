"""What only this repository's tests need; the suite's hooks are in mlp_weights.pytest_plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REPO_BASELINES = REPO / "baseline_images"

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def repo_baselines() -> Path:
    """The committed baselines (read only)."""
    return REPO_BASELINES
