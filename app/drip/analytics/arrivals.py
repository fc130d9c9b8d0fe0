"""How contacts arrived at each step of a journey that may branch: the step's reached count
split by the step they came from and the way they took (drip_message_logs.via_step_id and
via, copied from the enrollment when the processor claims the step), and the conversion
base of a step when arrivals come from more than the stage before.

`reached` counts message logs (the activity rollups count one per log created, and keep it
after the log is purged by retention). The paths count the logs that are still there, plus
the paths of purged logs that the purge kept as activity rollup rows of axis AXIS_PATH
(bucket = via_step_id or 0, metric = VIA_CODES of via, written by
app.drip.sending.housekeeping before it deletes them). Whatever is
still missing (logs purged without keeping their paths) is one more path, via "unrecorded":
the paths always add up to the step's reached figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from app.drip.enrollment import IN_ORDER
from app.models import DripActivityRollup, DripCampaignStep, DripMessageLog
from app.models.analytics import AXIS_PATH, VIA_CODES

ENROLLED = None  # the via of a contact's first message: they arrived by enrolling
UNRECORDED = "unrecorded"  # messages whose log (and so its path) retention purged
_VIAS = {code: via for via, code in VIA_CODES.items()}
_CAMPAIGN = bindparam("campaign_id")


def _paths():
    log, source = DripMessageLog, aliased(DripCampaignStep)
    count = func.count()
    return (
        select(log.step_id, log.via_step_id, source.name, log.via, count)
        .outerjoin(source, source.id == log.via_step_id)
        .where(log.campaign_id == _CAMPAIGN)
        .group_by(log.step_id, log.via_step_id, source.name, log.via)
        .order_by(log.step_id, count.desc(), log.via_step_id, log.via)
    )


def _purged_paths():
    r = DripActivityRollup
    total = func.sum(r.count)
    return (
        select(r.step_id, r.bucket, r.metric, total)
        .where(r.campaign_id == _CAMPAIGN, r.axis == AXIS_PATH)
        .group_by(r.step_id, r.bucket, r.metric)
        .having(total != 0)
    )


# Built once: a page runs them every time, and building one costs more than running it.
_PATHS, _PURGED_PATHS = _paths(), _purged_paths()


def step_paths(
    session: Session, campaign_id: int, steps: Sequence[DripCampaignStep]
) -> dict[int, list[dict]]:
    """step id -> its arrivals [{fromStepId, fromStepName, via, reached}], most first; one
    grouped query over the campaign's logs. steps: the campaign's steps in order, all the
    live ones among them (activity.reported_steps)."""
    rows = session.execute(_PATHS, {"campaign_id": campaign_id})
    counted: dict[int, dict[tuple, int]] = defaultdict(dict)
    names = {}
    first = next((step.id for step in steps if step.deleted_at is None), None)
    for step_id, from_id, from_name, recorded, reached in rows:
        # Logs of a later step without a path were claimed before paths were recorded
        # (migration 0017), when every journey went in order.
        via = IN_ORDER if recorded is ENROLLED and step_id != first else recorded
        key = (from_id, via)
        counted[step_id][key] = counted[step_id].get(key, 0) + int(reached)
        names[from_id] = from_name
    for step_id, from_id, via, reached in _purged(session, campaign_id):
        key = (from_id, via)
        counted[step_id][key] = counted[step_id].get(key, 0) + reached
        names.setdefault(from_id, None)
    missing = [i for i, name in names.items() if i is not None and name is None]
    if missing:  # only purged logs came from these steps
        step = DripCampaignStep
        names.update(session.execute(select(step.id, step.name).where(step.id.in_(missing))).all())
    return {
        step_id: [
            {"fromStepId": f, "fromStepName": names.get(f), "via": via, "reached": n}
            for (f, via), n in sorted(ways.items(), key=lambda kv: (-kv[1], str(kv[0])))
            if n
        ]
        for step_id, ways in counted.items()
    }


def _purged(session: Session, campaign_id: int) -> list[tuple[int, int | None, str | None, int]]:
    """(step id, from step id, via, count) of the paths the purge kept."""
    rows = session.execute(_PURGED_PATHS, {"campaign_id": campaign_id})
    return [(s, int(b) or None, _VIAS.get(int(m)), int(n)) for s, b, m, n in rows]


def complete(paths: list[dict], reached: int) -> list[dict]:
    """The step's paths, with the purged remainder as a path of its own."""
    gap = reached - sum(p["reached"] for p in paths)
    if gap == 0:
        return paths
    return [*paths, {"fromStepId": None, "fromStepName": None, "via": UNRECORDED, "reached": gap}]


def branched(paths: list[dict]) -> bool:
    """Whether the dashboard shows the step's paths: more than one way in, or a branch's."""
    return len(paths) > 1 or any(p["via"] not in (ENROLLED, IN_ORDER) for p in paths)


def conversion_base(
    order: Sequence[int | None], index: int, paths: list[dict], settled: dict, moved: dict
) -> int:
    """Of whom the step's conversion rate is a share: the contacts who had their chance to
    reach it. In a straight line that is those settled at the stage before. With branches,
    arrivals come from other steps too: each source counts those settled there, less the
    ones it sent to a step in between (they had their chance there, and count at that step
    if it leads here too), so that nobody is counted twice and the rate stays a share.

    order: None (enrollment) then the steps' ids; index: the step's place in it; settled:
    stage -> contacts settled there; moved: (from stage, to step) -> arrivals."""
    previous = order[index - 1]
    # Arrivals without a step of origin (enrolled, unrecorded, or in order from before paths
    # were recorded) are the stage before's.
    sources = {previous} | {p["fromStepId"] for p in paths if p["fromStepId"] is not None}
    place = {stage: n for n, stage in enumerate(order)}
    base = 0
    for source in sources:
        start = place.get(source)
        if start is None or start >= index:
            continue  # a path from a step not reported before this one: no base to add
        between = order[start + 1 : index]
        base += settled.get(source, 0) - sum(moved.get((source, s), 0) for s in between)
    return base
