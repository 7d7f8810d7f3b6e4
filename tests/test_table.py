"""``mlp_weights.core.table``: the one table formatter, plain text and Markdown."""

from __future__ import annotations

import pytest

from mlp_weights.core.table import MISSING, format_table


def test_numbers_align_right_and_text_left():
    text = format_table(("name", "count"), [("a", 1), ("bbbbbbb", 22)])
    header, first, second = text.splitlines()
    assert header == "name     count"
    assert first == "a            1"
    assert second == "bbbbbbb     22"


def test_a_column_with_one_word_is_text():
    lines = format_table(("value",), [("12",), ("n/a",)]).splitlines()
    assert lines[1] == "12", "text columns are left-aligned, the number included"


def test_missing_values_print_as_a_dash_and_keep_a_column_numeric():
    lines = format_table(("name", "seconds"), [("a", None), ("b", ""), ("c", 1.5)]).splitlines()
    assert [line.split() for line in lines[1:]] == [["a", MISSING], ["b", MISSING], ["c", "1.500"]]
    assert lines[1].endswith(" " * (len("seconds") - 1) + MISSING)


def test_rule_underlines_the_header():
    lines = format_table(("a", "bb"), [("xyz", 1)], rule=True).splitlines()
    assert lines[1] == "---  --"


def test_markdown_escapes_pipes_and_right_aligns_number_columns():
    text = format_table(("name", "n"), [("a|b", 3), ("c", None)], markdown=True)
    assert text.splitlines() == [
        "| name | n |",
        "| --- | ---: |",
        "| a\\|b | 3 |",
        "| c | - |",
    ]


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="has 1 fields, expected 2"):
        format_table(("a", "b"), [("only-one",)])
    with pytest.raises(ValueError, match="has 3 fields, expected 2"):
        format_table(("a", "b"), [("x", 1, 2)], markdown=True)
