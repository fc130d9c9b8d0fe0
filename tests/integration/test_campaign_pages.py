"""The campaign editor in the browser (server side): forms, validation, steps, lifecycle."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Contact, DripCampaign, DripCampaignStep

SETTINGS = {
    "name": "Onboarding",
    "description": "First week",
    "trigger_type": "manual",
    "stop_on_reply": "y",
    "window_start": "09:00",
    "window_end": "18:00",
    "window_weekdays": ["1", "2", "3", "4", "5"],
    "window_timezone": "Europe/Berlin",
}


def create(client, **extra):
    response = client.post("/campaigns/new", data={**SETTINGS, **extra})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/campaigns/(\d+)", response.headers["Location"])[1])


def add_step(client, cid, **extra):
    data = {
        "name": "Hello",
        "delay_amount": "1",
        "delay_unit": "days",
        "message_type": "text",
        "message_content": "Hi {{first_name|there}}",
        **extra,
    }
    return client.post(f"/campaigns/{cid}/steps", data=data)


def step_names(app, cid):
    with app.app_context():
        return db.session.scalars(
            select(DripCampaignStep.name)
            .where(DripCampaignStep.campaign_id == cid, DripCampaignStep.deleted_at.is_(None))
            .order_by(DripCampaignStep.position)
        ).all()


def test_empty_state_then_create(client_a, clean_app):
    page = client_a.get("/campaigns").get_data(as_text=True)
    assert "No campaigns yet" in page and "Create your first campaign" in page
    cid = create(client_a)
    with clean_app.app_context():
        campaign = db.session.get(DripCampaign, cid)
        assert campaign.window_timezone == "Europe/Berlin"
        assert campaign.window_weekdays == [1, 2, 3, 4, 5]
        assert campaign.window_start.strftime("%H:%M") == "09:00"
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert "Onboarding" in page and "No steps yet" in page
    assert "Onboarding" in client_a.get("/campaigns").get_data(as_text=True)


def test_invalid_settings_show_field_errors_and_save_nothing(client_a, clean_app):
    response = client_a.post("/campaigns/new", data={**SETTINGS, "window_end": "", "name": "X"})
    assert response.status_code == 422
    assert "Give both a start and an end" in response.get_data(as_text=True)
    response = client_a.post(
        "/campaigns/new", data={**SETTINGS, "trigger_type": "tag_added", "trigger_value": ""}
    )
    assert "Name the tag" in response.get_data(as_text=True)
    with clean_app.app_context():
        assert db.session.scalars(select(DripCampaign)).all() == []


def test_steps_in_the_editor(client_a, clean_app):
    cid = create(client_a)
    assert add_step(client_a, cid, name="One").status_code == 302
    assert add_step(client_a, cid, name="Two", delay_amount="0").status_code == 302
    bad = add_step(client_a, cid, name="Bad", message_content="Hi {{frist_name}}")
    assert bad.status_code == 422
    assert "Unknown variable {{frist_name}}" in bad.get_data(as_text=True)
    template = add_step(
        client_a,
        cid,
        name="Tpl",
        message_type="template",
        template_name="drip_welcome",  # the sandbox catalog's (issue 16: catalog templates only)
        template_language="en_US",
        template_parameters=["{{first_name|there}}", "SAVE10"],
    )
    assert template.status_code == 302
    assert step_names(clean_app, cid) == ["One", "Two", "Tpl"]

    with clean_app.app_context():
        ids = dict(db.session.execute(select(DripCampaignStep.name, DripCampaignStep.id)).all())
    client_a.post(f"/campaigns/{cid}/steps/{ids['Tpl']}/move", data={"direction": "up"})
    assert step_names(clean_app, cid) == ["One", "Tpl", "Two"]
    client_a.post(f"/campaigns/{cid}/steps/{ids['One']}/move", data={"direction": "down"})
    assert step_names(clean_app, cid) == ["Tpl", "One", "Two"]

    edit = client_a.get(f"/campaigns/{cid}/steps/{ids['Tpl']}").get_data(as_text=True)
    assert "drip_welcome" in edit and "SAVE10" in edit
    response = client_a.post(
        f"/campaigns/{cid}/steps/{ids['Two']}",
        data={
            "name": "Second",
            "delay_amount": "3",
            "delay_unit": "hours",
            "message_type": "text",
            "message_content": "Still there?",
        },
    )
    assert response.status_code == 302
    client_a.post(f"/campaigns/{cid}/steps/{ids['One']}/delete")
    assert step_names(clean_app, cid) == ["Tpl", "Second"]
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert "3 hours after the previous step" in page


def test_message_text_is_escaped_on_the_page(client_a):
    cid = create(client_a)
    add_step(client_a, cid, message_content="<script>alert(1)</script> hi")
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_preview_contacts_are_named_by_what_they_have(client_a, clean_app, org_a):
    cid = create(client_a)
    with clean_app.app_context():
        db.session.add_all(
            [
                Contact(organization_id=org_a.org_id, phone="+447700900001"),
                Contact(organization_id=org_a.org_id, phone="+447700900002", last_name="Lima"),
                Contact(
                    organization_id=org_a.org_id,
                    phone="+447700900003",
                    first_name="Ana",
                    last_name="Lima",
                ),
            ]
        )
        db.session.commit()
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    select = page.split('<select id="preview-contact">')[1].split("</select>")[0]
    options = re.findall(r'<option value="\d+">([^<]*)</option>', select)
    assert sorted(options) == ["+447700900001", "Ana Lima · +447700900003", "Lima · +447700900002"]


def test_lifecycle_buttons(client_a, clean_app):
    cid = create(client_a)
    response = client_a.post(
        f"/campaigns/{cid}/status", data={"action": "activate"}, follow_redirects=True
    )
    assert "Add at least one step before activating" in response.get_data(as_text=True)
    add_step(client_a, cid)
    response = client_a.post(
        f"/campaigns/{cid}/status", data={"action": "activate"}, follow_redirects=True
    )
    assert "Campaign activated" in response.get_data(as_text=True)
    response = client_a.post(f"/campaigns/{cid}/delete", follow_redirects=True)
    assert "archive it first" in response.get_data(as_text=True)
    response = client_a.post(
        f"/campaigns/{cid}/status", data={"action": "archive"}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "read-only" in page
    assert "Add a step" not in page
    response = client_a.post(f"/campaigns/{cid}/delete", follow_redirects=True)
    assert "deleted" in response.get_data(as_text=True)
    with clean_app.app_context():
        assert db.session.get(DripCampaign, cid) is None


def test_settings_edit(client_a, clean_app):
    cid = create(client_a)
    form = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert 'value="09:00"' in form
    response = client_a.post(
        f"/campaigns/{cid}", data={**SETTINGS, "name": "Renamed", "window_timezone": "contact"}
    )
    assert response.status_code == 302
    with clean_app.app_context():
        campaign = db.session.get(DripCampaign, cid)
        assert campaign.name == "Renamed"
        assert campaign.window_timezone == "contact"
        assert campaign.stop_on_reply is True
