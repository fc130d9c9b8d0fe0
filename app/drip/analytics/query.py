"""The analytics request: which report, over which dates, in which format. The API and the
dashboard parse their query strings here, so a bad parameter reads the same in both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from app.drip.errors import DripError

TYPES = ("funnel", "cohort", "timeseries", "engagement", "lift")
GRANULARITIES = ("day", "week", "month")
FORMATS = ("json", "csv")
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30


class BadParameter(DripError):
    """A query parameter the analytics cannot use; details name the parameter."""

    code = "bad_request"
    status = 400

    def __init__(self, parameter: str, message: str):
        super().__init__(message, details={"parameter": parameter})
        self.parameter = parameter


@dataclass(frozen=True)
class AnalyticsQuery:
    type: str
    granularity: str
    start: date | None
    end: date | None
    compare_a: tuple[date, date] | None
    compare_b: tuple[date, date] | None
    format: str


def parse_query(args: Mapping[str, str], today: date) -> AnalyticsQuery:
    """The query from ?type=&granularity=&from=&to=&a=&b=&format=, or BadParameter."""
    kind = _choice(args, "type", TYPES, "funnel")
    start, end = parse_date(args, "from"), parse_date(args, "to")
    if kind == "timeseries":
        end = end or today
        start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start and end:
        check_range(start, end, "from")
    compare_a, compare_b = _range(args, "a"), _range(args, "b")
    if (compare_a is None) != (compare_b is None):
        missing = "b" if compare_b is None else "a"
        raise BadParameter(missing, "Comparing cohorts takes two ranges, a and b.")
    return AnalyticsQuery(
        type=kind,
        granularity=_choice(args, "granularity", GRANULARITIES, "week"),
        start=start,
        end=end,
        compare_a=compare_a,
        compare_b=compare_b,
        format=_choice(args, "format", FORMATS, "json"),
    )


def check_range(start: date, end: date, parameter: str) -> None:
    """A date range the reports accept: start not after end, at most 366 days."""
    if start > end:
        raise BadParameter(parameter, f"The range starts ({start}) after it ends ({end}).")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise BadParameter(
            parameter, f"A range covers at most {MAX_RANGE_DAYS} days; {start} to {end} is longer."
        )


def parse_date(args: Mapping[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, f"{name} must be a date as YYYY-MM-DD, not {raw!r}.") from None


def _range(args: Mapping[str, str], name: str) -> tuple[date, date] | None:
    """?a=YYYY-MM-DD..YYYY-MM-DD (one day alone is a range of one day)."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    first, _, last = raw.partition("..")
    start = parse_date({name: first}, name)
    end = parse_date({name: last}, name) if last else start
    if start is None or end is None:
        raise BadParameter(name, f"{name} must be a range as YYYY-MM-DD..YYYY-MM-DD.")
    check_range(start, end, name)
    return start, end


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (args.get(name) or "").strip() or default
    if value not in allowed:
        raise BadParameter(name, f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return value
