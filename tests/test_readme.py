"""The README's promises that code can check: Quickstart and CLI reference."""

import re
import shlex
from pathlib import Path

import pytest

from mlp_weights.cli import build_parser
from mlp_weights.pipeline.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def quickstart_commands() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quickstart_holds_exactly_two_commands():
    assert len(quickstart_commands()) == 2


def test_first_command_runs_an_offline_scenario():
    install, run = quickstart_commands()[0].split(" && ")
    assert install == "python -m pip install ."
    argv = shlex.split(run)
    assert argv[0] == "mlp-weights"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run"
    assert not SCENARIOS[args.dataset].needs_network


def test_ci_runs_the_second_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    assert quickstart_commands()[1] in ci.splitlines()


def documented_options(command: str) -> set[str]:
    section = README.split(f"### `mlp-weights {command}`", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `(--[a-z-]+)` \|", section, re.M))


def parser_options(command: str) -> set[str]:
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    options = {o for a in sub._actions for o in a.option_strings if o.startswith("--")}
    options.discard("--help")
    return options


@pytest.mark.parametrize("command", ["run", "regen"])
def test_cli_reference_lists_every_option(command):
    assert parser_options(command) == documented_options(command)


def test_suite_table_lists_every_layer_and_the_verdict_schema_fields():
    from mlp_weights.core.layers import LAYERS
    from mlp_weights.report.record import SCHEMA, SCHEMA_VERSION

    section = README.split("## The suite", 1)[1].split("\n## ", 1)[0]
    markers = re.findall(r"^\| `([a-z]+)` \|", section, re.M)
    assert markers[: len(LAYERS)] == list(LAYERS)
    assert f"schema `{SCHEMA}`, version {SCHEMA_VERSION}" in section
