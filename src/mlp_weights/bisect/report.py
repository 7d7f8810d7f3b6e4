"""What a bisect says: progress lines, the verdict line, the version table, bisect.json/.md.

Every table goes through :func:`mlp_weights.core.table.format_table`; the same
table is printed and written (plain in the terminal, Markdown in
``bisect.md``).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from packaging.version import Version

from mlp_weights.bisect.choices import Setup, probe_environment
from mlp_weights.bisect.generations import declare_commands
from mlp_weights.bisect.results import Cell, ProbeResult
from mlp_weights.bisect.search import ALL_MOVED, MOVES, NOTHING_MOVED, UNTESTABLE, SearchResult
from mlp_weights.core.io import atomic_write
from mlp_weights.core.table import format_table
from mlp_weights.report.record import BISECT_JSON_NAME as JSON_NAME
from mlp_weights.report.record import BISECT_SCHEMA as REPORT_SCHEMA
from mlp_weights.report.record import BISECT_SCHEMA_VERSION as REPORT_SCHEMA_VERSION

MARKDOWN_NAME = "bisect.md"
#: Where each library describes a release.
CHANGELOG_URLS = {
    "matplotlib": "https://github.com/matplotlib/matplotlib/releases/tag/v{version}",
    "scikit-learn": "https://scikit-learn.org/stable/whats_new/v{major}.{minor}.html"
    "#version-{major}-{minor}-{micro}",
    "numpy": "https://numpy.org/doc/stable/release/{version}-notes.html",
}
#: Libraries whose version a probe's table row shows when the resolver moved it off its pin.
SHOWN_LIBRARIES = ("numpy", "scikit-learn", "matplotlib", "scipy", "pandas")


def changelog_url(library: str, version: str) -> str:
    """The page describing one release of ``library``."""
    v = Version(version)
    return CHANGELOG_URLS[library].format(
        version=version, major=v.major, minor=v.minor, micro=v.micro
    )


def format_value(measure: str, value: float | None) -> str:
    """An amount as people read it: RMS to 3 decimals, relative errors in e-notation."""
    if value is None:
        return ""
    if measure == "max rel":
        return f"{value:.2e}"
    if measure == "test score":
        return f"{value:.4f}"
    return f"{value:.3f}"


def _short(measure: str, value: float | None) -> str:
    if value is None:
        return "?"
    if measure == "RMS":
        return f"{value:.2f}"
    return format_value(measure, value)


def _amount(cell: Cell) -> str:
    """``"12.57 (resampling)"``: a cell's amount, with how its picture moved when known."""
    return _short(cell.measure, cell.value) + (f" ({cell.picture})" if cell.picture else "")


def moved_amounts(result: ProbeResult) -> str:
    """``"RMS digits 12.57 (resampling), mnist-sample 13.82 (resampling)"``: a probe's
    failing layers, with how each picture moved."""
    failing = result.failing()
    layers = list(dict.fromkeys(cell.layer for cell in failing))
    parts = []
    for layer in layers:
        cells = [cell for cell in failing if cell.layer == layer]
        measure = next((c.measure for c in cells if c.measure), "")
        amounts = ", ".join(f"{c.scenario} {_amount(c)}" for c in cells)
        label = f"{measure} " if measure else ""
        parts.append((f"{layer} " if len(layers) > 1 else "") + label + amounts)
    return "; ".join(parts)


def relaxed_text(result: ProbeResult) -> str:
    """``"numpy 1.26.4, +1 more"``: the packages the resolver moved off their pins."""
    names = [n for n in result.relaxed if n in SHOWN_LIBRARIES]
    hidden = len(result.relaxed) - len(names)
    text = ", ".join(f"{n} {result.relaxed[n][0]}" for n in names)
    if hidden:
        text += f"{', ' if text else ''}+{hidden} more"
    return text


