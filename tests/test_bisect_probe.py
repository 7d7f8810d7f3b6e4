"""Probes: installing a release with the pins, relaxing them, running the layers, reading results.

The installer and the interpreter are fakes here (the real ones are exercised
by the network test): a fake environment's ``python`` writes the verdict it
is given, so that everything around it runs as in a real probe.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from bisect_fakes import serve_folder, verdict_document
from mlp_weights.bisect import environment
from mlp_weights.bisect.bytecode import (
    BytecodeStore,
    bytecode_path,
    file_digest,
    publish,
    site_packages,
    source_file,
    sources,
)
from mlp_weights.bisect.environment import (
    REQUESTED_NAME,
    RESOLVED_NAME,
    Installer,
    InstallFailed,
    find_uv,
    installer_error,
    read_pins,
)
from mlp_weights.bisect.index import IndexUnreachableError
from mlp_weights.bisect.probe import ProbeRunner
from mlp_weights.bisect.process import Cancelled, Finished, cancel_scope, pause
from mlp_weights.bisect.resolve import NUMPY1_ONLY, extra_requirements
from mlp_weights.bisect.results import (
    Cell,
    ProbeResult,
    cells_from_junit,
    cells_from_verdict,
    outcome_of,
)
from mlp_weights.bisect.run_layers import keyword_expression
from mlp_weights.bisect.search import HOLDS, MOVES, UNTESTABLE
from mlp_weights.core.errors import MLPWeightsError

REPO = Path(__file__).resolve().parent.parent
PINNED = read_pins(REPO / "requirements" / "pinned.txt")

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
}})
log.write_text(json.dumps(runs))
if state["abi_error"]:
    print("E   ImportError: numpy.core.multiarray failed to import")
    sys.exit(3)
results = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--mpl-results-path="))
if state["verdict"] is not None:
    pathlib.Path(results, "verdict.json").write_text(json.dumps(state["verdict"]))
elif state["junit"] is not None:
    pathlib.Path(results, "junit.xml").write_text(state["junit"])
else:
    print("ERROR: collection failed")
    sys.exit(4)
sys.exit(state["exit"])
"""


class FakeInstaller(Installer):
    """Installs nothing: ``policy(requirements, constraints)`` says what would be installed."""

    def __init__(self, policy, uv="uv"):
        super().__init__(uv=uv, index_url="http://index.invalid/simple")
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


def state(numpy="2.4.6", verdict=None, junit=None, exit=1, abi_error=False, **others):
    installed = {"numpy": numpy, "matplotlib": "3.9.0", **others}
    return {
        "installed": installed,
        "verdict": verdict,
        "junit": junit,
        "exit": exit,
        "abi_error": abi_error,
    }


def make_runner(
    tmp_path, policy, layers=("rendering",), scenarios=("mnist-sample", "digits"), uv="uv"
):
    log = tmp_path / "runs.json"
    work = tmp_path / "work"
    work.mkdir()
    runner = ProbeRunner(
        REPO,
        FakeInstaller(policy, uv),
        tmp_path / "mlp_weights-0-py3-none-any.whl",
        work,
        "matplotlib",
        list(layers),
        list(scenarios),
        extra_env={"FAKE_PROBE_LOG": str(log)},
    )
    return runner, log


def runs(log):
    return json.loads(log.read_text())


def test_a_probe_installs_the_release_with_the_other_pins_and_reads_the_verdict(tmp_path):
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document()))
    result = runner.run("3.9.0")

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
    assert argv[:3] == ["-m", "mlp_weights.bisect.run_layers", "tests/test_layers.py"]
    assert argv[argv.index("-m", 1) + 1] == "rendering"
    assert argv[argv.index("-k") + 1] == "[mnist-sample] or [digits]"
    assert argv[argv.index("-p") + 1] == "no:cacheprovider"
    assert "--mpl-generate-summary=" in argv, "no HTML summaries: the probe never reads them"
    assert f"--mlp-baseline-dir={REPO / 'baseline_images'}" in argv
    assert any(a.startswith("--mpl-results-path=") for a in argv)
    kept = sorted(path.name for path in runner.slot_folder(0).iterdir())
    assert kept == ["bytecode", "env"], "results are removed; uv makes the environment exact"


