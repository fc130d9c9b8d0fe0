"""Enrollment: enrolling an audience, the marketer's actions, listing, triggers, the
schedule arithmetic and timing, and the endings a contact's events cause."""

from app.drip.enrollment.actions import (
    ACTIONS,
    apply_action,
    get_enrollment,
    on_contacts_created,
    on_step_deleted,
    on_step_timing_changed,
    on_tags_added,
    on_window_changed,
)
from app.drip.enrollment.audience import contact_filter
from app.drip.enrollment.bulk import BulkResult, bulk_action
from app.drip.enrollment.endings import (
    STOP_REASON_CONVERTED,
    STOP_REASON_OPTED_OUT,
    STOP_REASON_OUTSIDE_WINDOW,
    STOP_REASON_REPLIED,
    end_enrollments,
    end_enrollments_from,
    live_at,
)
from app.drip.enrollment.enrolling import (
    LIVE_STATUSES,
    SKIP_REASONS,
    EnrollResult,
    enroll,
    first_step,
)
from app.drip.enrollment.holdout import HOLDOUT_MAX_PERCENT, ensure_salt, in_holdout
from app.drip.enrollment.listing import (
    BEFORE_FIRST_STEP,
    DROP_OFF_REASONS,
    EnrollmentFilter,
    EnrollmentRow,
    count_enrollments,
    enrollment_filter,
    list_enrollments,
)
from app.drip.enrollment.reasons import (
    STOP_REASON_TEXT,
    WAIT_REASON_TEXT,
    stop_reason_text,
    wait_reason_text,
)
from app.drip.enrollment.review import (
    SKIP_REASON_TEXT,
    AudienceReview,
    ZoneRow,
    review_audience,
)
from app.drip.enrollment.schedule import (
    ALL_WEEKDAYS,
    SendWindow,
    add_delay,
    in_window,
    local_to_utc,
    next_send_time,
    validate_window,
)
from app.drip.enrollment.timing import Scheduler, campaign_window
from app.drip.enrollment.waiting import WAITING_FOR, Waiting, hours_text

__all__ = [
    "ACTIONS",
    "ALL_WEEKDAYS",
    "BEFORE_FIRST_STEP",
    "DROP_OFF_REASONS",
    "HOLDOUT_MAX_PERCENT",
    "LIVE_STATUSES",
    "SKIP_REASONS",
    "SKIP_REASON_TEXT",
    "STOP_REASON_CONVERTED",
    "STOP_REASON_OPTED_OUT",
    "STOP_REASON_OUTSIDE_WINDOW",
    "STOP_REASON_REPLIED",
    "STOP_REASON_TEXT",
    "WAITING_FOR",
    "WAIT_REASON_TEXT",
    "AudienceReview",
    "BulkResult",
    "EnrollResult",
    "EnrollmentFilter",
    "EnrollmentRow",
    "Scheduler",
    "SendWindow",
    "Waiting",
    "ZoneRow",
    "add_delay",
    "apply_action",
    "bulk_action",
    "campaign_window",
    "contact_filter",
    "count_enrollments",
    "end_enrollments",
    "end_enrollments_from",
    "enroll",
    "enrollment_filter",
    "ensure_salt",
    "first_step",
    "get_enrollment",
    "hours_text",
    "in_holdout",
    "in_window",
    "list_enrollments",
    "live_at",
    "local_to_utc",
    "next_send_time",
    "on_contacts_created",
    "on_step_deleted",
    "on_step_timing_changed",
    "on_tags_added",
    "on_window_changed",
    "review_audience",
    "stop_reason_text",
    "validate_window",
    "wait_reason_text",
]
