"""Hypothesis fuzzing of the schedule (app/drip/schedule.py, as app/drip/timing.py uses it):
editor input for a send window (any type, odd times, odd weekdays, any zone name), delays up
to the editor's maxima, every zone of the tz database and anchors near their clock changes.

A window is either refused with field errors naming start, end, weekdays or timezone, or it
schedules: the next send time always exists, is timezone-aware UTC, is not before now nor
before anchor + delay, and lies in the window (read independently, tests/unit/
test_schedule.py's `inside`). A contact's or organization's zone name, however odd, never
raises: an unknown one is UTC. tests/unit/test_schedule.py checks that the time found is the
earliest; this file widens the inputs.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.drip.campaigns.steps import MAX_DELAY
from app.drip.enrollment import schedule
from app.drip.enrollment.schedule import (
    DELAY_UNITS,
    add_delay,
    in_window,
    next_send_time,
    validate_window,
    window_zone,
)
from app.drip.errors import ValidationError
from app.drip.zones import resolve_zone
from tests.unit.test_schedule import inside

ALL_ZONES = sorted(available_timezones())
# Zones whose clocks change: at midnight (Havana, Santiago, Beirut), by 30 minutes (Lord
# Howe), by two hours (Troll), twice a year on either hemisphere, or skipped a day (Apia).
CHANGING_ZONES = [
    "Europe/London",
    "America/New_York",
    "America/Havana",
    "America/Santiago",
    "Asia/Beirut",
    "Australia/Lord_Howe",
    "Antarctica/Troll",
    "Pacific/Apia",
    "Europe/Chisinau",
    "America/St_Johns",
]
ODD_ZONE_NAMES = st.one_of(
    st.none(),
    st.sampled_from(
        ["", " ", "contact", "America", "Europe/", "../etc/passwd", "/etc/localtime", "UTC\x00"]
    ),
    st.sampled_from(["a" * 300, "Mars/Olympus", "posixrules", "Factory", "europe/paris"]),
    st.text(max_size=20),
)
ZONE_NAMES = st.sampled_from(ALL_ZONES) | ODD_ZONE_NAMES
TIMES = st.one_of(
    st.none(),
    st.just(""),
    st.times(),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
    st.builds("{:02d}:{:02d}".format, st.integers(0, 30), st.integers(0, 70)),
    st.sampled_from(["24:00", "9:00", "09:00:00.5", "T09:00", "09:00+02:00", "0900", "٠٩:٠٠"]),
    st.text(max_size=10),
    st.integers(-5, 3000),
    st.lists(st.integers(0, 59), max_size=2),
)
WEEKDAYS = st.one_of(
    st.none(),
    st.sets(st.integers(1, 7), min_size=1),
    st.lists(st.integers(-1, 9) | st.booleans() | st.text(max_size=2) | st.none(), max_size=8),
    st.text(max_size=5),
    st.integers(),
    st.dictionaries(st.integers(1, 7), st.none(), max_size=3),
)
DELAYS = st.sampled_from(DELAY_UNITS).flatmap(
    lambda unit: st.tuples(st.integers(0, MAX_DELAY[unit]), st.just(unit))
)
INSTANTS = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)


@st.composite
def near_clock_changes(draw):
    """An instant within a day of one of a changing zone's clock changes, and the zone."""
    zone = ZoneInfo(draw(st.sampled_from(CHANGING_ZONES)))
    start = datetime(draw(st.integers(2000, 2040)), 1, 1, tzinfo=UTC)
    changes = schedule._transitions(zone, start, start + timedelta(days=366))
    if not changes:  # a zone that stopped changing its clocks that year
        return start, zone
    change = draw(st.sampled_from(changes))
    return change + timedelta(seconds=draw(st.integers(-86400, 86400))), zone


def assert_scheduled(result, anchor, amount, unit, window, zone, now):
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
    assert result >= now
    assert result >= add_delay(anchor, amount, unit, zone)
    assert in_window(result, window, zone)
    assert inside(result, window, zone)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=TIMES,
    end=TIMES,
    weekdays=WEEKDAYS,
    timezone=ZONE_NAMES,
    contact_zone=ZONE_NAMES,
    org_zone=ZONE_NAMES,
    anchor=INSTANTS,
    delay=DELAYS,
    lag=st.integers(-3 * 86400, 400 * 86400),
)
def test_editor_input_is_refused_with_field_errors_or_schedules(
    start, end, weekdays, timezone, contact_zone, org_zone, anchor, delay, lag
):
    try:
        window = validate_window(start, end, weekdays, timezone)
    except ValidationError as exc:
        assert exc.fields and set(exc.fields) <= {"start", "end", "weekdays", "timezone"}
        assert all(isinstance(m, str) and m for m in exc.fields.values())
        return
    zone = window_zone(window, contact_zone, org_zone)
    assert isinstance(zone, ZoneInfo)
    amount, unit = delay
    now = anchor + timedelta(seconds=lag)
    result = next_send_time(anchor, amount, unit, window, zone, not_before=now)
    assert_scheduled(result, anchor, amount, unit, window, zone, now)


def windows():
    """Valid windows (validate_window's refusals are discarded)."""

    @st.composite
    def build(draw):
        start = draw(st.none() | st.builds(time, st.integers(0, 23), st.integers(0, 59)))
        end = draw(st.none() | st.builds(time, st.integers(0, 23), st.integers(0, 59)))
        days = draw(st.sets(st.integers(1, 7), min_size=1, max_size=7))
        if (start is None) != (end is None) or (start is not None and start == end):
            end = None if start is None else time((start.hour + 1) % 24, start.minute)
        return validate_window(start, end, days, "contact")

    return build()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moment=near_clock_changes(),
    window=windows(),
    delay=DELAYS,
    lag=st.integers(-86400, 86400),
)
def test_around_clock_changes_the_next_send_time_exists_and_is_in_the_window(
    moment, window, delay, lag
):
    anchor, zone = moment
    amount, unit = delay
    now = anchor + timedelta(seconds=lag)
    result = next_send_time(anchor, amount, unit, window, zone, not_before=now)
    assert_scheduled(result, anchor, amount, unit, window, zone, now)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(ZONE_NAMES, max_size=3))
def test_any_zone_names_resolve_to_a_zone(names):
    zone = resolve_zone(*names)
    assert isinstance(zone, ZoneInfo)
    if names and names[0] in ALL_ZONES:
        assert zone.key == names[0]