def progress_line(result: ProbeResult) -> str:
    """One line per probe: version, result, elapsed time, and what moved or why untested."""
    when = "cached" if result.cached else f"{result.elapsed:.1f} s"
    line = f"probe {result.library} {result.version}: {result.outcome} ({when})"
    if result.outcome == MOVES:
        line += f": {moved_amounts(result)}"
    elif result.outcome == UNTESTABLE:
        line += f": {result.reason}"
    if result.relaxed:
        line += f" [resolver chose {relaxed_text(result)}]"
    return line


def _layer_names(result: ProbeResult) -> str:
    return ", ".join(dict.fromkeys(cell.layer for cell in result.failing())) or "nothing"


def verdict_lines(
    library: str, search: SearchResult, probes: dict[str, ProbeResult], layers: list[str]
) -> list[str]:
    """The sentences that answer the question, one per change point."""
    lines = []
    if search.status == NOTHING_MOVED:
        tested = sorted((v for v, o in search.outcomes.items() if o != UNTESTABLE), key=Version)
        lines.append(
            f"nothing moved: {', '.join(layers)} hold with {library} "
            f"{tested[0]} to {tested[-1]} ({len(tested)} releases probed)"
        )
    elif search.status == ALL_MOVED:
        tested = sorted((v for v, o in search.outcomes.items() if o != UNTESTABLE), key=Version)
        lines.append(
            f"the baseline was not made in this range: {', '.join(layers)} "
            f"{'moves' if len(layers) == 1 else 'move'} with "
            f"{library} {tested[0]} and with {tested[-1]}"
        )
    for point in search.change_points:
        moving = probes[point.moves]
        line = (
            f"{_layer_names(moving)} moved between {library} {point.holds} (holds) and "
            f"{point.moves} (moves: {moved_amounts(moving)})"
        )
        if point.untestable:
            line += f"; not testable in between: {', '.join(point.untestable)}"
        lines.append(line)
    return lines


def _cell_text(cell: Cell | None) -> str:
    if cell is None:
        return ""
    value = format_value(cell.measure, cell.value)
    if cell.status == "fail":
        return (value or "FAIL") + (f" ({cell.picture})" if cell.picture else "")
    if cell.status == "pass":
        return value or "ok"
    return cell.status


def table_columns(probes: list[ProbeResult]) -> list[tuple[str, str]]:
    """``(layer, scenario)`` pairs present in any probe, in first-seen order."""
    return list(dict.fromkeys((c.layer, c.scenario) for p in probes for c in p.cells))


def own_generation_text(entry: dict | None) -> str:
    """``"holds (rendering/mpl-3.7)"``: a walked release against its own generation."""
    if not entry:
        return "-"
    if entry.get("generation"):
        return f"{entry['outcome']} ({entry['generation']})"
    return entry["outcome"]


def version_table(
    probes: list[ProbeResult], markdown: bool = False, own: dict | None = None
) -> str:
    """Version x layer x scenario, with the amounts; one row per release, oldest first.

    ``own`` (a walk's) adds whether each release holds against the
    generation its own version selects.
    """
    probes = sorted(probes, key=lambda p: Version(p.version))
    pairs = table_columns(probes)
    columns = ["version", "result", *[f"{layer}:{scenario}" for layer, scenario in pairs]]
    columns += ["own generation"] if own is not None else []
    columns += ["not as pinned", "time_s"]
    rows = []
    for probe in probes:
        cells = {(c.layer, c.scenario): c for c in probe.cells}
        when = "cached" if probe.cached else f"{probe.elapsed:.1f}"
        row = [probe.version, probe.outcome, *[_cell_text(cells.get(pair)) for pair in pairs]]
        row += [own_generation_text(own.get(probe.version))] if own is not None else []
        row += [relaxed_text(probe), when]
        rows.append(row)
    return format_table(columns, rows, markdown=markdown, rule=not markdown)


def measures_note(probes: list[ProbeResult]) -> str:
    measures = sorted({c.measure for p in probes for c in p.cells if c.measure})
    meanings = {
        "RMS": "RMS: image difference (0-255 scale)",
        "max rel": "max rel: largest relative error over the training arrays",
        "test score": "test score: accuracy on the test split",
    }
    return "; ".join(meanings.get(m, m) for m in measures)


