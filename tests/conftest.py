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


@pytest.fixture(scope="session")
def warm_process(tmp_path_factory):
    """Import, in this process, everything an inner ``pytester`` run uses.

    ``pytester`` unloads the modules an inner run imported when it ends;
    compiled extensions (numpy's, scipy's) cannot be loaded twice in one
    process, and a module loaded again makes classes that no longer match
    the ones other modules hold. Loading them here first keeps them. It also
    fits both offline scenarios once, for every inner run to share.
    """
    import matplotlib.pyplot  # noqa: F401  (pytest-mpl imports it per test)
    import matplotlib.testing.compare
    import matplotlib.testing.decorators  # noqa: F401
    import pytest_mpl.plugin  # noqa: F401
    import pytest_mpl.summary.html  # noqa: F401

    from mlp_weights import suite
    from mlp_weights.baselines import image_path
    from mlp_weights.manifest import environment_versions

    environment_versions()
    folder = tmp_path_factory.mktemp("warm")
    for name in ("digits", "mnist-sample"):
        figure = suite.pipeline_figure(name, REPO_BASELINES)
        figure.savefig(folder / f"{name}.png")
        matplotlib.testing.compare.compare_images(
            str(image_path(REPO_BASELINES, name)), str(folder / f"{name}.png"), tol=0
        )
        suite.check_scores(name)


@pytest.fixture
def no_ci_summary(monkeypatch):
    """Inner runs must not write their verdicts into this job's CI summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