def test_the_layers_run_with_the_callers_mlp_weights_settings(tmp_path, monkeypatch):
    """A setting such as the baselines' generation reaches every probe's test run."""
    # Only this test's settings (tox sets MLP_WEIGHTS_PINNED, say).
    for name in [n for n in os.environ if n.startswith("MLP_WEIGHTS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MLP_WEIGHTS_GENERATION", "2")
    monkeypatch.setenv("MLP_WEIGHTS_BASELINE_DIR", str(tmp_path / "elsewhere"))
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document()))
    runner.run("3.9.0")
    (run,) = runs(log)
    assert run["env"] == {
        "MLP_WEIGHTS_GENERATION": "2",
        "MLP_WEIGHTS_BASELINE_DIR": str(tmp_path / "elsewhere"),
    }


def test_the_layers_write_no_verdict_into_the_ci_jobs_summary(tmp_path, monkeypatch):
    """The bisect's report goes there, not one verdict per probe."""
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    runner, log = make_runner(tmp_path, lambda req, con: state(verdict=verdict_document()))
    runner.run("3.9.0")
    (run,) = runs(log)
    assert run["step_summary"] is None


@pytest.mark.parametrize(("uv", "environments"), [("uv", 1), (None, 2)], ids=["uv", "pip"])
def test_pins_that_do_not_fit_are_relaxed_and_what_was_installed_is_recorded(
    tmp_path, uv, environments
):
    def policy(requirements, constraints):
        if constraints is not None:
            raise InstallFailed("Because matplotlib==3.7.3 depends on numpy<2 ...")
        return state(numpy="1.26.4", pandas="3.0.6", verdict=verdict_document(None))

    runner, log = make_runner(tmp_path, policy, uv=uv)
    result = runner.run("3.9.0")
    assert result.outcome == HOLDS
    assert [c for _, c in runner.installer.installs][1] is None
    assert result.relaxed == {"numpy": ["1.26.4", "2.4.6"], "pandas": ["3.0.6", "3.1.1"]}
    assert result.pins_conflict.startswith("Because matplotlib==3.7.3 depends on numpy<2")
    # pip only adds packages: the resolver's try needs a new environment; uv's is exact.
    assert len(runner.installer.envs) == environments


def test_a_slot_keeps_its_environment_until_a_probe_breaks_off(tmp_path):
    outcome = {"version": "3.9.0"}

    def policy(requirements, constraints):
        if outcome["version"] == "broken":
            raise KeyboardInterrupt
        return state(verdict=verdict_document())

    runner, log = make_runner(tmp_path, policy)
    runner.run("3.9.0", slot=1)
    runner.run("3.10.0", slot=1)
    assert len(runner.installer.envs) == 1, "the second probe reused the slot's environment"
    assert len(runner.installer.installs) == 2
    outcome["version"] = "broken"
    with pytest.raises(KeyboardInterrupt):
        runner.run("3.11.0", slot=1)
    assert not runner.slot_folder(1).exists(), "an environment left half-changed is deleted"


def test_a_release_that_installs_in_no_way_is_untestable_with_the_reason(tmp_path):
    def policy(requirements, constraints):
        raise InstallFailed("no wheel for matplotlib==3.0.0 on cp311")

    runner, log = make_runner(tmp_path, policy)
    result = runner.run("3.0.0")
    assert result.outcome == UNTESTABLE and result.cacheable
    assert (
        result.reason == "does not install on this Python: no wheel for matplotlib==3.0.0 on cp311"
    )
    assert not log.exists(), "no test run without an environment"


def test_a_numpy1_build_is_retried_with_numpy_below_2(tmp_path):
    def policy(requirements, constraints):
        if NUMPY1_ONLY in requirements:
            if constraints is not None:
                raise InstallFailed("Because you require numpy<2 and numpy==2.4.6 ...")
            return state(numpy="1.26.4", verdict=verdict_document(None))
        return state(abi_error=True)

    runner, log = make_runner(tmp_path, policy)
    result = runner.run("3.9.0")
    assert result.outcome == HOLDS
    assert [NUMPY1_ONLY in r for r, _ in runner.installer.installs] == [False, True, True]
    assert [r["installed"]["numpy"] for r in runs(log)] == ["2.4.6", "1.26.4"]
    assert result.relaxed == {"numpy": ["1.26.4", "2.4.6"]}


