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


def format_table(columns, rows, *, markdown: bool = False, rule: bool = False) -> str:
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
