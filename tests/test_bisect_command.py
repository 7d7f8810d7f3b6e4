"""``mlp-weights bisect`` end to end, with a fake index and fake probes: offline and fast."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.version import Version

from bisect_fakes import (
    MATPLOTLIB_VERSIONS,
    FakeProber,
    closed_port,
    project_page,
    run_faked,
    sdist_file,
    serve_index,
)
from mlp_weights.bisect import environment
from mlp_weights.bisect.choices import choose_layers
from mlp_weights.bisect.command import Bisection, BisectRequest
from mlp_weights.bisect.environment import Installer
from mlp_weights.bisect.index import releases_from_page
from mlp_weights.bisect.probe import LocalProber
from mlp_weights.bisect.results import ProbeResult
from mlp_weights.bisect.search import HOLDS, MOVES, UNTESTABLE
from mlp_weights.cli import main
from mlp_weights.core.errors import MLPWeightsError, UsageError

REPO = Path(__file__).resolve().parent.parent
#: Wheels that install on any Python, so that the fakes hold under every tox environment.
ANY = "py3-none-any"
FINALS = [v for v in MATPLOTLIB_VERSIONS if "rc" not in v]


def page(**special):
    return project_page("matplotlib", MATPLOTLIB_VERSIONS, tag=ANY, **special)


def fake_index(**special):
    def list_releases(library, index_url):
        assert library == "matplotlib"
        return releases_from_page(page(**special))

    return list_releases


def moving_before(first_holding, versions=FINALS):
    """Releases older than ``first_holding`` move (the baseline is 3.11.2's)."""
    index = versions.index(first_holding)
    return {v: MOVES if i < index else HOLDS for i, v in enumerate(versions)}


class Run:
    """One Bisection with captured output."""

    def __init__(self, tmp_path, prober, index=None, **request):
        self.lines: list[str] = []
        self.results = tmp_path / "results"
        self.prober = prober
        self.bisection = Bisection(
            BisectRequest(
                "matplotlib",
                data_home=str(tmp_path / "home"),
                results_dir=self.results,
                **request,
            ),
            repo=REPO,
            out=self.lines.append,
        )
        self.index = index or fake_index()

    def __call__(self):
        self.code = run_faked(self.bisection, self.prober.factory, self.index)
        return self

    @property
    def text(self):
        return "\n".join(self.lines)

    def report(self):
        return json.loads((self.results / "bisect.json").read_text())


def test_bisect_names_the_release_with_numbers_and_writes_its_reports(tmp_path):
    prober = FakeProber(moving_before("3.11.0"))
    run = Run(tmp_path, prober, bad="3.7.0")()

    assert run.code == 0
    assert prober.calls[:2] == ["3.11.2", "3.7.0"]
    assert len(prober.calls) <= 2 + 4, "a binary search over 12 releases"
    progress = [line for line in run.lines if line.startswith("probe ")]
    assert len(progress) == len(prober.calls)
    assert "probe matplotlib 3.7.0: moves (1.5 s): RMS mnist-sample 13.75, digits 12.50" in progress
    verdict = (
        "rendering moved between matplotlib 3.11.0 (holds) and 3.10.9 "
        "(moves: RMS mnist-sample 13.75, digits 12.50)"
    )
    assert verdict in run.lines
    assert (
        "changelog of matplotlib 3.11.0: "
        "https://github.com/matplotlib/matplotlib/releases/tag/v3.11.0" in run.lines
    )
    header = next(line for line in run.lines if line.startswith("version"))
    assert header.split() == [
        "version",
        "result",
        "rendering:mnist-sample",
        "rendering:digits",
        "not",
        "as",
        "pinned",
        "time_s",
    ]
    assert not any("rc1" in v for v in prober.calls)
    report = run.report()
    assert report["status"] == "boundary" and report["verdict"] == [verdict]
    assert report["change_points"] == [
        {
            "holds": "3.11.0",
            "moves": "3.10.9",
            "untestable": [],
            "changelog": "https://github.com/matplotlib/matplotlib/releases/tag/v3.11.0",
        }
    ]
    assert [p["version"] for p in report["probes"]] == sorted(prober.calls, key=FINALS.index)
    assert report["layers"] == ["rendering"] and report["scenarios"] == ["mnist-sample", "digits"]
    markdown = (run.results / "bisect.md").read_text()
    assert f"**{verdict}**" in markdown
    assert "| 3.10.9 | moves | 13.750 | 12.500 |" in markdown
    assert prober.closed


def test_toward_newer_releases_too(tmp_path):
    outcomes = {v: MOVES if v in ("3.11.1", "3.11.2") else HOLDS for v in FINALS}
    run = Run(tmp_path, FakeProber(outcomes), good="3.9.0", bad="3.11.2")()
    assert any(
        line.startswith("rendering moved between matplotlib 3.11.0 (holds) and 3.11.1")
        for line in run.lines
    )


def test_a_rerun_comes_from_the_cache_and_a_walk_reuses_the_probes(tmp_path):
    outcomes = moving_before("3.11.0")
    first = Run(tmp_path, FakeProber(outcomes), bad="3.7.0")()
    again = Run(tmp_path, FakeProber(outcomes), bad="3.7.0")()
    assert again.prober.calls == []
    assert again.report()["verdict"] == first.report()["verdict"]
    assert all(" (cached)" in line for line in again.lines if line.startswith("probe "))
    assert "0 probes run, " in again.lines[-1]

    walked = Run(tmp_path, FakeProber(outcomes), bad="3.7.0", walk=True)()
    # Releases before 3.11 select the older rendering generation: the walk
    # probes them again against it, for its own-generation column.
    older = [v for v in FINALS if Version(v) < Version("3.11")]
    assert sorted(walked.prober.calls) == sorted([*(set(FINALS) - set(first.prober.calls)), *older])

    fresh = Run(tmp_path, FakeProber(outcomes), bad="3.7.0", no_cache=True)()
    assert fresh.prober.calls == first.prober.calls


def test_walk_reports_every_change_point_in_a_version_matrix(tmp_path):
    outcomes = moving_before("3.11.0")
    outcomes["3.9.0"] = HOLDS
    outcomes["3.9.1.post1"] = UNTESTABLE
    run = Run(tmp_path, FakeProber(outcomes), bad="3.7.0", walk=True)()
    verdicts = [line for line in run.lines if " moved between " in line]
    assert [line.split(" (moves")[0] for line in verdicts] == [
        "rendering moved between matplotlib 3.9.0 (holds) and 3.8.4",
        "rendering moved between matplotlib 3.9.0 (holds) and 3.10.0",
        "rendering moved between matplotlib 3.11.0 (holds) and 3.10.9",
    ]
    assert "not testable in between: 3.9.1.post1" in verdicts[1]
    rows = [line.split()[0] for line in run.lines if line[:1].isdigit()]
    assert rows == FINALS
    assert run.report()["mode"] == "walk" and len(run.report()["change_points"]) == 3


def test_untestable_candidates_are_skipped_with_the_reason(tmp_path):
    index = fake_index(**{"3.10.8": [sdist_file("matplotlib", "3.10.8")]})
    outcomes = moving_before("3.11.0")
    outcomes["3.10.0"] = UNTESTABLE
    run = Run(tmp_path, FakeProber(outcomes), index=index, bad="3.7.0", walk=True)()
    assert "3.10.8" not in run.prober.calls
    assert "probe matplotlib 3.10.8: untestable (0.0 s): no wheels (source only)" in run.lines
    assert (
        "# matplotlib 3.10.0 not tested: the layers did not run (pytest exit 3): ImportError"
        in run.lines
    )


def test_nothing_moved_is_a_success(tmp_path):
    run = Run(tmp_path, FakeProber(dict.fromkeys(FINALS, HOLDS)), bad="3.7.0")()
    assert run.code == 0
    assert (
        "nothing moved: rendering hold with matplotlib 3.7.0 to 3.11.2 (2 releases probed)"
        in run.lines
    )
    assert run.report()["status"] == "nothing-moved"


def test_a_baseline_made_outside_the_range_is_an_error_with_a_report(tmp_path):
    run = Run(tmp_path, FakeProber(dict.fromkeys(FINALS, MOVES)), good="3.7.0", bad="3.9.0")
    with pytest.raises(MLPWeightsError) as info:
        run()
    assert info.value.exit_code == 1
    assert str(info.value) == (
        "the baseline was not made in this range: rendering moves with matplotlib 3.7.0 "
        "and with 3.9.0"
    )
    assert run.report()["status"] == "all-moved"


def test_swapped_labels_are_noted_and_searched_all_the_same(tmp_path):
    run = Run(tmp_path, FakeProber(moving_before("3.11.0")), good="3.7.0", bad="3.11.2")()
    assert "note: --good 3.7.0 moves and --bad 3.11.2 holds; searched between them" in run.lines
    assert run.report()["change_points"][0]["moves"] == "3.10.9"


def test_probes_that_needed_other_versions_say_so(tmp_path):
    relaxed = {"3.7.0": {"numpy": ["1.26.4", "2.4.6"], "pyparsing": ["3.0.9", "3.3.3"]}}
    run = Run(tmp_path, FakeProber(moving_before("3.11.0"), relaxed), bad="3.7.0")()
    line = next(line for line in run.lines if line.startswith("probe matplotlib 3.7.0:"))
    assert line.endswith("[resolver chose numpy 1.26.4, +1 more]")
    assert (
        "# matplotlib 3.7.0 installed with numpy 1.26.4 (pinned 2.4.6), pyparsing 3.0.9 "
        "(pinned 3.3.3)" in run.lines
    )


def test_an_untestable_end_is_an_error(tmp_path):
    outcomes = moving_before("3.11.0")
    outcomes["3.7.0"] = UNTESTABLE
    with pytest.raises(MLPWeightsError, match=r"matplotlib 3\.7\.0 cannot be probed: the layers"):
        Run(tmp_path, FakeProber(outcomes), bad="3.7.0")()
    index = fake_index(**{"3.7.0": [sdist_file("matplotlib", "3.7.0")]})
    with pytest.raises(MLPWeightsError, match=r"3\.7\.0 cannot be tried here: no wheels"):
        Run(tmp_path, FakeProber(outcomes), index=index, bad="3.7.0")()


def test_interrupting_keeps_the_finished_probes(tmp_path, capsys):
    prober = FakeProber(moving_before("3.11.0"), interrupt_after=2)
    with pytest.raises(KeyboardInterrupt):
        Run(tmp_path, prober, bad="3.7.0")()
    assert prober.closed
    assert "2 finished probes kept" in capsys.readouterr().err
    rerun = Run(tmp_path, FakeProber(moving_before("3.11.0")), bad="3.7.0")()
    assert rerun.prober.calls[:1] != ["3.11.2"] and "3.7.0" not in rerun.prober.calls


def test_interrupted_after_one_probe_says_one_probe(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        Run(tmp_path, FakeProber(moving_before("3.11.0"), interrupt_after=1), bad="3.7.0")()
    assert "; 1 finished probe kept in " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({}, "both ends are matplotlib 3.11.2"),
        ({"bad": "3.10.2"}, "matplotlib 3.10.2 is not on the package index"),
        ({"good": "3.11.2", "bad": "3.11.2.0"}, "both ends are matplotlib 3.11.2"),
        ({"bad": "3.7.0", "scenarios": ["cifar"]}, "unknown scenario 'cifar'"),
    ],
)
def test_bad_input_is_refused_before_any_probe(tmp_path, request_args, message):
    prober = FakeProber({})
    with pytest.raises(UsageError, match=message):
        Run(tmp_path, prober, **request_args)()
    assert prober.calls == []


