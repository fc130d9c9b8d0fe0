"""Your profile (/settings/profile): a user sets their own time zone, through
app.drip.accounts.set_user_timezone (audited), and their pages then show times in it. Any
role may; a name that is not a zone is refused in words and changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.drip import accounts, contacts
from app.drip.errors import ValidationError
from app.extensions import db
from app.models import AuditEvent, User
from tests.conftest import login, make_user


def _user(session, email):
    return session.scalar(select(User).where(User.email == email))


def _events(session, user_id):
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id, AuditEvent.action == "user.timezone_changed")
        .order_by(AuditEvent.id)
    ).all()


def test_setting_and_clearing_a_users_zone_is_audited(session, org_a):
    user = _user(session, org_a.email)
    assert accounts.set_user_timezone(session, user, " Asia/Tokyo ") is True
    assert accounts.set_user_timezone(session, user, "Asia/Tokyo") is False  # no change, no event
    assert accounts.set_user_timezone(session, user, "") is True  # the organization's again
    session.commit()
    assert user.timezone is None
    events = _events(session, user.id)
    assert [e.details["changes"]["timezone"] for e in events] == [
        [None, "Asia/Tokyo"],
        ["Asia/Tokyo", None],
    ]
    assert {(e.organization_id, e.actor, e.campaign_id) for e in events} == {
        (org_a.org_id, org_a.email, None)
    }


@pytest.mark.parametrize("bad", ["Mars/Olympus", "America", "x" * 65, "../etc/passwd", 7])
def test_a_name_that_is_not_a_zone_is_refused_and_changes_nothing(session, org_a, bad):
    user = _user(session, org_a.email)
    accounts.set_user_timezone(session, user, "Europe/Lisbon")
    with pytest.raises(ValidationError) as refused:
        accounts.set_user_timezone(session, user, bad)
    assert "timezone" in refused.value.details["fields"]
    assert user.timezone == "Europe/Lisbon"
    assert len(_events(session, user.id)) == 1


def test_a_member_sets_their_zone_and_their_pages_follow_it(clean_app, org_a):
    member = make_user(clean_app, org_a)
    with clean_app.app_context():
        contact = contacts.create_contact(db.session, org_a.org_id, phone="+442079460001")
        # Something on the contact's timeline at a known time: 12:00 UTC is 21:00 in Tokyo.
        contact.opted_out_at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
        db.session.commit()
        contact_id = contact.id
    client = clean_app.test_client()
    login(client, member.email)

    page = client.get("/settings/profile").get_data(as_text=True)
    assert '<option selected value="">The organization&#39;s (UTC)</option>' in page
    assert '<option value="Asia/Tokyo">Asia/Tokyo</option>' in page

    answer = client.post("/settings/profile", data={"timezone": "Asia/Tokyo"})
    assert answer.status_code == 302 and answer.location.endswith("/settings/profile")
    page = client.get("/settings/profile").get_data(as_text=True)
    assert "Your time zone is Asia/Tokyo." in page
    assert re.search(r"it is \d{4}-\d\d-\d\d \d\d:\d\d JST there now", page)
    contact_page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "2026-01-15 21:00 JST" in contact_page
    assert "times in <strong>Asia/Tokyo</strong>" in contact_page
    with clean_app.app_context():
        assert _user(db.session, member.email).timezone == "Asia/Tokyo"
        assert len(_events(db.session, member.user_id)) == 1
        # The admin's own clock is theirs: unchanged.
        assert _user(db.session, org_a.email).timezone is None


def test_a_zone_not_in_the_list_is_refused_in_words(clean_app, org_a):
    client = clean_app.test_client()
    login(client, org_a.email)
    client.post("/settings/profile", data={"timezone": "Europe/Paris"})
    for bad in ("Mars/Olympus", "posixrules", "x" * 5000):
        answer = client.post("/settings/profile", data={"timezone": bad})
        assert answer.status_code == 400
        assert "Choose a time zone of the list" in answer.get_data(as_text=True)
    with clean_app.app_context():
        user = _user(db.session, org_a.email)
        assert user.timezone == "Europe/Paris"
        assert len(_events(db.session, user.id)) == 1
