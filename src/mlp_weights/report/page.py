"""``verdict.html``: the verdict as one self-contained page, to look at before deciding.

The page is a view of ``verdict.json`` (and of the files it names in the
results folder), like the terminal, JSON and Markdown views of
:mod:`mlp_weights.report.views`. It is written after every run and rebuilt by
``mlp-weights report RESULTS_DIR``. It is one file: styles and scripts are
inline, images are ``data:`` URIs, so it opens offline from a downloaded
CI artifact and makes no request.

What it shows: the overall verdict, the stack now against the baseline's
(moved facts marked), the bisection when ``bisect.json`` is in the folder,
the baseline generation when the verdict names one; then the failures,
each with what a person needs to judge it (images side by side with a
swipe slider, a blink toggle, an amplified difference and pixel zoom; for
training, loss curves, weight grids, the per-array table and the
diagnostics); then every other cell on one line.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import jinja2

from mlp_weights.baselines.snapshot import load_snapshot
from mlp_weights.core.environment import LIBRARIES
from mlp_weights.core.errors import MLPWeightsError
from mlp_weights.core.io import atomic_write_bytes
from mlp_weights.pipeline.scenarios import SCENARIOS
from mlp_weights.report import images
from mlp_weights.report.inputs import load_bisections, resolve
from mlp_weights.report.next_steps import next_steps
from mlp_weights.report.record import ResultsError, load_verdict
from mlp_weights.suite.results import FAIL, NOT_RUN, SKIP
from mlp_weights.suite.verdict import describe_amount

PAGE_NAME = "verdict.html"
#: The one template, shipped in the package (``package-data`` in pyproject.toml).
TEMPLATE_NAME = "verdict.html.j2"
#: Zoom factors offered for the images (CSS pixels per image pixel).
ZOOMS = (1, 2, 4, 8)
#: The images of an image layer, by their key in the record, and their titles.
IMAGE_PANELS = (("baseline", "baseline"), ("result", "result"), ("diff", "difference"))


# -- the parts of the page ---------------------------------------------------------


def stack_rows(now: dict, scenarios: list[dict]) -> list[dict]:
    """One row per fact: its value now, at the baselines, and whether it moved."""
    facts = list(LIBRARIES) + [k for k in now if k not in LIBRARIES]
    for scenario in scenarios:
        facts += [k for k in scenario.get("baseline") or {} if k not in facts]
    rows = []
    for fact in facts:
        then = {}
        for scenario in scenarios:
            baseline = scenario.get("baseline") or {}
            if fact in baseline:
                then.setdefault(str(baseline[fact]), []).append(scenario["scenario"])
        if fact not in now and not then:
            continue
        value = str(now[fact]) if fact in now else None
        if len(then) > 1:
            shown = "; ".join(f"{v} ({', '.join(names)})" for v, names in then.items())
        else:
            shown = next(iter(then), None)
        moved = bool(then) and any(v != value for v in then)
        rows.append({"fact": fact, "now": value, "then": shown, "moved": moved})
    return rows


def one_line_amount(layer: dict) -> str:
    """The amount in a few words, as the terminal and Markdown tables say it."""
    try:
        return describe_amount(layer)
    except (KeyError, TypeError, ValueError):
        return ""


def image_part(layer: dict, results_dir: Path) -> dict:
    """Baseline, result, difference and amplified difference of an image layer."""
    files, amount = layer.get("images") or {}, layer.get("amount") or {}
    raw = {key: images.read_png(resolve(results_dir, files.get(key))) for key, _ in IMAGE_PANELS}
    pixels = {k: images.decode_png(raw[k]) for k in ("baseline", "result") if raw[k]}
    part = {
        "panels": [
            {
                "key": key,
                "title": title,
                "uri": images.png_data_uri(raw[key]) if raw[key] else None,
                "name": files.get(key) or "(not recorded)",
            }
            for key, title in IMAGE_PANELS
        ],
        "rms": amount.get("image_rms"),
        "tolerance": amount.get("tolerance"),
        "sizes": {k: f"{p.shape[1]} x {p.shape[0]} px" for k, p in pixels.items() if p is not None},
        "n_differ": None,
    }
    amplified = None
    if raw["baseline"] and raw["result"]:
        amplified = images.amplified_png(raw["baseline"], raw["result"])
    if amplified is not None:
        data, part["n_differ"] = amplified
        part["n_pixels"] = pixels["baseline"].shape[0] * pixels["baseline"].shape[1]
        uri = images.png_data_uri(data)
        part["panels"].append({"key": "amplified", "title": "amplified", "uri": uri, "name": ""})
    part["reading"], part["marks"] = images.picture_marks(layer, pixels.get("baseline"))
    return part


def _kept_image(scenario: dict, layer_names: tuple[str, ...], key: str, results_dir: Path):
    """PNG bytes of an image another layer of the scenario kept, the first found."""
    for layer in scenario.get("layers", []):
        if layer.get("layer") in layer_names:
            data = images.read_png(resolve(results_dir, (layer.get("images") or {}).get(key)))
            if data is not None:
                return data
    return None


def _snapshot(path: Path | None, scenario: str):
    if path is None:
        return None
    try:
        return load_snapshot(path, scenario)
    except MLPWeightsError:
        return None


def training_part(layer: dict, scenario: dict, results_dir: Path) -> dict:
    """Loss curves and weight grids of a failed training layer; its arrays and diagnostics.

    The weight grids are the images the pipeline (fresh fit) and rendering
    (baseline) layers kept, when they ran; otherwise they are drawn from the
    obtained fit and the copy of the snapshot. The seed layer compares
    published numbers and keeps no fit: it has no figures.
    """
    part = {
        "figures": layer["layer"] == "training",
        "arrays": (layer.get("amount") or {}).get("arrays") or [],
        "diagnostics": diagnostics_part(layer),
    }
    if not part["figures"]:
        return part
    from mlp_weights.pipeline.plot import weight_grid_png

    name = scenario["scenario"]
    now = _snapshot(resolve(results_dir, layer.get("obtained")), name)
    then = _snapshot(resolve(results_dir, layer.get("baseline_snapshot")), name)
    if now is not None or then is not None:
        curves = [getattr(snap, "loss_curve", None) for snap in (then, now)]
        part["loss"] = images.png_data_uri(images.loss_curves_png(*curves))
    # The baseline image is drawn from the snapshot's weights; the
    # pipeline's result is the fresh fit drawn.
    grids = (
        ("baseline", ("rendering", "pipeline"), "baseline", then),
        ("now (fresh fit)", ("pipeline",), "result", now),
    )
    part["grids"] = []
    for title, layers, key, snap in grids:
        data = _kept_image(scenario, layers, key, results_dir)
        if data is None and snap is not None and name in SCENARIOS:
            data = weight_grid_png(snap.coefs, SCENARIOS[name])
        part["grids"].append({"title": title, "uri": images.png_data_uri(data) if data else None})
    return part


def diagnostics_part(layer: dict) -> dict | None:
    """The weight diagnostics then and now, with their labels and the reading."""
    diagnostics = layer.get("diagnostics")
    if not isinstance(diagnostics, dict):
        return None
    now = diagnostics.get("now") or {}
    then = diagnostics.get("baseline") or {}
    labels = diagnostics.get("labels") or {}
    keys = list(labels) + [k for k in list(now) + list(then) if k not in labels]
    rows = [
        {
            "label": labels.get(key, key),
            "then": number(then.get(key)) if then else "unknown",
            "now": number(now.get(key)),
            "changed": bool(then) and then.get(key) != now.get(key),
        }
        for key in dict.fromkeys(keys)
    ]
    return {"rows": rows, "reading": diagnostics.get("reading") or ""}


def scores_part(layer: dict) -> list[dict]:
    amount = layer.get("amount") or {}
    scores, floors = amount.get("scores") or {}, amount.get("floors") or {}
    return [
        {
            "part": part,
            "score": number(scores.get(part)),
            "floor": number(floors.get(part)),
            "below": isinstance(scores.get(part), (int, float))
            and isinstance(floors.get(part), (int, float))
            and scores[part] < floors[part],
        }
        for part in ("train", "test")
        if part in scores or part in floors
    ]


def number(value) -> str:
    """A number as the page shows it (4 significant digits); ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def cell_context(layer: dict, scenario: dict, results_dir: Path, detailed: bool) -> dict:
    """One cell: the layer's record, its amount in words, and its details when ``detailed``."""
    amount = layer.get("amount") or {}
    cell = layer | {
        "id": f"{scenario['scenario']}-{layer['layer']}",
        "scenario": scenario["scenario"],
        "amount": one_line_amount(layer),
    }
    if detailed and layer.get("images"):
        cell["image"] = image_part(layer, results_dir)
    if detailed and (amount.get("arrays") is not None or layer.get("diagnostics")):
        cell["training"] = training_part(layer, scenario, results_dir)
    if detailed and amount.get("scores") is not None:
        cell["scores"] = scores_part(layer)
    return cell


