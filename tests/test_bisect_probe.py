"""Probes: installing a release with the pins, relaxing them, running the layers, reading results.

The installer and the interpreter are fakes here (the real ones are exercised
by the network test): a fake environment's ``python`` writes the verdict it
is given, so that everything around it runs as in a real probe.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from bisect_fakes import verdict_document
from mlp_weights.baselines.generations import GENERATION_ENV
from mlp_weights.bisect.environment import Installer, InstallFailed
from mlp_weights.bisect.probe import NUMPY1_ONLY, LocalProber, extra_requirements, layers_command
from mlp_weights.bisect.search import HOLDS, MOVES, UNTESTABLE

REPO = Path(__file__).resolve().parent.parent

FAKE_PYTHON = """\
#!{python}
import json, os, pathlib, sys
env = pathlib.Path(__file__).resolve().parent.parent
state = json.loads((env / "state.json").read_text())
log = pathlib.Path(os.environ["FAKE_PROBE_LOG"])
runs = json.loads(log.read_text()) if log.exists() else []
settings = {{k: v for k, v in os.environ.items() if k.startswith("MLP_WEIGHTS_")}}
runs.append({{
    "argv": sys.argv[1:], "cwd": os.getcwd(), "installed": state["installed"], "env": settings,
    "step_summary": os.environ.get("GITHUB_STEP_SUMMARY"),
    "no_bytecode": os.environ.get("PYTHONDONTWRITEBYTECODE"),
    "bytecode_prefix": os.environ.get("PYTHONPYCACHEPREFIX"),
}})
log.write_text(json.dumps(runs))
results = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--mpl-results-path="))
if state["verdict"] is not None:
    pathlib.Path(results, "verdict.json").write_text(json.dumps(state["verdict"]))
else:
    print("ERROR: collection failed")
    sys.exit(4)
sys.exit(state["exit"])
"""


class FakeInstaller(Installer):
    """Installs nothing: ``policy(requirements, constraints)`` says what would be installed."""

    def __init__(self, policy):
        super().__init__(uv="uv", index_url="http://index.invalid/simple")
        self.policy = policy
        self.installs: list[tuple[list[str], Path | None]] = []
        self.envs: list[Path] = []

    def create(self, env):
        python = self.env_python(env)
        python.parent.mkdir(parents=True, exist_ok=True)
        python.write_text(FAKE_PYTHON.format(python=sys.executable))
        python.chmod(0o755)
        self.envs.append(env)
        return python

    def install(self, env, requirements, constraints):
        self.installs.append((list(requirements), constraints))
        state = self.policy(list(requirements), constraints)
        (env / "state.json").write_text(json.dumps(state))

    def installed(self, env):
        return json.loads((env / "state.json").read_text())["installed"]

    def build_wheel(self, repo, out):
        return out / "mlp_weights-0-py3-none-any.whl"


@pytest.fixture(autouse=True)
def _work_folders_in_tmp_path(tmp_path, monkeypatch):
    """The probers' work folders go under the test's own folder, as does the runs' log."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("FAKE_PROBE_LOG", str(tmp_path / "runs.json"))


def state(numpy="2.4.6", verdict=None, exit=1, **others):
    installed = {"numpy": numpy, "matplotlib": "3.9.0", **others}
    return {"installed": installed, "verdict": verdict, "exit": exit}


def make_runner(tmp_path, policy, layers=("rendering",), scenarios=("mnist-sample", "digits")):
    log = tmp_path / "runs.json"
    runner = LocalProber(
        REPO, "matplotlib", list(layers), list(scenarios), "", installer=FakeInstaller(policy)
    )
    return runner, log


def worker_folder(runner):
    """The folder this thread's probes run in."""
    return runner.workdir / "probe" / threading.current_thread().name


def runs(log):
    return json.loads(log.read_text())


