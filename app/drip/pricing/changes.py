"""Replacing an organization's rate card: rows from JSON, from a plain CSV (market, category,
price, currency, effective_from), or from Meta's own rate-card CSV (one row per market, a
column per category: Market, Currency, Marketing, Utility, Authentication,
Authentication-International, Service, with title lines above the header). Errors name the
row and the column."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.drip.errors import ValidationError
from app.drip.pricing.cards import CATEGORIES, Row
from app.models import AuditEvent, RateCardEntry

MAX_ROWS = 5000
MAX_MARKET = 64
_CURRENCY = re.compile(r"[A-Z]{3}")
_PLAIN = ("market", "category", "price", "currency", "effective_from")
_WIDE = {
    "marketing": "MARKETING",
    "utility": "UTILITY",
    "authentication": "AUTHENTICATION",
    "authentication-international": "AUTHENTICATION_INTERNATIONAL",
    "authentication international": "AUTHENTICATION_INTERNATIONAL",
    "authentication_international": "AUTHENTICATION_INTERNATIONAL",
    "service": "SERVICE",
}
_KEYS = {
    "effective from": "effective_from",
    "effectivefrom": "effective_from",
    "effective date": "effective_from",
}


def parse_csv(text: str, *, currency: str | None = None, effective_from=None) -> list[dict]:
    """Raw rows (dicts of text, with "_row": the CSV line) from either CSV form. Meta's form
    takes the currency from its Currency column (or `currency`) and the date from an
    "Effective from" column (or `effective_from`)."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if not line.startswith("#")]
    start = next((i for i, line in enumerate(lines) if _is_header(line)), None)
    if start is None:
        raise ValidationError(
            "The CSV has no header row: market,category,price,currency,effective_from, or "
            "Meta's (Market, Currency, Marketing, Utility, Authentication, ...).",
            {"file": "no header row"},
        )
    reader = csv.reader(io.StringIO("\n".join(lines[start:])))
    header = [_key(h) for h in next(reader)]
    rows = []
    for number, cells in enumerate(reader, start=start + 2):
        if not any(c.strip() for c in cells):
            continue
        record = dict(zip(header, (c.strip() for c in cells), strict=False))
        if "category" in header:
            rows.append({**record, "_row": number})
            continue
        for column, category in _WIDE.items():
            value = record.get(column, "")
            if column not in header or value.lower() in ("", "n/a", "-", "—"):
                continue
            rows.append(
                {
                    "market": record.get("market", ""),
                    "category": category,
                    "price": value,
                    "currency": record.get("currency") or currency or "",
                    "effective_from": record.get("effective_from") or effective_from or "",
                    "_row": number,
                }
            )
    return rows


def _key(header: str) -> str:
    key = header.strip().lower()
    return _KEYS.get(key.replace("_", " ").replace("-", " "), key)


def _is_header(line: str) -> bool:
    cells = [_key(c) for c in next(csv.reader([line]), [])]
    return "market" in cells and ("category" in cells or any(c in _WIDE for c in cells))


def validate_rows(raw: list) -> list[Row]:
    """Clean rows, or a ValidationError naming the first bad row and column ("row 3, price:
    ..."). Rows of JSON are numbered from 1, CSV rows by their line."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError("The rate card has no rows.", {"rows": "at least one row"})
    if len(raw) > MAX_ROWS:
        raise ValidationError(f"A rate card has at most {MAX_ROWS} rows.", {"rows": "too many"})
    rows, seen = [], set()
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            _fail(index, "row", "must be an object with market, category, price, ...")
        number = item.get("_row", index)
        row = Row(
            _market(number, item.get("market")),
            _category(number, item.get("category")),
            _price(number, item.get("price")),
            _currency(number, item.get("currency")),
            _date(number, item.get("effective_from", item.get("effectiveFrom"))),
        )
        key = (row.market.casefold(), row.category, row.effective_from)
        if key in seen:
            _fail(number, "market", f"{row.market} {row.category} from {row.effective_from} twice")
        seen.add(key)
        rows.append(row)
    return rows


def replace_rate_card(session: Session, organization_id: int, rows, actor=None) -> list[Row]:
    """Validate `rows` (raw dicts, or CSV text) and make them the organization's card,
    replacing its rows; one audit event. `actor` has label, user_id, api_key_id (an
    app.drip.audit.Actor); None records "system"."""
    clean = validate_rows(parse_csv(rows) if isinstance(rows, str) else rows)
    session.execute(delete(RateCardEntry).where(RateCardEntry.organization_id == organization_id))
    session.add_all(
        RateCardEntry(
            organization_id=organization_id,
            market=r.market,
            category=r.category,
            price=r.price,
            currency=r.currency,
            effective_from=r.effective_from,
        )
        for r in clean
    )
    session.add(
        AuditEvent(
            organization_id=organization_id,
            user_id=getattr(actor, "user_id", None),
            api_key_id=getattr(actor, "api_key_id", None),
            actor=str(getattr(actor, "label", "system"))[:254],
            campaign_id=None,
            action="rate_card.replaced",
            details={
                "rows": len(clean),
                "markets": len({r.market for r in clean}),
                "currencies": sorted({r.currency for r in clean}),
                "effectiveFrom": max(r.effective_from for r in clean).isoformat(),
            },
        )
    )
    session.flush()
    return clean


def _fail(row, column: str, problem: str):
    raise ValidationError(f"Row {row}, {column}: {problem}.", {f"rows[{row}].{column}": problem})


def _text(row, column: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(row, column, "is missing")
    return value.strip()


def _market(row, value) -> str:
    text = _text(row, "market", value)
    if len(text) > MAX_MARKET:
        _fail(row, "market", f"is at most {MAX_MARKET} characters")
    return text


def _category(row, value) -> str:
    text = _text(row, "category", value).upper().replace("-", "_").replace(" ", "_")
    if text not in CATEGORIES:
        _fail(row, "category", f"must be one of {', '.join(CATEGORIES)}")
    return text


def _price(row, value) -> Decimal:
    if isinstance(value, bool) or value is None:
        _fail(row, "price", "is missing")
    text = str(value).strip().lstrip("$€£").replace(",", "") if isinstance(value, str) else value
    try:
        price = Decimal(str(text))
    except InvalidOperation:
        _fail(row, "price", f"{str(value)[:40]!r} is not a number")
    if not price.is_finite() or price < 0:
        _fail(row, "price", "must be a number of 0 or more")
    if price >= Decimal(1_000_000) or price != price.quantize(Decimal("0.000001")):
        _fail(row, "price", "has at most 6 decimals and is below 1,000,000")
    return price


def _currency(row, value) -> str:
    text = _text(row, "currency", value).upper()
    if not _CURRENCY.fullmatch(text):
        _fail(row, "currency", "must be a 3-letter code such as USD")
    return text


def _date(row, value) -> date:
    if isinstance(value, date):
        return value
    text = _text(row, "effective_from", value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(row, "effective_from", f"{text[:20]!r} is not a date (YYYY-MM-DD)")
