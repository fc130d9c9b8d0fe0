"""Template steps chosen from the organization's catalog (issue 16), on both databases: each
refusal answers 422 naming the field (API) or re-renders the form with the same message (page),
and saves nothing; positional and named templates, header media and URL-button parameters, a
text step's fallback template; the preview renders the template's real text for a contact."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.drip import templates
from app.extensions import db
from app.models import Contact, DripCampaignStep, WhatsAppTemplate, utcnow
from tests.integration.test_campaign_pages import create as create_on_page


def meta(name, body, *, status="APPROVED", fmt="POSITIONAL", components=()):
    return {
        "id": f"id-{name}",
        "name": name,
        "language": "en_US",
        "status": status,
        "category": "MARKETING",
        "parameter_format": fmt,
        "components": [{"type": "BODY", "text": body}, *components],
    }


IMAGE = {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}}
TEXT_HEADER = {"type": "HEADER", "format": "TEXT", "text": "News for {{1}}"}
BUTTONS = {
    "type": "BUTTONS",
    "buttons": [
        {"type": "URL", "text": "Shop", "url": "https://shop.example/c/{{1}}"},
        {"type": "QUICK_REPLY", "text": "Stop"},
    ],
}
CATALOG = [
    meta(
        "welcome_pos", "Hi {{1}}, welcome to {{2}}!", components=[{"type": "FOOTER", "text": "Bye"}]
    ),
    meta("offer_named", "{{first_name}}, take {{discount}} off.", fmt="NAMED"),
    meta("media_news", "{{1}}, new arrivals.", components=[IMAGE, BUTTONS]),
    meta("text_news", "Hello {{1}}.", components=[TEXT_HEADER]),
    meta("rejected_one", "Hi {{1}}", status="REJECTED"),
    meta("disabled_one", "Hi {{1}}", status="DISABLED"),
    meta("paused_one", "Hi {{1}}", status="PAUSED"),
    meta("pending_one", "Hi {{1}}", status="PENDING"),
    meta("gone_one", "Hi {{1}}"),
]


@pytest.fixture
def catalog(clean_app, org_a):
    with clean_app.app_context():
        templates.sync_templates(db.session, org_a.org_id, [CATALOG], utcnow() - timedelta(1))
        rows = {r.name: r for r in db.session.scalars(select(WhatsAppTemplate))}
        rows["rejected_one"].reason = "INVALID_FORMAT"
        rows["gone_one"].deleted_at = utcnow()
        db.session.commit()


@pytest.fixture
def api(clean_app, org_a, catalog):
    client = clean_app.test_client()

    def call(method, url, body=None):
        return client.open(url, method=method, json=body, headers=org_a.auth)

    return call


@pytest.fixture
def cid(api):
    return api("POST", "/api/drip-campaigns", {"name": "T"}).json["data"]["id"]


def step_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DripCampaignStep))


def template_body(**template):
    return {"name": "S", "messageType": "template", "template": template}


REFUSALS = [
    (
        {"name": "does_not_exist_xyz", "parameters": []},
        "template.name",
        "No approved template named does_not_exist_xyz in en_US: sync templates or pick one "
        "from the list.",
    ),
    ({"name": "rejected_one", "parameters": ["a"]}, "template.name", "REJECTED at Meta (INVALID"),
    ({"name": "disabled_one", "parameters": ["a"]}, "template.name", "DISABLED"),
    ({"name": "gone_one", "parameters": ["a"]}, "template.name", "was deleted"),
    ({"name": "welcome_pos", "parameters": ["a"]}, "template.parameters", "takes 2 parameters"),
    (
        {"name": "offer_named", "parameters": ["a", "b", "c"]},
        "template.parameters",
        "({{first_name}}, {{discount}}); 3 given",
    ),
    (
        {"name": "media_news", "parameters": ["a"], "buttons": ["x"]},
        "template.header",
        "image header",
    ),
    (
        {"name": "media_news", "parameters": ["a"], "header": "http://x.example/a.jpg"},
        "template.header",
        "https link",
    ),
    ({"name": "text_news", "parameters": ["a"]}, "template.header", "give its text"),
    (
        {"name": "media_news", "parameters": ["a"], "header": "https://x.example/a.jpg"},
        "template.buttons",
        "1 URL button",
    ),
    (
        {"name": "welcome_pos", "parameters": ["a", "b"], "buttons": ["x"]},
        "template.buttons",
        "0 URL buttons",
    ),
    (
        {"name": "welcome_pos", "parameters": ["a", "b"], "header": "x"},
        "template.header",
        "takes no parameter",
    ),
]


@pytest.mark.parametrize(("template", "field", "message"), REFUSALS)
def test_the_api_refuses_what_the_catalog_does_not_allow(
    clean_app, api, cid, template, field, message
):
    response = api("POST", f"/api/drip-campaigns/{cid}/steps", template_body(**template))
    assert response.status_code == 422, response.json
    assert message in response.json["error"]["details"]["fields"][field]
    assert step_count(clean_app) == 0


def test_the_page_refuses_with_the_same_message(clean_app, org_a, catalog, client_a):
    campaign_id = create_on_page(client_a)
    form = {"name": "S", "delay_amount": "0", "delay_unit": "days", "message_type": "template"}
    for template, _field, message in REFUSALS:
        data = {**form, "template": f"{template['name']}:en_US"}
        data["template_parameters"] = template["parameters"]
        data["template_buttons"] = template.get("buttons", [])
        if "header" in template:
            data["template_header"] = template["header"]
        response = client_a.post(f"/campaigns/{campaign_id}/steps", data=data)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert message in html.unescape(page), message
    assert step_count(clean_app) == 0
    # A valid one is saved.
    data = {
        **form,
        "template": "welcome_pos:en_US",
        "template_parameters": ["{{first_name|there}}", "Drip"],
    }
    assert client_a.post(f"/campaigns/{campaign_id}/steps", data=data).status_code == 302
    assert step_count(clean_app) == 1


def test_positional_and_named_templates_are_saved_and_returned(api, cid):
    url = f"/api/drip-campaigns/{cid}/steps"
    positional = api(
        "POST", url, template_body(name="welcome_pos", parameters=["{{first_name|there}}", "Drip"])
    )
    assert positional.status_code == 201, positional.json
    assert positional.json["data"]["template"] == {
        "name": "welcome_pos",
        "language": "en_US",
        "parameters": ["{{first_name|there}}", "Drip"],
        "header": None,
        "buttons": [],
    }
    named = api(
        "POST", url, template_body(name="offer_named", parameters=["{{first_name}}", "10%"])
    )
    assert named.status_code == 201, named.json
    media = api(
        "POST",
        url,
        template_body(
            name="media_news",
            parameters=["{{first_name}}"],
            header="https://cdn.example/new.jpg",
            buttons=["{{attributes.plan|basic}}"],
        ),
    )
    assert media.status_code == 201, media.json
    assert media.json["data"]["template"]["header"] == "https://cdn.example/new.jpg"
    assert media.json["data"]["template"]["buttons"] == ["{{attributes.plan|basic}}"]
    # PAUSED and PENDING are accepted at save (the send holds).
    for name in ("paused_one", "pending_one"):
        assert api("POST", url, template_body(name=name, parameters=["x"])).status_code == 201
    listed = api("GET", url).json["data"]
    assert [s["template"]["name"] for s in listed] == [
        "welcome_pos",
        "offer_named",
        "media_news",
        "paused_one",
        "pending_one",
    ]


def test_a_text_steps_fallback_template(clean_app, api, cid):
    url = f"/api/drip-campaigns/{cid}/steps"
    body = {"name": "T", "messageContent": "Hi {{first_name}}"}
    fallback = {
        "name": "welcome_pos",
        "language": "en_US",
        "parameters": ["{{first_name|there}}", "Drip"],
    }
    step = api("POST", url, {**body, "fallbackTemplate": fallback})
    assert step.status_code == 201, step.json
    assert step.json["data"]["fallbackTemplate"] == fallback
    refused = [
        ({"name": "nope", "parameters": []}, "fallbackTemplate.name", "No approved template"),
        (
            {"name": "media_news", "parameters": ["a"]},
            "fallbackTemplate.name",
            "body parameters only",
        ),
        ({"name": "text_news", "parameters": ["a"]}, "fallbackTemplate.name", "header text"),
        ({"name": "welcome_pos", "parameters": ["a"]}, "fallbackTemplate.parameters", "takes 2"),
        ({**fallback, "header": "x"}, "fallbackTemplate.header", "body parameters only"),
        ({"name": "disabled_one", "parameters": ["a"]}, "fallbackTemplate.name", "DISABLED"),
    ]
    for template, field, message in refused:
        response = api("POST", url, {**body, "fallbackTemplate": template})
        assert response.status_code == 422, (template, response.json)
        assert message in response.json["error"]["details"]["fields"][field]
    on_template = {
        **template_body(name="welcome_pos", parameters=["a", "b"]),
        "fallbackTemplate": fallback,
    }
    response = api("POST", url, on_template)
    assert "fallbackTemplate" in response.json["error"]["details"]["fields"]
    assert step_count(clean_app) == 1
    cleared = api("PATCH", f"{url}/{step.json['data']['id']}", {"fallbackTemplate": None})
    assert cleared.json["data"]["fallbackTemplate"] is None


def test_the_preview_renders_the_templates_text_for_a_contact(clean_app, org_a, api, cid):
    with clean_app.app_context():
        ada = Contact(organization_id=org_a.org_id, phone="+442079460001", first_name="Ada")
        db.session.add(ada)
        db.session.commit()
        ada_id = ada.id
    url = f"/api/drip-campaigns/{cid}/preview"
    named = {
        "messageType": "template",
        "template": {
            "name": "offer_named",
            "parameters": ["{{first_name|there}}", "{{attributes.off|10%}}"],
        },
    }
    sample = api("POST", url, named).json["data"]
    assert sample["text"] == "Alex, take 10% off."
    assert (
        api("POST", url, {**named, "contactId": ada_id}).json["data"]["text"]
        == "Ada, take 10% off."
    )
    media = {
        "messageType": "template",
        "template": {
            "name": "media_news",
            "parameters": ["{{first_name}}"],
            "header": "https://cdn.example/new.jpg",
            "buttons": ["spring"],
        },
        "contactId": ada_id,
    }
    shown = api("POST", url, media).json["data"]
    assert shown["template"]["media"] == {"format": "IMAGE", "link": "https://cdn.example/new.jpg"}
    assert shown["template"]["buttons"][0]["url"] == "https://shop.example/c/spring"
    assert "Ada, new arrivals." in shown["text"] and "[ Shop ]" in shown["text"]
    # Parameters still missing: the template's text with its placeholder, and the error.
    partial = api(
        "POST",
        url,
        {
            "messageType": "template",
            "template": {"name": "welcome_pos", "parameters": ["{{first_name}}"]},
        },
    ).json["data"]
    assert partial["text"].startswith("Hi Alex, welcome to {{2}}!")
    assert "template.parameters" in partial["errors"]
    # A text step's fallback is previewed too.
    text = api(
        "POST",
        url,
        {
            "messageContent": "Hi",
            "fallbackTemplate": {"name": "welcome_pos", "parameters": ["{{first_name}}", "Drip"]},
        },
    ).json["data"]
    assert text["text"] == "Hi" and text["fallback"] == "Hi Alex, welcome to Drip!\n\nBye"


def test_the_editor_offers_the_catalog_and_shows_parameter_inputs_without_js(
    clean_app, org_a, catalog, client_a
):
    campaign_id = create_on_page(client_a)
    page = client_a.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'value="welcome_pos:en_US"' in page
    assert 'value="rejected_one:en_US" disabled' in page
    assert "gone_one" not in page.split('id="template-catalog"')[0]
    chosen = client_a.post(
        f"/campaigns/{campaign_id}/steps",
        data={
            "name": "S",
            "message_type": "template",
            "template": "media_news:en_US",
            "choose_template": "1",
            "delay_amount": "0",
            "delay_unit": "days",
        },
    )
    assert chosen.status_code == 200
    shown = chosen.get_data(as_text=True)
    assert 'name="template_parameters"' in shown and "{{1}}, new arrivals." in shown
    assert 'name="template_header"' in shown and 'name="template_buttons"' in shown
    assert step_count(clean_app) == 0
