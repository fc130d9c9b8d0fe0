"""CSRF on every form: each HTML POST route of app.url_map, posted by a logged-in user without
the token, answers 400 with the CSRF page and changes nothing in the database.

The routes are read from the app, so a form added later is covered without touching this file
(a route with an argument of a new name fails in test_isolation.build until it has a row).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, Base
from tests.integration.test_isolation import build, rows_of_org

CSRF_PAGE = b"Your form expired or was sent from another site"


def html_post_rules(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/api"):
            yield rule


def database_state(app) -> dict[str, list]:
    """Every row of every table, in a stable order: equal states mean nothing changed."""
    with app.app_context():
        state = {}
        for table in Base.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            state[table.name] = sorted(repr(tuple(row)) for row in rows)
        db.session.rollback()
        return state


@pytest.fixture
def csrf_on(clean_app, client_a):
    """client_a (logged in) with CSRF protection on, as in production."""
    clean_app.config["WTF_CSRF_ENABLED"] = True
    yield client_a
    clean_app.config["WTF_CSRF_ENABLED"] = False


def test_every_form_refuses_a_post_without_the_token(clean_app, org_a, csrf_on):
    with clean_app.app_context():
        ids = rows_of_org(org_a)
    before = database_state(clean_app)
    checked = []
    for rule in html_post_rules(clean_app):
        url = build(rule, ids)
        # Plausible form fields, so that only the missing token stands in the way.
        data = {"name": "forged", "action": "archive", "direction": "up", "confirm": "yes"}
        response = csrf_on.post(url, data=data)
        assert response.status_code == 400, (url, response.status_code)
        assert CSRF_PAGE in response.data, url
        assert b"Traceback" not in response.data
        # A wrong token is no better than none.
        response = csrf_on.post(url, data={**data, "csrf_token": "forged.token"})
        assert response.status_code == 400, url
        checked.append(rule.endpoint)
    assert database_state(clean_app) == before
    assert {"auth.logout", "settings.create_api_key", "campaigns.change_status"} <= set(checked)
    assert len(checked) >= 20
    # Still logged in: the forged logout did nothing either.
    assert csrf_on.get("/campaigns/").status_code == 200


def test_the_same_form_with_the_token_works(clean_app, org_a, csrf_on):
    """The refusals above are CSRF, not forms that always fail."""
    page = csrf_on.get("/settings/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]
    response = csrf_on.post("/settings/api-keys", data={"name": "real", "csrf_token": token})
    assert response.status_code == 201
    with clean_app.app_context():
        names = set(db.session.scalars(select(ApiKey.name)))
    assert names == {"test key", "real"}
