"""The numbers of ``mlp-weights bench``: summaries of repeated measurements, the results table.

The table is printed with :func:`mlp_weights.core.table.format_table` in strict
mode, so that each line splits on whitespace into one field per column and
:func:`mlp_weights.core.table.parse_table` reads it back.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from mlp_weights.core.table import format_table

MB = 1_000_000

TABLE_COLUMNS = ("scenario", "step", "runs", "median_s", "min_s", "max_s", "iqr_s", "peak_rss_mb")


@dataclass(frozen=True)
class Summary:
    """Median and spread of repeated measurements."""

    runs: int
    median: float
    low: float
    high: float
    iqr: float


def summarize(values) -> Summary:
    """Median, min, max and interquartile range of ``values``.

    >>> summarize([3.0, 1.0, 2.0, 10.0])
    Summary(runs=4, median=2.5, low=1.0, high=10.0, iqr=3.0)
    """
    values = sorted(float(v) for v in values)
    if not values:
        raise ValueError("no measurements to summarize")
    if len(values) > 1:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        iqr = q3 - q1
    else:
        iqr = 0.0
    return Summary(len(values), statistics.median(values), values[0], values[-1], iqr)


def table_row(scenario: str, step: str, seconds, peaks_bytes) -> tuple:
    """One row of the bench table from raw seconds and peak RSS values."""
    times = summarize(seconds)
    peak = f"{statistics.median(peaks_bytes) / MB:.1f}" if peaks_bytes else None
    return (
        scenario,
        step,
        times.runs,
        f"{times.median:.3f}",
        f"{times.low:.3f}",
        f"{times.high:.3f}",
        f"{times.iqr:.3f}",
        peak,
    )


def results_table(rows) -> str:
    """The bench table of ``rows`` (from :func:`table_row`), one header line.

    Strict: a cell holding whitespace is refused, so that a script splitting
    each line on whitespace gets one field per column.
    """
    return format_table(TABLE_COLUMNS, rows, strict=True)
