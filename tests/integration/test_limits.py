"""Limits on what a client sends (app/drip/limits.py): every list and text field has one, through
the JSON API and the HTML forms alike. Each refusal is a 422 naming the field and the limit (413
for a whole JSON body over 1 MiB) and changes nothing."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func, select

from app.drip import accounts, limits, templates
from app.drip.errors import ValidationError
from app.extensions import db
from app.models import (
    AuditEvent,
    Contact,
    DripAbTest,
    DripAbVariant,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    Organization,
    utcnow,
)

TEXT = "Hi {{first_name|there}}"


@pytest.fixture
def api(clean_app, org_a):
    client = clean_app.test_client()

    def call(method, url, body=None):
        return client.open(url, method=method, json=body, headers=org_a.auth)

    return call


@pytest.fixture
def count(clean_app):
    """Rows of a model, counted in their own session (what the database holds)."""

    def rows(model) -> int:
        with clean_app.app_context():
            return db.session.scalar(select(func.count()).select_from(model))

    return rows


def created(response) -> dict:
    assert response.status_code in (200, 201), response.json
    return response.json["data"]


def campaign_with_step(api) -> tuple[int, int]:
    campaign = created(api("POST", "/api/drip-campaigns", {"name": "Welcome"}))
    url = f"/api/drip-campaigns/{campaign['id']}/steps"
    step = created(api("POST", url, {"name": "Hello", "messageContent": TEXT}))
    return campaign["id"], step["id"]


def refused(response, field: str, limit: int) -> None:
    """A 422 whose details name the field and whose words name the limit."""
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    error = response.json["error"]
    assert error["code"] == "validation_error"
    message = error["details"]["fields"][field]
    assert f"{limit:,}" in message or str(limit) in message, message


# --- enrolling -------------------------------------------------------------------------------


def test_enrolling_more_than_10000_ids_at_once_is_refused(api, count):
    campaign_id, _ = campaign_with_step(api)
    url = f"/api/drip-campaigns/{campaign_id}/enrollments"
    audit_before = count(AuditEvent)
    ids = list(range(1, limits.ENROLL_IDS_MAX + 2))
    refused(api("POST", url, {"contactIds": ids}), "contactIds", limits.ENROLL_IDS_MAX)
    assert "tag or a search" in api("POST", url, {"contactIds": ids}).json["error"]["message"]
    assert count(DripEnrollment) == 0 and count(AuditEvent) == audit_before
    # The limit itself is allowed (none of these ids is a contact: all skipped as not_found).
    answer = created(api("POST", url, {"contactIds": ids[:-1]}))
    assert answer["enrolled"] == 0 and len(answer["skipped"]) == limits.ENROLL_IDS_MAX


def test_enrolling_more_than_10000_ids_through_the_form_is_refused(client_a, api, count):
    campaign_id, _ = campaign_with_step(api)
    audit_before = count(AuditEvent)
    ids = " ".join(str(i) for i in range(1, limits.ENROLL_IDS_MAX + 2))
    response = client_a.post(
        f"/campaigns/{campaign_id}/enrollments", data={"target": "ids", "contact_ids": ids}
    )
    assert response.status_code == 422
    assert "10,000" in response.get_data(as_text=True)
    assert count(DripEnrollment) == 0 and count(AuditEvent) == audit_before


def test_ids_no_database_can_hold_are_a_422_on_the_form(client_a, api, count):
    """Found with the limits: a superscript digit and a number past 64 bits were 500s."""
    campaign_id, _ = campaign_with_step(api)
    for ids in ("1 ²", "1 " + "9" * 19, "1 " + "9" * 5000):
        response = client_a.post(
            f"/campaigns/{campaign_id}/enrollments", data={"target": "ids", "contact_ids": ids}
        )
        assert response.status_code == 422, ids[:30]
    assert count(DripEnrollment) == 0


def test_enroll_search_texts_and_tags_are_limited(api, count):
    campaign_id, _ = campaign_with_step(api)
    url = f"/api/drip-campaigns/{campaign_id}/enrollments"
    long_q = {"search": {"q": "a" * (limits.SEARCH_TEXT_MAX + 1)}}
    refused(api("POST", url, long_q), "search", limits.SEARCH_TEXT_MAX)
    long_tag = {"search": {"tag": "t" * (limits.TAG_MAX + 1)}}
    refused(api("POST", url, long_tag), "search", limits.TAG_MAX)
    refused(api("POST", url, {"tag": "t" * (limits.TAG_MAX + 1)}), "tag", limits.TAG_MAX)
    assert count(DripEnrollment) == 0


# --- campaigns and steps ---------------------------------------------------------------------


def test_a_description_over_5000_characters_is_refused(api, clean_app, count):
    long = "d" * (limits.DESCRIPTION_MAX + 1)
    refused(
        api("POST", "/api/drip-campaigns", {"name": "W", "description": long}),
        "description",
        limits.DESCRIPTION_MAX,
    )
    assert count(DripCampaign) == 0
    campaign = created(api("POST", "/api/drip-campaigns", {"name": "W", "description": "short"}))
    audit_before = count(AuditEvent)
    url = f"/api/drip-campaigns/{campaign['id']}"
    refused(api("PATCH", url, {"description": long}), "description", limits.DESCRIPTION_MAX)
    assert api("GET", url).json["data"]["description"] == "short"
    assert count(AuditEvent) == audit_before
    exact = "d" * limits.DESCRIPTION_MAX
    assert created(api("PATCH", url, {"description": exact}))["description"] == exact


def test_a_description_over_5000_characters_is_refused_by_the_form(client_a, clean_app, count):
    settings = {
        "name": "Onboarding",
        "trigger_type": "manual",
        "window_weekdays": ["1", "2", "3", "4", "5"],
        "window_timezone": "contact",
    }
    response = client_a.post(
        "/campaigns/new", data={**settings, "description": "d" * (limits.DESCRIPTION_MAX + 1)}
    )
    assert response.status_code == 422 and re.search(r"5,?000", response.get_data(as_text=True))
    assert count(DripCampaign) == 0
    response = client_a.post("/campaigns/new", data={**settings, "description": "short"})
    campaign_id = int(re.search(r"/campaigns/(\d+)", response.headers["Location"])[1])
    audit_before = count(AuditEvent)
    response = client_a.post(
        f"/campaigns/{campaign_id}",
        data={**settings, "description": "d" * (limits.DESCRIPTION_MAX + 1)},
    )
    assert response.status_code == 422 and re.search(r"5,?000", response.get_data(as_text=True))
    with clean_app.app_context():
        assert db.session.get(DripCampaign, campaign_id).description == "short"
    assert count(AuditEvent) == audit_before


def test_names_over_200_characters_are_refused(api, count):
    campaign_id, step_id = campaign_with_step(api)
    base = f"/api/drip-campaigns/{campaign_id}"
    long = "n" * (limits.NAME_MAX + 1)
    refused(api("POST", "/api/drip-campaigns", {"name": long}), "name", limits.NAME_MAX)
    refused(api("PATCH", f"{base}/steps/{step_id}", {"name": long}), "name", limits.NAME_MAX)
    test_body = {"name": long, "stepId": step_id}
    refused(api("POST", f"{base}/ab-tests", test_body), "name", limits.NAME_MAX)
    test = created(api("POST", f"{base}/ab-tests", {"name": "T", "stepId": step_id}))
    variant = {"name": long, "messageContent": "Hey"}
    refused(api("POST", f"{base}/ab-tests/{test['id']}/variants", variant), "name", limits.NAME_MAX)
    assert count(DripCampaign) == 1 and count(DripAbTest) == 1 and count(DripAbVariant) == 1


def test_a_trigger_keyword_over_100_characters_is_refused(api, clean_app, count):
    campaign_id, _ = campaign_with_step(api)
    url = f"/api/drip-campaigns/{campaign_id}"
    audit_before = count(AuditEvent)
    keyword = {"trigger": {"type": "keyword", "value": "k" * (limits.KEYWORD_MAX + 1)}}
    refused(api("PATCH", url, keyword), "trigger.value", limits.KEYWORD_MAX)
    tag = {"trigger": {"type": "tag_added", "value": "t" * (limits.TAG_MAX + 1)}}
    refused(api("PATCH", url, tag), "trigger.value", limits.TAG_MAX)
    with clean_app.app_context():
        assert db.session.get(DripCampaign, campaign_id).trigger_type == "manual"
    assert count(AuditEvent) == audit_before
    exact = {"trigger": {"type": "keyword", "value": "k" * limits.KEYWORD_MAX}}
    assert created(api("PATCH", url, exact))["trigger"]["value"] == "k" * limits.KEYWORD_MAX


def test_a_template_step_takes_at_most_10_parameters(api, count, clean_app, org_a):
    campaign_id, _ = campaign_with_step(api)
    url = f"/api/drip-campaigns/{campaign_id}/steps"
    # A catalog template with 10 parameters (issue 16: steps name catalog templates only).
    body_text = " ".join(f"{{{{{i}}}}}" for i in range(1, limits.TEMPLATE_PARAMETERS_MAX + 1))
    meta = {"name": "ten", "language": "en_US", "status": "APPROVED", "category": "UTILITY"}
    with clean_app.app_context():
        page = [{**meta, "components": [{"type": "BODY", "text": body_text}]}]
        templates.sync_templates(db.session, org_a.org_id, [page], utcnow())
        db.session.commit()
    template = {"name": "ten", "language": "en_US"}
    many = {**template, "parameters": [f"p{i}" for i in range(limits.TEMPLATE_PARAMETERS_MAX + 1)]}
    body = {"name": "T", "messageType": "template", "template": many}
    refused(api("POST", url, body), "template.parameters", limits.TEMPLATE_PARAMETERS_MAX)
    assert count(DripCampaignStep) == 1
    enough = {**template, "parameters": [f"p{i}" for i in range(limits.TEMPLATE_PARAMETERS_MAX)]}
    created(api("POST", url, {**body, "template": enough}))


def test_a_test_has_at_most_10_variants(api, count):
    campaign_id, step_id = campaign_with_step(api)
    base = f"/api/drip-campaigns/{campaign_id}/ab-tests"
    test = created(api("POST", base, {"name": "T", "stepId": step_id, "controlAllocation": 10}))
    url = f"{base}/{test['id']}/variants"
    for i in range(limits.VARIANTS_PER_TEST_MAX - 1):  # the control is the first
        created(
            api("POST", url, {"name": f"V{i}", "messageContent": "Hey", "trafficAllocation": 1})
        )
    audit_before = count(AuditEvent)
    one_more = {"name": "Extra", "messageContent": "Hey", "trafficAllocation": 1}
    refused(api("POST", url, one_more), "variants", limits.VARIANTS_PER_TEST_MAX)
    assert count(DripAbVariant) == limits.VARIANTS_PER_TEST_MAX
    assert count(AuditEvent) == audit_before


# --- contacts --------------------------------------------------------------------------------


def test_contact_tags_and_attributes_are_limited(api, count):
    phone = "+12025550143"
    tags = [f"t{i}" for i in range(limits.TAGS_PER_CONTACT_MAX + 1)]
    cases = [
        ({"tags": tags}, "tags", limits.TAGS_PER_CONTACT_MAX),
        ({"tags": ["t" * (limits.TAG_MAX + 1)]}, "tags", limits.TAG_MAX),
        ({"firstName": "f" * (limits.CONTACT_NAME_MAX + 1)}, "firstName", limits.CONTACT_NAME_MAX),
        (
            {"attributes": {f"k{i}": i for i in range(limits.ATTRIBUTES_MAX + 1)}},
            "attributes",
            limits.ATTRIBUTES_MAX,
        ),
        (
            {"attributes": {"k": "v" * (limits.ATTRIBUTE_VALUE_MAX + 1)}},
            "attributes",
            limits.ATTRIBUTE_VALUE_MAX,
        ),
        (
            {"attributes": {"k" * (limits.ATTRIBUTE_KEY_MAX + 1): 1}},
            "attributes",
            limits.ATTRIBUTE_KEY_MAX,
        ),
    ]
    for body, field, limit in cases:
        refused(api("POST", "/api/contacts", {"phone": phone, **body}), field, limit)
    assert count(Contact) == 0


# --- organization settings -------------------------------------------------------------------


def test_opt_out_keywords_are_limited(session, org_a):
    """No page or API route sets them yet: the domain function they will call is the rule."""
    org = session.get(Organization, org_a.org_id)

    def update(words):
        accounts.update_organization(
            session, org, default_region="US", timezone="UTC", opt_out_keywords=words
        )

    for words, limit in (
        (["k" * (limits.KEYWORD_MAX + 1)], limits.KEYWORD_MAX),
        ([f"w{i}" for i in range(limits.OPT_OUT_KEYWORDS_MAX + 1)], limits.OPT_OUT_KEYWORDS_MAX),
    ):
        with pytest.raises(ValidationError) as caught:
            update(words)
        assert str(limit) in caught.value.fields["opt_out_keywords"]
        assert org.opt_out_keywords == []
    update([" Halt ", "halt", "ARRÊT"])
    assert org.opt_out_keywords == ["Halt", "ARRÊT"]


# --- whole bodies ----------------------------------------------------------------------------


def too_large(response) -> None:
    assert response.status_code == 413, response.get_data(as_text=True)[:300]
    error = response.json["error"]
    assert error["code"] == "payload_too_large" and "1 MiB" in error["message"]


def test_a_json_body_over_1_mib_is_a_413_with_the_envelope(clean_app, org_a, count):
    client = clean_app.test_client()
    body = json.dumps({"name": "W", "pad": "x" * limits.JSON_BODY_MAX}).encode()
    response = client.post(
        "/api/drip-campaigns", data=body, content_type="application/json", headers=org_a.auth
    )
    too_large(response)
    # Without a Content-Length (chunked): the read stops at the limit.
    response = client.post(
        "/api/drip-campaigns",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers=org_a.auth,
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    too_large(response)
    assert count(DripCampaign) == 0
    fits = json.dumps({"name": "W", "pad": "x" * (limits.JSON_BODY_MAX - 100)}).encode()
    response = client.post(
        "/api/drip-campaigns", data=fits, content_type="application/json", headers=org_a.auth
    )
    assert response.status_code == 201


def test_the_csv_import_keeps_its_own_larger_limit(clean_app, org_a):
    rows = "".join(f"{'9' * 250},Bea\n" for _ in range(4_500))  # over 1 MiB of bad phones
    data = ("phone,first_name\n" + rows).encode()
    assert len(data) > limits.JSON_BODY_MAX
    response = clean_app.test_client().post(
        "/api/contacts/import",
        data={"file": (io.BytesIO(data), "contacts.csv")},
        headers=org_a.auth,
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.json["data"]["errorCount"] == 4_500


# --- the contract ----------------------------------------------------------------------------


def test_the_openapi_document_states_the_limits(clean_app):
    doc = clean_app.test_client().get("/api/openapi.json").json
    paths = doc["paths"]

    def body(path, method):
        return paths[path][method]["requestBody"]["content"]["application/json"]["schema"]

    enroll = body("/api/drip-campaigns/{id}/enrollments", "post")["properties"]
    assert enroll["contactIds"]["maxItems"] == limits.ENROLL_IDS_MAX
    assert enroll["tag"]["maxLength"] == limits.TAG_MAX
    assert enroll["search"]["properties"]["q"]["maxLength"] == limits.SEARCH_TEXT_MAX
    campaign = body("/api/drip-campaigns", "post")["properties"]
    assert campaign["description"]["maxLength"] == limits.DESCRIPTION_MAX
    assert campaign["trigger"]["properties"]["value"]["x-trimmed-max-length"] == limits.KEYWORD_MAX
    assert campaign["name"]["x-trimmed-max-length"] == limits.NAME_MAX
    step = body("/api/drip-campaigns/{id}/steps", "post")["properties"]
    assert step["template"]["properties"]["parameters"]["maxItems"] == (
        limits.TEMPLATE_PARAMETERS_MAX
    )
    contact = body("/api/contacts", "post")["properties"]
    assert contact["tags"]["maxItems"] == limits.TAGS_PER_CONTACT_MAX
    assert contact["attributes"]["maxProperties"] == limits.ATTRIBUTES_MAX
    variants = paths["/api/drip-campaigns/{id}/ab-tests/{testId}/variants"]["post"]
    assert str(limits.VARIANTS_PER_TEST_MAX) in variants["description"]
    # Every operation that takes a JSON body says it may answer 413.
    for operations in paths.values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                assert "413" in operation["responses"], operation["summary"]
