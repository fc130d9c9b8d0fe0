"""Meta refusing a template send, through real passes against the fake Cloud API (its catalog
decides) on both databases: 132015 / 132016 / 132001 update the catalog template and hold the
step (the message waits, nothing more of the step goes out) until an APPROVED status webhook
releases it; 132000 fails the message with a reason in words."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip import templates
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import DripEnrollment, DripMessageLog, Organization, WhatsAppTemplate
from app.tasks.processing import run_processing_pass
from app.whatsapp.webhook import signature_for
from tests.fakes.cloud_api import FakeCloudApi
from tests.fakes.templates import BUSINESS_ACCOUNT_ID, template
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts
from tests.support.accounts import send_through_fake

TEMPLATE = "spring_sale"  # in the fake's catalog: "{{1}}, spring sale: {{2}} off until Sunday."


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


def make_world(app, org_id, fake, parameters=("{{first_name}}", "20%"), contacts=3):
    """Org A sends through the fake with its catalog synced; a one-step template campaign with
    `contacts` enrolled, all due at NOW."""
    app.config["SEND_CONCURRENCY"] = 4
    with app.app_context():
        session = db.session
        org = session.get(Organization, org_id)
        account = send_through_fake(app, session, org, fake)
        account.business_account_id = BUSINESS_ACCOUNT_ID
        session.flush()
        templates.sync_organization(
            session,
            org_id,
            NOW - timedelta(days=1),
            decrypt=app.extensions["drip_secret_box"].decrypt,
            allowed_hosts=app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
        campaign = make_campaign(session, org_id, steps=((0, "minutes"),))
        step = live_steps(session, campaign)[0]
        step.message_type, step.message_content = "template", None
        step.template_name, step.template_language = TEMPLATE, "en_US"
        step.template_parameters = list(parameters)
        people = make_contacts(session, org_id, contacts)
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in people], now=NOW)
        session.commit()
        return step.id


def run(app, at, **kw):
    with app.app_context():
        return run_processing_pass(at, **kw)


def rows(app, model):
    with app.app_context():
        return db.session.scalars(select(model).order_by(model.id)).all()


def catalog_row(app) -> WhatsAppTemplate:
    with app.app_context():
        return db.session.scalar(select(WhatsAppTemplate).where(WhatsAppTemplate.name == TEMPLATE))


def approved_webhook(app, at) -> None:
    value = {
        "event": "APPROVED",
        "message_template_id": int(catalog_row(app).meta_id),
        "message_template_name": TEMPLATE,
        "message_template_language": "en_US",
        "reason": None,
    }
    change = {"field": "message_template_status_update", "value": value}
    entry = {"id": BUSINESS_ACCOUNT_ID, "time": int(at.timestamp()), "changes": [change]}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature_for(body, "s")}
    answer = app.test_client().post("/api/webhooks/whatsapp", data=body, headers=headers)
    assert answer.status_code == 200


def refuse(fake, code: int) -> None:
    """Meta's side: the template is paused, disabled, or gone."""
    if code == 132015:
        fake.set_template_status(TEMPLATE, "en_US", "PAUSED")
    elif code == 132016:
        fake.set_template_status(TEMPLATE, "en_US", "DISABLED")
    else:
        fake.templates.strict = True
        fake.templates.remove(TEMPLATE, "en_US")


def approve_again(fake, code: int) -> None:
    if code == 132001:
        fake.templates.put(template(TEMPLATE, "{{1}}, spring sale: {{2}} off until Sunday."))
    else:
        fake.set_template_status(TEMPLATE, "en_US", "APPROVED")


@pytest.mark.parametrize("code", [132015, 132016, 132001])
def test_a_refused_template_is_marked_and_holds_its_step_until_approved(
    clean_app, org_a, fake, code
):
    make_world(clean_app, org_a.org_id, fake)
    refuse(fake, code)
    # Batches of one: while the first send's answer is recorded the second is in flight (the
    # pass sends a batch while it records the previous one), and the third is still due.
    stats = run(clean_app, NOW, batch_size=1)
    assert fake.requests == 2 and stats["sent"] == 0 and stats["failed"] == 0
    assert stats["held"] == 3

    template = catalog_row(clean_app)
    if code == 132001:
        assert template.deleted_at == NOW and template.status == "APPROVED"  # the row stays
    else:
        assert template.status == {132015: "PAUSED", 132016: "DISABLED"}[code]
        assert template.deleted_at is None
    assert template.status_changed_at == NOW

    logs = rows(clean_app, DripMessageLog)
    assert len(logs) == 2  # the third enrollment never got as far as a message
    for log in logs:  # not failed: the contact keeps their message
        assert log.status == "pending" and log.error_code == str(code)
        assert log.retry_at == NOW and "approved again" in log.error_message
    for row in rows(clean_app, DripEnrollment):
        assert row.status == "active" and row.held_at == NOW
        assert row.held_template_id == template.id and row.next_send_at <= NOW

    stats = run(clean_app, NOW + timedelta(minutes=1))
    assert fake.requests == 2 and stats["sent"] == 0  # nothing more of the step went out

    approve_again(fake, code)
    approved_webhook(clean_app, NOW + timedelta(minutes=2))
    assert catalog_row(clean_app).deleted_at is None
    assert all(row.held_at is None for row in rows(clean_app, DripEnrollment))
    stats = run(clean_app, NOW + timedelta(minutes=3))
    assert stats["sent"] == 3 and fake.requests == 5
    logs = rows(clean_app, DripMessageLog)
    assert [log.status for log in logs] == ["sent"] * 3
    assert sorted(log.attempts for log in logs) == [1, 2, 2]
    assert all(log.error_code is None for log in logs)
    assert {row.status for row in rows(clean_app, DripEnrollment)} == {"completed"}


def test_a_wrong_parameter_count_fails_the_message_with_words(clean_app, org_a, fake):
    make_world(clean_app, org_a.org_id, fake, parameters=("{{first_name}}",), contacts=1)
    stats = run(clean_app, NOW)
    assert (stats["failed"], stats["sent"], stats["held"]) == (1, 0, 0)
    (log,) = rows(clean_app, DripMessageLog)
    assert log.status == "failed" and log.error_code == "132000"
    assert "number of parameters does not match" in log.error_message
    (row,) = rows(clean_app, DripEnrollment)
    assert row.status == "failed" and row.held_at is None
    assert catalog_row(clean_app).status == "APPROVED"  # the template is fine: the step is not


def test_a_refusal_older_than_the_stored_status_changes_nothing(clean_app, org_a, fake):
    """A webhook newer than the pass's clock already set the status: the refusal does not undo
    it (the hold still happens: Meta refused)."""
    make_world(clean_app, org_a.org_id, fake, contacts=1)
    with clean_app.app_context():
        row = db.session.scalar(select(WhatsAppTemplate).where(WhatsAppTemplate.name == TEMPLATE))
        row.status_changed_at = NOW + timedelta(seconds=5)
        db.session.commit()
    fake.set_template_status(TEMPLATE, "en_US", "PAUSED")
    stats = run(clean_app, NOW)
    assert stats["held"] == 1
    assert catalog_row(clean_app).status == "APPROVED"
