"""Analytics: funnel, engagement, cohorts, daily series, rollups and the query parser."""

from app.drip.analytics.arrivals import UNRECORDED
from app.drip.analytics.by_cohort import cohorts
from app.drip.analytics.by_day import overview, report_zone, timeseries
from app.drip.analytics.enrollment_counts import DROP_OFF_REASONS
from app.drip.analytics.funnels import engagement, funnel, report, step_figures
from app.drip.analytics.lift import LIFT_SHOWN_MAX, lift
from app.drip.analytics.query import GRANULARITIES, TYPES, AnalyticsQuery, BadParameter, parse_query
from app.drip.analytics.rollups import JOB_NAME, compact_all, last_watermarks
from app.drip.analytics.shared import campaign, reads_shared

__all__ = [
    "DROP_OFF_REASONS",
    "GRANULARITIES",
    "JOB_NAME",
    "LIFT_SHOWN_MAX",
    "TYPES",
    "UNRECORDED",
    "AnalyticsQuery",
    "BadParameter",
    "campaign",
    "cohorts",
    "compact_all",
    "engagement",
    "funnel",
    "last_watermarks",
    "lift",
    "overview",
    "parse_query",
    "reads_shared",
    "report",
    "report_zone",
    "step_figures",
    "timeseries",
]
