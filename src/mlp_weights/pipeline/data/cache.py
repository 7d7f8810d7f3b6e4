"""A scenario's arrays (:class:`Dataset`), the data home and the local cache.

The arrays are kept as ``uint8`` pixels and labels in
``<data home>/mlp_weights/<scenario>.npz``. :func:`read_cache` refuses a
file whose zip checksums (CRC-32 of each array) fail or whose arrays are
not the scenario's (:class:`CacheDamaged`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlp_weights.core.errors import UsageError, one_line
from mlp_weights.core.io import atomic_write
from mlp_weights.pipeline.scenarios import Scenario

CACHE_SUBDIR = "mlp_weights"


@dataclass(frozen=True)
class Dataset:
    """Raw pixels and labels of one scenario, as every data module passes them on.

    ``X`` is ``uint8`` of shape (n_samples, side * side); ``y`` is ``uint8``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray


def resolve_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The data home: ``data_home``, else ``SCIKIT_LEARN_DATA``, else scikit-learn's default.

    ``sklearn.datasets.get_data_home``'s rule, created if missing. Written out
    rather than imported: importing scikit-learn takes about 0.9 s, and a run
    of the rendering layer (a bisect probe of matplotlib, say) asks for the
    data home only to learn whether full MNIST is cached. A test checks that
    both give the same folder.

    Raises a one-line :class:`UsageError` when the path is a file or cannot
    be created.
    """
    env = os.environ.get("SCIKIT_LEARN_DATA")
    if data_home is not None:
        where = data_home
        named = f"--data-home {str(Path(data_home).expanduser())!r}"
        named += " is a file, not a folder; point it at a folder (it is created if missing)"
    else:
        where = os.environ.get("SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data"))
        named = f"SCIKIT_LEARN_DATA={env!r} is a file, not a folder; point it at a folder"
    path = Path(os.path.expanduser(where))
    if (data_home is not None or env) and path.exists() and not path.is_dir():
        raise UsageError(named)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot use data home {str(where)!r}: {exc.strerror or exc}") from None
    return path


def cache_path(scenario: Scenario, data_home: Path) -> Path:
    """The ``.npz`` file of a scenario's local cache."""
    return Path(data_home) / CACHE_SUBDIR / f"{scenario.name}.npz"


def write_cache(scenario: Scenario, data_home: Path, dataset: Dataset) -> Path:
    """Store a dataset in the local cache and return its path.

    The file is written to a temporary name and renamed, so readers (other
    runs at once) see the previous file or the new one, never half of one.
    """
    path = cache_path(scenario, data_home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        np.savez_compressed(fh, X=dataset.X, y=dataset.y)
    return path


class CacheDamaged(Exception):
    """The local cache exists but cannot be trusted (the message says why)."""


def read_cache(scenario: Scenario, data_home: Path) -> Dataset | None:
    """The cached dataset, ``None`` when there is none.

    Raises :class:`CacheDamaged` when the file is present but is not a zip,
    fails its CRC-32 checks, or holds arrays of the wrong shape or type.
    """
    path = cache_path(scenario, data_home)
    try:
        # Reading a member to its end checks its CRC-32: a damaged file fails here.
        with np.load(path, allow_pickle=False) as npz:
            X, y = npz["X"], npz["y"]
    except FileNotFoundError:
        return None
    except Exception as exc:  # zip, zlib and .npy header errors alike
        raise CacheDamaged(f"{path} is unreadable ({one_line(exc)})") from None
    side = scenario.image_side
    if (
        X.dtype != np.uint8
        or X.ndim != 2
        or X.shape[1] != side * side
        or y.dtype != np.uint8
        or y.shape != (len(X),)
    ):
        raise CacheDamaged(f"{path} holds arrays of the wrong shape or type")
    return Dataset(scenario.name, X, y)
