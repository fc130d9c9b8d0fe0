"""Click tracking: http(s) URLs in a text message become short links unique to that message,
and following one records the click. Only a stored URL is ever a redirect target.

Codes are `secrets.token_urlsafe(12)`: 16 characters, 96 bits of randomness. They are
inserted with ON CONFLICT (code) DO NOTHING, so the rare collision costs a retry, never an
aborted transaction (the processor calls this inside its claim transaction).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.drip.enrollment import rejudge_branches
from app.drip.sql import id_in
from app.models import DripEnrollment, DripMessageLog, Link, LinkClick
from app.models.base import UTCDateTime

CODE_BYTES = 12  # 96 bits
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
USER_AGENT_MAX = 512
MAX_ATTEMPTS = 5

# A URL runs from its scheme to the next whitespace; trailing punctuation is the sentence's.
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_~"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
# A host as it goes in a Location header: IDNA-encoded name, IPv4 or IPv6 (brackets gone).
_HOST = re.compile(r"[A-Za-z0-9._~:-]+")
_SPACE = re.compile(r"\s")  # urlsplit drops CR and LF silently; a header cannot hold them


def find_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) of each http(s) URL in text, trailing punctuation left out; a closing
    bracket stays when the URL opened it (https://en.wikipedia.org/wiki/Foo_(bar))."""
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start:
            last = text[end - 1]
            if last in _TRAILING:
                end -= 1
            elif last in _CLOSERS and text.count(_CLOSERS[last], start, end) < text.count(
                last, start, end
            ):
                end -= 1
            else:
                break
        if is_redirect_target(text[start:end]):
            spans.append((start, end))
    return spans


def is_redirect_target(url: str) -> bool:
    """Whether url can be sent as a redirect's Location: http(s), a host, a numeric port if
    any. "https://javascript:alert(3)" reads as host "javascript", port "alert(3)": the
    response's Location header could not be written (a 500 after the click was counted).
    Such text is left as it is in the message, never made a short link."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError unless a number from 0 to 65535
        host = (parts.hostname or "").encode("idna").decode("ascii")
        url.encode("utf-8")  # a lone surrogate cannot be percent-encoded
    except ValueError:  # UnicodeError included: a label too long or empty ("a..b")
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(_HOST.fullmatch(host))
        and not _SPACE.search(url)
    )


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


@dataclass
class Message:
    organization_id: int
    log_id: int
    text: str


def track_urls(
    session: Session, organization_id: int, log_id: int, text: str, base_url: str
) -> str:
    """The text with each URL replaced by a short link of its own for this message."""
    return track_batch(session, [Message(organization_id, log_id, text)], base_url)[0]


def track_batch(session: Session, messages: Sequence[Message], base_url: str) -> list[str]:
    """Rewrite every message's URLs; the links of the whole batch go in one INSERT.

    A message sent again (a retry) keeps the codes made for its first attempt."""
    base = base_url.rstrip("/")
    found = [(m, find_urls(m.text)) for m in messages]
    wanted = [(m, spans) for m, spans in found if spans]
    if not wanted:
        return [m.text for m in messages]
    existing = _existing_codes(session, [m.log_id for m, _ in wanted])
    codes: dict[int, list[str]] = {}
    rows: list[dict] = []
    for message, spans in wanted:
        urls = [message.text[s:e] for s, e in spans]
        previous = existing.get(message.log_id)
        if previous is not None and [url for _, url in previous] == urls:
            codes[message.log_id] = [code for code, _ in previous]
            continue
        fresh = [new_code() for _ in urls]
        codes[message.log_id] = fresh
        rows.extend(
            {
                "organization_id": message.organization_id,
                "message_log_id": message.log_id,
                "code": code,
                "url": url,
                "click_count": 0,
            }
            for code, url in zip(fresh, urls, strict=True)
        )
    _insert_links(session, rows, codes)
    out = []
    for message, spans in found:
        if not spans:
            out.append(message.text)
            continue
        parts, cursor = [], 0
        for (start, end), code in zip(spans, codes[message.log_id], strict=True):
            parts.append(message.text[cursor:start])
            parts.append(f"{base}/l/{code}")
            cursor = end
        parts.append(message.text[cursor:])
        out.append("".join(parts))
    return out


def _existing_codes(session: Session, log_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    existing: dict[int, list[tuple[str, str]]] = {}
    rows = session.execute(
        select(Link.message_log_id, Link.code, Link.url)
        .where(id_in(session, Link.message_log_id, log_ids))
        .order_by(Link.id)
    )
    for row in rows:
        existing.setdefault(row.message_log_id, []).append((row.code, row.url))
    return existing


def _insert_links(session: Session, rows: list[dict], codes: dict[int, list[str]]) -> None:
    """One INSERT for the batch; a code already taken is drawn again and retried."""
    table = Link.__table__
    builder = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    for _ in range(MAX_ATTEMPTS):
        if not rows:
            return
        inserted = set(
            session.scalars(
                builder(table)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["code"])
                .returning(table.c.code)
            )
        )
        retry = []
        for row in rows:
            if row["code"] in inserted:
                continue
            code = new_code()
            log_codes = codes[row["message_log_id"]]
            log_codes[log_codes.index(row["code"])] = code
            retry.append({**row, "code": code})
        rows = retry
    raise RuntimeError("could not draw unused link codes")


def lookup(session: Session, code: str) -> str | None:
    """The stored URL of a code, recording nothing; None for an unknown code or a stored URL
    that cannot be a redirect target."""
    if not CODE_PATTERN.fullmatch(code or ""):
        return None
    url = session.scalar(select(Link.url).where(Link.code == code))
    return url if url is not None and is_redirect_target(url) else None


def record_click(session: Session, code: str, at: datetime, user_agent: str | None) -> str | None:
    """Record a click on a short link; the stored URL to redirect to, or None (and nothing
    recorded) if the code is unknown or its URL cannot be a redirect target.

    The counter is incremented in the database and first-click times are set only while
    empty, so concurrent clicks neither lose a count nor overwrite the first time."""
    if not CODE_PATTERN.fullmatch(code or ""):
        return None
    link = session.execute(
        select(Link.id, Link.organization_id, Link.message_log_id, Link.url).where(
            Link.code == code
        )
    ).first()
    if link is None or not is_redirect_target(link.url):
        return None
    session.execute(
        update(Link)
        .where(Link.id == link.id)
        .values(click_count=Link.click_count + 1)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Link)
        .where(Link.id == link.id, Link.first_clicked_at.is_(None))
        .values(first_clicked_at=literal(at, UTCDateTime()))
        .execution_options(synchronize_session=False)
    )
    if link.message_log_id is not None:
        session.execute(
            update(DripMessageLog)
            .where(DripMessageLog.id == link.message_log_id, DripMessageLog.clicked_at.is_(None))
            .values(clicked_at=literal(at, UTCDateTime()))
            .execution_options(synchronize_session=False)
        )
        enrollment_id = select(DripMessageLog.enrollment_id).where(
            DripMessageLog.id == link.message_log_id
        )
        rejudge_branches(session, DripEnrollment.id.in_(enrollment_id.scalar_subquery()), now=at)
    session.add(
        LinkClick(
            organization_id=link.organization_id,
            link_id=link.id,
            clicked_at=at,
            user_agent=(user_agent or None) and user_agent[:USER_AGENT_MAX],
        )
    )
    session.flush()
    return link.url