def test_a_probe_installs_the_release_with_the_other_pins_and_reads_the_verdict(tmp_path):
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document()))
    result = runner("3.9.0")

    assert result.outcome == MOVES and result.source == "verdict.json"
    assert [(c.scenario, c.measure, c.value) for c in result.cells] == [
        ("mnist-sample", "RMS", 12.573),
        ("digits", "RMS", 12.573),
    ]
    assert result.installed == {"numpy": "2.4.6", "matplotlib": "3.9.0"}
    assert result.relaxed == {} and result.pins_conflict == ""
    ((requirements, constraints),) = runner.installer.installs
    assert requirements == ["matplotlib==3.9.0", f"{runner.wheel}[test]"]
    pins = constraints.read_text().splitlines()
    assert "numpy==2.4.6" in pins and not any(p.startswith("matplotlib") for p in pins)
    (run,) = runs(log)
    assert run["cwd"] == str(REPO)
    argv = run["argv"]
    assert argv[:3] == ["-m", "pytest", "tests/test_layers.py"]
    assert argv[argv.index("-m", 1) + 1] == "rendering"
    assert argv[argv.index("-k") + 1] == "[mnist-sample] or [digits]"
    assert argv[argv.index("-p") + 1] == "no:cacheprovider"
    assert "--mpl-generate-summary=" in argv, "no HTML summaries: the probe never reads them"
    assert f"--mlp-baseline-dir={REPO / 'baseline_images'}" in argv
    assert any(a.startswith("--mpl-results-path=") for a in argv)
    kept = sorted(path.name for path in worker_folder(runner).iterdir())
    assert kept == ["env"], "results are removed; uv makes the environment exact"


def test_the_layers_run_with_the_callers_mlp_weights_settings(tmp_path, monkeypatch):
    """A setting such as the baselines' generation reaches every probe's test run."""
    # Only this test's settings (tox sets MLP_WEIGHTS_PINNED, say).
    for name in [n for n in os.environ if n.startswith("MLP_WEIGHTS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MLP_WEIGHTS_GENERATION", "2")
    monkeypatch.setenv("MLP_WEIGHTS_BASELINE_DIR", str(tmp_path / "elsewhere"))
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document()))
    runner("3.9.0")
    (run,) = runs(log)
    assert run["env"] == {
        "MLP_WEIGHTS_GENERATION": "2",
        "MLP_WEIGHTS_BASELINE_DIR": str(tmp_path / "elsewhere"),
    }


def test_the_layers_write_no_verdict_into_the_ci_jobs_summary(tmp_path, monkeypatch):
    """The bisect's report goes there, not one verdict per probe."""
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document()))
    runner("3.9.0")
    (run,) = runs(log)
    assert run["step_summary"] is None


