"""The dashboard's CPU (issue 21) is mostly its SQL statements: the reports of a view share
their reads (the campaign, its clock, steps and totals are read once, not by each report), and
the delays' quantiles are counted by the database, not from every second's count in Python."""

from __future__ import annotations

from sqlalchemy import event

from app.drip.analytics import activity
from app.drip.analytics.rates import DELAY_QUANTILES, low_rank
from app.extensions import db
from tests.support.delays import delay_summary

# The statements of one view of the demo's onboarding dashboard: the session lookup and the
# banner's account check, then the reports' own. There were 41.
DASHBOARD_STATEMENTS = 23


def statements_of(app, client, path: str) -> list[str]:
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_dashboard_view_runs_each_statement_once(clean_app, client_a, onboarding):
    path = f"/campaigns/{onboarding}/analytics"
    client_a.get(path)  # the first view of a process may load what later views keep
    statements = statements_of(clean_app, client_a, path)
    repeated = {s.split("\n")[0] for s in statements if statements.count(s) > 1}
    assert not repeated
    assert len(statements) <= DASHBOARD_STATEMENTS


def test_the_delay_quantiles_counted_in_sql_are_those_of_every_second(clean_app, onboarding):
    with clean_app.app_context():
        summaries = activity.delay_summaries(db.session, onboarding)
        for until in ("read", "replied"):
            pairs = activity.delays(db.session, onboarding, until)
            assert summaries[until]["count"] > 100  # the demo's history has thousands
            assert summaries[until] == delay_summary(pairs)
        # A campaign without messages
        assert activity.delay_summaries(db.session, onboarding + 1000) == {
            until: {"count": 0, "medianSeconds": None, "p90Seconds": None}
            for until in ("read", "replied")
        }


def test_the_sql_lower_rank_is_the_python_one():
    # The database computes (total - 1) * percent // 100 in integers; Python int(q * (total - 1))
    for _, q in DELAY_QUANTILES:
        percent = round(q * 100)
        for total in [*range(1, 5000), 10**6 + 1, 10**9 + 7, 2**40 + 3]:
            assert (total - 1) * percent // 100 == low_rank(q, total)
