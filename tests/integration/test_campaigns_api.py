"""The campaign API of DESIGN.md: settings, steps, lifecycle, preview, validation."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Contact

WINDOW = {"start": "09:00", "end": "20:00", "weekdays": [1, 2, 3, 4, 5], "timezone": "Europe/Paris"}


@pytest.fixture
def api(clean_app, org_a):
    client = clean_app.test_client()

    def call(method, url, body=None):
        return client.open(url, method=method, json=body, headers=org_a.auth)

    return call


def create(api, **extra):
    response = api("POST", "/api/drip-campaigns", {"name": "Welcome", **extra})
    assert response.status_code == 201, response.json
    return response.json["data"]


def add_step(api, campaign_id, **body):
    body = {
        "name": "Hello",
        "delayAmount": 0,
        "delayUnit": "minutes",
        "messageContent": "Hi {{first_name|there}}",
        **body,
    }
    response = api("POST", f"/api/drip-campaigns/{campaign_id}/steps", body)
    assert response.status_code == 201, response.json
    return response.json["data"]


def test_create_with_all_settings_and_read_back(api):
    data = create(
        api,
        description="New customers",
        trigger={"type": "tag_added", "value": "customer"},
        stopOnReply=False,
        allowReenrollment=True,
        sendWindow=WINDOW,
    )
    assert data["status"] == "draft"
    assert data["trigger"] == {"type": "tag_added", "value": "customer"}
    assert data["stopOnReply"] is False and data["allowReenrollment"] is True
    assert data["sendWindow"] == WINDOW
    assert data["steps"] == []
    assert data["counters"]["totalEnrolled"] == 0
    again = api("GET", f"/api/drip-campaigns/{data['id']}").json["data"]
    assert again["sendWindow"] == WINDOW


def test_defaults(api):
    data = create(api)
    assert data["stopOnReply"] is True
    assert data["allowReenrollment"] is False
    assert data["trigger"] == {"type": "manual", "value": None}
    assert data["sendWindow"] == {
        "start": None,
        "end": None,
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "timezone": "contact",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "trigger": {"type": "sometimes"}}, "trigger.type"),
        ({"name": "ok", "trigger": {"type": "tag_added"}}, "trigger.value"),
        ({"name": "ok", "sendWindow": {"start": "9am", "end": "20:00"}}, "sendWindow.start"),
        ({"name": "ok", "sendWindow": {"start": "09:00"}}, "sendWindow.end"),
        ({"name": "ok", "sendWindow": {"weekdays": [0, 8]}}, "sendWindow.weekdays"),
        ({"name": "ok", "sendWindow": {"weekdays": []}}, "sendWindow.weekdays"),
        ({"name": "ok", "sendWindow": {"timezone": "Mars/Olympus"}}, "sendWindow.timezone"),
        ({"name": "ok", "stopOnReply": "yes"}, "stopOnReply"),
    ],
)
def test_invalid_settings_are_422_with_the_field(api, body, field):
    response = api("POST", "/api/drip-campaigns", body)
    assert response.status_code == 422
    assert field in response.json["error"]["details"]["fields"]
    assert api("GET", "/api/drip-campaigns").json["meta"]["total"] == 0


def test_wrong_shapes_are_400_or_422(api):
    assert api("POST", "/api/drip-campaigns", ["a list"]).status_code == 400
    response = api("POST", "/api/drip-campaigns", {"name": "x", "sendWindow": "always"})
    assert response.status_code == 422


def test_steps_add_edit_reorder_delete(api):
    campaign = create(api)
    cid = campaign["id"]
    one = add_step(api, cid, name="One")
    two = add_step(api, cid, name="Two", delayAmount=2, delayUnit="days")
    first = add_step(api, cid, name="Zero", position=1)
    names = [s["name"] for s in api("GET", f"/api/drip-campaigns/{cid}/steps").json["data"]]
    assert names == ["Zero", "One", "Two"]

    edited = api(
        "PATCH",
        f"/api/drip-campaigns/{cid}/steps/{one['id']}",
        {"messageContent": "Hello {{attributes.plan|friend}}", "delayAmount": 3},
    )
    assert edited.status_code == 200
    assert edited.json["data"]["delayAmount"] == 3
    assert edited.json["data"]["name"] == "One"

    order = [two["id"], first["id"], one["id"]]
    response = api("POST", f"/api/drip-campaigns/{cid}/steps/reorder", {"stepIds": order})
    assert [s["id"] for s in response.json["data"]] == order
    assert [s["position"] for s in response.json["data"]] == [1, 2, 3]

    assert api("DELETE", f"/api/drip-campaigns/{cid}/steps/{first['id']}").status_code == 200
    remaining = api("GET", f"/api/drip-campaigns/{cid}").json["data"]["steps"]
    assert [(s["name"], s["position"]) for s in remaining] == [("Two", 1), ("One", 2)]
    # A deleted step is gone for the API.
    response = api("PATCH", f"/api/drip-campaigns/{cid}/steps/{first['id']}", {"name": "x"})
    assert response.status_code == 404


def test_reorder_must_name_every_step_once(api):
    cid = create(api)["id"]
    a, b = add_step(api, cid)["id"], add_step(api, cid)["id"]
    for bad in ([a], [a, a], [a, b, 999], "a,b", None):
        response = api("POST", f"/api/drip-campaigns/{cid}/steps/reorder", {"stepIds": bad})
        assert response.status_code == 422, bad
        assert "stepIds" in response.json["error"]["details"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messageContent": ""}, "messageContent"),
        ({"messageContent": "Hi {{firstname}}"}, "messageContent"),
        ({"messageContent": "x" * 4097}, "messageContent"),
        ({"delayAmount": -1}, "delayAmount"),
        ({"delayUnit": "weeks"}, "delayUnit"),
        ({"delayAmount": 366, "delayUnit": "days"}, "delayAmount"),
        ({"messageContent": None, "template": {"name": "Bad Name"}}, "template.name"),
        (
            {"messageContent": None, "template": {"name": "ok", "language": "english"}},
            "template.language",
        ),
        (
            {"messageContent": None, "template": {"name": "ok", "parameters": ["{{nope}}"]}},
            "template.parameters",
        ),
        ({"position": 5}, "position"),
    ],
)
def test_invalid_steps_are_refused(api, body, field):
    cid = create(api)["id"]
    payload = {"name": "S", "delayAmount": 0, "delayUnit": "days", "messageContent": "Hi", **body}
    if payload.get("messageContent") is None:
        payload.pop("messageContent")
    response = api("POST", f"/api/drip-campaigns/{cid}/steps", payload)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["details"]["fields"]
    assert api("GET", f"/api/drip-campaigns/{cid}/steps").json["data"] == []


def test_a_step_without_a_message_is_refused(api):
    cid = create(api)["id"]
    response = api("POST", f"/api/drip-campaigns/{cid}/steps", {"name": "Empty"})
    assert response.status_code == 422
    assert "messageContent" in response.json["error"]["details"]["fields"]


def test_template_steps(api):
    cid = create(api)["id"]
    step = add_step(
        api,
        cid,
        messageContent=None,
        messageType="template",
        template={
            "name": "drip_welcome",  # the sandbox catalog's (issue 16: catalog templates only)
            "language": "en_US",
            "parameters": ["{{first_name|there}}", "10%"],
        },
    )
    assert step["messageType"] == "template"
    assert step["messageContent"] is None
    assert step["template"]["parameters"] == ["{{first_name|there}}", "10%"]
    # Switching back to text clears the template.
    response = api(
        "PATCH",
        f"/api/drip-campaigns/{cid}/steps/{step['id']}",
        {"messageType": "text", "messageContent": "Plain"},
    )
    assert response.json["data"]["template"] is None


def test_lifecycle(api):
    cid = create(api)["id"]

    def act(action):
        return api("POST", f"/api/drip-campaigns/{cid}/status", {"action": action})

    refused = act("activate")
    assert refused.status_code == 422
    assert "at least one step" in refused.json["error"]["message"]
    add_step(api, cid)
    assert act("resume").status_code == 409  # a draft is not paused
    assert act("activate").json["data"]["status"] == "active"
    assert act("activate").status_code == 409
    assert act("pause").json["data"]["status"] == "paused"
    assert act("resume").json["data"]["status"] == "active"
    assert api("DELETE", f"/api/drip-campaigns/{cid}").status_code == 409  # live: archive first
    assert act("archive").json["data"]["status"] == "archived"
    assert act("activate").status_code == 409
    assert act("explode").status_code == 422


def test_archived_campaigns_are_read_only(api):
    cid = create(api)["id"]
    step = add_step(api, cid)
    api("POST", f"/api/drip-campaigns/{cid}/status", {"action": "archive"})
    attempts = [
        ("PATCH", f"/api/drip-campaigns/{cid}", {"name": "New"}),
        ("POST", f"/api/drip-campaigns/{cid}/steps", {"name": "x", "messageContent": "y"}),
        ("PATCH", f"/api/drip-campaigns/{cid}/steps/{step['id']}", {"name": "x"}),
        ("DELETE", f"/api/drip-campaigns/{cid}/steps/{step['id']}", None),
        ("POST", f"/api/drip-campaigns/{cid}/steps/reorder", {"stepIds": [step["id"]]}),
    ]
    for method, url, body in attempts:
        response = api(method, url, body)
        assert response.status_code == 409, (method, url)
        assert "read-only" in response.json["error"]["message"]
    data = api("GET", f"/api/drip-campaigns/{cid}").json["data"]
    assert data["name"] == "Welcome" and len(data["steps"]) == 1
    assert api("DELETE", f"/api/drip-campaigns/{cid}").status_code == 200
    assert api("GET", f"/api/drip-campaigns/{cid}").status_code == 404


def test_list_is_paged_and_filtered(api):
    for i in range(3):
        create(api, name=f"C{i}")
    cid = create(api, name="Live")["id"]
    add_step(api, cid)
    api("POST", f"/api/drip-campaigns/{cid}/status", {"action": "activate"})
    page = api("GET", "/api/drip-campaigns?perPage=2&page=2").json
    assert page["meta"] == {"page": 2, "perPage": 2, "total": 4}
    assert len(page["data"]) == 2
    active = api("GET", "/api/drip-campaigns?status=active").json
    assert [c["name"] for c in active["data"]] == ["Live"]
    assert api("GET", "/api/drip-campaigns?status=nope").status_code == 422


def test_preview_renders_for_a_contact_and_reports_errors(api, clean_app, org_a, org_b):
    with clean_app.app_context():
        ada = Contact(
            organization_id=org_a.org_id,
            phone="+442079460001",
            first_name="Ada",
            attributes={"plan": "<b>Pro</b>"},
        )
        other = Contact(organization_id=org_b.org_id, phone="+442079460002", first_name="Eve")
        db.session.add_all([ada, other])
        db.session.commit()
        ada_id, other_id = ada.id, other.id
    cid = create(api)["id"]
    url = f"/api/drip-campaigns/{cid}/preview"
    body = {"messageContent": "Hi {{first_name|there}} on {{attributes.plan}}"}
    sample = api("POST", url, body).json["data"]
    assert sample["text"] == "Hi Alex on "
    assert sample["contact"]["sample"] is True
    assert "24 hours" in sample["warning"]
    mine = api("POST", url, {**body, "contactId": ada_id}).json["data"]
    assert mine["text"] == "Hi Ada on <b>Pro</b>"  # JSON carries text; pages escape it
    assert api("POST", url, {**body, "contactId": other_id}).status_code == 404
    broken = api("POST", url, {"messageContent": "Hi {{frist_name}}"}).json["data"]
    assert broken["text"] is None
    assert "frist_name" in broken["errors"]["messageContent"]
    template = api(
        "POST",
        url,
        {
            "messageType": "template",
            "template": {
                "name": "drip_welcome",
                "language": "en_US",
                "parameters": ["{{first_name}}", "Drip"],
            },
        },
    ).json["data"]
    assert template["warning"] is None
    # The catalog template's own text, with the contact's values (issue 16).
    assert template["text"].startswith("Hi Alex, welcome to Drip!")
