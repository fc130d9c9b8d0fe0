"""When is a step due: delays, send windows and time zones. Pure functions, no database.

Definitions (the tests in tests/unit/test_schedule.py check each one):

* A delay of minutes or hours is an exact duration. A delay of N days is N calendar days on
  the local clock of the zone the enrollment is scheduled in: a step sent at 09:00 with a
  one-day delay is due at 09:00 the next day, also across a daylight-saving change (the
  elapsed time is then 23 or 25 hours). A local time that does not exist (the clocks skip it)
  becomes the first instant after the gap; a local time that happens twice is its first
  occurrence.
* An instant is inside a send window when the local clock shows a time in [start, end) on an
  allowed ISO weekday (1 = Monday .. 7 = Sunday). A window whose start is after its end
  crosses midnight (20:00-08:00): it belongs to the weekday on which it opens, so a Friday-only
  20:00-08:00 window covers Friday 20:00 to Saturday 08:00. No start or end (or start equal
  to end, which validate_window refuses for new windows) means any time of an allowed day.
  When the clocks go back, the repeated hour is inside the window twice if its clock times
  are; times skipped when the clocks go forward are never shown, so never inside.
* next_send_time is the earliest instant that is not before anchor + delay (nor before
  not_before) and is inside the window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from app.drip.errors import ValidationError
from app.drip.zones import CONTACT_ZONE, resolve_zone, zone_named

ALL_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)
DELAY_UNITS = ("minutes", "hours", "days")
# How far ahead one search looks; a window with an allowed weekday opens within 8 days unless
# DST swallows it, and then the search goes on from the horizon.
_HORIZON_DAYS = 9
_MAX_HORIZONS = 60


@dataclass(frozen=True)
class SendWindow:
    """When messages may go out: local time of day, weekdays, and whose clock."""

    start: time | None = None
    end: time | None = None
    weekdays: tuple[int, ...] = ALL_WEEKDAYS
    timezone: str = "UTC"  # an IANA name, or "contact"

    @property
    def any_time(self) -> bool:
        return self.start is None or self.end is None or self.start == self.end

    @property
    def crosses_midnight(self) -> bool:
        return not self.any_time and self.start > self.end


ANY_TIME = SendWindow()


def delay_timedelta(amount: int, unit: str) -> timedelta:
    """The nominal length of a delay (a day counts 24 hours here; see add_delay)."""
    if unit not in DELAY_UNITS:
        raise ValueError(f"unknown delay unit {unit!r}")
    return timedelta(**{unit: amount})


def add_delay(anchor: datetime, amount: int, unit: str, zone: tzinfo) -> datetime:
    """anchor + delay: exact for minutes and hours, calendar days on zone's clock for days."""
    _require_aware(anchor)
    if unit != "days" or amount == 0:
        return (anchor + delay_timedelta(amount, unit)).astimezone(UTC)
    local = anchor.astimezone(zone).replace(tzinfo=None)
    return local_to_utc(local + timedelta(days=amount), zone)


def local_to_utc(local: datetime, zone: tzinfo) -> datetime:
    """The first instant at which zone's clock shows `local` (a naive wall time), or, for a
    time the clocks skip, the first instant after the gap."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    # In a gap fold=0 reads the wall time with the offset before the change (a later instant),
    # fold=1 with the offset after it (an earlier one); the change lies between them.
    before = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _transition_between(zone, min(before, first), max(before, first))


def in_window(instant: datetime, window: SendWindow, zone: tzinfo) -> bool:
    """Whether zone's clock at this instant is inside the window (see the module docstring)."""
    local = instant.astimezone(zone)
    weekday = local.isoweekday()
    if window.any_time:
        return weekday in window.weekdays
    clock = local.time()
    if not window.crosses_midnight:
        return weekday in window.weekdays and window.start <= clock < window.end
    if clock >= window.start:
        return weekday in window.weekdays
    if clock < window.end:
        return (weekday - 2) % 7 + 1 in window.weekdays  # the night began the day before
    return False


def next_open_time(earliest: datetime, window: SendWindow, zone: tzinfo) -> datetime:
    """The earliest instant >= earliest inside the window (UTC)."""
    _require_aware(earliest)
    earliest = earliest.astimezone(UTC)
    if not window.weekdays:
        raise ValueError("a send window needs at least one weekday")
    if in_window(earliest, window, zone):
        return earliest
    start = earliest
    for _ in range(_MAX_HORIZONS):
        end = start + timedelta(days=_HORIZON_DAYS)
        for candidate in _entry_candidates(start, end, window, zone):
            if candidate >= earliest and in_window(candidate, window, zone):
                return candidate
        start = end
    raise ValueError("the send window never opens")


