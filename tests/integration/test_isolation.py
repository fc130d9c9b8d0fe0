"""Organization isolation over every route of app.url_map, HTML and JSON.

Organization B, logged in or with its API key, must get 404 for every route that names one of
organization A's rows, with every method; A itself must not. The routes are read from the
app, so a route added later is covered without touching this file, unless it takes an argument
of a new name, which then fails here until its row is added to `rows_of_org`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app.drip.errors import NotFound
from app.drip.scope import get_scoped
from app.extensions import db
from app.models import (
    ApiKey,
    Contact,
    ContactImport,
    DripAbTest,
    DripAbVariant,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    Link,
    utcnow,
)
from tests.integration.test_auth import PUBLIC_ENDPOINTS, methods

# Arguments that are not ids: any valid value will do.
PLAIN_ARGUMENTS = {
    "name": "funnel",
    "chart": "rates",
    "fmt": "png",
    "format": "png",
    "filename": "x",
}


def rows_of_org(org, n: int = 0) -> dict[str, int]:
    """One row of every kind for the organization, keyed by the URL argument naming it.
    `n` makes a further, distinct set (the owner's test uses a fresh set per route)."""
    session = db.session
    campaign = DripCampaign(organization_id=org.org_id, name=f"{org.name} welcome")
    contact = Contact(organization_id=org.org_id, phone=f"+4420794{n:03d}01", first_name="Ada")
    session.add_all([campaign, contact])
    session.flush()
    step = DripCampaignStep(
        organization_id=org.org_id,
        campaign_id=campaign.id,
        position=1,
        name="Hello",
        message_content="Hi {{first_name|there}}",
    )
    session.add(step)
    session.flush()
    enrollment = DripEnrollment(
        organization_id=org.org_id,
        campaign_id=campaign.id,
        contact_id=contact.id,
        current_step_id=step.id,
        next_send_at=utcnow() + timedelta(days=1),
    )
    test = DripAbTest(
        organization_id=org.org_id,
        campaign_id=campaign.id,
        step_id=step.id,
        name="Test",
    )
    session.add_all([enrollment, test])
    session.flush()
    variant = DripAbVariant(
        organization_id=org.org_id,
        test_id=test.id,
        name="Control",
        is_control=True,
        traffic_allocation=Decimal(50),
        message_content="Hi",
    )
    log = DripMessageLog(
        organization_id=org.org_id,
        enrollment_id=enrollment.id,
        campaign_id=campaign.id,
        step_id=step.id,
        contact_id=contact.id,
    )
    session.add_all([variant, log])
    session.flush()
    link = Link(
        organization_id=org.org_id,
        message_log_id=log.id,
        code=f"c{org.org_id}x{n}",
        url="https://example.com/",
    )
    contact_import = ContactImport(
        organization_id=org.org_id, filename="contacts.csv", status="done", total_rows=0
    )
    lone_contact = Contact(organization_id=org.org_id, phone=f"+4420794{n:03d}02", first_name="Bo")
    session.add_all([link, contact_import, lone_contact])
    session.commit()
    return {
        "id": campaign.id,
        "campaign_id": campaign.id,
        "contact_id": lone_contact.id,
        "step_id": step.id,
        "enrollment_id": enrollment.id,
        "test_id": test.id,
        "variant_id": variant.id,
        "key_id": org.api_key_id,
        "log_id": log.id,
        "import_id": contact_import.id,
    }


def scoped_rules(app):
    """Rules that take an argument and are not public: each names some organization's row."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if (
            rule.arguments
            and rule.endpoint not in PUBLIC_ENDPOINTS
            and not getattr(view, "drip_public", False)
        ):
            yield rule


def build(rule, ids: dict[str, int]) -> str:
    values = {}
    for arg in rule.arguments:
        if arg in ids:
            values[arg] = ids[arg]
        elif arg in PLAIN_ARGUMENTS:
            values[arg] = PLAIN_ARGUMENTS[arg]
        else:
            pytest.fail(f"{rule.rule}: add a row for argument {arg!r} to rows_of_org()")
    return rule.build(values)[1]


@pytest.fixture
def ids_a(clean_app, org_a):
    with clean_app.app_context():
        return rows_of_org(org_a)


def test_other_organization_gets_404_on_every_route(clean_app, org_a, org_b, ids_a, client_b):
    api_b = clean_app.test_client()
    checked = 0
    for rule in scoped_rules(clean_app):
        url = build(rule, ids_a)
        for method in methods(rule):
            if url.startswith("/api/"):
                callers = [(client_b, {}), (api_b, org_b.auth)]
            else:
                callers = [(client_b, {})]
            for client, headers in callers:
                response = client.open(url, method=method, headers=headers, json={})
                assert response.status_code == 404, (method, url, response.status_code)
                if url.startswith("/api/"):
                    assert response.json["error"]["code"] == "not_found"
                else:
                    assert b"Traceback" not in response.data
                checked += 1
    assert checked >= 3
    # And nothing of A's changed: B's revoke attempts did not revoke A's key.
    with clean_app.app_context():
        assert db.session.get(ApiKey, org_a.api_key_id).revoked_at is None


def test_owner_reaches_every_scoped_route(clean_app, org_a, client_a):
    """The 404s above are isolation, not routes that always answer 404. Each route gets rows
    of its own, so a DELETE tried on one route does not empty the next one."""
    for n, rule in enumerate(scoped_rules(clean_app), start=1):
        statuses = {}
        for method in methods(rule):
            with clean_app.app_context():
                url = build(rule, rows_of_org(org_a, n * 10 + len(statuses)))
            statuses[method] = client_a.open(url, method=method, json={}).status_code
        assert any(status != 404 for status in statuses.values()), (rule.rule, statuses)


def test_scoped_loader_refuses_other_organizations(session, org_a, org_b):
    ids = rows_of_org(org_a)
    assert get_scoped(session, DripCampaign, org_a.org_id, ids["id"]).id == ids["id"]
    with pytest.raises(NotFound):
        get_scoped(session, DripCampaign, org_b.org_id, ids["id"])
    with pytest.raises(NotFound):
        get_scoped(session, Contact, org_b.org_id, ids["contact_id"])
