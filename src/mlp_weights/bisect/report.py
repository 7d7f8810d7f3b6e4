"""What a bisect says: progress lines, the verdict line, the version table, bisect.json/.md.

Every table goes through :func:`mlp_weights.core.table.format_table`; the same
table is printed and written (plain in the terminal, Markdown in
``bisect.md``).
"""

from __future__ import annotations

import datetime
import json
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

from packaging.version import Version

from mlp_weights.bisect.choices import Setup
from mlp_weights.bisect.generations import declare_commands
from mlp_weights.bisect.index import python_version_text
from mlp_weights.bisect.results import Cell, ProbeResult
from mlp_weights.bisect.search import ALL_MOVED, MOVES, NOTHING_MOVED, UNTESTABLE, SearchResult
from mlp_weights.core.io import atomic_write_bytes
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
#: What each measure of the table's cells is, for the note under the table.
MEASURES = {
    "RMS": "RMS: image difference (0-255 scale)",
    "max rel": "max rel: largest relative error over the training arrays",
    "test score": "test score: accuracy on the test split",
}


def changelog_url(library: str, version: str) -> str:
    """The page describing one release of ``library``."""
    v = Version(version)
    return CHANGELOG_URLS[library].format(
        version=version, major=v.major, minor=v.minor, micro=v.micro
    )


def format_value(measure: str, value: float | None, short: bool = False) -> str:
    """An amount as people read it: RMS to 3 decimals, relative errors in e-notation.

    ``short`` (in a line of text): RMS to 2 decimals, and ``?`` for an unknown amount.
    """
    if value is None:
        return "?" if short else ""
    if measure == "max rel":
        return f"{value:.2e}"
    if measure == "test score":
        return f"{value:.4f}"
    return f"{value:.2f}" if short and measure == "RMS" else f"{value:.3f}"


def moved_amounts(result: ProbeResult) -> str:
    """``"RMS digits 12.57 (resampling), mnist-sample 13.82 (resampling)"``: a probe's
    failing layers, with how each picture moved."""
    failing = result.failing()
    layers = list(dict.fromkeys(cell.layer for cell in failing))
    parts = []
    for layer in layers:
        cells = [cell for cell in failing if cell.layer == layer]
        measure = next((c.measure for c in cells if c.measure), "")
        amounts = ", ".join(
            f"{c.scenario} {format_value(c.measure, c.value, short=True)}"
            + (f" ({c.picture})" if c.picture else "")
            for c in cells
        )
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


def timing_line(probes: list[ProbeResult], wall_time: float) -> str:
    """``"wall time 61.2 s; 7 probes run (median 8.8 s), 0 from the cache"``."""
    run = [p.elapsed for p in probes if not p.cached and p.elapsed > 0]
    cached = sum(1 for p in probes if p.cached)
    median = f" (median {statistics.median(run):.1f} s)" if run else ""
    return f"wall time {wall_time:.1f} s; {len(run)} probes run{median}, {cached} from the cache"


def verdict_lines(
    library: str, search: SearchResult, probes: dict[str, ProbeResult], layers: list[str]
) -> list[str]:
    """The sentences that answer the question, one per change point."""
    lines = []
    tested = sorted((v for v, o in search.outcomes.items() if o != UNTESTABLE), key=Version)
    if search.status == NOTHING_MOVED:
        lines.append(
            f"nothing moved: {', '.join(layers)} hold with {library} "
            f"{tested[0]} to {tested[-1]} ({len(tested)} releases probed)"
        )
    elif search.status == ALL_MOVED:
        lines.append(
            f"the baseline was not made in this range: {', '.join(layers)} "
            f"{'moves' if len(layers) == 1 else 'move'} with "
            f"{library} {tested[0]} and with {tested[-1]}"
        )
    for point in search.change_points:
        moving = probes[point.moves]
        names = ", ".join(dict.fromkeys(cell.layer for cell in moving.failing())) or "nothing"
        line = (
            f"{names} moved between {library} {point.holds} (holds) and "
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


def version_table(
    probes: list[ProbeResult], markdown: bool = False, own: dict | None = None
) -> str:
    """Version x layer x scenario, with the amounts; one row per release, oldest first.

    ``own`` (a walk's) adds whether each release holds against the
    generation its own version selects (``"holds (rendering/mpl-3.7)"``).
    """
    probes = sorted(probes, key=lambda p: Version(p.version))
    pairs = list(dict.fromkeys((c.layer, c.scenario) for p in probes for c in p.cells))
    columns = ["version", "result", *[f"{layer}:{scenario}" for layer, scenario in pairs]]
    columns += ["own generation"] if own is not None else []
    columns += ["not as pinned", "time_s"]
    rows = []
    for probe in probes:
        cells = {(c.layer, c.scenario): c for c in probe.cells}
        when = "cached" if probe.cached else f"{probe.elapsed:.1f}"
        row = [probe.version, probe.outcome, *[_cell_text(cells.get(pair)) for pair in pairs]]
        if own is not None:
            entry = own.get(probe.version) or {}
            generation = entry.get("generation")
            row.append(entry.get("outcome", "-") + (f" ({generation})" if generation else ""))
        row += [relaxed_text(probe), when]
        rows.append(row)
    return format_table(columns, rows, markdown=markdown, rule=not markdown)


def notes(probes: list[ProbeResult]) -> tuple[str, list[str]]:
    """What the table's measures are, and a line per release not tested or not as pinned."""
    measures = sorted({c.measure for p in probes for c in p.cells if c.measure})
    probes = sorted(probes, key=lambda p: Version(p.version))
    lines = [
        f"{p.library} {p.version} not tested: {p.reason}" for p in probes if p.outcome == UNTESTABLE
    ]
    for probe in probes:
        if probe.relaxed:
            chosen = ", ".join(
                f"{n} {now} (pinned {pin})" for n, (now, pin) in probe.relaxed.items()
            )
            lines.append(f"{probe.library} {probe.version} installed with {chosen}")
    return "; ".join(MEASURES.get(m, m) for m in measures), lines


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
        # Where the probes ran.
        "environment": {
            "python": python_version_text(),
            "platform": sys.platform,
            "installer": "uv",
            "index_url": setup.index_url,
        },
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
        "probes": [asdict(probes[v]) for v in sorted(probes, key=Version)],
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
    note, extra = notes(probes)
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


def write_reports(folder: Path, report: dict, probes: list[ProbeResult]) -> tuple[Path, Path]:
    """Write ``bisect.json`` and ``bisect.md`` into ``folder`` (atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / JSON_NAME, folder / MARKDOWN_NAME
    good, bad = report["ends"]
    head = [
        f"# mlp-weights bisect: {report['library']} {good} .. {bad}",
        "",
        f"Layers: {', '.join(report['layers'])}; scenarios: {', '.join(report['scenarios'])}; "
        f"mode: {report['mode']}; {report['wall_time_s']:.1f} s.",
    ]
    markdown = "\n".join(head + report_lines(report, probes, markdown=True)).rstrip() + "\n"
    atomic_write_bytes(json_path, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    atomic_write_bytes(md_path, markdown.encode("utf-8"))
    return json_path, md_path
