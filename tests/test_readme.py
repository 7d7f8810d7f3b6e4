"""The documentation's promises that code can check: the README's Quickstart, the command
reference against the command line, the suite page against the layer table and the
verdict's schema, and every command shown against what exists."""

import configparser
import re
import shlex
from pathlib import Path

import pytest

from mlp_weights.cli import build_parser
from mlp_weights.pipeline.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"
COMMANDS = (DOCS / "commands.md").read_text(encoding="utf-8")
SUITE = (DOCS / "suite.md").read_text(encoding="utf-8")
PAGES = {"README.md": README} | {
    f"docs/{p.name}": p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))
}
#: Commands the parser still has that the documentation leaves out: `bench` is leaving the
#: command line (the figures are measured by the scripts in benchmarks/).
UNDOCUMENTED = {"bench"}


def section(text: str, heading: str) -> str:
    """The body of the section that starts with ``heading``, up to the next one as high."""
    level = heading.split(" ", 1)[0]
    body = text.split(f"\n{heading}\n", 1)[1]
    return re.split(rf"\n#{{1,{len(level)}}} ", body, maxsplit=1)[0]


def quickstart_commands() -> list[str]:
    block = re.search(r"```[a-z]*\n(.*?)```", section(README, "## Quickstart"), re.S).group(1)
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


def subparsers() -> dict:
    return build_parser()._subparsers._group_actions[0].choices


def documented_commands() -> list[str]:
    return [c for c in subparsers() if c not in UNDOCUMENTED]


def documented_options(command: str) -> set[str]:
    body = section(COMMANDS, f"## `mlp-weights {command}`")
    return set(re.findall(r"^\| `(--[a-z-]+)` \|", body, re.M))


def parser_options(command: str) -> set[str]:
    sub = subparsers()[command]
    options = {o for a in sub._actions for o in a.option_strings if o.startswith("--")}
    options.discard("--help")
    return options


@pytest.mark.parametrize("command", documented_commands())
def test_cli_reference_lists_every_option(command):
    assert parser_options(command) == documented_options(command)


def test_readme_has_one_line_per_command_linking_its_reference():
    body = section(README, "## Commands")
    line = r"^- \[`mlp-weights ([a-z]+)`\]\(docs/commands\.md#mlp-weights-\1\)"
    linked = re.findall(line, body, re.M)
    assert sorted(linked) == sorted(documented_commands())


def test_suite_table_lists_every_layer_and_the_verdict_schema_fields():
    from mlp_weights.core.layers import LAYERS
    from mlp_weights.report.record import SCHEMA, SCHEMA_VERSION

    for text, heading in ((SUITE, "## Layers and markers"), (README, "## The layers")):
        markers = re.findall(r"^\| `([a-z]+)` \|", section(text, heading), re.M)
        assert markers[: len(LAYERS)] == list(LAYERS), heading
    assert f"Schema `{SCHEMA}`, version {SCHEMA_VERSION}" in section(SUITE, "## verdict.json")


def documented_fields() -> tuple[set[str], set[str], str]:
    """Top-level and per-layer fields named in the first column of the schema table, and
    the text of the ``scenarios[]`` row."""
    top, layer, scenarios_row = set(), set(), ""
    table = section(SUITE, "## verdict.json")
    for first, rest in re.findall(r"^\| (`.+?) \| (.+) \|$", table, re.M):
        for name in re.findall(r"`([^`]+)`", first):
            if name.startswith(("layers[].", ".")):
                layer.add(name.split(".", 1)[1].removesuffix("[]"))
            else:
                top.add(name.removesuffix("[]"))
            if name == "scenarios[]":
                scenarios_row = rest
    return top, layer, scenarios_row


def test_schema_table_names_every_field_verdict_json_writes(tmp_path):
    from mlp_weights.report.views import to_json
    from mlp_weights.suite.results import LayerResult
    from mlp_weights.suite.verdict import ScenarioVerdict, Verdict

    result = LayerResult("training", "digits", "pass")
    verdict = Verdict([ScenarioVerdict("digits", [result], None, None)], now={})
    record = to_json(verdict, tmp_path, tmp_path)
    top, layer, scenarios_row = documented_fields()
    assert top == set(record)
    scenario = record["scenarios"][0]
    named = set(re.findall(r"`([a-z_]+)(?:\[\])?`", scenarios_row))
    assert set(scenario) <= named
    assert layer == set(scenario["layers"][0])


def code_lines() -> list[tuple[str, str]]:
    """(page, line) for every line inside a fenced code block of every page."""
    found = []
    for name, text in PAGES.items():
        for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M):
            found += [(name, line.strip()) for line in block.splitlines() if line.strip()]
    return found


def shown_commands(program: str) -> list[tuple[str, str]]:
    """Commands of ``program`` shown as run (``$ program ...``, or a bare line that is no
    usage synopsis) in the pages' code blocks."""
    shown = []
    for name, line in code_lines():
        line = line.removeprefix("$ ")
        if line.startswith(f"{program} ") and "[" not in line:
            shown.append((name, line))
    return shown


def test_every_mlp_weights_command_shown_parses():
    shown = shown_commands("mlp-weights")
    assert len(shown) >= 5
    parser = build_parser()
    for name, line in shown:
        try:
            args = parser.parse_args(shlex.split(line)[1:])
        except SystemExit:
            pytest.fail(f"{name}: {line!r} does not parse")
        assert args.command not in UNDOCUMENTED, f"{name}: {line!r}"


def tox_environments() -> set[str]:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(REPO / "tox.ini")
    envs = {s.split(":", 1)[1] for s in ini.sections() if s.startswith("testenv:")}
    return envs | {e.strip() for e in ini["tox"]["env_list"].split(",")}


def test_every_tox_environment_named_exists():
    named = set()
    for text in PAGES.values():
        for envs in re.findall(r"tox (?:-r )?-e ([\w,-]+)", text):
            named |= set(envs.split(","))
    known = tox_environments()
    assert named
    placeholders = {e for e in named if e.isupper()}
    unknown = named - known - placeholders
    assert {e for e in unknown if not re.fullmatch(r"py3\d+", e)} == set()


def test_every_pytest_option_named_exists(pytestconfig):
    named = {o for text in PAGES.values() for o in re.findall(r"--mlp-[a-z]+(?:-[a-z]+)*", text)}
    assert "--mlp-inject" in named
    for option in named:
        pytestconfig.getoption(option)  # ValueError for an option nobody registered
