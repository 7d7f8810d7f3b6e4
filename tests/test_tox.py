"""tox.ini, .ci/run and .ci/tox_steps.py: honest runs, pins applied, one results folder each."""

from __future__ import annotations

import configparser
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOX_STEPS = REPO / ".ci" / "tox_steps.py"
CI_RUN = (REPO / ".ci" / "run").read_text(encoding="utf-8")


def tox_config() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "tox.ini", encoding="utf-8")
    return config


def resolved(config, section: str, key: str) -> list[str]:
    """A tox setting's lines, with ``{[other]key}`` references replaced, comments dropped."""
    if not config.has_option(section, key):
        section = "testenv"
    lines = []
    for line in config.get(section, key, fallback="").splitlines():
        line = line.strip()
        reference = re.fullmatch(r"\{\[([^\]]+)\]([a-z_]+)\}", line)
        if reference:
            lines += resolved(config, *reference.groups())
        elif line and not line.startswith("#"):
            lines.append(line)
    return lines


def setenv(config, section: str) -> dict[str, str]:
    return dict(
        (part.strip() for part in line.split("=", 1))
        for line in resolved(config, section, "setenv")
    )


PINNED_ENVS = ["testenv", "testenv:regen"]
#: Reports: their layer failures end red only in CI (the canary).
STACK_ENVS = ["testenv:upgrade"]
#: Gates on another stack, against the generations that stack selects.
GATE_ENVS = ["testenv:oldest", "testenv:regen-oldest"]


def test_tox_uv_is_provisioned_and_pip_constraints_are_not_relied_on():
    config = tox_config()
    requires = config.get("tox", "requires")
    assert re.search(r"^\s*tox-uv\b", requires, re.M)
    text = (REPO / "tox.ini").read_text()
    assert "PIP_CONSTRAINT =" not in text, "uv ignores PIP_CONSTRAINT"


@pytest.mark.parametrize(
    "section, pins",
    [
        ("testenv", "requirements/pinned.txt"),
        ("testenv:regen", "requirements/pinned.txt"),
        ("testenv:oldest", "requirements/oldest.txt"),
        ("testenv:regen-oldest", "requirements/oldest.txt"),
    ],
)
def test_each_stack_is_constrained_through_uv(section, pins):
    env = setenv(tox_config(), section)
    assert env["UV_CONSTRAINT"] == "{toxinidir}/" + pins
    assert (REPO / pins).is_file()


def test_upgrade_is_unconstrained():
    assert "UV_CONSTRAINT" not in setenv(tox_config(), "testenv:upgrade")


def test_default_run_is_the_running_python_and_lint_and_never_skips():
    config = tox_config()
    env_list = [e.strip() for e in config.get("tox", "env_list").split(",")]
    assert env_list == ["py", "lint"]
    assert config.get("tox", "skip_missing_interpreters").strip() == "false"


def ci_exports() -> dict[str, str]:
    """The environment .ci/run sets before it installs anything: its settings, run by bash."""
    settings = CI_RUN.split("\nif command -v pyenv", 1)[0]
    done = subprocess.run(
        ["bash", "-c", settings + "\nenv -0", str(REPO / ".ci" / "run")],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(item.split("=", 1) for item in done.stdout.split("\0") if item)


CI = ci_exports()
#: The environments CI runs, in its order.
CI_ENVS = CI["TOX_ENV"].split(",")
GATE_FILES = {"tests/test_layers.py", "tests/test_seed.py", "tests/test_selftest_generations.py"}


def ci_config() -> configparser.ConfigParser:
    """tox.ini as tox reads it under .ci/run: TOX_OVERRIDE's ``section.key=value`` applied."""
    config = tox_config()
    for entry in CI["TOX_OVERRIDE"].split(";"):
        key, value = entry.split("=", 1)
        section, option = key.rsplit(".", 1)
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, option, value)
    return config


def pytest_commands(config, env: str) -> list[str]:
    """The pytest commands of environment ``env`` (``[testenv]``'s unless it has its own)."""
    commands = resolved(config, f"testenv:{env}", "commands")
    assert commands, env
    return [command for command in commands if command.startswith("pytest ")]


def test_ci_names_every_supported_python_the_oldest_stack_and_lint():
    assert CI_ENVS == ["py311", "py312", "py313", "oldest", "lint"]


def test_ci_runs_the_whole_suite_once_on_the_pinned_python():
    config = ci_config()
    whole = [
        env
        for env in CI_ENVS
        for command in pytest_commands(config, env)
        if " -m " not in command and not GATE_FILES & set(command.split())
    ]
    assert whole == ["py311"]
    (command,) = pytest_commands(config, "py311")
    assert command.startswith("pytest -n auto --mpl-results-path=")