def test_scenarios_and_layers_follow_the_request():
    assert choose_layers("matplotlib", ["digits"]) == ["rendering"]
    assert choose_layers("scikit-learn", ["digits"]) == ["training", "scores"]
    assert choose_layers("numpy", ["digits"]) == ["training", "rendering", "scores"]
    assert choose_layers("scikit-learn", ["mnist", "digits"]) == ["training", "scores", "seed"]


def test_one_scenario_when_asked(tmp_path):
    run = Run(tmp_path, FakeProber(moving_before("3.11.0")), bad="3.7.0", scenarios=["digits"])()
    assert run.prober.made_with[3] == ["digits"]


def cli(capsys, *args):
    code = main(["bisect", *args])
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


def test_cli_unknown_library_is_one_line_exit_2(capsys):
    code, err = cli(capsys, "seaborn")
    assert code == 2
    assert err == [
        "mlp-weights: error: unknown library 'seaborn'; "
        "choose one of matplotlib, scikit-learn, numpy"
    ]


def test_cli_outside_a_working_tree_is_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, err = cli(capsys, "matplotlib")
    assert code == 2 and len(err) == 1 and "no mlp-weights working tree" in err[0]


def test_cli_against_an_index_on_loopback(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    home = ["--data-home", str(tmp_path), "--results-dir", str(tmp_path / "r")]
    with serve_index({"matplotlib": page()}) as url:
        monkeypatch.setenv("MLP_WEIGHTS_INDEX_URL", url)
        code, err = cli(capsys, "matplotlib", "--bad", "3.10.2", *home)
        assert (code, len(err)) == (2, 1) and "3.10.2 is not on the package index" in err[0]
        code, err = cli(capsys, "matplotlib", *home)
        assert (code, len(err)) == (2, 1) and "both ends are matplotlib 3.11.2" in err[0]


def test_cli_unreachable_index_fails_within_seconds(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    with closed_port() as url:
        start = time.perf_counter()
        code, err = cli(capsys, "matplotlib", "--index-url", url, "--data-home", str(tmp_path))
        elapsed = time.perf_counter() - start
    assert code == 1 and len(err) == 1 and "cannot be reached" in err[0]
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_an_unwritable_cache_is_noted_not_fatal(tmp_path, monkeypatch):
    def refuse(self, material, result):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("mlp_weights.bisect.cache.ProbeCache.put", refuse)
    run = Run(tmp_path, FakeProber(moving_before("3.11.0")), bad="3.7.0")()
    assert run.code == 0
    notes = [line for line in run.lines if line.startswith("note: probe not kept in ")]
    assert len(notes) == len(run.prober.calls) and notes[0].endswith(": Permission denied")


def test_probes_against_other_generations_share_the_wheel_and_the_workers_folders(
    tmp_path, monkeypatch
):
    """A walk's own-generation probes: the same wheel, the same workers' folders (their
    environments), the same installer, another generation; the folder goes at the end."""
    built, runs = [], []

    def build_wheel(self, repo, out):
        out.mkdir(parents=True, exist_ok=True)
        wheel = out / "mlp_weights-0-py3-none-any.whl"
        wheel.write_text("")
        built.append(wheel)
        return wheel

    def probe(self, folder, version, forced):
        runs.append((self.wheel, folder, forced))
        return ProbeResult("matplotlib", version, HOLDS)

    monkeypatch.setattr(Installer, "build_wheel", build_wheel)
    monkeypatch.setattr(LocalProber, "_probe", probe)
    args = (REPO, "matplotlib", ["rendering"], ["digits"], "http://index.invalid/simple")
    prober = LocalProber(*args, tmp_path / "home")
    prober("3.10.9", "rendering/mpl-3.11")
    prober("3.10.9", "rendering/mpl-3.7")
    assert len(built) == 1, "the project's wheel is built once"
    (wheel, folder, forced), (again_wheel, again, other) = runs
    assert again_wheel == wheel == built[0] and again == folder and folder.exists()
    assert (forced, other) == ("rendering/mpl-3.11", "rendering/mpl-3.7")
    workdir = prober.workdir
    assert workdir.exists()
    prober.close()
    assert not workdir.exists()


def test_without_uv_the_command_says_what_to_install(capsys, monkeypatch):
    """One line, exit 1, before the index is asked."""
    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "uv", None)
    monkeypatch.setenv("MLP_WEIGHTS_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.chdir(REPO)
    assert main(["bisect", "matplotlib", "--bad", "3.7.0"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == "mlp-weights: error: bisect needs uv: python -m pip install uv"


def test_the_pinned_stacks_version_imports_no_library(tmp_path):
    """The bisect's own process reads the baselines' version from the pins: no matplotlib."""
    code = (
        "import sys; from pathlib import Path; "
        "from mlp_weights.bisect.choices import recorded_version; "
        "repo = Path(sys.argv[1]); "
        "print(recorded_version('matplotlib', repo / 'baseline_images', ['digits'], "
        "['rendering'], repo / 'requirements' / 'pinned.txt')); "
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    version, imported = done.stdout.split()
    assert version[0].isdigit() and imported == "False"
