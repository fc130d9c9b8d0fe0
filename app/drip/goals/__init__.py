"""Goals: events contacts did (posted through the API) and the campaign goal conversions they
make, for enrollments and holdouts alike (issue 19)."""

from app.drip.goals.conversions import STOP_REASON_CONVERTED, convert
from app.drip.goals.events import ID_MAX, NAME_MAX, RecordedEvent, record_event

__all__ = [
    "ID_MAX",
    "NAME_MAX",
    "STOP_REASON_CONVERTED",
    "RecordedEvent",
    "convert",
    "record_event",
]
