"""The one table formatter of the package: plain text for terminals, Markdown for pages.

Every table mlp-weights prints or writes (the verdict, ``bench``,
``bisect``) goes through :func:`format_table`, so they all align, mark
missing values and render in Markdown the same way.
"""

from __future__ import annotations

MISSING = "-"


def _cell(value) -> str:
    if value is None or value == "":
        return MISSING
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _is_number(text: str) -> bool:
    if text == MISSING:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_table(
    columns, rows, *, markdown: bool = False, rule: bool = False, strict: bool = False
) -> str:
    """An aligned table: text columns left-aligned, number columns right-aligned.

    Parameters
    ----------
    columns : sequence of str
        Header names.
    rows : iterable of sequences
        One value per column. ``None`` and ``""`` print as ``-``; floats
        with three decimals (pass strings to choose the precision).
    markdown : bool
        A GitHub-flavoured Markdown table instead of plain text.
    rule : bool
        Plain text only: a line of dashes under the header.
    strict : bool
        Plain text only: refuse cells holding whitespace, so that each line
        splits on whitespace into exactly one field per column (see
        :func:`parse_table`).

    Examples
    --------
    >>> print(format_table(("name", "n"), [("a", 1), ("bb", 22)]))
    name   n
    a      1
    bb    22
    """
    columns = [str(c) for c in columns]
    cells = [[_cell(value) for value in row] for row in rows]
    for row in cells:
        if len(row) != len(columns):
            raise ValueError(f"row {row} has {len(row)} fields, expected {len(columns)}")
        if strict and any(any(ch.isspace() for ch in value) for value in row):
            raise ValueError(f"a cell of row {row} holds whitespace")
    numeric = [
        bool(cells) and all(_is_number(row[i]) for row in cells) for i in range(len(columns))
    ]
    if markdown:
        escaped = [[value.replace("|", "\\|") for value in row] for row in [columns] + cells]
        align = ["---:" if is_num else "---" for is_num in numeric]
        lines = [escaped[0], align] + escaped[1:]
        return "\n".join("| " + " | ".join(row) + " |" for row in lines)
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]

    def line(row):
        fields = [
            value.rjust(width) if is_num else value.ljust(width)
            for value, width, is_num in zip(row, widths, numeric)
        ]
        return "  ".join(fields).rstrip()

    lines = [line(columns)]
    if rule:
        lines.append("  ".join("-" * w for w in widths))
    lines += [line(row) for row in cells]
    return "\n".join(lines)


def parse_table(text: str) -> list[dict]:
    """Rows of a strict plain table, skipping ``#`` and blank lines."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        return []
    header = lines[0].split()
    return [dict(zip(header, line.split(), strict=True)) for line in lines[1:]]