def test_the_layers_write_bytecode_beside_the_environments_sources(tmp_path, monkeypatch):
    """A reused environment keeps its own bytecode, whatever the calling shell says."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "elsewhere"))
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document()))
    runner("3.9.0")
    (run,) = runs(log)
    assert (run["no_bytecode"], run["bytecode_prefix"]) == (None, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": "other"}, "is damaged: it is not an mlp-weights verdict"),
        ({"schema_version": 2}, "schema version 2, newer than this mlp-weights reads"),
    ],
)
def test_a_damaged_verdict_makes_the_release_untestable_and_uncached(tmp_path, change, message):
    damaged = {**verdict_document(), **change}
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=damaged))
    result = runner("3.9.0")
    assert result.outcome == UNTESTABLE and not result.cacheable
    assert result.reason.startswith("unreadable test results: ")
    assert message in result.reason


def test_a_probe_passes_the_forced_generation_to_its_test_run(tmp_path, monkeypatch):
    """The generations a probe compares with reach its test run; none unless forced."""
    monkeypatch.delenv(GENERATION_ENV, raising=False)
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document()))
    runner("3.9.0", "rendering/mpl-3.7")
    runner("3.9.0")
    forced, plain = runs(log)
    assert forced["env"][GENERATION_ENV] == "rendering/mpl-3.7"
    assert GENERATION_ENV not in plain["env"]


def test_pins_that_do_not_fit_are_relaxed_and_what_was_installed_is_recorded(tmp_path):
    def policy(requirements, constraints):
        if constraints is not None:
            raise InstallFailed("Because matplotlib==3.7.3 depends on numpy<2 ...")
        return state(numpy="1.26.4", pandas="3.0.6", verdict=verdict_document(None))

    runner, log = make_runner(tmp_path, policy)
    result = runner("3.9.0")
    assert result.outcome == HOLDS
    assert [c for _, c in runner.installer.installs][1] is None
    assert result.relaxed == {"numpy": ["1.26.4", "2.4.6"], "pandas": ["3.0.6", "3.1.1"]}
    assert result.pins_conflict.startswith("Because matplotlib==3.7.3 depends on numpy<2")
    # uv makes the environment exact: the resolver's try reuses it.
    assert len(runner.installer.envs) == 1


def test_a_worker_keeps_its_environment_until_a_probe_breaks_off(tmp_path):
    outcome = {"version": "3.9.0"}

    def policy(requirements, constraints):
        if outcome["version"] == "broken":
            raise KeyboardInterrupt
        return state(verdict=verdict_document())

    runner, log = make_runner(tmp_path, policy)
    runner("3.9.0")
    runner("3.10.0")
    assert len(runner.installer.envs) == 1, "the second probe reused the worker's environment"
    assert len(runner.installer.installs) == 2
    outcome["version"] = "broken"
    with pytest.raises(KeyboardInterrupt):
        runner("3.11.0")
    assert not worker_folder(runner).exists(), "an environment left half-changed is deleted"


def test_a_release_that_installs_in_no_way_is_untestable_with_the_reason(tmp_path):
    def policy(requirements, constraints):
        raise InstallFailed("no wheel for matplotlib==3.0.0 on cp311")

    runner, log = make_runner(tmp_path, policy)
    result = runner("3.0.0")
    assert result.outcome == UNTESTABLE and result.cacheable
    assert (
        result.reason == "does not install on this Python: no wheel for matplotlib==3.0.0 on cp311"
    )
    assert not log.exists(), "no test run without an environment"


def test_layers_that_do_not_run_make_the_release_untestable_and_uncached(tmp_path):
    runner, log = make_runner(tmp_path, lambda req, con: state(exit=4))
    result = runner("3.9.0")
    assert result.outcome == UNTESTABLE and not result.cacheable
    assert result.reason == "the layers did not run (pytest exit 4): ERROR: collection failed"


def test_interrupting_a_probe_leaves_no_environment(tmp_path):
    def policy(requirements, constraints):
        raise KeyboardInterrupt

    runner, log = make_runner(tmp_path, policy)
    with pytest.raises(KeyboardInterrupt):
        runner("3.9.0")
    assert runner.installer.envs, "an environment was made"
    assert not any(env.exists() for env in runner.installer.envs)
    assert not any((runner.workdir / "probe").iterdir())


def test_the_seed_file_runs_only_with_mnist(tmp_path):
    layers = ["training", "scores", "seed"]
    command = layers_command(Path("python"), REPO, tmp_path, layers, ["digits"])
    assert "tests/test_seed.py" not in command
    command = layers_command(Path("python"), REPO, tmp_path, layers, ["mnist"])
    assert "tests/test_seed.py" in command
    assert command[command.index("-m", 2) + 1] == "training or scores or seed"


def test_a_numpy1_build_asks_for_numpy_below_2(tmp_path):
    runner, _ = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document(None)))
    assert runner("3.7.0").outcome == HOLDS
    ((requirements, _),) = runner.installer.installs
    assert requirements[-1] == "numpy<2"


def test_known_numpy1_builds_ask_for_numpy_below_2_at_once():
    assert extra_requirements("matplotlib", "3.7.0") == [NUMPY1_ONLY]
    assert extra_requirements("matplotlib", "3.8.3") == [NUMPY1_ONLY]
    assert extra_requirements("matplotlib", "3.8.4") == []
    assert extra_requirements("scikit-learn", "1.4.1.post1") == [NUMPY1_ONLY]
    assert extra_requirements("scikit-learn", "1.4.2") == []
    assert extra_requirements("numpy", "1.26.4") == []