def test_known_numpy1_builds_ask_for_numpy_below_2_at_once():
    assert extra_requirements("matplotlib", "3.7.0") == [NUMPY1_ONLY]
    assert extra_requirements("matplotlib", "3.8.3") == [NUMPY1_ONLY]
    assert extra_requirements("matplotlib", "3.8.4") == []
    assert extra_requirements("scikit-learn", "1.4.1.post1") == [NUMPY1_ONLY]
    assert extra_requirements("scikit-learn", "1.4.2") == []
    assert extra_requirements("numpy", "1.26.4") == []


def test_a_suite_without_verdict_json_is_read_from_its_junit_report(tmp_path):
    runner, log = make_runner(tmp_path, lambda req, con: state(junit=JUNIT))
    result = runner.run("3.10.8")
    assert result.source == "junit" and result.outcome == MOVES
    assert [(c.scenario, c.status, c.value) for c in result.cells] == [
        ("mnist-sample", "fail", 13.818197472181685),
        ("digits", "pass", None),
    ]


def test_layers_that_do_not_run_make_the_release_untestable_and_uncached(tmp_path):
    runner, log = make_runner(tmp_path, lambda req, con: state(exit=4))
    result = runner.run("3.9.0")
    assert result.outcome == UNTESTABLE and not result.cacheable
    assert result.reason == "the layers did not run (pytest exit 4): ERROR: collection failed"


def test_interrupting_a_probe_leaves_no_environment(tmp_path):
    def policy(requirements, constraints):
        raise KeyboardInterrupt

    runner, log = make_runner(tmp_path, policy)
    with pytest.raises(KeyboardInterrupt):
        runner.run("3.9.0")
    assert runner.installer.envs, "an environment was made"
    assert not any(env.exists() for env in runner.installer.envs)
    assert not any((runner.workdir / "probe").iterdir())


def test_the_seed_file_runs_only_with_mnist(tmp_path):
    runner, _ = make_runner(tmp_path, None, layers=("training", "scores", "seed"))
    assert "tests/test_seed.py" not in runner.test_command(Path("python"), tmp_path)
    runner.scenarios = ["mnist"]
    command = runner.test_command(Path("python"), tmp_path)
    assert "tests/test_seed.py" in command
    assert command[command.index("-m", 2) + 1] == "training or scores or seed"


def test_verdict_cells_carry_the_amount_of_each_layer():
    verdict = verdict_document(rendering_rms=None, training_rel=3e-6)
    cells = cells_from_verdict(verdict, ["training", "scores", "pipeline"], ["digits"])
    assert [(c.layer, c.status, c.measure) for c in cells] == [
        ("training", "fail", "max rel"),
        ("scores", "pass", "test score"),
    ]
    training, scores = cells
    assert training.value == 3e-6 and training.kind == "moved"
    assert training.arrays == {"loss curve": 1.5e-6, "first-layer weights": 3e-6}
    assert scores.value == 0.93


@pytest.mark.parametrize(
    ("change", "message"),
    [({"schema": "other"}, "not a verdict file"), ({"schema_version": 2}, "schema version 2")],
)
def test_a_verdict_of_another_schema_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        cells_from_verdict({**verdict_document(), **change}, ["rendering"], ["digits"])


def test_outcome_of_cells():
    def cell(status):
        return Cell("rendering", "digits", status)

    assert outcome_of([cell("pass"), cell("fail")]) == (MOVES, "")
    assert outcome_of([cell("pass"), cell("skip")]) == (HOLDS, "")
    skipped = Cell("rendering", "digits", "skip", message="digits: data not cached")
    assert outcome_of([skipped]) == (UNTESTABLE, "no layer ran: digits: data not cached")


UV_CONFLICT = """\
Using Python 3.11.7 environment at: /tmp/x/env
  × No solution found when resolving dependencies:
  ╰─▶ Because matplotlib==3.7.3 depends on numpy>=1.20,<2 and you require numpy==2.4.6, we can
      conclude that your requirements are unsatisfiable.
"""
PIP_MISSING = """\
ERROR: Could not find a version that satisfies the requirement matplotlib==3.0.0 (from versions: \
3.7.0)
ERROR: No matching distribution found for matplotlib==3.0.0
"""


def test_installer_errors_are_cut_to_their_reason():
    assert installer_error(UV_CONFLICT) == (
        "Because matplotlib==3.7.3 depends on numpy>=1.20,<2 and you require numpy==2.4.6, we can"
    )
    assert installer_error(PIP_MISSING).startswith(
        "Could not find a version that satisfies the requirement matplotlib==3.0.0"
    )
    assert installer_error("") == "no output"


