"""Hand-made results folders for the page's tests: a verdict and the files it names.

The images are small synthetic figures (a result shifted by one pixel from
its baseline, the change a matplotlib release made to the weight grids);
the fits are snapshots of the ``digits`` scenario's shape, so the page
draws their loss curves and weight grids itself.
"""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from PIL import Image

from mlp_weights.baselines.snapshot import Snapshot, save_snapshot
from mlp_weights.pipeline.scenarios import SCENARIOS
from mlp_weights.report.record import SCHEMA, SCHEMA_VERSION

NOW = {
    "python": "3.11.7",
    "scikit-learn": "1.9.1",
    "matplotlib": "3.12.0",
    "numpy": "2.4.6",
    "freetype": "2.14.3",
}
THEN = NOW | {"matplotlib": "3.11.2"}
IMAGE_DIR = "test_layers.test_rendering_matches_baseline_image_digits"
DIAGNOSTICS = {
    "now": {"max_weight_ratio": 52.7, "dead_units": 36, "stable_rank": 1.4},
    "baseline": {"max_weight_ratio": 7.5, "dead_units": 4, "stable_rank": 10.2},
    "labels": {
        "max_weight_ratio": "largest |w| / initial bound",
        "dead_units": "units never active",
        "stable_rank": "stable rank",
    },
    "reading": "weights grew as with a higher learning rate: max |w| 7.5 -> 52.7",
}


def write_png(path: Path, pixels: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path.name


def figure_pixels(shift: int = 0) -> np.ndarray:
    """A 120 x 80 grey figure with four dark panels, shifted right by ``shift`` pixels."""
    pixels = np.full((80, 120, 3), 255, dtype=np.uint8)
    for top, left in ((10, 10), (10, 70), (45, 10), (45, 70)):
        pixels[top : top + 25, left + shift : left + shift + 40] = 60
    return pixels


def layer(name: str, status: str, **fields) -> dict:
    record = {
        "layer": name,
        "status": status,
        "kind": "moved" if status == "fail" else None,
        "message": "",
        "amount": None,
        "moved": [],
        "blamed": [],
        "images": None,
        "obtained": None,
        "baseline_file": None,
        "baseline_snapshot": None,
    }
    record.update(fields)
    return record


def verdict(scenarios: list[dict], results_dir: Path) -> dict:
    counts = {"pass": 0, "fail": 0, "skip": 0, "not-run": 0}
    for scenario in scenarios:
        for record in scenario["layers"]:
            counts[record["status"]] += 1
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": "2026-11-30T09:00:00+00:00",
        "baseline_dir": "/nowhere/baseline_images",
        "results_dir": str(results_dir),
        "layers_run": ["training", "rendering", "scores"],
        "now": NOW,
        "counts": counts,
        "scenarios": scenarios,
    }


def arrays(n_differ: int) -> dict:
    return {
        "arrays": [
            {"name": "loss curve", "n_total": 8, "n_differ": n_differ, "max_abs": 1e-3,
             "max_rel": 2e-2, "shape_mismatch": "", "rtol": 1e-9, "atol": 1e-12},
            {"name": "first-layer weights", "n_total": 2560, "n_differ": 3 * n_differ,
             "max_abs": 2e-3, "max_rel": 3.6e-2, "shape_mismatch": "", "rtol": 1e-9,
             "atol": 1e-12},
        ],
        "rtol": 1e-9,
        "atol": 1e-12,
    }  # fmt: skip


def write_fits(folder: Path) -> tuple[str, str]:
    """An obtained fit and the baseline copy, of the digits scenario's shape."""
    rng = np.random.RandomState(0)
    settings = SCENARIOS["digits"].settings_json()
    coefs = rng.uniform(-0.3, 0.3, size=(64, 40))
    losses = np.linspace(2.3, 0.3, 8)
    baseline = Snapshot("digits", settings, losses, coefs, 0.92, 0.90)
    obtained = Snapshot("digits", settings, losses * 1.01, coefs * 1.2, 0.93, 0.91)
    save_snapshot(baseline, folder / "digits.baseline.npz")
    save_snapshot(obtained, folder / "digits.obtained.npz")
    return str(folder / "digits.obtained.npz"), str(folder / "digits.baseline.npz")


