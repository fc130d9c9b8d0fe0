"""Branches in the pages, on both databases: the step form sets, shows and removes a branch
(errors next to their fields, what was typed kept, nothing changed), the flow says each branch
in words with the graph's warnings, activation lists those warnings before it confirms, and
"why waiting" says what an enrollment waits for at a branch."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip.enrollment import actions as enrollment
from app.drip.enrollment.schedule import SendWindow
from app.drip.enrollment.waiting import WaitFacts, branch_places, explain_wait
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep, DripEnrollment
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts

NAMES = ("Welcome", "Reminder", "Offer")


@pytest.fixture
def journey(clean_app, org_a):
    """A draft campaign of three steps (Welcome, Reminder, Offer), stopping on no reply."""
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(
            session,
            org_a.org_id,
            steps=((0, "minutes"), (1, "days"), (1, "days")),
            status="draft",
            stop_on_reply=False,
        )
        for step, name in zip(live_steps(session, campaign), NAMES, strict=True):
            step.name = name
        session.commit()
        return {"id": campaign.id, "steps": [s.id for s in live_steps(session, campaign)]}


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def stored(app, step_id):
    with app.app_context():
        db.session.expire_all()
        step = db.session.get(DripCampaignStep, step_id)
        return step.branch, step.name


def set_branch(app, step_id, branch):
    with app.app_context():
        db.session.get(DripCampaignStep, step_id).branch = branch
        db.session.commit()


def step_form(**extra) -> dict:
    return {
        "name": "Welcome",
        "delay_amount": "0",
        "delay_unit": "minutes",
        "message_type": "text",
        "message_content": "Hi {{first_name|there}}",
        "branch_section": "1",
        **extra,
    }


def test_the_step_form_sets_shows_and_removes_a_branch(client_a, clean_app, journey):
    cid, (welcome, reminder, offer) = journey["id"], journey["steps"]
    url = f"/campaigns/{cid}/steps/{welcome}"
    page = text_of(client_a.get(url))
    assert "<legend>Branch</legend>" in page
    assert "Then: go on to the next step" in page
    assert "A reply also counts as a read" in page
    # Only later steps are offered as targets, and the end of the journey.
    assert f'<option value="{offer}">Step 3 “Offer”</option>' in page
    assert f'<option value="{welcome}">' not in page
    assert '<option value="end">End the journey</option>' in page

    branch = step_form(
        branch_mode="branch",
        branch_wait_amount="2",
        branch_wait_unit="days",
        branch_event_0="replied",
        branch_goto_0="end",
        branch_event_1="",  # an empty row is ignored
        branch_goto_1="",
        branch_event_2="read",
        branch_goto_2=str(offer),
        branch_timeout="next",
    )
    response = client_a.post(url, data=branch)
    assert response.status_code == 302, text_of(response)
    assert stored(clean_app, welcome)[0] == {
        "waitAmount": 2,
        "waitUnit": "days",
        "conditions": [{"event": "replied", "goTo": "end"}, {"event": "read", "goTo": offer}],
        "onTimeout": "next",
    }
    page = text_of(client_a.get(url))
    assert re.search(r'<input checked[^>]*value="branch"', page)
    assert '<option selected value="replied">' in page
    assert f'<option selected value="{offer}">Step 3 “Offer”</option>' in page

    assert client_a.post(url, data=step_form(branch_mode="none")).status_code == 302
    assert stored(clean_app, welcome)[0] is None
    # A form without the branch section (an older page) leaves the branch alone.
    set_branch(clean_app, welcome, {"waitAmount": 1, "waitUnit": "hours",
                                    "conditions": [{"event": "read", "goTo": reminder}],
                                    "onTimeout": "next"})  # fmt: skip
    form = step_form()
    del form["branch_section"]
    assert client_a.post(url, data=form).status_code == 302
    assert stored(clean_app, welcome)[0]["waitUnit"] == "hours"


def test_branch_errors_sit_by_their_fields_keep_the_input_and_change_nothing(
    client_a, clean_app, journey
):
    cid, (welcome, reminder, offer) = journey["id"], journey["steps"]
    url = f"/campaigns/{cid}/steps/{welcome}"
    with clean_app.app_context():
        db.session.get(DripCampaign, cid).track_links = False
        db.session.commit()
    response = client_a.post(
        url,
        data=step_form(
            name="Renamed",
            branch_mode="branch",
            branch_wait_amount="45",
            branch_wait_unit="days",
            branch_event_1="read",
            branch_goto_1="",
            branch_event_3="replied",
            branch_goto_3=str(reminder),
            branch_timeout=str(offer),
        ),
    )
    assert response.status_code == 422
    page = text_of(response)
    assert 'id="branch-wait-amount-error"' in page and "30 days at most" in page
    # Each error next to its own row: the read's missing target in row 2, the click in row 4.
    assert 'id="branch-goto-1-error"' in page
    assert "Choose a later step, or the end of the journey." in page
    # What was typed is still there.
    assert 'value="Renamed"' in page and 'value="45"' in page
    assert f'<option selected value="{reminder}">Step 2 “Reminder”</option>' in page
    assert stored(clean_app, welcome) == (None, "Welcome")

    # A click without link tracking: said at its row (the fourth).
    response = client_a.post(
        url,
        data=step_form(
            name="Renamed",
            branch_mode="branch",
            branch_wait_amount="2",
            branch_wait_unit="days",
            branch_event_3="clicked",
            branch_goto_3=str(reminder),
        ),
    )
    assert response.status_code == 422
    page = text_of(response)
    assert 'id="branch-event-3-error"' in page and "link tracking" in page
    assert 'aria-describedby="branch-event-3-error"' in page
    assert stored(clean_app, welcome) == (None, "Welcome")


def test_the_flow_says_each_branch_in_words_and_warns(client_a, clean_app, journey):
    cid, (welcome, reminder, offer) = journey["id"], journey["steps"]
    set_branch(
        clean_app,
        welcome,
        {
            "waitAmount": 2,
            "waitUnit": "days",
            "conditions": [{"event": "replied", "goTo": "end"}, {"event": "read", "goTo": offer}],
            "onTimeout": "next",
        },
    )
    with clean_app.app_context():
        campaign = db.session.get(DripCampaign, cid)
        campaign.status = "active"
        (contact,) = make_contacts(db.session, campaign.organization_id, 1)
        enrollment.enroll(db.session, campaign, contact_ids=[contact.id], now=NOW)
        row = db.session.scalars(select(DripEnrollment)).one()
        row.wait_reason, row.last_sent_at = "branch", NOW
        row.next_send_at = NOW + timedelta(days=2)
        db.session.commit()
    page = text_of(client_a.get(f"/campaigns/{cid}"))
    assert (
        "Waits up to 2 days: replied → End the journey · read → Step 3 “Offer” · "
        "otherwise → Step 2 “Reminder”"
    ) in page
    assert "waiting on its branch" in page
    assert "can never be reached" not in page
    # The Offer's delay counts from the read that leads there too; the Reminder's is in order.
    # (once in the connector's text, once in its label)
    assert page.count("after the previous step, or after the branch that leads here") == 2

    # The timeout skips the Reminder too: nothing leads to it any more.
    set_branch(
        clean_app,
        welcome,
        {
            "waitAmount": 1,
            "waitUnit": "days",
            "conditions": [{"event": "read", "goTo": offer}],
            "onTimeout": offer,
        },
    )
    page = text_of(client_a.get(f"/campaigns/{cid}"))
    assert "Waits up to 1 day: read → Step 3 “Offer” · otherwise → Step 3 “Offer”" in page
    assert 'id="flow-warnings"' in page
    assert "Step 2 “Reminder” can never be reached: no step leads to it." in page
    assert f'id="step-{reminder}" data-unreachable' in page


def test_activation_lists_the_graph_warnings_before_it_confirms(client_a, clean_app, journey):
    cid, (welcome, _, offer) = journey["id"], journey["steps"]
    set_branch(
        clean_app,
        welcome,
        {"waitAmount": 1, "waitUnit": "days", "conditions": [{"event": "read", "goTo": offer}],
         "onTimeout": offer},
    )  # fmt: skip
    response = client_a.post(f"/campaigns/{cid}/status", data={"action": "activate"})
    assert response.status_code == 200
    text = text_of(response)
    assert 'id="graph-warnings"' in text
    assert "Step 2 “Reminder” can never be reached" in text
    assert "would be stopped" not in text  # no window problem to report here
    with clean_app.app_context():
        assert db.session.get(DripCampaign, cid).status == "draft"
    response = client_a.post(
        f"/campaigns/{cid}/status",
        data={"action": "activate", "confirm": "1"},
    )
    assert response.status_code == 302
    with clean_app.app_context():
        assert db.session.get(DripCampaign, cid).status == "active"


def waiting_rows(clean_app, cid, **values):
    with clean_app.app_context():
        campaign = db.session.get(DripCampaign, cid)
        campaign.status = "active"
        (contact,) = make_contacts(db.session, campaign.organization_id, 1)
        enrollment.enroll(db.session, campaign, contact_ids=[contact.id], now=NOW)
        row = db.session.scalars(select(DripEnrollment)).one()
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


BRANCH = {
    "waitAmount": 2,
    "waitUnit": "days",
    "conditions": [{"event": "replied", "goTo": "end"}],
    "onTimeout": "next",
}


def test_why_waiting_at_a_branch(client_a, clean_app, journey):
    cid, (welcome, _, offer) = journey["id"], journey["steps"]
    branch = {**BRANCH, "conditions": [BRANCH["conditions"][0], {"event": "read", "goTo": offer}]}
    set_branch(clean_app, welcome, branch)
    waiting_rows(
        clean_app,
        cid,
        current_step_id=welcome,
        wait_reason="branch",
        last_sent_at=NOW,
        next_send_at=NOW + timedelta(days=2) + timedelta(hours=2),
    )
    with clean_app.app_context():
        row = db.session.scalars(select(DripEnrollment)).one()
        places = branch_places(db.session, cid)
        facts = WaitFacts(SendWindow(), "UTC", step_name="Welcome", places=places)
        waiting = explain_wait(row, facts, NOW + timedelta(hours=1))
    assert waiting.code == "branch"
    assert waiting.text == (
        "Waiting up to 2 days for a reply to or a read of “Welcome”: if none comes by "
        "Wed 9 Jan 14:00 it goes on to “Reminder”."
    )
    # A branch that ends the journey: completed at the next pass.
    with clean_app.app_context():
        row = db.session.scalars(select(DripEnrollment)).one()
        row.wait_reason, row.via_step_id, row.via = None, welcome, "replied"
        row.next_send_at = NOW
        waiting = explain_wait(row, facts, NOW + timedelta(hours=1))
    assert waiting.code == "due"
    assert waiting.text == "Ends the journey at the next pass (it replied to “Welcome”)."


def test_why_waiting_on_the_enrollments_page(client_a, clean_app, journey):
    cid, (welcome, _, offer) = journey["id"], journey["steps"]
    set_branch(clean_app, welcome, {**BRANCH, "conditions": [{"event": "read", "goTo": offer}]})
    waiting_rows(
        clean_app,
        cid,
        current_step_id=welcome,
        wait_reason="branch",
        last_sent_at=NOW,
        next_send_at=NOW + timedelta(days=2),
    )
    page = text_of(client_a.get(f"/campaigns/{cid}/enrollments"))
    assert "Waiting up to 2 days for a read of “Welcome”: if none comes by Wed 9 Jan 12:00" in page
    assert "it goes on to “Reminder”." in page
