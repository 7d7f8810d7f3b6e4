"""A small synthetic ``mnist_784`` in a scikit-learn OpenML download cache.

This is the test seam for the ``mnist`` scenario's download path. OpenML cannot
be reached from the test machines, and a test must not depend on it anyway, so
the tests do what scikit-learn's own tests do for ``fetch_openml``: feed it
responses the test made. scikit-learn's tests serve canned gzipped JSON and ARFF
through a patched ``urlopen``; here the same kind of responses are written where
``fetch_openml`` caches them, ``<data_home>/openml/openml.org/<url path>.gz``
(``sklearn.datasets._openml._get_local_path``). The real ``fetch_openml`` then
runs unchanged and reads them as if it had downloaded them earlier, without
touching the network (the tests patch ``urlopen`` to fail to prove it).

Written, for ``mnist_784`` version 1 (OpenML data id 554):

- ``api/v1/json/data/list/data_name/mnist_784/limit/2/data_version/1`` (name search)
- ``api/v1/json/data/554`` (description: ``url``, ``file_id``, ``md5_checksum`` of
  the uncompressed ARFF, ``format`` "ARFF", ``status`` "active")
- ``api/v1/json/data/features/554`` (784 numeric pixels and a nominal ``class`` target)
- ``api/v1/json/data/qualities/554`` (``NumberOfInstances``)
- the ARFF at the path of the description's ``url`` (where recent scikit-learn
  looks) and at ``data/v1/download/<file_id>`` (where older releases, 1.3 among
  them, look: they build the download path from ``file_id``)

Every file is gzipped with a zero timestamp, so the same arguments always give
the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

NAME = "mnist_784"
VERSION = 1
DATA_ID = 554
FILE_ID = 52667
N_PIXELS = 784
CLASSES = tuple(str(digit) for digit in range(10))
ARFF_URL = f"https://api.openml.org/data/v1/download/{FILE_ID}/{NAME}.arff"

#: scikit-learn's cache root inside a data home (``fetch_openml`` adds "openml",
#: ``_get_local_path`` adds "openml.org").
OPENML_ROOT = Path("openml", "openml.org")


@dataclass(frozen=True)
class FakeMnist:
    """What :func:`fill_openml_cache` wrote: the arrays and the cache files."""

    data_home: Path
    X: np.ndarray
    y: np.ndarray
    files: tuple[Path, ...]


def make_arrays(n_samples: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``uint8`` pixels in 0..255 and labels 0..9, every class present when possible."""
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, size=(n_samples, N_PIXELS)).astype(np.uint8)
    # Extremes on purpose: the loader must keep 0 and 255 exactly.
    X[0, 0], X[0, 1] = 0, 255
    y = rng.permutation(np.arange(n_samples) % len(CLASSES)).astype(np.uint8)
    return X, y


def arff_bytes(X: np.ndarray, y: np.ndarray, quote_labels: bool = False) -> bytes:
    """The dataset as OpenML serves it: an ARFF with a nominal ``class`` column last.

    Labels are written bare (``5``), or in single quotes (``'5'``), which ARFF
    also allows, with ``quote_labels``.
    """
    quote = "'" if quote_labels else ""
    lines = [f"@RELATION {NAME}", ""]
    lines += [f"@ATTRIBUTE pixel{i + 1} NUMERIC" for i in range(X.shape[1])]
    lines += [f"@ATTRIBUTE class {{{','.join(CLASSES)}}}", "", "@DATA"]
    lines += [
        ",".join(map(str, row.tolist())) + f",{quote}{label}{quote}" for row, label in zip(X, y)
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def _features() -> list[dict]:
    def feature(index: int, name: str, data_type: str, is_target: bool) -> dict:
        return {
            "index": str(index),
            "name": name,
            "data_type": data_type,
            "is_target": "true" if is_target else "false",
            "is_ignore": "false",
            "is_row_identifier": "false",
            "number_of_missing_values": "0",
        }

    features = [feature(i, f"pixel{i + 1}", "numeric", False) for i in range(N_PIXELS)]
    target = feature(N_PIXELS, "class", "nominal", True)
    target["nominal_value"] = list(CLASSES)
    return features + [target]


def _responses(arff: bytes, n_samples: int) -> dict[str, bytes]:
    """OpenML path -> uncompressed response body."""
    md5 = hashlib.md5(arff).hexdigest()
    summary = {
        "did": DATA_ID,
        "name": NAME,
        "version": VERSION,
        "status": "active",
        "format": "ARFF",
        "md5_checksum": md5,
        "file_id": FILE_ID,
    }
    description = {
        "id": str(DATA_ID),
        "name": NAME,
        "version": str(VERSION),
        "description": "Synthetic stand-in for MNIST, written by the mlp-weights tests.",
        "format": "ARFF",
        "upload_date": "2014-09-29T03:28:38",
        "licence": "Public",
        "url": ARFF_URL,
        "file_id": str(FILE_ID),
        "default_target_attribute": "class",
        "visibility": "public",
        "status": "active",
        "processing_date": "2020-11-20 20:12:09",
        "md5_checksum": md5,
    }
    qualities = [
        {"name": "NumberOfInstances", "value": f"{float(n_samples)}"},
        {"name": "NumberOfFeatures", "value": f"{float(N_PIXELS + 1)}"},
        {"name": "NumberOfClasses", "value": f"{float(len(CLASSES))}"},
        {"name": "NumberOfMissingValues", "value": "0.0"},
    ]
    as_json = {
        f"api/v1/json/data/list/data_name/{NAME}/limit/2/data_version/{VERSION}": {
            "data": {"dataset": [summary]}
        },
        f"api/v1/json/data/{DATA_ID}": {"data_set_description": description},
        f"api/v1/json/data/features/{DATA_ID}": {"data_features": {"feature": _features()}},
        f"api/v1/json/data/qualities/{DATA_ID}": {"data_qualities": {"quality": qualities}},
    }
    responses = {path: json.dumps(body).encode() for path, body in as_json.items()}
    responses[urlparse(ARFF_URL).path.lstrip("/")] = arff
    responses[f"data/v1/download/{FILE_ID}"] = arff
    return responses


def fill_openml_cache(
    data_home: str | os.PathLike, n_samples: int = 60, seed: int = 0, quote_labels: bool = False
) -> FakeMnist:
    """Write a synthetic ``mnist_784`` v1 into ``data_home``'s OpenML cache.

    Parameters
    ----------
    data_home : path
        The data home passed to ``fetch_openml`` (or to ``load_dataset``).
    n_samples : int
        Rows of the synthetic dataset.
    seed : int
        Seed of the ``RandomState`` that draws pixels and label order.
    quote_labels : bool
        Write the labels as ``'5'`` rather than ``5`` in the ARFF.

    Returns
    -------
    FakeMnist
        The ``uint8`` arrays written (``y`` as integers 0..9) and the files.

    Examples
    --------
    >>> fake = fill_openml_cache(tmp_path)  # doctest: +SKIP
    >>> fetch_openml("mnist_784", version=1, data_home=tmp_path)  # doctest: +SKIP
    """
    X, y = make_arrays(n_samples, seed)
    root = Path(data_home) / OPENML_ROOT
    files = []
    arff = arff_bytes(X, y, quote_labels)
    for openml_path, body in _responses(arff, n_samples).items():
        path = root / f"{openml_path}.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(body, compresslevel=1, mtime=0))
        files.append(path)
    return FakeMnist(Path(data_home), X, y, tuple(files))
