"""A step's branch through the JSON API, on both databases: set, read and remove it, refusals
that name their fields and change nothing, another organization's step answered 404, the
journey's graph in the campaign answer, and activation that warns about it first."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import DripCampaignStep
from tests.integration.test_campaigns_api import add_step, create


@pytest.fixture
def api(clean_app, org_a):
    client = clean_app.test_client()

    def call(method, url, body=None):
        return client.open(url, method=method, json=body, headers=org_a.auth)

    return call


@pytest.fixture
def journey(api):
    """Welcome, Reminder, Offer (replies do not stop it)."""
    campaign = create(api, stopOnReply=False)
    steps = [add_step(api, campaign["id"], name=n) for n in ("Welcome", "Reminder", "Offer")]
    return campaign["id"], [s["id"] for s in steps]


def branch(to, **extra) -> dict:
    return {
        "waitAmount": 2,
        "waitUnit": "days",
        "conditions": [{"event": "replied", "goTo": "end"}, {"event": "read", "goTo": to}],
        "onTimeout": "next",
        **extra,
    }


def patch_step(api, campaign_id, step_id, body):
    return api("PATCH", f"/api/drip-campaigns/{campaign_id}/steps/{step_id}", body)


def campaign(api, campaign_id) -> dict:
    response = api("GET", f"/api/drip-campaigns/{campaign_id}")
    assert response.status_code == 200
    return response.json["data"]


def test_set_read_and_remove_a_branch(api, journey):
    campaign_id, (welcome, reminder, offer) = journey
    response = patch_step(api, campaign_id, welcome, {"branch": branch(offer)})
    assert response.status_code == 200, response.json
    assert response.json["data"]["branch"] == branch(offer)
    data = campaign(api, campaign_id)
    assert [s["branch"] for s in data["steps"]] == [branch(offer), None, None]
    listed = api("GET", f"/api/drip-campaigns/{campaign_id}/steps").json["data"]
    assert listed[0]["branch"] == branch(offer)
    assert data["graph"] == {
        "edges": [
            {"fromStepId": welcome, "toStepId": None, "via": "replied"},
            {"fromStepId": welcome, "toStepId": offer, "via": "read"},
            {"fromStepId": welcome, "toStepId": reminder, "via": "next"},
            {"fromStepId": reminder, "toStepId": offer, "via": "next"},
            {"fromStepId": offer, "toStepId": None, "via": "next"},
        ],
        "unreachableStepIds": [],
        "warnings": [],
    }
    # Another edit of the step keeps its branch; null removes it.
    assert patch_step(api, campaign_id, welcome, {"name": "Hi"}).json["data"]["branch"]
    response = patch_step(api, campaign_id, welcome, {"branch": None})
    assert response.status_code == 200 and response.json["data"]["branch"] is None
    assert campaign(api, campaign_id)["graph"]["edges"][0] == {
        "fromStepId": welcome,
        "toStepId": reminder,
        "via": "next",
    }


def test_a_new_step_may_come_with_its_branch(api, journey):
    campaign_id, (_, reminder, offer) = journey
    body = {
        "name": "Nudge",
        "delayAmount": 0,
        "delayUnit": "minutes",
        "messageContent": "Still there?",
        "position": 2,  # before the Reminder: the Reminder is a later step
        "branch": branch(reminder, onTimeout=offer),
    }
    response = api("POST", f"/api/drip-campaigns/{campaign_id}/steps", body)
    assert response.status_code == 201, response.json
    assert response.json["data"]["branch"] == branch(reminder, onTimeout=offer)


def test_bad_branches_are_refused_by_field_and_change_nothing(api, journey, clean_app):
    campaign_id, (welcome, reminder, offer) = journey
    patch_step(api, campaign_id, reminder, {"branch": branch(offer)})
    bad = {
        "waitAmount": 0,
        "conditions": [{"event": "read", "goTo": "end"}, {"event": "read", "goTo": welcome}],
        "onTimeout": reminder,
    }
    response = patch_step(api, campaign_id, reminder, {"name": "Changed", "branch": bad})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert set(response.json["error"]["details"]["fields"]) == {
        "branch.waitAmount",
        "branch.conditions.1.event",
        "branch.conditions.1.goTo",
        "branch.onTimeout",
    }
    for value, field in (
        ({}, "branch"),
        ([], "branch"),
        (branch("3"), "branch.conditions.1.goTo"),
        (branch(offer, onTimeout="later"), "branch.onTimeout"),
        (branch(offer, extra=1), "branch"),
    ):
        response = patch_step(api, campaign_id, reminder, {"branch": value})
        assert response.status_code == 422, value
        assert field in response.json["error"]["details"]["fields"], value
    # A reply cannot both stop the journey and lead somewhere.
    stops = create(api, name="Stops")
    one, _ = (add_step(api, stops["id"], name=n)["id"] for n in ("A", "B"))
    response = patch_step(api, stops["id"], one, {"branch": branch("end")})
    assert response.status_code == 422
    assert (
        "Stop on reply" in response.json["error"]["details"]["fields"]["branch.conditions.0.event"]
    )
    data = campaign(api, campaign_id)
    assert [(s["name"], s["branch"]) for s in data["steps"]] == [
        ("Welcome", None),
        ("Reminder", branch(offer)),
        ("Offer", None),
    ]


def test_another_organizations_step_as_a_target_is_not_found(api, journey, clean_app, org_b):
    campaign_id, (welcome, _, _) = journey
    client = clean_app.test_client()
    theirs = client.post(
        "/api/drip-campaigns", json={"name": "Theirs", "stopOnReply": False}, headers=org_b.auth
    ).json["data"]
    their_step = client.post(
        f"/api/drip-campaigns/{theirs['id']}/steps",
        json={"name": "X", "delayAmount": 0, "delayUnit": "days", "messageContent": "Hi"},
        headers=org_b.auth,
    ).json["data"]["id"]
    for target in (their_step, 2**40):
        response = patch_step(api, campaign_id, welcome, {"branch": branch(target)})
        assert response.status_code == 404, response.json
        assert response.json["error"]["code"] == "not_found"
    with clean_app.app_context():
        assert db.session.get(DripCampaignStep, welcome).branch is None
    # A step of another campaign of the same organization is a field error.
    other = create(api, name="Other")
    elsewhere = add_step(api, other["id"])["id"]
    response = patch_step(api, campaign_id, welcome, {"branch": branch(elsewhere)})
    assert response.status_code == 422
    assert "branch.conditions.1.goTo" in response.json["error"]["details"]["fields"]


def test_deleting_a_branch_target_and_reordering_backwards_are_refused(api, journey):
    campaign_id, (welcome, reminder, offer) = journey
    patch_step(api, campaign_id, welcome, {"branch": branch(offer)})
    response = api("DELETE", f"/api/drip-campaigns/{campaign_id}/steps/{offer}")
    assert response.status_code == 409
    assert response.json["error"]["message"] == (
        "Step 3 “Offer” is where the branch of step 1 “Welcome” leads: change that branch first."
    )
    response = api(
        "POST",
        f"/api/drip-campaigns/{campaign_id}/steps/reorder",
        {"stepIds": [offer, welcome, reminder]},
    )
    assert response.status_code == 422
    assert "stepIds" in response.json["error"]["details"]["fields"]
    assert [s["id"] for s in campaign(api, campaign_id)["steps"]] == [welcome, reminder, offer]


def test_activation_warns_about_an_unreachable_step_first(api, journey):
    campaign_id, (welcome, reminder, offer) = journey
    patch_step(api, campaign_id, welcome, {"branch": branch(offer, onTimeout="end")})
    graph = campaign(api, campaign_id)["graph"]
    assert graph["unreachableStepIds"] == [reminder]
    assert graph["warnings"] == ["Step 2 “Reminder” can never be reached: no step leads to it."]
    url = f"/api/drip-campaigns/{campaign_id}/status"
    response = api("POST", url, {"action": "activate"})
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "warnings_need_confirmation"
    assert error["details"] == {"warnings": graph["warnings"]}
    assert campaign(api, campaign_id)["status"] == "draft"
    response = api("POST", url, {"action": "activate", "acceptWarnings": "yes"})
    assert response.status_code == 422
    assert "acceptWarnings" in response.json["error"]["details"]["fields"]
    response = api("POST", url, {"action": "activate", "acceptWarnings": True})
    assert response.status_code == 200, response.json
    assert response.json["data"]["status"] == "active"


def test_activation_without_warnings_needs_no_flag(api, journey):
    campaign_id, (welcome, _, offer) = journey
    patch_step(api, campaign_id, welcome, {"branch": branch(offer)})
    response = api("POST", f"/api/drip-campaigns/{campaign_id}/status", {"action": "activate"})
    assert response.status_code == 200, response.json