UV_DOWNLOAD_BROKE = """\
  × Failed to download `kiwisolver==1.5.1`
  ├─▶ Failed to fetch: `https://files.example/kiwisolver-1.5.1-cp311-manylinux_x86_64.whl`
  ├─▶ Request failed after 3 retries
  ╰─▶ error decoding response body
"""


UV_CONNECT_FAILED = """\
error: Failed to download `kiwisolver==1.5.1`
  cause: Failed to fetch: `https://files.example/kiwisolver-1.5.1-cp311-manylinux_x86_64.whl`
  cause: Request failed after 3 retries
  cause: error sending request for url (https://files.example/kiwisolver-1.5.1.whl)
  cause: client error (Connect)
"""
UV_DISK_FULL = """\
error: Failed to download `pillow==13.0.0`
  cause: Failed to extract archive: pillow-13.0.0-cp311-cp311-manylinux_2_28_x86_64.whl
  cause: I/O operation failed during extraction
  cause: failed to write to file `/tmp/.tmpZw/PIL/TiffImagePlugin.py`: No space left on device \
(os error 28)

hint: `pillow` (v13.0.0) was included because `matplotlib` (v3.11.2) depends on `pillow`
"""


def test_a_full_disk_stops_the_bisect_and_says_so(monkeypatch):
    """uv reports it as a failed download: it is neither the release nor the network."""
    calls = []

    def run_process(argv, **kwargs):
        calls.append(argv)
        return Finished(1, "", UV_DISK_FULL)

    monkeypatch.setattr(environment, "run_process", run_process)
    with pytest.raises(MLPWeightsError) as info:
        Installer("uv", "https://index.example/simple")._run(["uv", "pip", "sync", "x.txt"])
    assert type(info.value) is MLPWeightsError and len(calls) == 1
    assert str(info.value).startswith(
        "no space left on the device while installing (Failed to download `pillow==13.0.0`: "
        "failed to write to file"
    )
    assert str(info.value).endswith("free some, e.g. with `uv cache prune`")


def test_a_broken_download_is_tried_again_then_stops_the_bisect(monkeypatch):
    """Never "does not install on this Python" (which is cached) for a download that broke."""
    calls, answers = [], []

    def run_process(argv, **kwargs):
        calls.append(argv)
        return answers.pop(0)

    monkeypatch.setattr(environment, "run_process", run_process)
    monkeypatch.setattr(environment, "NETWORK_RETRY_SECONDS", 0.0)
    installer = Installer("uv", "https://index.example/simple")
    answers[:] = [Finished(1, "", UV_DOWNLOAD_BROKE), Finished(0, "installed", "")]
    assert installer._run(["uv", "pip", "install", "kiwisolver"]) == "installed"
    assert len(calls) == 2

    calls.clear()
    answers[:] = [Finished(1, "", UV_DOWNLOAD_BROKE)] * 2
    with pytest.raises(IndexUnreachableError) as info:
        installer._run(["uv", "pip", "install", "kiwisolver"])
    assert len(calls) == 2
    assert str(info.value) == (
        "package index https://index.example/simple cannot be reached while installing, twice "
        "(Failed to download `kiwisolver==1.5.1`: error decoding response body)"
    )

    # uv's other style of error: what failed, then the cause at the bottom.
    answers[:] = [Finished(1, "", UV_CONNECT_FAILED)] * 2
    with pytest.raises(IndexUnreachableError) as info:
        installer._run(["uv", "pip", "install", "kiwisolver"])
    assert str(info.value).endswith(
        "(Failed to download `kiwisolver==1.5.1`: client error (Connect))"
    )

    # A release that does not resolve fails at once, as before.
    calls.clear()
    answers[:] = [Finished(1, "", UV_CONFLICT)]
    with pytest.raises(InstallFailed, match="Because matplotlib==3.7.3"):
        installer._run(["uv", "pip", "install", "matplotlib==3.7.3"])
    assert len(calls) == 1


def test_the_pause_before_another_try_ends_when_the_probe_is_cancelled():
    stop = threading.Event()
    stop.set()
    with cancel_scope(stop), pytest.raises(Cancelled):
        pause(60)
    pause(0.0)  # outside a probe: a plain wait


