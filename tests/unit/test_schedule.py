"""Scheduling arithmetic: delays, send windows and time zones, without a database.

The property tests check the three promises of next_send_time against an independent reading
of the rules: never before the delay, always inside the window, and the earliest such instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.drip.enrollment.schedule import (
    ALL_WEEKDAYS,
    SendWindow,
    add_delay,
    delay_timedelta,
    in_window,
    local_to_utc,
    next_open_time,
    next_send_time,
    validate_window,
    window_zone,
)
from app.drip.errors import ValidationError
from app.drip.zones import resolve_zone

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
WEEKDAYS = (1, 2, 3, 4, 5)

# Zones with daylight saving, odd offsets, a half-hour DST (Lord Howe), a midnight DST change
# (Sao Paulo until 2019) and a skipped day (Apia, 30 December 2011).
ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Pacific/Apia",
]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def inside(instant: datetime, window: SendWindow, zone) -> bool:
    """The window rule, read independently of the implementation."""
    local = instant.astimezone(zone)
    clock = local.time()
    today = local.isoweekday()
    yesterday = (local.date() - timedelta(days=1)).isoweekday()
    start, end = window.start, window.end
    if start is None or end is None or start == end:
        return today in window.weekdays
    if start < end:
        return today in window.weekdays and start <= clock < end
    return (clock >= start and today in window.weekdays) or (
        clock < end and yesterday in window.weekdays
    )


# --- strategies ------------------------------------------------------------------------------

minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
windows = st.builds(
    SendWindow,
    start=st.none() | minute_times,
    end=st.none() | minute_times,
    weekdays=st.sets(st.integers(1, 7), min_size=1).map(lambda s: tuple(sorted(s))),
    timezone=st.just("UTC"),
)
zones = st.sampled_from(ZONES).map(ZoneInfo)
# From 2005: every offset since then is a whole number of minutes, so a scan over whole
# minutes sees every instant where a window can open.
instants = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
delays = st.tuples(st.integers(0, 400), st.sampled_from(["minutes", "hours", "days"]))


def first_inside_by_scan(earliest: datetime, window: SendWindow, zone, limit: datetime):
    """The first instant >= earliest inside the window, by brute force over whole minutes."""
    if inside(earliest, window, zone):
        return earliest
    minute = earliest.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute <= limit:
        if inside(minute, window, zone):
            return minute
        minute += timedelta(minutes=1)
    return None


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anchor=instants, delay=delays, window=windows, zone=zones)
def test_never_before_the_delay_always_inside_and_earliest(anchor, delay, window, zone):
    amount, unit = delay
    result = next_send_time(anchor, amount, unit, window, zone)
    due = add_delay(anchor, amount, unit, zone)

    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
    # Never earlier than the delay.
    assert result >= due >= anchor
    if unit != "days":
        assert due == anchor + delay_timedelta(amount, unit)
    else:
        # Calendar days: the clock shows the same time N days later (give or take a DST hour).
        assert abs((due - anchor) - timedelta(days=amount)) <= timedelta(hours=2) or (
            # except where the clock skips that time altogether (Apia skipped a whole day)
            zone.key == "Pacific/Apia"
        )
    # Always inside the window.
    assert inside(result, window, zone)
    # The earliest such instant.
    assert first_inside_by_scan(due, window, zone, result) == result


@settings(max_examples=200, deadline=None)
@given(anchor=instants, delay=delays, window=windows, zone=zones, lag=st.integers(0, 60 * 24 * 30))
def test_not_before_moves_an_overdue_step_to_the_next_window(anchor, delay, window, zone, lag):
    amount, unit = delay
    now = anchor + timedelta(minutes=lag)
    result = next_send_time(anchor, amount, unit, window, zone, not_before=now)
    assert result >= now
    assert result >= add_delay(anchor, amount, unit, zone)
    assert inside(result, window, zone)
    # Same as: when it would have been due, unless that is past, then the next window from now.
    plain = next_send_time(anchor, amount, unit, window, zone)
    assert result == (plain if plain >= now else next_open_time(now, window, zone))


@settings(max_examples=300, deadline=None)
@given(moment=instants, window=windows, zone=zones)
def test_next_open_time_is_idempotent_and_agrees_with_in_window(moment, window, zone):
    opened = next_open_time(moment, window, zone)
    assert next_open_time(opened, window, zone) == opened
    assert in_window(moment, window, zone) == inside(moment, window, zone)
    assert (opened == moment) == inside(moment, window, zone)


@settings(max_examples=300, deadline=None)
@given(
    local=st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2035, 12, 31)),
    zone=zones,
)
def test_local_to_utc_is_the_first_instant_the_clock_reaches_that_time(local, zone):
    instant = local_to_utc(local, zone)
    assert instant.astimezone(zone).replace(tzinfo=None) >= local
    just_before = instant - timedelta(microseconds=1)
    assert just_before.astimezone(zone).replace(tzinfo=None) < local


# --- delays ----------------------------------------------------------------------------------


def test_delay_timedelta():
    assert delay_timedelta(90, "minutes") == timedelta(minutes=90)
    assert delay_timedelta(3, "hours") == timedelta(hours=3)
    assert delay_timedelta(2, "days") == timedelta(days=2)
    with pytest.raises(ValueError):
        delay_timedelta(1, "weeks")


def test_a_day_is_a_calendar_day_across_spring_forward():
    # London, 31 March 2024: clocks go from 01:00 GMT to 02:00 BST.
    sent = utc(2024, 3, 30, 9, 0)  # 09:00 GMT on Saturday
    assert add_delay(sent, 1, "days", LONDON) == utc(2024, 3, 31, 8, 0)  # 09:00 BST, 23 h later
    # 24 hours are exactly 24 hours: 10:00 BST.
    assert add_delay(sent, 24, "hours", LONDON) == utc(2024, 3, 31, 9, 0)


def test_a_day_is_a_calendar_day_across_fall_back():
    # New York, 3 November 2024: clocks go from 02:00 EDT back to 01:00 EST.
    sent = utc(2024, 11, 2, 13, 0)  # 09:00 EDT
    assert add_delay(sent, 1, "days", NEW_YORK) == utc(2024, 11, 3, 14, 0)  # 09:00 EST, 25 h


def test_a_day_landing_in_the_skipped_hour_is_the_end_of_the_gap():
    sent = utc(2024, 3, 9, 7, 30)  # 02:30 EST; 10 March 02:30 does not exist
    assert add_delay(sent, 1, "days", NEW_YORK) == utc(2024, 3, 10, 7, 0)  # 03:00 EDT


def test_a_day_landing_in_the_repeated_hour_is_its_first_occurrence():
    sent = utc(2024, 11, 2, 5, 30)  # 01:30 EDT; 3 November 01:30 happens twice
    assert add_delay(sent, 1, "days", NEW_YORK) == utc(2024, 11, 3, 5, 30)  # 01:30 EDT


def test_zero_days_is_the_anchor_even_in_the_repeated_hour():
    second_pass = utc(2024, 11, 3, 6, 30)  # 01:30 EST, the second 01:30
    assert add_delay(second_pass, 0, "days", NEW_YORK) == second_pass


def test_a_skipped_calendar_day():
    # Apia skipped 30 December 2011 (from 29 Dec 23:59:59 -10:00 to 31 Dec 00:00 +14:00).
    apia = ZoneInfo("Pacific/Apia")
    sent = utc(2011, 12, 29, 20, 0)  # 29 December 10:00 local
    assert add_delay(sent, 1, "days", apia) == utc(2011, 12, 30, 10, 0)  # 31 Dec 00:00 local


# --- windows ---------------------------------------------------------------------------------


def test_inside_the_window_is_sent_at_once():
    window = SendWindow(time(9), time(17), WEEKDAYS, "Europe/London")
    monday_noon = utc(2024, 5, 13, 11, 0)  # 12:00 BST
    assert next_send_time(monday_noon, 0, "minutes", window, LONDON) == monday_noon


def test_after_friday_closing_waits_for_monday_opening():
    window = SendWindow(time(9), time(17), WEEKDAYS, "Europe/London")
    friday_evening = utc(2024, 5, 17, 17, 0)  # 18:00 BST
    assert next_send_time(friday_evening, 0, "minutes", window, LONDON) == utc(2024, 5, 20, 8, 0)


def test_the_end_of_the_window_is_outside_it():
    window = SendWindow(time(9), time(17), ALL_WEEKDAYS, "UTC")
    assert next_open_time(utc(2024, 5, 13, 17, 0), window, UTC_ZONE) == utc(2024, 5, 14, 9, 0)
    assert next_open_time(utc(2024, 5, 13, 16, 59), window, UTC_ZONE) == utc(2024, 5, 13, 16, 59)


def test_the_same_window_in_another_zone():
    window = SendWindow(time(9), time(17), ALL_WEEKDAYS, "America/New_York")
    # 12:00 UTC is 08:00 EDT: wait an hour in New York, but already open in London.
    assert next_open_time(utc(2024, 5, 13, 12, 0), window, NEW_YORK) == utc(2024, 5, 13, 13, 0)
    assert next_open_time(utc(2024, 5, 13, 12, 0), window, LONDON) == utc(2024, 5, 13, 12, 0)


def test_a_window_crossing_midnight_belongs_to_the_day_it_opens():
    friday_night = SendWindow(time(20), time(8), (5,), "UTC")
    saturday_3am = utc(2024, 5, 4, 3, 0)  # still Friday's night
    assert next_open_time(saturday_3am, friday_night, UTC_ZONE) == saturday_3am
    monday_3am = utc(2024, 5, 6, 3, 0)  # Sunday's night: not allowed
    assert next_open_time(monday_3am, friday_night, UTC_ZONE) == utc(2024, 5, 10, 20, 0)
    saturday_9am = utc(2024, 5, 4, 9, 0)  # the night has ended
    assert next_open_time(saturday_9am, friday_night, UTC_ZONE) == utc(2024, 5, 10, 20, 0)


def test_a_window_ending_at_midnight():
    window = SendWindow(time(9), time(0), ALL_WEEKDAYS, "UTC")
    assert next_open_time(utc(2024, 5, 13, 23, 30), window, UTC_ZONE) == utc(2024, 5, 13, 23, 30)
    assert next_open_time(utc(2024, 5, 14, 0, 0), window, UTC_ZONE) == utc(2024, 5, 14, 9, 0)


def test_any_time_on_allowed_days_opens_at_local_midnight():
    weekends = SendWindow(None, None, (6, 7), "Europe/London")
    friday = utc(2024, 5, 17, 12, 0)
    assert next_open_time(friday, weekends, LONDON) == utc(2024, 5, 17, 23, 0)  # 00:00 BST Sat


def test_start_equal_to_end_is_read_as_any_time():
    window = SendWindow(time(9), time(9), ALL_WEEKDAYS, "UTC")
    assert window.any_time
    assert next_open_time(utc(2024, 5, 13, 3, 0), window, UTC_ZONE) == utc(2024, 5, 13, 3, 0)


def test_a_window_inside_the_skipped_hour_is_empty_that_day():
    # London 31 March 2024: 01:00-02:00 local does not exist; the window opens the next day.
    window = SendWindow(time(1), time(2), ALL_WEEKDAYS, "Europe/London")
    assert next_open_time(utc(2024, 3, 31, 0, 30), window, LONDON) == utc(2024, 4, 1, 0, 0)


def test_a_window_opening_in_the_skipped_hour_opens_when_the_clocks_jump():
    window = SendWindow(time(1, 30), time(3), ALL_WEEKDAYS, "Europe/London")
    # The clock jumps from 00:59:59 GMT to 02:00 BST (01:00 UTC): that is the opening.
    assert next_open_time(utc(2024, 3, 31, 0, 30), window, LONDON) == utc(2024, 3, 31, 1, 0)


def test_the_repeated_hour_is_inside_the_window_again():
    # New York 3 November 2024: 01:45 EDT is past a 01:00-01:30 window, but at 02:00 EDT the
    # clocks go back to 01:00 EST, inside the window again.
    window = SendWindow(time(1), time(1, 30), ALL_WEEKDAYS, "America/New_York")
    assert next_open_time(utc(2024, 11, 3, 5, 45), window, NEW_YORK) == utc(2024, 11, 3, 6, 0)


def test_a_morning_window_on_the_fall_back_day():
    window = SendWindow(time(9), time(17), ALL_WEEKDAYS, "America/New_York")
    early = utc(2024, 11, 3, 11, 0)  # 06:00 EST
    assert next_open_time(early, window, NEW_YORK) == utc(2024, 11, 3, 14, 0)  # 09:00 EST


def test_a_delay_then_the_window():
    window = SendWindow(time(9), time(17), WEEKDAYS, "Europe/London")
    sent = utc(2024, 5, 16, 14, 0)  # Thursday 15:00 BST
    # + 1 day = Friday 15:00, inside.
    assert next_send_time(sent, 1, "days", window, LONDON) == utc(2024, 5, 17, 14, 0)
    # + 2 days = Saturday 15:00: Monday 09:00 BST.
    assert next_send_time(sent, 2, "days", window, LONDON) == utc(2024, 5, 20, 8, 0)
    # + 3 hours = Thursday 18:00: Friday 09:00.
    assert next_send_time(sent, 3, "hours", window, LONDON) == utc(2024, 5, 17, 8, 0)


def test_an_overdue_step_goes_out_in_the_next_window():
    window = SendWindow(time(9), time(17), ALL_WEEKDAYS, "UTC")
    sent = utc(2024, 5, 1, 10, 0)
    now = utc(2024, 5, 10, 20, 0)  # due on 2 May, resumed in the evening of the 10th
    assert next_send_time(sent, 1, "days", window, UTC_ZONE, not_before=now) == utc(
        2024, 5, 11, 9, 0
    )
    now_inside = utc(2024, 5, 10, 12, 0)
    assert next_send_time(sent, 1, "days", window, UTC_ZONE, not_before=now_inside) == now_inside


def test_the_window_zone_defaults_to_the_windows_own():
    window = SendWindow(time(9), time(17), ALL_WEEKDAYS, "America/New_York")
    assert next_send_time(utc(2024, 5, 13, 12, 0), 0, "minutes", window) == utc(2024, 5, 13, 13)
    with pytest.raises(ValueError):
        next_send_time(utc(2024, 5, 13), 0, "minutes", SendWindow(timezone="contact"))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        next_send_time(datetime(2024, 5, 13), 0, "minutes")


# --- zones -----------------------------------------------------------------------------------


def test_window_zone_contact_falls_back_to_organization_then_utc():
    contact_window = SendWindow(time(9), time(17), ALL_WEEKDAYS, "contact")
    assert window_zone(contact_window, "Asia/Tokyo", "Europe/Paris").key == "Asia/Tokyo"
    assert window_zone(contact_window, None, "Europe/Paris").key == "Europe/Paris"
    assert window_zone(contact_window, "Not/AZone", "Europe/Paris").key == "Europe/Paris"
    assert window_zone(contact_window, None, None).key == "UTC"
    fixed = SendWindow(time(9), time(17), ALL_WEEKDAYS, "America/New_York")
    assert window_zone(fixed, "Asia/Tokyo", "Europe/Paris").key == "America/New_York"
    assert resolve_zone("", None, "nope").key == "UTC"


# --- validation ------------------------------------------------------------------------------


def test_validate_window_accepts_editor_input():
    window = validate_window("09:00", "20:00", [5, 1, 1, 3], "Europe/Paris")
    assert window == SendWindow(time(9), time(20), (1, 3, 5), "Europe/Paris")
    assert validate_window(None, "", None, None) == SendWindow(None, None, ALL_WEEKDAYS, "UTC")
    assert validate_window(time(20), time(8), [1], "contact").crosses_midnight


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("09:00", "09:00", [1], "UTC"), "end"),
        (("09:00", None, [1], "UTC"), "end"),
        ((None, "17:00", [1], "UTC"), "start"),
        (("9 am", "17:00", [1], "UTC"), "start"),
        (("09:00", "25:00", [1], "UTC"), "end"),
        (("09:00", "17:00", [], "UTC"), "weekdays"),
        (("09:00", "17:00", [0, 1], "UTC"), "weekdays"),
        (("09:00", "17:00", [8], "UTC"), "weekdays"),
        (("09:00", "17:00", ["1"], "UTC"), "weekdays"),
        (("09:00", "17:00", [True], "UTC"), "weekdays"),
        (("09:00", "17:00", [1], "Mars/Olympus"), "timezone"),
    ],
)
def test_validate_window_refuses_with_field_errors(args, field):
    with pytest.raises(ValidationError) as caught:
        validate_window(*args)
    assert field in caught.value.fields


def test_validate_window_prefixes_field_names():
    with pytest.raises(ValidationError) as caught:
        validate_window("09:00", "09:00", [9], "Nowhere", prefix="sendWindow.")
    assert set(caught.value.fields) == {
        "sendWindow.end",
        "sendWindow.weekdays",
        "sendWindow.timezone",
    }