def untestable_lines(probes: list[ProbeResult]) -> list[str]:
    return [
        f"{p.library} {p.version} not tested: {p.reason}"
        for p in sorted(probes, key=lambda p: Version(p.version))
        if p.outcome == UNTESTABLE
    ]


def relaxed_lines(probes: list[ProbeResult]) -> list[str]:
    """For each probe whose pins were relaxed: every package the resolver chose differently."""
    lines = []
    for probe in sorted(probes, key=lambda p: Version(p.version)):
        if probe.relaxed:
            chosen = ", ".join(
                f"{n} {now} (pinned {pin})" for n, (now, pin) in probe.relaxed.items()
            )
            lines.append(f"{probe.library} {probe.version} installed with {chosen}")
    return lines


def report_dict(setup: Setup, walk: bool, search: SearchResult, probes, own, wall_time) -> dict:
    """Everything the bisect found, for ``bisect.json`` and the lines printed.

    ``own`` is a walk's column of outcomes against each release's own generation.
    """
    library = setup.library
    report = {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "library": library,
        "mode": "walk" if walk else "bisect",
        "ends": [setup.good, setup.bad],
        "layers": setup.layers,
        "scenarios": setup.scenarios,
        "environment": probe_environment(setup.index_url),
        "status": search.status,
        "verdict": verdict_lines(library, search, probes, setup.layers),
        "change_points": [
            {
                "holds": point.holds,
                "moves": point.moves,
                "untestable": list(point.untestable),
                "changelog": changelog_url(library, max(point.holds, point.moves, key=Version)),
            }
            for point in search.change_points
        ],
        "probe_order": list(search.outcomes),
        "probes": [
            {**probes[v].to_dict(), "cached": probes[v].cached} for v in sorted(probes, key=Version)
        ],
        "wall_time_s": round(wall_time, 2),
        "generations": [g.name for g in setup.chosen],
    }
    if own is not None:
        report["own_generation"] = own
    report["declare"] = declare_commands(
        setup.generations, setup.layers, setup.pins_file, search.change_points, probes
    )
    return report


def report_lines(report: dict, probes: list[ProbeResult], markdown: bool = False) -> list[str]:
    """The verdict, the version table, its notes and the changelogs: printed, or for bisect.md."""
    library = report["library"]
    lines = ["", *[f"**{v}**" if markdown else v for v in report["verdict"]], ""]
    lines += version_table(probes, markdown, report.get("own_generation")).splitlines()
    note = measures_note(probes)
    extra = untestable_lines(probes) + relaxed_lines(probes)
    changelogs = [
        (f"changelog of {library} {max(p['holds'], p['moves'], key=Version)}", p["changelog"])
        for p in report["change_points"]
    ]
    if not markdown:
        lines += [f"# {line}" for line in ([note] if note else []) + extra]
        said = [f"{what}: {url}" for what, url in changelogs]
        return lines + ["", *said] if said else lines
    lines += ["", *([note + ".", ""] if note else [])]
    lines += [f"- {line}" for line in extra] + ([""] if extra else [])
    return lines + [f"- {what}: <{url}>" for what, url in changelogs]


def markdown_text(report: dict, probes: list[ProbeResult]) -> str:
    good, bad = report["ends"]
    head = [
        f"# mlp-weights bisect: {report['library']} {good} .. {bad}",
        "",
        f"Layers: {', '.join(report['layers'])}; scenarios: {', '.join(report['scenarios'])}; "
        f"mode: {report['mode']}; {report['wall_time_s']:.1f} s.",
    ]
    return "\n".join(head + report_lines(report, probes, markdown=True)).rstrip() + "\n"


def write_reports(folder: Path, report: dict, probes: list[ProbeResult]) -> tuple[Path, Path]:
    """Write ``bisect.json`` and ``bisect.md`` into ``folder`` (atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / JSON_NAME, folder / MARKDOWN_NAME
    with atomic_write(json_path) as fh:
        fh.write((json.dumps(report, indent=2) + "\n").encode("utf-8"))
    with atomic_write(md_path) as fh:
        fh.write(markdown_text(report, probes).encode("utf-8"))
    return json_path, md_path