def test_the_keyword_selects_exactly_the_scenarios(pytester, monkeypatch):
    """``mnist`` must not also select ``mnist-sample``: checked with pytest itself."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makepyfile(
        test_k="""
        import pytest

        @pytest.mark.parametrize("s", ["mnist", "mnist-sample", "digits"])
        def test_x(s):
            pass
        """
    )

    def collected(scenarios):
        expression = keyword_expression(scenarios)
        result = pytester.runpytest_inprocess(
            "--co", "-q", "-p", "no:cacheprovider", "-k", expression
        )
        return [line.split("[")[1].rstrip("]") for line in result.outlines if "test_x[" in line]

    assert collected(["mnist"]) == ["mnist"]
    assert collected(["mnist-sample", "digits"]) == ["mnist-sample", "digits"]


def test_results_survive_the_cache_format():
    result = ProbeResult("matplotlib", "3.9.0", MOVES, cells=[Cell("rendering", "digits", "fail")])
    again = ProbeResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">
<testsuite name="pytest"
errors="0" failures="1" skipped="1" tests="3"><testcase classname="tests.test_layers"
name="test_rendering_matches_baseline_image[mnist]" time="0.000"><skipped type="pytest.skip"
message="mnist: data not cached">mnist: data not cached</skipped></testcase><testcase
classname="tests.test_layers" name="test_rendering_matches_baseline_image[mnist-sample]"
time="0.395"><failure message="Failed: Error: Image files did not match.&#10;  RMS Value:
13.818197472181685&#10;  Tolerance: &#10;    0.05">Error: Image files did not match.
  RMS Value: 13.818197472181685
</failure></testcase><testcase classname="tests.test_layers"
name="test_rendering_matches_baseline_image[digits]" time="0.189"></testcase></testsuite>
</testsuites>
"""


def test_junit_cells_of_the_chosen_layers_and_scenarios(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    cells = cells_from_junit(path, ["rendering"], ["mnist", "digits"])
    assert [(c.scenario, c.status) for c in cells] == [("mnist", "skip"), ("digits", "pass")]
    assert cells_from_junit(path, ["training"], ["mnist", "digits"]) == []


@pytest.mark.parametrize("uv", ["/usr/bin/uv", None], ids=["uv", "venv+pip"])
def test_environments_are_made_with_uv_or_else_venv_and_pip(monkeypatch, tmp_path, uv):
    installer = Installer(uv=uv, index_url="http://index.invalid/simple", python="/py/python")
    commands = []
    monkeypatch.setattr(
        Installer, "_run", lambda self, argv, timeout=0: commands.append(argv) or ""
    )
    env = tmp_path / "env"
    env.mkdir()  # as creating it does
    installer.create(env)
    installer.install(env, ["matplotlib==3.9.0", "numpy<2"], tmp_path / "pins.txt")
    installer.frozen(env)
    python = str(env / "bin" / "python")
    wheels_only = ["--only-binary", ":all:", "--index-url", "http://index.invalid/simple"]
    pins = ["-c", str(tmp_path / "pins.txt")]
    if uv:
        create, resolve, sync, freeze = commands
        assert create == [uv, "venv", "--quiet", "--python", "/py/python", str(env)]
        # Resolved as for an empty environment, then the environment made exactly that;
        # never --upgrade, --refresh or --reinstall, which unpack every wheel again.
        requested, resolved = env / REQUESTED_NAME, env / RESOLVED_NAME
        assert requested.read_text() == "matplotlib==3.9.0\nnumpy<2\n"
        assert resolve == [
            *[uv, "pip", "compile", "--quiet", "--no-header", "--python", python],
            *[*wheels_only, *pins, "-o", str(resolved), str(requested)],
        ]
        assert sync == [
            uv,
            "pip",
            "sync",
            "--quiet",
            "--python",
            python,
            *wheels_only,
            str(resolved),
        ]
        assert freeze == [uv, "pip", "freeze", "--python", python]
        assert not {"--upgrade", "-U", "--refresh", "--reinstall"} & {*resolve, *sync}
    else:
        create, install, freeze = commands
        assert create == ["/py/python", "-m", "venv", str(env)]
        assert install[:4] == [python, "-m", "pip", "install"]
        assert install[-8:] == [*wheels_only, *pins, "matplotlib==3.9.0", "numpy<2"]
        assert freeze == [python, "-m", "pip", "freeze", "--all"]


def test_after_the_first_resolution_uvs_cache_answers_first(monkeypatch, tmp_path):
    """Each online resolution asks the index about every cached page (0.3 s a probe)."""
    installer = Installer(uv="/usr/bin/uv", index_url="http://index.invalid/simple")
    online, offline, offline_answers = [], [], []
    monkeypatch.setattr(Installer, "_run", lambda self, argv, timeout=0: online.append(argv) or "")

    def run_process(argv, **kwargs):
        offline.append(argv)
        return offline_answers.pop(0)

    monkeypatch.setattr(environment, "run_process", run_process)
    env = tmp_path / "env"
    env.mkdir()
    installer.install(env, ["matplotlib==3.9.0"], None)
    assert [argv[2] for argv in online] == ["compile", "sync"] and offline == []

    online.clear()
    offline_answers[:] = [Finished(0, "", "")]
    installer.install(env, ["matplotlib==3.9.1"], None)
    assert [argv[2] for argv in offline] == ["compile"] and offline[0][-1] == "--offline"
    assert [argv[2] for argv in online] == ["sync"]

    # What the cache cannot answer (a release not seen yet) is read from the index.
    online.clear()
    offline_answers[:] = [Finished(2, "", "Network connectivity is disabled")]
    installer.install(env, ["matplotlib==3.9.2"], None)
    assert [argv[2] for argv in online] == ["compile", "sync"]
    assert "--offline" not in online[0]


def write_dist(site: Path, name: str, version: str, modules: dict[str, str]) -> None:
    """An installed distribution: its modules and a RECORD with their SHA-256, as a wheel's."""
    dist_info = site / f"{name}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    record = []
    for module, text in modules.items():
        path = site / name / f"{module}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name}/{module}.py,sha256={digest.decode()},{len(text)}")
    (dist_info / "RECORD").write_text("\n".join(record + [f"{dist_info.name}/RECORD,,"]))


