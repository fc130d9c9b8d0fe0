"""A campaign's goal and holdout settings (issue 19) through the API and the settings form,
on both databases: set, clear, refused in words naming the field with nothing changed, and
audited through the same change path as the other settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, DripCampaign
from tests.integration.test_campaign_pages import SETTINGS, create


def api_create(client, org, **body):
    answer = client.post("/api/drip-campaigns", json={"name": "Spring", **body}, headers=org.auth)
    return answer


def campaign_row(app, cid) -> DripCampaign:
    with app.app_context():
        row = db.session.get(DripCampaign, cid)
        db.session.expunge(row)
        return row


def test_goal_and_holdout_are_set_shown_and_cleared_through_the_api(clean_app, client_a, org_a):
    created = api_create(
        client_a,
        org_a,
        goal={"event": " purchase ", "withinDays": 14},
        exitOnGoal=True,
        holdoutPercent=20,
    )
    assert created.status_code == 201, created.json
    data = created.json["data"]
    assert data["goal"] == {"event": "purchase", "withinDays": 14}
    assert data["exitOnGoal"] is True and data["holdoutPercent"] == 20
    assert "new enrollments only" in data["holdoutNote"]
    cid = data["id"]
    salt = campaign_row(clean_app, cid).holdout_salt
    assert salt

    # A partial goal keeps the other half; the salt never changes once drawn.
    patched = client_a.patch(
        f"/api/drip-campaigns/{cid}",
        json={"goal": {"withinDays": 30}, "holdoutPercent": 10},
        headers=org_a.auth,
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["data"]["goal"] == {"event": "purchase", "withinDays": 30}
    assert campaign_row(clean_app, cid).holdout_salt == salt

    cleared = client_a.patch(
        f"/api/drip-campaigns/{cid}", json={"goal": None, "holdoutPercent": 0}, headers=org_a.auth
    )
    data = cleared.json["data"]
    assert data["goal"] is None and data["exitOnGoal"] is False
    assert data["holdoutPercent"] == 0 and data["holdoutNote"] is None
    row = campaign_row(clean_app, cid)
    assert (row.goal_event, row.goal_within_days, row.holdout_salt) == (None, None, salt)

    with clean_app.app_context():
        changes = [
            e.details.get("changes", {})
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "campaign.updated")
            )
        ]
    assert changes[0]["goal_within_days"] == [14, 30]
    assert changes[0]["holdout_percent"] == [20, 10]
    assert changes[1]["goal_event"] == ["purchase", None]


BAD = [
    ({"holdoutPercent": 51}, "holdoutPercent"),
    ({"holdoutPercent": -1}, "holdoutPercent"),
    ({"holdoutPercent": "x"}, "holdoutPercent"),
    ({"holdoutPercent": True}, "holdoutPercent"),
    ({"holdoutPercent": 10.5}, "holdoutPercent"),
    ({"goal": {"event": "purchase", "withinDays": 0}}, "goal.withinDays"),
    ({"goal": {"event": "purchase", "withinDays": 366}}, "goal.withinDays"),
    ({"goal": {"event": "purchase", "withinDays": "7"}}, "goal.withinDays"),
    ({"goal": {"event": "purchase"}}, "goal.withinDays"),
    ({"goal": {"event": "x" * 101, "withinDays": 7}}, "goal.event"),
    ({"goal": {"event": "  ", "withinDays": 7}}, "goal.event"),
    ({"goal": {"event": 5, "withinDays": 7}}, "goal.event"),
    ({"goal": "purchase"}, "goal"),
    ({"exitOnGoal": "yes"}, "exitOnGoal"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_bad_goal_or_holdout_is_refused_naming_the_field_and_changes_nothing(
    clean_app, client_a, org_a, body, field
):
    cid = api_create(client_a, org_a).json["data"]["id"]
    answer = client_a.patch(
        f"/api/drip-campaigns/{cid}", json={"name": "Renamed", **body}, headers=org_a.auth
    )
    assert answer.status_code == 422, answer.json
    assert field in answer.json["error"]["details"]["fields"], answer.json
    row = campaign_row(clean_app, cid)
    assert row.name == "Spring" and row.holdout_percent == 0 and row.goal_event is None
    assert row.holdout_salt is None
    refused = api_create(client_a, org_a, **body)
    assert refused.status_code == 422 and field in refused.json["error"]["details"]["fields"]
    with clean_app.app_context():
        assert len(db.session.scalars(select(DripCampaign)).all()) == 1


def test_other_settings_errors_come_in_the_same_answer(client_a, org_a):
    cid = api_create(client_a, org_a).json["data"]["id"]
    answer = client_a.patch(
        f"/api/drip-campaigns/{cid}",
        json={"name": "", "holdoutPercent": 99},
        headers=org_a.auth,
    )
    fields = answer.json["error"]["details"]["fields"]
    assert {"name", "holdoutPercent"} <= set(fields)


def test_the_settings_form_sets_and_refuses_goal_and_holdout(clean_app, client_a):
    cid = create(client_a)
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert "is never messaged, to measure what the campaign adds" in page
    assert "new enrollments only" in page
    goal = {
        "goal_event": "purchase",
        "goal_within_days": "7",
        "exit_on_goal": "y",
        "holdout_percent": "25",
    }
    saved = client_a.post(f"/campaigns/{cid}", data={**SETTINGS, **goal})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    row = campaign_row(clean_app, cid)
    assert (row.goal_event, row.goal_within_days, row.exit_on_goal) == ("purchase", 7, True)
    assert row.holdout_percent == 25 and row.holdout_salt
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert 'value="purchase"' in page and 'value="25"' in page

    for bad, words in (
        ({"holdout_percent": "51"}, "From 0 to 50"),
        ({"holdout_percent": "x"}, "integer"),
        ({"goal_within_days": "366"}, "From 1 to 365"),
        ({"goal_within_days": "0"}, "From 1 to 365"),
        ({"goal_event": "x" * 101}, "100"),
    ):
        refused = client_a.post(f"/campaigns/{cid}", data={**SETTINGS, **goal, **bad})
        assert refused.status_code == 422, bad
        assert words in refused.get_data(as_text=True), bad
        again = campaign_row(clean_app, cid)
        assert (again.holdout_percent, again.goal_within_days, again.goal_event) == (
            25,
            7,
            "purchase",
        )

    # An empty goal event removes the goal.
    client_a.post(f"/campaigns/{cid}", data={**SETTINGS, "goal_event": "", "holdout_percent": "0"})
    row = campaign_row(clean_app, cid)
    assert (row.goal_event, row.holdout_percent, row.exit_on_goal) == (None, 0, False)


def test_a_copy_keeps_the_goal_and_holdout_but_draws_its_own_salt(clean_app, client_a, org_a):
    body = {"goal": {"event": "purchase", "withinDays": 7}, "holdoutPercent": 20}
    cid = api_create(client_a, org_a, **body).json["data"]["id"]
    copy = client_a.post(f"/api/drip-campaigns/{cid}/duplicate", headers=org_a.auth).json["data"]
    assert copy["goal"] == body["goal"] and copy["holdoutPercent"] == 20
    assert campaign_row(clean_app, copy["id"]).holdout_salt is None
