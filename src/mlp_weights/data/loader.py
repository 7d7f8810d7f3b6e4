"""Loading a scenario's data: from the verified local cache, else from its source.

A cache that does not match its hash is reported and rebuilt from the
source, never used.
"""

from __future__ import annotations

import os
import sys

from ..errors import DataUnavailableError, one_line
from ..scenarios import Scenario
from .cache import CacheDamaged, cache_paths, read_cache, resolve_data_home, write_cache
from .dataset import Dataset
from .sources import SOURCE_NOTES, load_from_source, openml_cached


def _note(message: str) -> None:
    print(f"mlp-weights: {one_line(message)}", file=sys.stderr)


def load_dataset(
    scenario: Scenario,
    data_home: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> Dataset:
    """Load a scenario's data, from the verified local cache when possible.

    Parameters
    ----------
    scenario : Scenario
    data_home : path, optional
        See :func:`resolve_data_home`.
    use_cache : bool
        Read and write the local ``.npz`` cache. scikit-learn's own OpenML
        cache is used either way.

    Returns
    -------
    Dataset
    """
    home = resolve_data_home(data_home)
    damage = None
    if use_cache:
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
    if use_cache:
        try:
            write_cache(scenario, home, dataset)
        except OSError as exc:
            _note(f"could not write the cache under {home} ({exc.strerror or exc}); continuing")
    return dataset


def is_cached(scenario: Scenario, data_home: str | os.PathLike | None = None) -> bool:
    """True when the scenario loads without network (offline scenarios always do).

    For ``mnist``: our cache (arrays and checksum) is present, or scikit-learn's
    OpenML cache holds every response ``fetch_openml`` needs for mnist_784.
    Presence only; the hashes are checked when the data is loaded.
    """
    if not scenario.needs_network:
        return True
    home = resolve_data_home(data_home)
    arrays_path, sidecar_path = cache_paths(scenario, home)
    if arrays_path.is_file() and sidecar_path.is_file():
        return True
    return openml_cached(home / "openml")
