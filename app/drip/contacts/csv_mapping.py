"""Which contact field each column of a CSV file fills: the file's header row read, guessed and
checked, or mapped by the user (the import page's column step, the API's `mapping` field).

A target is one of the known fields (phone, whatsapp_user_id, first_name, last_name, timezone,
tags), "attribute:<name>" (kept as that attribute of the contact) or "ignore". No database.
"""

from __future__ import annotations

import re

from app.drip.contacts.fields import FieldError
from app.drip.errors import ValidationError
from app.drip.limits import ATTRIBUTE_KEY_MAX, ATTRIBUTES_MAX

KNOWN_COLUMNS = ("phone", "whatsapp_user_id", "first_name", "last_name", "timezone", "tags")
IGNORE = "ignore"
ATTRIBUTE = "attribute:"
# A header row longer than this is not a contacts file (and each column is a form control on
# the mapping page); a name longer than this is not a column name.
HEADER_COLUMNS_MAX = 200
HEADER_NAME_MAX = 200
# The API's `mapping` form field, as JSON text.
MAPPING_TEXT_MAX = 64 * 1024

FIELD_LABELS = {
    "phone": "Phone number",
    "whatsapp_user_id": "WhatsApp user id",
    "first_name": "First name",
    "last_name": "Last name",
    "timezone": "Time zone",
    "tags": "Tags",
}
# What people call these columns in the exports of other tools, after normalize().
SYNONYMS = {
    "phone": {
        "phone",
        "phone_number",
        "phone_no",
        "mobile",
        "mobile_number",
        "mobile_phone",
        "cell",
        "cell_phone",
        "telephone",
        "tel",
        "whatsapp",
        "whatsapp_number",
        "whatsapp_phone",
        "msisdn",
    },
    "whatsapp_user_id": {"whatsapp_user_id", "bsuid", "business_scoped_user_id"},
    "first_name": {"first_name", "firstname", "given_name", "first", "forename"},
    "last_name": {"last_name", "lastname", "surname", "family_name", "last"},
    "timezone": {"timezone", "time_zone", "tz"},
    "tags": {"tags", "tag", "labels", "label"},
}
_GUESSES = {alias: name for name, aliases in SYNONYMS.items() for alias in aliases}


class MappingError(ValidationError):
    """A mapping that cannot run: `problems` lists (column name or None, message)."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        self.problems = problems
        text = " ".join(message for _, message in problems)
        super().__init__(text, {"mapping": text})


def normalize(label: str) -> str:
    """ "Phone Number " -> "phone_number", "First-Name" -> "first_name"."""
    return re.sub(r"[^0-9a-z]+", "_", label.strip().lower()).strip("_")


def header_labels(header: list[str]) -> list[str]:
    """The header's column names, trimmed; FieldError for a header no mapping can use."""
    if len(header) > HEADER_COLUMNS_MAX:
        raise FieldError(
            f"The header row has {len(header)} columns; a contacts file has at most "
            f"{HEADER_COLUMNS_MAX}."
        )
    labels = [cell.strip() for cell in header]
    seen: set[str] = set()
    for index, label in enumerate(labels):
        # A name PostgreSQL cannot store: the import would fail at its first chunk.
        if "\x00" in label:
            raise FieldError(f"Column {index + 1} of the header row contains a NUL character.")
        if len(label) > HEADER_NAME_MAX:
            raise FieldError(
                f"Column names are at most {HEADER_NAME_MAX} characters: {label[:30]!r}…"
            )
        if label and label in seen:
            raise FieldError(f"The column {label!r} appears twice in the header row.")
        seen.add(label)
    return labels


def guess(label: str) -> str:
    """The target a column of that name most likely fills."""
    if not label:
        return IGNORE  # an unnamed column carries nothing to import
    return _GUESSES.get(normalize(label), ATTRIBUTE + label)


def is_exact(labels: list[str]) -> bool:
    """The header names only the known fields, as written in the documentation: nothing to ask
    the user."""
    return all(label in KNOWN_COLUMNS for label in labels if label) and any(labels)


def resolve(labels: list[str], mapping: object = None) -> list[str]:
    """One target per column: the user's mapping ({column name: target}) where it names the
    column, the guess elsewhere; MappingError for a mapping that cannot run."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise MappingError([(None, "mapping: a JSON object of column name to field.")])
    problems: list[tuple[str | None, str]] = []
    unknown = [name for name in mapping if name not in labels or not name]
    if len(mapping) > HEADER_COLUMNS_MAX:
        problems.append((None, f"mapping: at most {HEADER_COLUMNS_MAX} columns."))
    elif unknown:
        shown = ", ".join(repr(str(name)[:40]) for name in unknown[:5])
        problems.append((None, f"mapping names columns that are not in the header row: {shown}."))
    targets = []
    for label in labels:
        target = mapping.get(label) if label else None
        if target is None:
            targets.append(guess(label))
        elif not isinstance(target, str) or not _is_target(target.strip()):
            problems.append(
                (
                    label,
                    f"{label!r}: map it to one of {', '.join(KNOWN_COLUMNS)}, "
                    f"attribute:<name> or ignore.",
                )
            )
            targets.append(IGNORE)
        else:
            targets.append(_clean(target))
    problems += check(labels, targets)
    if problems:
        raise MappingError(problems)
    return targets


def _is_target(target: str) -> bool:
    return target in KNOWN_COLUMNS or target == IGNORE or target.startswith(ATTRIBUTE)


def _clean(target: str) -> str:
    target = target.strip()
    if target.startswith(ATTRIBUTE):
        return ATTRIBUTE + target[len(ATTRIBUTE) :].strip()
    return target


def check(labels: list[str], targets: list[str]) -> list[tuple[str | None, str]]:
    """What stops these targets from running: a field filled twice, a bad attribute name, no
    phone and no WhatsApp user id."""
    problems: list[tuple[str | None, str]] = []
    filled: dict[str, str] = {}
    for label, target in zip(labels, targets, strict=True):
        if target == IGNORE:
            continue
        if target.startswith(ATTRIBUTE):
            name = target[len(ATTRIBUTE) :]
            if not name:
                problems.append((label, f"{label!r}: name the attribute."))
                continue
            if len(name) > ATTRIBUTE_KEY_MAX:
                problems.append(
                    (
                        label,
                        f"{label[:30]!r}: attribute names are at most {ATTRIBUTE_KEY_MAX} "
                        "characters (name it shorter, or ignore the column).",
                    )
                )
                continue
            if "\x00" in name:
                problems.append((label, f"{label!r}: the attribute name contains a NUL."))
                continue
        if target in filled:
            what = target[len(ATTRIBUTE) :] if target.startswith(ATTRIBUTE) else target
            problems.append(
                (label, f"The column {what!r} appears twice: {filled[target]!r} and {label!r}.")
            )
            continue
        filled[target] = label
    attributes = sum(1 for target in filled if target.startswith(ATTRIBUTE))
    if attributes > ATTRIBUTES_MAX:
        extra = attributes - ATTRIBUTES_MAX
        problems.append((None, f"At most {ATTRIBUTES_MAX} attribute columns: ignore {extra}."))
    if "phone" not in filled and "whatsapp_user_id" not in filled:
        problems.append(
            (
                None,
                "The header row needs a 'phone' column or a 'whatsapp_user_id' column (and "
                "optionally first_name, last_name, timezone, tags, and any attribute columns).",
            )
        )
    return problems


def as_object(labels: list[str], targets: list[str]) -> dict[str, str]:
    """The mapping as the API shows it: {column name: target}, unnamed columns left out."""
    return {label: target for label, target in zip(labels, targets, strict=True) if label}