def page_context(data: dict, results_dir: Path) -> dict:
    """Everything the template shows, from the verdict and the files it names."""
    scenarios = data.get("scenarios") or []
    failures, others, skipped = [], [], []
    for scenario in scenarios:
        layers = scenario.get("layers") or []
        if layers and all(r.get("status") in (SKIP, NOT_RUN) for r in layers):
            skipped.append(scenario)
            continue
        for layer in layers:
            failed = layer.get("status") == FAIL
            cell = cell_context(layer, scenario, results_dir, detailed=failed)
            (failures if failed else others).append(cell)
    generations = sorted(
        {str(r["generation"]) for s in scenarios for r in s["layers"] if r.get("generation")}
    )
    failed = bool(failures)
    return {
        "failed": failed,
        "title": "some layers moved" if failed else "nothing moved",
        "created": data.get("created", ""),
        # The folder the page is written into, which a downloaded artifact
        # moves away from the path the run recorded.
        "results_dir": str(results_dir),
        "baseline_dir": data.get("baseline_dir", ""),
        "counts": data.get("counts") or {},
        "lines": [{"scenario": s["scenario"], "line": s.get("verdict", "")} for s in scenarios],
        "problems": [
            f"{s['scenario']}: {s['baseline_problem']}"
            for s in scenarios
            if s.get("baseline_problem") and s not in skipped
        ],
        "stack": stack_rows(data.get("now") or {}, scenarios),
        "bisections": load_bisections(results_dir),
        "generations": generations,
        "failures": failures,
        "others": others,
        "skipped": [s["scenario"] for s in skipped],
        "zooms": ZOOMS,
        "steps": next_steps(data),
    }


@functools.lru_cache(maxsize=1)
def page_template():
    """The page's template, compiled once per process (20 to 30 ms a compilation)."""
    source = resources.files(__package__).joinpath(TEMPLATE_NAME).read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters["number"] = number
    return environment.from_string(source)


def write_page(data: dict, results_dir: str | Path) -> Path:
    """Render the page and write it atomically beside ``verdict.json``.

    ``data`` is the verdict as :func:`load_verdict` reads it.
    """
    html = page_template().render(page_context(data, Path(results_dir)))
    return atomic_write_bytes(Path(results_dir) / PAGE_NAME, html.encode("utf-8"))


def rebuild_page(results_dir: str | Path) -> Path:
    """``mlp-weights report``: the page again, from the files in ``results_dir`` alone."""
    data = load_verdict(results_dir)
    try:
        return write_page(data, results_dir)
    except OSError as exc:
        path = Path(results_dir) / PAGE_NAME
        raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from None
