"""The data home and the verified local cache of the scenarios' arrays.

The arrays are kept as ``uint8`` pixels and labels in
``<data home>/mlp_weights/<scenario>.npz``, with the file's SHA-256 in a
``.json`` beside it. :func:`read_cache` checks the hash and refuses a file
that does not match (:class:`CacheDamaged`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from mlp_weights.core.errors import UsageError, one_line
from mlp_weights.core.io import atomic_write_bytes
from mlp_weights.pipeline.data.dataset import Dataset
from mlp_weights.pipeline.scenarios import Scenario

CACHE_FORMAT = 1
CACHE_SUBDIR = "mlp_weights"


def _data_home(data_home: str | os.PathLike | None) -> Path:
    """``sklearn.datasets.get_data_home``'s rule, created if missing.

    Written out rather than imported: importing scikit-learn takes about
    0.9 s, and a run of the rendering layer (a bisect probe of matplotlib,
    say) asks for the data home only to learn whether full MNIST is cached.
    A test checks that both give the same folder.
    """
    if data_home is None:
        data_home = os.environ.get("SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data"))
    path = Path(os.path.expanduser(data_home))
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The data home: ``data_home``, else ``SCIKIT_LEARN_DATA``, else scikit-learn's default.

    Raises a :class:`UsageError` when the path exists and is not a folder.
    """
    if data_home is not None:
        path = Path(data_home).expanduser()
        if path.exists() and not path.is_dir():
            raise UsageError(
                f"--data-home {str(path)!r} is a file, not a folder; "
                "point it at a folder (it is created if missing)"
            )
    env = os.environ.get("SCIKIT_LEARN_DATA")
    if data_home is None and env:
        path = Path(env).expanduser()
        if path.exists() and not path.is_dir():
            raise UsageError(
                f"SCIKIT_LEARN_DATA={env!r} is a file, not a folder; point it at a folder"
            )
    try:
        return _data_home(data_home)
    except OSError as exc:
        where = data_home if data_home is not None else (env or "~/scikit_learn_data")
        raise UsageError(f"cannot use data home {str(where)!r}: {exc.strerror or exc}") from None


def cache_paths(scenario: Scenario, data_home: Path) -> tuple[Path, Path]:
    """``(arrays, sidecar)`` paths of a scenario's local cache."""
    folder = Path(data_home) / CACHE_SUBDIR
    return folder / f"{scenario.name}.npz", folder / f"{scenario.name}.json"


def _npz_bytes(X: np.ndarray, y: np.ndarray) -> bytes:
    """A compressed .npz with fixed timestamps, so equal arrays give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in (("X", X), ("y", y)):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue())
    return buffer.getvalue()


def write_cache(scenario: Scenario, data_home: Path, dataset: Dataset) -> Path:
    """Store a dataset in the local cache (atomically) and return its path.

    Each file is replaced atomically; the order of the two replacements makes
    an interrupted or concurrent write safe. With no arrays yet, the checksum
    goes first: until the arrays appear, readers see no cache (not a damaged
    one), so concurrent first loads stay quiet. When replacing arrays, they go
    first: a write that fails leaves the previous pair intact. Equal arrays
    give equal bytes, so concurrent writers write the same files.
    """
    arrays_path, sidecar_path = cache_paths(scenario, data_home)
    arrays_path.parent.mkdir(parents=True, exist_ok=True)
    payload = _npz_bytes(dataset.X, dataset.y)
    sidecar = {
        "format_version": CACHE_FORMAT,
        "scenario": scenario.name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "shape": list(dataset.X.shape),
    }
    writes = [(arrays_path, payload), (sidecar_path, json.dumps(sidecar, indent=1).encode())]
    if not arrays_path.exists():
        writes.reverse()
    for path, content in writes:
        atomic_write_bytes(path, content)
    return arrays_path


class CacheDamaged(Exception):
    """The local cache exists but cannot be trusted (the message says why)."""


def verified_payload(scenario: Scenario, data_home: Path) -> tuple[bytes, str] | None:
    """The cache file's bytes and SHA-256 once they match the checksum; ``None`` without a cache.

    Raises :class:`CacheDamaged` when the cache is present but its checksum
    file is missing, unreadable or of another format, or the bytes do not
    match it.
    """
    arrays_path, sidecar_path = cache_paths(scenario, data_home)
    if not arrays_path.exists():
        return None
    if not sidecar_path.exists():
        raise CacheDamaged(f"{arrays_path} has no checksum file {sidecar_path.name}")
    try:
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
        expected = sidecar["sha256"]
        version = int(sidecar["format_version"])
        if not isinstance(expected, str):
            raise TypeError(f"sha256 is {type(expected).__name__}, not a string")
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise CacheDamaged(f"{sidecar_path} is unreadable ({one_line(exc)})") from None
    if version != CACHE_FORMAT:
        raise CacheDamaged(f"{arrays_path} has cache format {version}, expected {CACHE_FORMAT}")
    try:
        payload = arrays_path.read_bytes()
    except OSError as exc:
        raise CacheDamaged(f"{arrays_path} is unreadable ({exc.strerror or exc})") from None
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise CacheDamaged(
            f"{arrays_path} does not match its SHA-256 ({len(payload):,} bytes; "
            f"sha256 {actual[:12]}..., expected {expected[:12]}...)"
        )
    return payload, actual


def decode_payload(scenario: Scenario, data_home: Path, payload: bytes) -> Dataset:
    """The arrays of a verified cache file; :class:`CacheDamaged` when not the scenario's."""
    arrays_path, _ = cache_paths(scenario, data_home)
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            X, y = npz["X"], npz["y"]
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise CacheDamaged(f"{arrays_path} is unreadable ({one_line(exc)})") from None
    side = scenario.image_side
    if (
        X.dtype != np.uint8
        or X.ndim != 2
        or X.shape[1] != side * side
        or y.dtype != np.uint8
        or y.shape != (len(X),)
    ):
        raise CacheDamaged(f"{arrays_path} holds arrays of the wrong shape or type")
    return Dataset(scenario.name, X, y)


def read_cache(scenario: Scenario, data_home: Path) -> Dataset | None:
    """The cached dataset, ``None`` when there is none.

    Raises :class:`CacheDamaged` when the cache is present but its hash,
    format or content is wrong.
    """
    verified = verified_payload(scenario, data_home)
    if verified is None:
        return None
    return decode_payload(scenario, data_home, verified[0])