def import_all(env: Path, prefix: Path, *others: str, path: Path | None = None) -> dict:
    """Import every module of ``env`` (and ``others``, found in ``path``) with the bytecode
    under ``prefix``; ``module -> VALUE``."""
    code = (
        "import json, sys, importlib; sys.path[:0] = sys.argv[1].split('|'); "
        "names = sys.argv[2:]; "
        "print(json.dumps({n: importlib.import_module(n).VALUE for n in names}))"
    )
    site = site_packages(env)
    names = [f"{p.parent.name}.{p.stem}" for p in sorted(site.glob("*/*.py"))] + list(others)
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    folders = "|".join(str(folder) for folder in (site, path) if folder is not None)
    done = subprocess.run(
        [sys.executable, "-c", code, folders, *names],
        env={**environ, "PYTHONPYCACHEPREFIX": str(prefix)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def test_bytecode_is_reused_for_the_same_source_only(tmp_path):
    store = BytecodeStore(tmp_path / "store")
    first, second = tmp_path / "a" / "env", tmp_path / "b" / "env"
    write_dist(site_dir(first), "pkg", "1.0", {"same": "VALUE = 1\n", "moved": "VALUE = 10\n"})
    # Equal size, written within the same second: Python's own check cannot tell them apart.
    write_dist(site_dir(second), "pkg", "1.1", {"same": "VALUE = 1\n", "moved": "VALUE = 11\n"})
    shutil.copystat(site_dir(first) / "pkg" / "moved.py", site_dir(second) / "pkg" / "moved.py")
    # The same file from another wheel: another modification time.
    os.utime(site_dir(second) / "pkg" / "same.py", (1e9, 1e9))

    assert store.seed(first, tmp_path / "a" / "bytecode") == 0
    assert import_all(first, tmp_path / "a" / "bytecode") == {"pkg.moved": 10, "pkg.same": 1}
    store.harvest(first, tmp_path / "a" / "bytecode")
    record = dict(sources(site_dir(first)))
    assert all(store.path(digest).exists() for digest in record.values())

    seeded = store.seed(second, tmp_path / "b" / "bytecode") - len(store.other_sources())
    assert seeded == 1, "only the unchanged source"
    assert import_all(second, tmp_path / "b" / "bytecode") == {"pkg.moved": 11, "pkg.same": 1}
    same = bytecode_path(tmp_path / "b" / "bytecode", site_dir(second) / "pkg" / "same.py")
    stored = store.path(next(d for p, d in sources(site_dir(second)) if p.endswith("same.py")))
    assert same.samefile(stored), "used as stored, not compiled again"


def site_dir(env: Path) -> Path:
    return env / "lib" / "python3.11" / "site-packages"


def test_a_kept_bytecode_folder_is_brought_to_the_environments_sources(tmp_path):
    """A slot keeps its bytecode: a file stays when its source did, else the stored one replaces
    it, and with none stored Python's check of the source's hash compiles it again."""
    store = BytecodeStore(tmp_path / "store")
    other = tmp_path / "other" / "env"
    write_dist(site_dir(other), "pkg", "2.0", {"mod": "VALUE = 2\n", "new": "VALUE = 3\n"})
    import_all(other, tmp_path / "other" / "bytecode")
    store.harvest(other, tmp_path / "other" / "bytecode")

    env, prefix = tmp_path / "slot" / "env", tmp_path / "slot" / "bytecode"
    write_dist(site_dir(env), "pkg", "1.0", {"mod": "VALUE = 1\n", "same": "VALUE = 0\n"})
    assert import_all(env, prefix) == {"pkg.mod": 1, "pkg.same": 0}
    store.harvest(env, prefix)
    same = bytecode_path(prefix, site_dir(env) / "pkg" / "same.py")
    inode = same.stat().st_ino

    # The next probe in the slot: pkg 2.0, whose bytecode the other environment stored.
    shutil.rmtree(site_dir(env))
    modules = {"mod": "VALUE = 2\n", "new": "VALUE = 3\n", "same": "VALUE = 0\n"}
    write_dist(site_dir(env), "pkg", "2.0", modules)
    store.seed(env, prefix)
    for name in ("mod", "new"):
        digest = dict(sources(site_dir(env)))[str(site_dir(env) / "pkg" / f"{name}.py")]
        assert bytecode_path(prefix, site_dir(env) / "pkg" / f"{name}.py").samefile(
            store.path(digest)
        ), "the stored bytecode of the new content"
    assert same.stat().st_ino == inode, "an unchanged file stays"
    assert import_all(env, prefix) == {"pkg.mod": 2, "pkg.new": 3, "pkg.same": 0}

    # A new content with no bytecode stored: the stale file stays, Python compiles again.
    (site_dir(env) / "pkg" / "mod.py").write_text("VALUE = 4\n")
    store.seed(env, prefix)
    assert import_all(env, prefix)["pkg.mod"] == 4


def test_bytecode_of_sources_outside_the_environment_is_kept_by_their_content(tmp_path):
    """The standard library's, say: listed by the store, reused for the very same content only."""
    store = BytecodeStore(tmp_path / "store")
    env = tmp_path / "a" / "env"
    write_dist(site_dir(env), "pkg", "1.0", {"mod": "VALUE = 1\n"})
    # In the environment but in no RECORD (as uv's _virtualenv.py): its path is the slot's.
    (site_dir(env) / "unrecorded.py").write_text("VALUE = 2\n")
    outside = tmp_path / "lib" / "helper.py"
    outside.parent.mkdir()
    outside.write_text("VALUE = 5\n")

    first = tmp_path / "a" / "bytecode"
    found = import_all(env, first, "helper", "unrecorded", path=outside.parent)
    assert found == {"pkg.mod": 1, "helper": 5, "unrecorded": 2}
    store.harvest(env, first)
    assert str(outside) in store.others()
    assert not [path for path in store.others() if path.startswith(str(env))]
    assert store.path(file_digest(str(outside))).exists()
    assert source_file(str(first), str(bytecode_path(first, outside))) == str(outside)

    second = tmp_path / "b" / "bytecode"
    store.seed(env, second)
    assert bytecode_path(second, outside).samefile(store.path(file_digest(str(outside))))
    assert import_all(env, second, "helper", path=outside.parent)["helper"] == 5

    # Another content, as long and as old: Python's own check could not tell.
    stat = outside.stat()
    outside.write_text("VALUE = 6\n")
    os.utime(outside, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    third = tmp_path / "c" / "bytecode"
    store.seed(env, third)
    assert not bytecode_path(third, outside).exists(), "no bytecode of another content"
    assert import_all(env, third, "helper", path=outside.parent)["helper"] == 6


def test_publishing_never_shows_a_part_of_a_file(tmp_path):
    """Readers of the store (other probes seeding) see a whole file or none, never a part."""
    size, rounds = 1 << 20, 40
    source = tmp_path / "compiled.pyc"
    target = tmp_path / "store" / "ab" / "abcdef.pyc"
    sizes_seen: list[int] = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            try:
                sizes_seen.append(target.stat().st_size)
            except FileNotFoundError:
                pass

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(rounds):
            source.unlink(missing_ok=True)
            source.write_bytes(bytes([round_]) * size)
            publish(source, target)
    finally:
        stop.set()
        reader.join()
    assert sizes_seen and set(sizes_seen) == {size}
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def tiny_index(folder: Path, releases=(("tinypkg", "1.0"), ("otherpkg", "1.0"))) -> str:
    """A file index (PEP 503) of pure-Python wheels, one per ``(name, version)``; its URL."""
    for name, version in releases:
        project = folder / "simple" / name
        project.mkdir(parents=True, exist_ok=True)
        wheel_name = f"{name}-{version}-py3-none-any.whl"
        info = f"{name}-{version}.dist-info"
        files = {
            f"{name}/__init__.py": "VALUE = 1\n",
            f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        record = []
        with zipfile.ZipFile(project / wheel_name, "w") as wheel:
            for path, text in files.items():
                wheel.writestr(path, text)
                digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
                record.append(f"{path},sha256={digest.rstrip(b'=').decode()},{len(text)}")
            wheel.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
        links = "".join(f'<a href="{w.name}">{w.name}</a>' for w in sorted(project.glob("*.whl")))
        (project / "index.html").write_text(links)
    return (folder / "simple").as_uri()


@pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
def test_two_probes_at_once_share_uvs_cache(tmp_path, monkeypatch):
    """Two installs at once into a cache that neither has filled yet, then one offline from it."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    installer = Installer(find_uv(), tiny_index(tmp_path))
    start = threading.Barrier(2)
    errors = []

    def probe(name):
        try:
            env = tmp_path / name
            installer.create(env)
            start.wait(timeout=30)
            installer.install(env, ["tinypkg==1.0"], None)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=probe, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for name in ("a", "b"):
        assert installer.installed(tmp_path / name) == {"tinypkg": "1.0"}
    # A third environment is filled from the cache alone.
    monkeypatch.setenv("UV_OFFLINE", "1")
    installer.create(tmp_path / "c")
    installer.install(tmp_path / "c", ["tinypkg==1.0"], None)
    assert installer.installed(tmp_path / "c") == {"tinypkg": "1.0"}


@pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
def test_a_reused_environment_holds_what_a_new_one_would(tmp_path, monkeypatch):
    """Nothing of the last probe stays, and versions are chosen as for an empty environment."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    releases = (("tinypkg", "1.0"), ("tinypkg", "2.0"), ("otherpkg", "1.0"))
    installer = Installer(find_uv(), tiny_index(tmp_path, releases))
    env, new = tmp_path / "env", tmp_path / "new"
    installer.create(env)
    installer.install(env, ["tinypkg==1.0", "otherpkg==1.0"], None)
    installer.install(env, ["tinypkg>=1"], None)
    installer.create(new)
    installer.install(new, ["tinypkg>=1"], None)
    assert installer.installed(env) == installer.installed(new) == {"tinypkg": "2.0"}
    assert installer.frozen(env) == installer.installed(env), "as uv pip freeze lists them"


@pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
def test_probes_take_wheels_from_uvs_cache_without_unpacking_them_again(tmp_path, monkeypatch):
    """``uv pip install --upgrade`` implies ``--refresh``: each probe unpacked a new copy."""
    cache = tmp_path / "uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    releases = (("tinypkg", "1.0"), ("tinypkg", "2.0"), ("otherpkg", "1.0"))
    tiny_index(tmp_path, releases)

    def unpacked() -> int:
        return sum(1 for _ in (cache / "archive-v0").iterdir())

    with serve_folder(tmp_path) as address:
        installer = Installer(find_uv(), f"{address}/simple")
        env = tmp_path / "env"
        installer.create(env)
        installer.install(env, ["tinypkg==2.0", "otherpkg==1.0"], None)
        after_first = unpacked()
        installer.install(env, ["tinypkg==1.0"], None)  # the worker's next probe
        installer.install(env, ["tinypkg==2.0", "otherpkg==1.0"], None)
        installer.create(tmp_path / "new")
        installer.install(tmp_path / "new", ["tinypkg==2.0", "otherpkg==1.0"], None)
    assert after_first == 2 and unpacked() == 3, "one copy of each wheel"
    assert installer.installed(env) == {"tinypkg": "2.0", "otherpkg": "1.0"}
