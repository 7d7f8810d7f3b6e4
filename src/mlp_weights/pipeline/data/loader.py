"""Loading a scenario's data: from the local cache, else its source.

A cache that cannot be read or holds the wrong arrays is reported and
rebuilt from the source, never used.
"""

from __future__ import annotations

import os
import sys

from mlp_weights.core.errors import DataUnavailableError, one_line
from mlp_weights.pipeline.data.cache import (
    CacheDamaged,
    Dataset,
    cache_path,
    read_cache,
    resolve_data_home,
    write_cache,
)
from mlp_weights.pipeline.data.sources import SOURCE_NOTES, load_from_source, openml_cached
from mlp_weights.pipeline.scenarios import Scenario


def _note(message: str) -> None:
    print(f"mlp-weights: {one_line(message)}", file=sys.stderr)


def load_dataset(scenario: Scenario, data_home: str | os.PathLike | None = None) -> Dataset:
    """Load a scenario's data, from the local cache when it is there and readable.

    Parameters
    ----------
    scenario : Scenario
    data_home : path, optional
        See :func:`resolve_data_home`.

    Returns
    -------
    Dataset
    """
    home = resolve_data_home(data_home)
    damage = None
    try:
        cached = read_cache(scenario, home)
    except CacheDamaged as exc:
        damage = exc
        _note(f"cache damaged, rebuilding it from the source: {exc}")
        cached = None
    if cached is not None:
        return cached
    if sys.stderr.isatty():
        # Progress for a person at a terminal; scripts get clean stderr.
        _note(f"{scenario.name}: first load, from {SOURCE_NOTES[scenario.name]} (then cached)")
    try:
        dataset = load_from_source(scenario, home)
    except DataUnavailableError as exc:
        if damage is None:
            raise
        raise DataUnavailableError(
            f"the cached {scenario.name} data is damaged ({damage}) and cannot be rebuilt: {exc}"
        ) from None
    try:
        write_cache(scenario, home, dataset)
    except OSError as exc:
        _note(f"could not write the cache under {home} ({exc.strerror or exc}); continuing")
    return dataset


def is_cached(scenario: Scenario, data_home: str | os.PathLike | None = None) -> bool:
    """True when the scenario loads without network (offline scenarios always do).

    For ``mnist``: our cache is present, or scikit-learn's OpenML cache holds
    every response ``fetch_openml`` needs for mnist_784. Presence only; the
    files are checked when the data is loaded.
    """
    if not scenario.needs_network:
        return True
    home = resolve_data_home(data_home)
    return cache_path(scenario, home).is_file() or openml_cached(home / "openml")
