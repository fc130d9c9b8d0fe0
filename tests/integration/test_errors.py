"""Errors: the JSON envelope under /api/, friendly pages elsewhere, never a stack trace."""

from __future__ import annotations

import pytest

from app import create_app
from app.api.respond import paging_args
from app.auth import public
from app.config import TestConfig
from app.drip.errors import ValidationError


def test_api_404_and_405_use_the_envelope(clean_app, org_a):
    client = clean_app.test_client()
    response = client.get("/api/no-such-thing", headers=org_a.auth)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert response.json["error"]["message"]
    response = client.put("/api/api-keys", headers=org_a.auth)
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_html_404_is_a_page(client_a):
    response = client_a.get("/no-such-page")
    assert response.status_code == 404
    assert b"Not found" in response.data
    assert b"Back to your campaigns" in response.data


def test_an_id_too_large_for_the_database_is_not_found_on_every_page(clean_app, client_a):
    """Ids past 64 bits would overflow the database driver (a 500): every page with an id in
    its path answers the 404 page instead, as the API does."""
    huge = 10**20
    checked = 0
    for rule in clean_app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if conv.regex == r"\d+"]
        if not ints or "GET" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        values = {name: huge for name in rule.arguments}
        values.update({name: "png" for name in rule.arguments if name == "fmt"})
        values.update({name: "funnel" for name in rule.arguments if name in ("name", "chart")})
        url = rule.rule
        for name, value in values.items():
            url = url.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        response = client_a.get(url)
        assert response.status_code == 404, url
        assert b"Not found" in response.data and b"Traceback" not in response.data, url
        checked += 1
    assert checked >= 10


def test_paging_arguments_are_validated(client_a):
    # The paging helper is shared by every list; bad values are 422 with the field named.
    app = client_a.application
    with app.test_request_context("/api/x?page=0"):
        with pytest.raises(ValidationError) as info:
            paging_args()
        assert info.value.fields == {"page": "Whole number >= 1."}
    with app.test_request_context("/api/x?perPage=501"):
        with pytest.raises(ValidationError) as info:
            paging_args()
        assert "perPage" in info.value.fields
    with app.test_request_context("/api/x?page=3&perPage=20"):
        assert paging_args() == (3, 20)
    with app.test_request_context("/api/x"):
        assert paging_args() == (1, 50)


@pytest.fixture
def crashing_app(app):
    application = create_app(TestConfig(database_url=app.config["SQLALCHEMY_DATABASE_URI"]))

    @public
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    application.add_url_rule("/api/boom", "api_boom", boom)
    application.add_url_rule("/boom", "boom", boom)
    return application


def test_500_never_shows_a_stack_trace(crashing_app, caplog):
    client = crashing_app.test_client()
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "hunter2" not in response.get_data(as_text=True)
    page = client.get("/boom")
    assert page.status_code == 500
    text = page.get_data(as_text=True)
    assert "Something went wrong" in text
    assert "Traceback" not in text and "hunter2" not in text
    # The operator still gets the details in the log.
    assert "RuntimeError" in caplog.text