@pytest.mark.parametrize("env", ["py312", "py313", "oldest"])
def test_ci_runs_only_the_gates_on_the_other_pythons_and_stacks(env):
    commands = pytest_commands(ci_config(), env)
    selected = set()
    for command in commands:
        words = command.split()
        files = {word for word in words if word.startswith("tests/")}
        assert files and files <= GATE_FILES, command
        assert all((REPO / name).is_file() for name in files)
        marks = re.search(r"-m (\w+|\"[^\"]+\")", command).group(1).strip('"')
        assert "not" not in marks.split(), command
        selected |= {(name, mark) for name in files for mark in marks.split(" or ")}
    # The layer tests, and the self-tests that prove detection against the
    # generation this stack selects.
    assert ("tests/test_layers.py", "layer") in selected
    assert ("tests/test_seed.py", "layer") in selected
    assert ("tests/test_selftest_generations.py", "selftest") in selected
    # A gate: nothing softens a failure, and `tox -e ENV -- ARGS` (`--mlp-inject
    # drawing`) reaches the layer tests (tests/test_inject.py shows that the
    # self-tests' inner runs leave the session's own injections in force).
    for command in resolved(ci_config(), f"testenv:{env}", "commands"):
        assert not command.startswith("-") and "tox_steps.py report" not in command, command
    (with_posargs,) = [command for command in commands if "{posargs}" in command]
    assert "tests/test_layers.py" in with_posargs.split()


@pytest.mark.parametrize("env", ["py312", "py313"])
def test_by_hand_every_python_runs_the_whole_suite(env):
    assert pytest_commands(tox_config(), env) == [
        "pytest -n auto --mpl-results-path={toxinidir}/mpl-results/{envname} {posargs}"
    ]


def test_oldest_in_ci_drops_only_its_own_tests():
    by_hand = resolved(tox_config(), "testenv:oldest", "commands")
    assert "not (layer or selftest)" in by_hand[0]
    assert resolved(ci_config(), "testenv:oldest", "commands") == by_hand[1:]


def test_ci_leaves_every_other_environment_as_written():
    overridden = {entry.split("=", 1)[0] for entry in CI["TOX_OVERRIDE"].split(";")}
    assert overridden == {
        "testenv.parallel_show_output",
        "testenv:py312.commands",
        "testenv:py313.commands",
        "testenv:oldest.commands",
    }


def test_gate_files_hold_every_layer_test_of_this_run(request):
    """The gates name their files: a layer test elsewhere would escape CI's other Pythons."""
    items = request.session.items
    if not any(item.path.name == "test_layers.py" for item in items):
        pytest.skip("only a run that collects the layer tests can tell where they are")
    layer_files = {
        item.path.relative_to(REPO).as_posix() for item in items if item.get_closest_marker("layer")
    }
    assert layer_files and layer_files <= GATE_FILES


def test_ci_runs_environments_side_by_side_and_prints_each_whole():
    assert int(CI["TOX_PARALLEL"]) == len(CI_ENVS)
    # Only the long pole starts xdist workers (`-n auto`: one per core); each
    # gate is one process.
    assert "PYTEST_XDIST_AUTO_NUM_WORKERS" not in CI
    config = ci_config()
    with_workers = [
        env for env in CI_ENVS for command in pytest_commands(config, env) if " -n " in command
    ]
    assert with_workers == ["py311"]
    for section in [*PINNED_ENVS, *STACK_ENVS, *GATE_ENVS, "gates"]:
        for command in resolved(config, section, "commands"):
            assert " -n 2" not in command, f"{section}: {command}"
    # Without it, tox prints only a failing environment's output in parallel
    # mode, and the closing lines repeated at the end would be missing.
    assert "testenv.parallel_show_output=true" in CI["TOX_OVERRIDE"].split(";")


def test_ci_keeps_tox_status_and_repeats_pytest_closing_lines():
    assert "status=${PIPESTATUS[0]}" in CI_RUN
    assert CI_RUN.rstrip().endswith('exit "$status"')
    assert "passed|failed|error|no tests ran" in CI_RUN


def test_every_environment_logs_its_stack_before_its_tests():
    config = tox_config()
    for section in [*PINNED_ENVS, *STACK_ENVS, *GATE_ENVS]:
        assert "python {toxinidir}/.ci/tox_steps.py environment" in resolved(
            config, section, "commands_pre"
        ), section


def results_paths(config, section) -> list[str]:
    commands = resolved(config, section, "commands")
    paths = []
    for command in commands:
        if "pytest" in command:
            match = re.search(r"--mpl-results-path=(\S+)", command)
            assert match, f"{section}: {command!r} writes to the shared default folder"
            paths.append(match.group(1))
    return paths


def test_each_environment_has_its_own_results_folder():
    config = tox_config()
    for section in [*PINNED_ENVS, *STACK_ENVS, *GATE_ENVS]:
        for path in results_paths(config, section):
            assert path.startswith("{toxinidir}/mpl-results/{envname}"), (section, path)