def failing_results(folder: Path, fits: bool = True, **training_fields) -> Path:
    """A results folder where digits' rendering moved (one-pixel shift) and training moved.

    The training record carries ``diagnostics`` and the rendering record a
    ``generation``; ``training_fields`` override the training record. Without
    ``fits``, the folder holds no fits, so the page draws no loss curves and
    no weight grid (faster, for tests that look at other parts).
    """
    folder.mkdir(parents=True, exist_ok=True)
    images = {}
    for key, name, shift in (("baseline", "baseline.png", 0), ("result", "result.png", 1)):
        write_png(folder / IMAGE_DIR / name, figure_pixels(shift))
        images[key] = f"{IMAGE_DIR}/{name}"
    diff = np.abs(figure_pixels(1).astype(int) - figure_pixels(0)) * 10
    write_png(folder / IMAGE_DIR / "result-failed-diff.png", np.clip(diff, 0, 255))
    images["diff"] = f"{IMAGE_DIR}/result-failed-diff.png"
    obtained, kept = write_fits(folder) if fits else (None, None)
    move = {"fact": "matplotlib", "kind": "library", "now": "3.12.0", "then": "3.11.2"}
    training = (
        layer(
            "training",
            "fail",
            message="a fresh fit differs from the stored snapshot",
            amount=arrays(8),
            blamed=["local change"],
            obtained=obtained,
            baseline_snapshot=kept,
            baseline_file="/nowhere/baseline_images/digits.npz",
            diagnostics=copy.deepcopy(DIAGNOSTICS),
        )
        | training_fields
    )
    scenarios = [
        {
            "scenario": "mnist",
            "verdict": "skipped",
            "baseline": None,
            "baseline_problem": None,
            "layers": [layer("training", "skip"), layer("rendering", "skip")],
        },
        {
            "scenario": "digits",
            "verdict": "rendering moved (RMS 12.573), blamed: matplotlib",
            "baseline": THEN,
            "baseline_problem": None,
            "layers": [
                training,
                layer(
                    "rendering",
                    "fail",
                    message="image moved by RMS 12.573 (tolerance 0.05)",
                    amount={
                        "image_rms": 12.573,
                        "tolerance": 0.05,
                        "size_now": None,
                        "size_baseline": None,
                    },
                    moved=[move],
                    blamed=["matplotlib"],
                    images=images,
                    generation="2026-11-pinned",
                ),
                layer(
                    "scores",
                    "pass",
                    amount={
                        "scores": {"train": 0.92, "test": 0.91},
                        "floors": {"train": 0.9, "test": 0.85},
                    },
                ),
            ],
        },  # fmt: skip
    ]
    (folder / "verdict.json").write_text(json.dumps(verdict(scenarios, folder)))
    return folder


def passing_results(folder: Path) -> Path:
    """A results folder where every layer of digits holds."""
    folder.mkdir(parents=True, exist_ok=True)
    images = {}
    for key in ("baseline", "result"):
        write_png(folder / IMAGE_DIR / f"{key}.png", figure_pixels())
        images[key] = f"{IMAGE_DIR}/{key}.png"
    scenarios = [
        {
            "scenario": "digits",
            "verdict": "all layers hold",
            "baseline": NOW,
            "baseline_problem": None,
            "layers": [
                layer("training", "pass", amount=arrays(0)),
                layer("rendering", "pass", images=images | {"diff": None}),
            ],
        }
    ]
    (folder / "verdict.json").write_text(json.dumps(verdict(scenarios, folder)))
    return folder


class PageParser(HTMLParser):
    """Every ``src`` and ``href`` of a page, the ``<img>`` sources, and the cells in order."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str, str]] = []
        self.images: list[str] = []
        self.copies: list[str] = []
        self.cells: list[str] = []
        self.stylesheets = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "srcset", "action", "poster"):
            if attrs.get(name) is not None:
                self.links.append((tag, name, attrs[name]))
        if tag == "img" and "data-copy" in attrs:
            # Filled by the page's script from the side-by-side panel it names.
            self.copies.append(attrs["data-copy"])
        elif tag == "img":
            self.images.append(attrs.get("src") or "")
        if tag == "link":
            self.stylesheets += 1
        if "data-status" in attrs:
            self.cells.append(attrs["data-status"])


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def assert_self_contained(html: str) -> PageParser:
    """No external ``src``/``href`` of any kind, and every image a ``data:`` PNG."""
    page = parse_page(html)
    external = [link for link in page.links if not link[2].startswith("data:")]
    assert not external, f"the page refers to files or addresses: {external}"
    assert page.stylesheets == 0
    assert all(src.startswith("data:image/png;base64,") for src in page.images), page.images
    assert "url(" not in html.replace("url(data:", ""), "CSS loads something"
    assert "@import" not in html
    return page
