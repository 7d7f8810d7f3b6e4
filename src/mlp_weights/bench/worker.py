"""What runs inside each measured process of ``mlp-weights bench``.

The orchestrating process starts ``python -c`` :data:`WORKER_CODE` with a
JSON spec; :func:`worker_main` imports what every run imports, times the
steps the spec names, notes the process's peak RSS after each, and writes
the records as JSON to the file the spec names.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from mlp_weights.bench.synthetic import bench_scenario, make_synthetic
from mlp_weights.core.errors import MLPWeightsError
from mlp_weights.pipeline.scenarios import SCENARIOS, Scenario

#: What every run imports before its first step; the ``import`` rows time it.
IMPORTED_MODULES = ("mlp_weights.cli", "sklearn.neural_network", "matplotlib.figure")
IMPORT_STATEMENT = "import " + ", ".join(IMPORTED_MODULES)

#: ``ru_maxrss`` is in kibibytes on Linux, in bytes on macOS.
RU_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024

#: The steps of a warm run, in order (the ``cold`` mode's one step is ``load-cold``).
WARM_STEPS = ("load-warm", "train", "draw", "save")

#: The program of a measured process (``python -c``); its one argument is the spec.
WORKER_CODE = f"import sys; from {__name__} import worker_main; sys.exit(worker_main(sys.argv[1]))"


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * RU_MAXRSS_UNIT


class _Steps:
    """Times steps and notes the process's peak RSS after each."""

    def __init__(self):
        self.records = []

    def run(self, name, func, *args, **kwargs):
        start = time.perf_counter()
        value = func(*args, **kwargs)
        seconds = time.perf_counter() - start
        self.records.append({"step": name, "seconds": seconds, "peak_rss": _peak_rss()})
        return value


def _load_cold(scenario: Scenario, home: Path):
    from mlp_weights.pipeline.data import load_dataset, resolve_data_home, write_cache

    if scenario.name in SCENARIOS:
        return load_dataset(scenario, home)
    dataset = make_synthetic()
    write_cache(scenario, resolve_data_home(home), dataset)
    return dataset


def _load_warm(scenario: Scenario, home: Path):
    from mlp_weights.pipeline.data import load_dataset, read_cache, resolve_data_home

    if scenario.name in SCENARIOS:
        return load_dataset(scenario, home)
    dataset = read_cache(scenario, resolve_data_home(home))
    if dataset is None:
        raise MLPWeightsError(f"bench: no {scenario.name} cache under {home}")
    return dataset


def _fill_cache(scenario: Scenario, home: Path, dataset) -> None:
    """Give ``home`` a valid cache of ``dataset`` unless it has one."""
    from mlp_weights.pipeline.data import CacheDamaged, read_cache, resolve_data_home, write_cache

    home = resolve_data_home(home)
    try:
        present = read_cache(scenario, home) is not None
    except CacheDamaged:
        present = False
    if not present:
        write_cache(scenario, home, dataset)


def _seed_split(scenario: Scenario, dataset):
    """The seed's order: scale the whole array, then split (the memory reference)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(
        dataset.X / scenario.pixel_max,
        dataset.y,
        random_state=scenario.split_random_state,
        test_size=scenario.test_size,
    )


def worker_main(spec_json: str) -> int:
    """Entry point of a measured process; ``spec_json`` says what to measure.

    Modes: ``cold`` (load into an empty data home), ``warm`` (load from the
    cache, train, draw, save), ``probe-train`` and ``probe-seed-split``
    (synthetic array only: peak RSS before and after the step). The records
    are written as JSON to ``spec["result"]``.
    """
    spec = json.loads(spec_json)
    for module in IMPORTED_MODULES:  # what the import rows time, outside every step
        importlib.import_module(module)
    from mlp_weights.pipeline.plot import drawing_style, render_weights, save_figure
    from mlp_weights.pipeline.training import train

    scenario = bench_scenario(spec["scenario"])
    steps = _Steps()
    mode = spec["mode"]
    if mode == "cold":
        dataset = steps.run("load-cold", _load_cold, scenario, Path(spec["home"]))
        if spec.get("fill_home"):
            _fill_cache(scenario, Path(spec["fill_home"]), dataset)
    elif mode == "warm":
        dataset = steps.run("load-warm", _load_warm, scenario, Path(spec["home"]))
        result = steps.run("train", train, scenario, dataset, verbose=False)
        fig = steps.run("draw", render_weights, result.coefs, scenario)
        with drawing_style():
            steps.run("save", save_figure, fig, spec["out"])
    elif mode in ("probe-train", "probe-seed-split"):
        dataset = make_synthetic()
        before = _peak_rss()
        if mode == "probe-train":
            steps.run(mode, train, scenario, dataset, verbose=False)
        else:
            steps.run(mode, _seed_split, scenario, dataset)
        steps.records[-1]["peak_before"] = before
    else:
        raise ValueError(f"unknown bench mode {mode!r}")
    Path(spec["result"]).write_text(json.dumps(steps.records))
    return 0