def test_own_tests_never_overwrite_the_layer_report():
    config = tox_config()
    for section in STACK_ENVS:
        own, layers = results_paths(config, section)
        assert own == "{toxinidir}/mpl-results/{envname}-own"
        assert layers == "{toxinidir}/mpl-results/{envname}"
        commands = resolved(config, section, "commands")
        assert "not (layer or selftest)" in commands[0]
        assert commands[1].startswith("python {toxinidir}/.ci/tox_steps.py report pytest")
        assert "-m layer" in commands[1]


def test_oldest_is_a_gate_against_its_own_generation():
    """Any failure ends it red, on every machine: no report step softens it."""
    config = tox_config()
    own, gates = results_paths(config, "testenv:oldest")
    assert own == "{toxinidir}/mpl-results/{envname}-own"
    assert gates == "{toxinidir}/mpl-results/{envname}"
    commands = resolved(config, "testenv:oldest", "commands")
    assert not any("tox_steps.py report" in command for command in commands)
    assert "not (layer or selftest)" in commands[0]
    assert commands[1].startswith('pytest -m "layer or selftest" tests/test_layers.py ')
    assert config.get("testenv:oldest", "basepython").strip() == "python3.10"


def test_each_pins_file_has_a_regen_environment():
    config = tox_config()
    for section, pins in (("testenv:regen", "pinned"), ("testenv:regen-oldest", "oldest")):
        commands = resolved(config, section, "commands")
        assert commands[0].startswith("mlp-weights regen "), section
        assert setenv(config, section)["MLP_WEIGHTS_PINNED"].endswith(f"{pins}.txt")
    # The snapshots are one generation, made with the pinned stack.
    assert "--layer rendering" in resolved(config, "testenv:regen-oldest", "commands")[0]


def test_ci_and_the_job_summary_reach_the_suite():
    passenv = resolved(tox_config(), "testenv", "passenv")
    assert {"GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "CI"} <= set(passenv)


@pytest.fixture
def tox_steps(monkeypatch, capfd):
    """``tox_steps.py ARGS`` run in this process (its own child, for ``report``, is real)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tox_steps", TOX_STEPS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def run(*args, env=None):
        with monkeypatch.context() as patch:
            for name in ("CI", "MLP_WEIGHTS_STRICT"):
                patch.delenv(name, raising=False)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            capfd.readouterr()
            code = module.main(list(args))
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run


def test_the_script_runs_as_tox_runs_it():
    done = subprocess.run(
        [sys.executable, str(TOX_STEPS), "tested", "py312"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("py312: tested Python ")
    done = subprocess.run([sys.executable, str(TOX_STEPS)], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("usage: tox_steps.py ")


def exits_with(status: int) -> list[str]:
    return ["report", sys.executable, "-c", f"import sys; print('the report'); sys.exit({status})"]


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, 0),
        ({"CI": "true"}, 1),
        ({"CI": "false"}, 0),
        ({"MLP_WEIGHTS_STRICT": "1"}, 1),
        ({"CI": "true", "MLP_WEIGHTS_STRICT": "0"}, 0),
    ],
)
def test_failing_layers_end_red_only_in_ci_or_when_asked(tox_steps, env, expected):
    proc = tox_steps(*exits_with(1), env=env)
    assert proc.returncode == expected, proc.stdout
    assert proc.stdout.startswith("the report\n"), "the report is always shown in full"
    assert ("ends green here" in proc.stdout) == (expected == 0)


@pytest.mark.parametrize("status", [0, 2, 3, 4, 5])
def test_other_statuses_are_always_kept(tox_steps, status):
    assert tox_steps(*exits_with(status)).returncode == status


def test_environment_lists_the_interpreter_and_every_distribution(tox_steps):
    proc = tox_steps("environment")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Python {platform.python_version()} at {sys.executable}"
    assert f"numpy=={metadata.version('numpy')}" in lines
    assert f"matplotlib=={metadata.version('matplotlib')}" in lines
    assert lines[1:] == sorted(lines[1:], key=str.lower)


def test_every_environment_says_last_which_python_it_tested():
    config = tox_config()
    for section in [*PINNED_ENVS, *STACK_ENVS]:
        assert resolved(config, section, "commands_post") == [
            "python {toxinidir}/.ci/tox_steps.py tested {envname}"
        ], section


@pytest.mark.parametrize("env_name", ["py", "py312"])
def test_tested_names_the_python_and_for_py_that_it_was_the_only_one(tox_steps, env_name):
    proc = tox_steps("tested", env_name)
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"{env_name}: tested Python {platform.python_version()} (")
    assert ("no other Python was tested" in proc.stdout) == (env_name == "py")
