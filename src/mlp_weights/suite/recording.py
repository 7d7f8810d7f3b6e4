"""From a finished layer test to its typed record, and the files a run leaves.

The pytest plugin (:mod:`mlp_weights.pytest_plugin`) reads what a layer test
found: its own :class:`~mlp_weights.suite.results.Finding`, or pytest-mpl's
record of an image comparison (:func:`image_finding`). :func:`layer_record`
turns that into a :class:`~mlp_weights.suite.results.LayerResult` with the
generation compared, what moved and who is blamed, and keeps a failing fit
beside a copy of the snapshot it was compared with. The results folder is
cleared of an earlier run's files by :func:`clear_results_folder`.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import numpy as np

from mlp_weights.suite.results import FAIL, PASS, SKIP, Finding, Kind, LayerResult
from mlp_weights.suite.state import RunState

#: What an earlier run leaves in a results folder and a new run removes:
#: pytest-mpl's summaries and per-worker files, and this suite's own.
STALE_FILES = (
    "verdict.json",
    "verdict.md",
    "verdict.html",
    "results.json",
    "fig_comparison.html",
    "fig_comparison_basic.html",
    "extra.js",
    "styles.css",
    "hash.svg",
    "image.svg",
)
#: pytest-mpl's per-worker files, merged by the controller at the end of a run.
WORKER_PATTERNS = ("results-xdist-*.json", "generated-hashes-xdist-*.json")
STALE_PATTERNS = (*WORKER_PATTERNS, "*.obtained.npz", "*.baseline.npz")
#: Files pytest-mpl writes into a test's folder of the results folder.
MPL_TEST_FILES = {"baseline.png", "result.png", "result-failed-diff.png"}


def layer_record(
    state: RunState,
    layer: str,
    scenario: str,
    finding: Finding,
    *,
    failed: bool,
    images: dict | None = None,
    nodeid: str = "",
    results_dir: Path | None = None,
) -> LayerResult:
    """The typed record of one finished (not skipped) layer test.

    A failing fit (``finding.obtained``) is kept in ``results_dir`` as
    ``<scenario>.obtained.npz``, beside ``<scenario>.baseline.npz``, a copy
    of the snapshot it was compared with.
    """
    status = FAIL if failed else PASS
    generation = state.compared_generation(layer)
    baseline_file = (
        generation.file_path(state.baseline_dir, scenario) if generation is not None else None
    )
    result = LayerResult(
        layer,
        scenario,
        status,
        kind=(finding.kind or Kind.ERROR) if failed else None,
        message=finding.message,
        amount=finding.amount,
        images=images,
        baseline_file=str(baseline_file) if baseline_file else None,
        nodeid=nodeid,
        diagnostics=finding.diagnostics,
        generation=generation.name if generation is not None else None,
        picture=finding.picture,
        panel_boxes=finding.panel_boxes,
    )
    if not failed:
        return result
    if finding.obtained is not None and results_dir is not None:
        keep_fit(result, finding.obtained, baseline_file, results_dir)
    from mlp_weights.core.layers import LAYERS
    from mlp_weights.suite.verdict import blame

    facts, _ = state.baseline_facts(scenario, layer)
    result.moved, result.blamed = blame(LAYERS[layer], result.kind, state.now, facts)
    return result


def skipped_record(layer: str, scenario: str, nodeid: str = "") -> LayerResult:
    return LayerResult(layer, scenario, SKIP, nodeid=nodeid)


def keep_fit(result: LayerResult, obtained, baseline_file: Path | None, folder: Path) -> None:
    """Keep a failing fit, and the snapshot it was compared with, in the results folder."""
    from mlp_weights.baselines.snapshot import save_snapshot

    folder.mkdir(parents=True, exist_ok=True)
    result.obtained = str(save_snapshot(obtained, folder / f"{result.scenario}.obtained.npz"))
    result.message += f"\nobtained fit kept in {result.obtained}"
    if baseline_file is not None and baseline_file.is_file():
        # So that the page can be rebuilt from the results folder alone.
        copy = folder / f"{result.scenario}.baseline.npz"
        shutil.copyfile(baseline_file, copy)
        result.baseline_snapshot = str(copy)


def image_finding(
    summary: dict, results_dir: Path, scenario: str | None = None
) -> tuple[Finding, dict | None]:
    """A finding from pytest-mpl's record of one comparison (its ``_test_results``).

    A failing comparison of two images also says how the picture moved
    (:func:`read_picture`).
    """
    images = {
        "baseline": summary.get("baseline_image"),
        "result": summary.get("result_image"),
        "diff": summary.get("diff_image"),
    }
    images = images if any(images.values()) else None
    finding = _comparison_finding(summary, results_dir, images)
    if finding.kind is Kind.MOVED and scenario is not None and images:
        read_picture(finding, results_dir, images, scenario)
    return finding, images


def _comparison_finding(summary: dict, results_dir: Path, images: dict | None) -> Finding:
    tolerance = summary.get("tolerance")
    if summary.get("status") == "passed":
        return Finding()
    if summary.get("image_status") == "missing":
        return Finding(Kind.MISSING_BASELINE, "baseline image not found")
    if summary.get("rms") is not None:
        rms = float(summary["rms"])
        amount = {"image_rms": rms, "tolerance": tolerance, "size_now": None, "size_baseline": None}
        return Finding(Kind.MOVED, f"image moved by RMS {rms:.3f} (tolerance {tolerance})", amount)
    if summary.get("image_status") == "diff" and images and images["baseline"] and images["result"]:
        return _size_finding(results_dir, images, tolerance)
    return Finding(Kind.ERROR, summary.get("status_msg") or "image comparison failed")


def _size_finding(results_dir: Path, images: dict, tolerance) -> Finding:
    """An image of another size than its baseline: no RMS, the two sizes."""
    from matplotlib.image import imread

    now = list(imread(results_dir / images["result"]).shape[:2])
    then = list(imread(results_dir / images["baseline"]).shape[:2])
    amount = {"image_rms": None, "tolerance": tolerance, "size_now": now, "size_baseline": then}
    return Finding(
        Kind.MOVED,
        f"image size {now[1]}x{now[0]} px now, {then[1]}x{then[0]} in the baseline",
        amount,
    )


@functools.lru_cache(maxsize=8)
def scenario_boxes(scenario: str) -> tuple:
    """The panels' boxes of a scenario's grid, in image pixels, as this matplotlib lays it out.

    From a grid laid out for the purpose (about 0.07 s, once per process):
    the layout does not depend on the weights drawn.
    """
    from mlp_weights.pipeline.plot import render_weights
    from mlp_weights.pipeline.scenarios import SCENARIOS
    from mlp_weights.suite.picture import panel_boxes

    settings = SCENARIOS[scenario]
    rows, cols = settings.grid
    weights = np.random.RandomState(0).standard_normal((settings.image_side**2, rows * cols))
    figure = render_weights(weights, settings)
    # matshow's equal aspect shrinks each axes when the figure is drawn.
    figure.draw_without_rendering()
    return tuple(panel_boxes(figure))


def read_picture(finding: Finding, results_dir: Path, images: dict | None, scenario: str) -> None:
    """Add how the picture moved to an image layer's failing ``finding``.

    Read from the two PNGs pytest-mpl kept and the boxes of the grid the
    suite draws; a reading that cannot be made leaves the finding as it is,
    RMS and all.
    """
    from PIL import Image

    from mlp_weights.suite.picture import read_change

    try:
        baseline, result = (
            np.asarray(Image.open(results_dir / images[key]).convert("RGB"))
            for key in ("baseline", "result")
        )
        boxes = scenario_boxes(scenario)
        finding.picture = read_change(baseline, result, boxes)
    except Exception:  # noqa: BLE001 - a reading is extra; the RMS already says it failed
        return
    finding.panel_boxes = [[round(v, 2) for v in box] for box in boxes]


def clear_results_folder(folder: Path | None) -> None:
    """Remove what an earlier run wrote, and only that, before this run writes.

    Known files by name; a test's folder only when it holds pytest-mpl's
    images and nothing else. Anything else a user keeps there stays, and
    so does an empty folder.
    """
    if folder is None or not folder.is_dir():
        return
    for name in STALE_FILES:
        (folder / name).unlink(missing_ok=True)
    for pattern in STALE_PATTERNS:
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
    for path in folder.iterdir():
        # An empty folder may be another run's results folder, still to be
        # filled (tox writes mpl-results/<env>/ beside mpl-results/).
        names = {p.name for p in path.iterdir()} if path.is_dir() else set()
        if names and names <= MPL_TEST_FILES:
            shutil.rmtree(path, ignore_errors=True)


def remove_worker_files(folder: Path) -> None:
    """pytest-mpl's per-worker files, once the controller has merged them."""
    for pattern in WORKER_PATTERNS:
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
