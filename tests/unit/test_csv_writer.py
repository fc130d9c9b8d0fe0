"""The one CSV writer: text a spreadsheet would evaluate is written with a leading `'`;
numbers, and text that is a plain number, are written as they are."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.reports import write_csv
from app.reports.csv_writer import FORMULA_STARTS, NUMBER, safe_cell


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "text",
    [
        "=cmd|' /C calc'!A0",
        '=HYPERLINK("https://evil.example","Click")',
        "+1+1",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "  =1+1",  # an import that trims spaces would evaluate it
        "-",
        "-1.5 off",
        "-inf",
        "+nan",
        "-1_000",
    ],
)
def test_formula_text_is_written_as_text(text):
    assert safe_cell(text) == "'" + text
    assert cells(write_csv(["name"], [[text]]))[1] == ["'" + text]


@pytest.mark.parametrize("value", [-1.5, -3, Decimal("-2.25"), 0.0, -1e-05, True, False])
def test_numbers_are_written_unchanged(value):
    assert safe_cell(value) is value


@pytest.mark.parametrize("text", ["-1.5", "+2", "-3e-05", "-.5", "12", "Welcome", "a=b", ""])
def test_plain_numbers_and_harmless_text_are_unchanged(text):
    assert safe_cell(text) == text


def test_none_is_an_empty_cell_and_other_values_are_their_text():
    assert write_csv(["a", "b", "c"], [[None, date(2026, 1, 5), float("-inf")]]) == (
        "a,b,c\r\n,2026-01-05,'-inf\r\n"
    )


def test_a_carriage_return_inside_a_cell_cannot_start_a_row():
    text = write_csv(["name"], [["Welcome\r=cmd|' /C calc'!A0", "x\n@SUM(1)"]])
    assert cells(text) == [["name"], ["Welcome\r=cmd|' /C calc'!A0", "x\n@SUM(1)"]]
    assert '"Welcome\r=cmd' in text and '"x\n@SUM(1)"' in text


def test_the_header_is_neutralised_too():
    assert cells(write_csv(["=1+1", "ok"], []))[0] == ["'=1+1", "ok"]


@given(st.text())
def test_no_cell_ever_starts_a_formula_unless_it_is_a_number(text):
    (cell,) = cells(write_csv(["x"], [[text]]))[1]
    assert cell in (text, "'" + text)
    if cell.lstrip(" ").startswith(FORMULA_STARTS):
        assert NUMBER.fullmatch(cell), repr(cell)
