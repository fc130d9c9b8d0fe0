"""What an import tells its user, kept in ContactImport.errors (a JSON list): one entry per row
that was refused, imported with a warning, or repeats an earlier row's contact, and first an
entry for the header row (row 1) holding the file's column names and their mapping.

    {"row": 1, "kind": "header", "columns": [names], "targets": [target per column] | None}
    {"row": n, "message": "...", "cells": [...]}                       a refused row
    {"row": n, "kind": "warning", "message": "...", "cells": [...]}    imported, with a word
    {"row": n, "kind": "duplicate", "field": "phone", "key": "+1...", "rows": [earlier.., n],
     "message": "...", "cells": [...]}                                 same contact as earlier

The list lives in the errors column because that is the JSON the table has; `targets` None
means the import waits for the user to map its columns. Entries written before this layout
({"row", "message"} alone) read as refused rows without cells. No database here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.drip.limits import ATTRIBUTE_VALUE_MAX

HEADER = "header"
WARNING = "warning"
DUPLICATE = "duplicate"
# A stored row is for the user to fix and import again, not a copy of any size: cells are cut
# to these (a thousand stored rows of a wide file stay a few MB).
CELLS_CHARS_MAX = 8_000
DUPLICATE_POLICY = (
    "When a phone (or WhatsApp user id) is on several rows, the last row wins: its cells "
    "replace the earlier rows' values, its blank cells keep them, and tags add up."
)


def header_entry(columns: list[str], targets: list[str] | None) -> dict:
    return {"row": 1, "kind": HEADER, "columns": columns, "targets": targets}


def stored_cells(record: list[str], width: int) -> list[str]:
    cells, room = [], CELLS_CHARS_MAX
    for text in record[: max(width, 1)]:
        # PostgreSQL's JSON cannot hold NUL (a row refused for one would fail its chunk).
        cell = text.replace("\x00", "")[: min(ATTRIBUTE_VALUE_MAX, room)]
        room -= len(cell)
        cells.append(cell)
    return cells


def error_entry(number: int, message: str, cells: list[str]) -> dict:
    return {"row": number, "message": message, "cells": cells}


def warning_entry(number: int, message: str, cells: list[str]) -> dict:
    return {"row": number, "kind": WARNING, "message": message, "cells": cells}


def duplicate_entry(number: int, key: tuple[str, str], rows: list[int], cells: list[str]):
    name, value = key
    earlier = ", ".join(str(row) for row in rows[:-1][:20]) + ("…" if len(rows) > 21 else "")
    label = "phone" if name == "phone" else "WhatsApp user id"
    message = (
        f"{label} {value} is also on row{'s' if len(rows) > 2 else ''} {earlier}: "
        "the last row wins (its cells replace the earlier values; blank cells keep them)."
    )
    return {
        "row": number,
        "kind": DUPLICATE,
        "field": name,
        "key": value,
        "rows": rows[-50:],
        "message": message,
        "cells": cells,
    }


def awaits_mapping(imp) -> bool:
    """An import (ContactImport) uploaded from the page with columns to map: nothing runs
    until they are."""
    return imp.status == "queued" and read_report(imp.errors).awaits_mapping


@dataclass
class Report:
    columns: list[str] = field(default_factory=list)
    targets: list[str] | None = None
    has_header: bool = False
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)

    @property
    def awaits_mapping(self) -> bool:
        return self.has_header and self.targets is None

    @property
    def repeated(self) -> list[dict]:
        """One line per repeated contact: its rows and the row that won (the last)."""
        groups: dict[tuple[str, str], dict] = {}
        for entry in self.duplicates:
            key = (entry.get("field", "phone"), entry.get("key", ""))
            rows = entry.get("rows") or [entry["row"]]
            group = groups.setdefault(key, {"field": key[0], "key": key[1], "rows": []})
            group["rows"] = sorted(set(group["rows"]) | set(rows))
        for group in groups.values():
            group["winningRow"] = group["rows"][-1]
        return list(groups.values())

    @property
    def mapping(self) -> dict[str, str] | None:
        if self.targets is None:
            return None
        return {c: t for c, t in zip(self.columns, self.targets, strict=False) if c}


def read_report(entries: list[dict] | None) -> Report:
    report = Report()
    for entry in entries or []:
        kind = entry.get("kind")
        if kind == HEADER:
            report.has_header = True
            report.columns = list(entry.get("columns") or [])
            report.targets = entry.get("targets")
        elif kind == WARNING:
            report.warnings.append(entry)
        elif kind == DUPLICATE:
            report.duplicates.append(entry)
        else:
            report.errors.append(entry)
    return report


def failed_rows(entries: list[dict] | None) -> tuple[list[str], list[list]]:
    """The refused rows and the rows with a warning, as the file had them plus "row" and
    "error" (a warning's text starts "Warning:"), in row order: header, rows. Cells are as
    read; the caller writes them with the CSV writer that neutralises formulas."""
    report = read_report(entries)
    width = len(report.columns)
    rows = []
    for entry in sorted(
        [*report.errors, *report.warnings, *report.duplicates], key=lambda e: e["row"]
    ):
        cells = list(entry.get("cells") or [])[:width]
        cells += [""] * (width - len(cells))
        message = entry.get("message", "")
        if entry.get("kind") in (WARNING, DUPLICATE):
            message = f"Warning: {message}"
        rows.append([*cells, entry["row"], message])
    return [*report.columns, "row", "error"], rows
