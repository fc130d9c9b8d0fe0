"""The one CSV writer of every download (analytics reports, A/B results): cells a spreadsheet
would run as a formula are written as text.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@`
(and, after their import trims it, a tab or carriage return): a step named
`=cmd|' /C calc'!A0` or `=HYPERLINK("https://evil.example", "Click")` would run or phone out
in the marketer's spreadsheet. Such a cell gets a leading `'`, which spreadsheets read as
"this is text" (OWASP's CSV injection advice).

Only text is ever changed: numbers (int, float, Decimal) are written as they are, so a lift
of -1.5 stays the number -1.5. Text that is itself a plain decimal number ("-1.5", "+2",
"-3e-05") is left alone too: a spreadsheet reads it as that number and runs nothing. Leading
spaces do not hide a formula (" =1+1" is quoted as well), because an import that trims spaces
would evaluate it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number, nothing before or after it: no "inf", "nan", "1_000" or spaces.
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def write_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """CSV text of the header and rows; None is an empty cell and any text that a
    spreadsheet would evaluate is neutralised (see safe_cell)."""
    out = io.StringIO()
    # RFC 4180's CRLF: the writer quotes a cell holding any character of the line terminator,
    # and with "\n" alone a bare CR inside a name ("x\r=cmd|...") went out unquoted, which
    # spreadsheets read as a new row starting with a formula.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(value) for value in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell: "" for None, finite numbers (and booleans) unchanged, anything
    else as text, prefixed with `'` when it starts (after any spaces) with a formula character
    and is not a plain number (so float("-inf") becomes "'-inf")."""
    if value is None:
        return ""
    if isinstance(value, int) or (isinstance(value, float | Decimal) and math.isfinite(value)):
        return value
    text = str(value)  # dates and the like: what csv.writer would write, checked the same
    if text.lstrip(" ").startswith(FORMULA_STARTS) and not NUMBER.fullmatch(text):
        return "'" + text
    return text