def next_send_time(
    anchor: datetime,
    delay_amount: int,
    delay_unit: str,
    window: SendWindow = ANY_TIME,
    zone: tzinfo | str | None = None,
    *,
    not_before: datetime | None = None,
) -> datetime:
    """When a step is due: the earliest instant inside the window that is not before
    anchor + delay, nor before not_before (pass "now" so that an overdue step goes out in
    the next window instead of in the past). zone defaults to the window's own zone."""
    resolved = _zone(zone if zone is not None else window.timezone)
    earliest = add_delay(anchor, delay_amount, delay_unit, resolved)
    if not_before is not None and not_before > earliest:
        earliest = not_before
    return next_open_time(earliest, window, resolved)


def window_zone(window: SendWindow, contact_zone: str | None, org_zone: str | None) -> ZoneInfo:
    """The clock a contact's window is read on: the campaign's zone, or for "contact" the
    contact's own zone, falling back to the organization's, then UTC."""
    if window.timezone == CONTACT_ZONE:
        return resolve_zone(contact_zone, org_zone)
    return resolve_zone(window.timezone, org_zone)


def validate_window(
    start: time | str | None,
    end: time | str | None,
    weekdays: Iterable[int] | None,
    timezone: str | None,
    *,
    prefix: str = "",
) -> SendWindow:
    """A SendWindow from editor input, or ValidationError naming each bad field.

    start/end are times or "HH:MM" strings; both empty means any time of day. start equal to
    end is refused (ambiguous: leave both empty for any time). weekdays are ISO 1..7, at least
    one. timezone is an IANA name or "contact". Field names are prefixed with `prefix`.
    """
    errors: dict[str, str] = {}
    start_time = _parse_time(start, prefix + "start", errors)
    end_time = _parse_time(end, prefix + "end", errors)
    if (start_time is None) != (end_time is None) and not errors:
        missing = "end" if end_time is None else "start"
        errors[prefix + missing] = "Give both a start and an end, or neither for any time."
    elif start_time is not None and start_time == end_time:
        errors[prefix + "end"] = (
            "The end must differ from the start (leave both empty for any time)."
        )
    days = _parse_weekdays(weekdays, prefix + "weekdays", errors)
    # Not a string (a list from a JSON body) is a field error like an unknown name.
    zone_name = (timezone or "UTC").strip() if isinstance(timezone, str | None) else ""
    if zone_name != CONTACT_ZONE and zone_named(zone_name) is None:
        errors[prefix + "timezone"] = 'Use an IANA name such as Europe/Paris, or "contact".'
    if errors:
        raise ValidationError("The send window is not valid.", errors)
    return SendWindow(start_time, end_time, days, zone_name)


def _parse_time(value, field: str, errors: dict) -> time | None:
    if value is None or value == "":
        return None
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip()).replace(tzinfo=None)
        except ValueError:
            pass
    errors[field] = "Use a time of day such as 09:00."
    return None


def _parse_weekdays(values, field: str, errors: dict) -> tuple[int, ...]:
    if values is None:
        return ALL_WEEKDAYS
    try:
        days = sorted(set(values))
    except TypeError:
        days = None
    if not days or any(
        isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in days
    ):
        errors[field] = "Choose at least one weekday, 1 (Monday) to 7 (Sunday)."
        return ALL_WEEKDAYS
    return tuple(days)


def _zone(value: tzinfo | str) -> tzinfo:
    if isinstance(value, str):
        if value == CONTACT_ZONE:
            raise ValueError('a "contact" window needs the contact\'s zone')
        return ZoneInfo(value)
    return value


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("naive datetime given; scheduling works on timezone-aware instants")


def _entry_candidates(start: datetime, end: datetime, window: SendWindow, zone: tzinfo):
    """Instants in [start - 1 day, end] where being inside the window can begin: the window's
    opening on each local day, each local midnight (a new weekday), and each clock change."""
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date()
    candidates = set(_transitions(zone, start - timedelta(days=1), end))
    day = first_day
    while day <= last_day:
        candidates.add(local_to_utc(datetime.combine(day, time()), zone))
        if not window.any_time:
            candidates.add(local_to_utc(datetime.combine(day, window.start), zone))
        day += timedelta(days=1)
    return sorted(candidates)


def _offset(zone: tzinfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _transitions(zone: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in (start, end] at which zone's UTC offset changes (at most one a day)."""
    found = []
    previous = start
    while previous < end:
        current = min(previous + timedelta(days=1), end)
        if _offset(zone, previous) != _offset(zone, current):
            found.append(_transition_between(zone, previous, current))
        previous = current
    return found


def _transition_between(zone: tzinfo, low: datetime, high: datetime) -> datetime:
    """The instant in (low, high] where the offset takes its value at `high` (tz data changes
    offsets on whole seconds, so a binary search over seconds finds it exactly)."""
    target = _offset(zone, high)
    lo = math.floor(low.timestamp())
    hi = math.ceil(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(zone, datetime.fromtimestamp(mid, UTC)) == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)
