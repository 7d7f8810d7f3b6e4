"""What only this repository's tests need; the suite's hooks are in mlp_weights.pytest_plugin."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REPO_BASELINES = REPO / "baseline_images"

pytest_plugins = ["pytester"]

#: The variable that names the data home (scikit-learn's, which the tool follows).
DATA_HOME_ENV = "SCIKIT_LEARN_DATA"
#: The variable that names matplotlib's configuration and cache folder.
MPL_CONFIG_ENV = "MPLCONFIGDIR"


#: The collector's thresholds for a test run: full collections ten times rarer than
#: Python's default (10). This process holds about 400,000 objects (scikit-learn, SciPy,
#: matplotlib, the figures it caches), and each full collection walked them all: 28 of
#: them took 4.5 s of a 28 s serial run here. Young objects are collected as before,
#: and a test that needs garbage gone calls ``gc.collect()``.
GC_THRESHOLDS = (700, 10, 100)
_GC_BEFORE = pytest.StashKey[tuple]()


def pytest_configure(config):
    config.stash[_GC_BEFORE] = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)


def pytest_unconfigure(config):
    """An inner run (pytester) leaves the thresholds as the run around it had them."""
    before = config.stash.get(_GC_BEFORE, None)
    if before is not None:
        gc.set_threshold(*before)


def pytest_collection_modifyitems(items):
    """Run the self-tests first, keeping every other order.

    They are the suite's longest tests (each runs the layer tests inside this
    process; one starts two xdist workers of its own). Under ``-n 2`` the
    workers take them while short tests remain to fill the other core,
    instead of one long test running alone at the end.
    """
    items.sort(key=lambda item: item.get_closest_marker("selftest") is None)


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
    the ones other modules hold. Loading them here first keeps them, and
    keeps what they cache: the page's modules, first imported by an inner
    run's end, were loaded 26 times in this suite, and each time compiled
    the page's template again and lost the page's drawings. It also fits
    both offline scenarios once, for every inner run to share.
    """
    import importlib.readers  # noqa: F401  (what importlib.resources.files loads)

    import matplotlib.pyplot  # noqa: F401  (pytest-mpl imports it per test)
    import matplotlib.testing.compare
    import matplotlib.testing.decorators  # noqa: F401
    import pytest_mpl.plugin  # noqa: F401
    import pytest_mpl.summary.html  # noqa: F401

    from mlp_weights.report import images as page_images  # noqa: F401
    from mlp_weights.report import page  # noqa: F401
    from mlp_weights.suite import checks as suite  # noqa: F401
    from mlp_weights.suite import reading  # noqa: F401

    page.page_template()
    from mlp_weights.baselines.manifest import environment_versions
    from mlp_weights.baselines.store import image_path

    environment_versions()
    folder = tmp_path_factory.mktemp("warm")
    for name in ("digits", "mnist-sample"):
        figure = suite.pipeline_figure(name, REPO_BASELINES)
        figure.savefig(folder / f"{name}.png")
        matplotlib.testing.compare.compare_images(
            str(image_path(REPO_BASELINES, name)), str(folder / f"{name}.png"), tol=0
        )
        suite.check_scores(name)


@pytest.fixture(scope="session")
def outer_homes() -> dict[str, str]:
    """Where this run keeps data and matplotlib's font list, resolved before ``HOME`` moves."""
    import matplotlib

    from mlp_weights.pipeline.data import resolve_data_home

    return {
        DATA_HOME_ENV: os.fspath(resolve_data_home()),
        # The font list matplotlib builds on first use (0.4 to 0.6 s a process here).
        MPL_CONFIG_ENV: os.environ.get(MPL_CONFIG_ENV) or matplotlib.get_cachedir(),
    }


@pytest.fixture
def pytester(outer_homes, pytester, monkeypatch):
    """``pytester`` whose inner runs find the data and the font list where this run does.

    ``pytester`` points ``HOME`` at its own folder, so an inner run's default
    data home (``~/scikit_learn_data``) would be empty: every fit there would
    read its dataset from the source again, and each process it starts (xdist
    workers) would build matplotlib's font list again. The inner runs and
    their processes get this run's folders instead.
    """
    for name, value in outer_homes.items():
        monkeypatch.setenv(name, value)
    return pytester


@pytest.fixture
def no_ci_summary(monkeypatch):
    """Inner runs must not write their verdicts into this job's CI summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
