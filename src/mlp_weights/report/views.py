"""Views of a :class:`~mlp_weights.suite.verdict.Verdict`: terminal text, Markdown, JSON.

After every run the suite writes ``verdict.json``, ``verdict.md`` and the
page ``verdict.html`` (:mod:`mlp_weights.report.page`) into the results folder;
when ``GITHUB_STEP_SUMMARY`` is set, the Markdown is appended there too, so
that it shows on the CI job's page. The JSON schema
is documented in docs/suite.md ("verdict.json") and versioned by
:data:`mlp_weights.report.record.SCHEMA_VERSION`.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from mlp_weights.core.environment import LIBRARIES
from mlp_weights.core.io import atomic_write_bytes
from mlp_weights.core.table import format_table
from mlp_weights.report.next_steps import next_steps, steps_markdown
from mlp_weights.report.page import PAGE_NAME, write_page
from mlp_weights.report.record import JSON_NAME, SCHEMA, SCHEMA_VERSION
from mlp_weights.suite.results import FAIL, NOT_RUN, SKIP
from mlp_weights.suite.verdict import Verdict, describe_amount

MARKDOWN_NAME = "verdict.md"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
#: GitHub Actions' variables that make the address of a run's page, where
#: its artifacts (the page among them) are listed.
RUN_URL_ENV = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")

TABLE_COLUMNS = ("scenario", "layer", "result", "amount", "blamed")


def table_rows(record: dict) -> list[tuple]:
    rows = []
    for scenario in record["scenarios"]:
        if all(r["status"] in (SKIP, NOT_RUN) for r in scenario["layers"]):
            rows.append((scenario["scenario"], "all", SKIP, "", ""))
            continue
        for layer in scenario["layers"]:
            rows.append(
                (
                    scenario["scenario"],
                    layer["layer"],
                    "FAIL" if layer["status"] == FAIL else layer["status"],
                    describe_amount(layer),
                    ", ".join(layer["blamed"]) if layer["status"] == FAIL else "",
                )
            )
    return rows


def to_text(record: dict) -> str:
    """The table and one line per scenario, for the terminal."""
    scenarios = record["scenarios"]
    if not scenarios:
        return ""
    table = format_table(TABLE_COLUMNS, table_rows(record), rule=True)
    return table + "\n\n" + "\n".join(f"{s['scenario']}: {s['verdict']}" for s in scenarios)


def page_link(in_summary: bool = False) -> str:
    """The Markdown line that points at ``verdict.html``.

    In ``verdict.md`` the page is beside it; in a CI job summary it is in
    the run's artifacts, whose page GitHub's variables name.
    """
    text = "Images, loss curves and blame in one page"
    if not in_summary:
        return f"{text}: [{PAGE_NAME}]({PAGE_NAME}) (beside this file)."
    parts = [os.environ.get(name) for name in RUN_URL_ENV]
    if all(parts):
        server, repository, run = parts
        url = f"{server}/{repository}/actions/runs/{run}#artifacts"
        return f"{text}: `{PAGE_NAME}`, in [this run's artifacts]({url})."
    return f"{text}: `{PAGE_NAME}`, in the results folder."


def to_markdown(record: dict, link: str = "", steps=()) -> str:
    """The same, as Markdown for a CI job summary or a pull-request comment.

    ``steps`` (:func:`mlp_weights.report.next_steps.next_steps`) follow the
    table; ``link`` (see :func:`page_link`) ends it when given.
    """
    status = "some layers moved" if record["counts"][FAIL] else "nothing moved"
    lines = [f"## mlp-weights verdict: {status}", ""]
    if not record["scenarios"]:
        return "\n".join(lines + ["No layer test ran.", ""])
    lines.append(format_table(TABLE_COLUMNS, table_rows(record), markdown=True))
    lines.append("")
    lines += [f"- **{s['scenario']}**: {s['verdict']}" for s in record["scenarios"]]
    lines += picture_lines(record)
    versions = ", ".join(f"{k} {record['now'][k]}" for k in LIBRARIES if k in record["now"])
    lines += ["", f"Tested with {versions}."]
    if record["generations"]:
        compared = "; ".join(
            f"`{name}` ({g['range']}{', forced' if g.get('forced') else ''})"
            for name, g in record["generations"].items()
        )
        lines.append(f"Baseline generations compared: {compared}.")
    lines.append("")
    lines += steps_markdown(list(steps))
    if link:
        lines += [link, ""]
    return "\n".join(lines)


def picture_lines(record: dict) -> list[str]:
    """How each failing picture moved, once per scenario and reading (rendering and
    pipeline compare the same image generation, and often read the same)."""
    from mlp_weights.suite.picture import describe

    lines = []
    for scenario in record["scenarios"]:
        failing = [r for r in scenario["layers"] if r["status"] == FAIL and r["picture"]]
        readings = [describe(r["picture"]) for r in failing]
        lines += [
            f"- **{scenario['scenario']}**, how the picture moved: {line}"
            for line in dict.fromkeys(readings)
        ]
    return lines


def to_json(verdict: Verdict, baseline_dir, results_dir) -> dict:
    """The verdict as data: its schema is in docs/suite.md ("verdict.json")."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "baseline_dir": str(baseline_dir),
        "results_dir": str(results_dir),
        "layers_run": verdict.layers_run,
        "now": verdict.now,
        "counts": verdict.counts(),
        "generations": verdict.generations,
        "uncovered": verdict.uncovered,
        "scenarios": [
            {
                "scenario": s.scenario,
                "verdict": s.line,
                "baseline": s.baseline,
                "baseline_problem": s.baseline_problem,
                "layers": [
                    {k: v for k, v in r.to_dict().items() if k not in ("scenario", "nodeid")}
                    for r in s.layers
                ],
            }
            for s in verdict.scenarios
        ],
    }


def write_verdict(record: dict, results_dir) -> list[Path]:
    """Write ``verdict.json``, ``verdict.md`` and ``verdict.html`` of ``record`` (as
    :func:`to_json` builds it); append the Markdown to the CI summary."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps(record, indent=2) + "\n"
    steps = next_steps(record)
    markdown = to_markdown(record, link=page_link(), steps=steps)
    written = [
        atomic_write_bytes(results_dir / name, text.encode("utf-8"))
        for name, text in ((JSON_NAME, data), (MARKDOWN_NAME, markdown))
    ]
    written.append(write_page(record, results_dir))
    summary = os.environ.get(STEP_SUMMARY_ENV)
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(to_markdown(record, link=page_link(in_summary=True), steps=steps) + "\n")
    return written
