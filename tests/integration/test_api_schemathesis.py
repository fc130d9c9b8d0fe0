"""schemathesis against /api/openapi.json, in-process over WSGI, on SQLite and PostgreSQL.

Every documented operation is called with generated requests (schemathesis's examples phase,
from the document's request examples; its coverage phase: boundary and type-confused values;
then a bounded, seeded fuzzing phase), authenticated with an organization's API key. Each
operation gets a fresh organization seeded with a campaign with steps, contacts, an
enrollment, an A/B test and an import; half the generated ids (in paths, and stepId,
contactIds... in bodies) are swapped for the seeded ones, so that handlers get past their 404.
Each answer must:

- never be a 5xx;
- have a status code the document lists for the operation, the documented content type and a
  body matching the documented schema;
- if it is an error, be the envelope {"error": {"code", "message", "details"?}};
- reject schema-invalid input (negative data) with a 4xx.

The schema is loaded once from a throwaway app built by the same factory (the document does not
depend on the database); each test then sends its requests to the session's app. At the end,
what schemathesis found is pinned as plain requests (test_what_schemathesis_found_stays_fixed).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.api.respond import is_id
from app.config import TestConfig
from app.drip import accounts
from app.extensions import db

CRON_SECRET = "cron-secret-for-schemathesis"
# Bounded and reproducible in CI. For a deeper, random search (then fix what it finds and keep
# it reproducible here): SCHEMATHESIS_EXPLORE=500 pytest tests/integration/test_api_schemathesis.py
EXPLORE = int(os.environ.get("SCHEMATHESIS_EXPLORE") or 0)
MAX_EXAMPLES = EXPLORE or 25

CONFIG = schemathesis.Config.from_str(
    ("" if EXPLORE else "seed = 20260901\n")
    + f"""
[generation]
deterministic = {"false" if EXPLORE else "true"}
# The API key is sent by the test; generated Authorization headers would only test 401.
with-security-parameters = false
# The API ignores query parameters it does not know, as HTTP APIs commonly do (OpenAPI 3.0 has
# no way to say so): an unknown one is not bad input that must be refused.
allow-extra-parameters = false

[phases.stateful]
enabled = false
"""
)

schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json",
    create_app(TestConfig(database_url="sqlite://")),
    config=CONFIG,
)

# Ids of the seeded rows: by path parameter name, and the lists a body names ("stepIds").
# Filled in by the `seeded` fixture before any request, read when a case is drawn.
SEEDED: dict = {}


def _swap_id(value, seeded):
    # Only a valid id is swapped: a negative case's bad value must stay bad.
    return seeded if seeded is not None and is_id(value) else value


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the generated paths name seeded rows, so handlers get past their 404."""
    if not path_parameters:
        return st.just(path_parameters)
    seeded = {name: _swap_id(value, SEEDED.get(name)) for name, value in path_parameters.items()}
    return st.sampled_from([seeded, path_parameters])


def _seeded_body(body: dict) -> dict:
    body = dict(body)
    for name in ("stepId", "contactId"):
        if name in body:
            body[name] = _swap_id(body[name], SEEDED.get(name))
    if "winnerId" in body:
        body["winnerId"] = _swap_id(body["winnerId"], SEEDED.get("variantId"))
    for name in ("stepIds", "contactIds"):
        ids = body.get(name)
        if isinstance(ids, list) and ids and all(is_id(i) for i in ids):
            body[name] = SEEDED[name][: len(ids)] if name == "contactIds" else SEEDED[name]
    return body


@schema.hook
def flatmap_body(context, body):
    """Half the generated bodies name seeded rows where they name a step, contact or variant."""
    if not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([_seeded_body(body), body])


@dataclass
class Seeded:
    app: object
    headers: dict


def _created(response) -> dict:
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["data"]


def seed(app, headers: dict) -> dict[str, int]:
    """An organization's campaign with steps, contacts, an enrollment, an A/B test and a CSV
    import; the ids by the names paths and bodies give them (`seeded` adds a spare API key)."""
    client = app.test_client()

    def post(url: str, body: dict) -> dict:
        return _created(client.post(url, json=body, headers=headers))

    contacts = [
        post("/api/contacts", {"phone": f"+1202555014{i}", "firstName": f"Ann{i}", "tags": ["vip"]})
        for i in range(3)
    ]
    campaign = post("/api/drip-campaigns", {"name": "Welcome"})
    base = f"/api/drip-campaigns/{campaign['id']}"
    steps = [
        post(
            f"{base}/steps",
            {
                "name": f"Step {i}",
                "delayAmount": i,
                "delayUnit": "hours",
                "messageContent": "Hi {{first_name|there}}",
            },
        )
        for i in range(3)
    ]
    test = post(f"{base}/ab-tests", {"name": "Greeting", "stepId": steps[0]["id"]})
    variant = post(
        f"{base}/ab-tests/{test['id']}/variants", {"name": "B", "messageContent": "Hey!"}
    )
    post(f"{base}/status", {"action": "activate"})
    post(f"{base}/enrollments", {"contactIds": [c["id"] for c in contacts[:2]]})
    enrollments = _created(client.get(f"{base}/enrollments", headers=headers))
    csv = b"phone,first_name,tags\n+12025550150,Bea,vip\nnot a phone,Cy,\n"
    imported = _created(
        client.post(
            "/api/contacts/import",
            data={"file": (io.BytesIO(csv), "contacts.csv")},
            headers=headers,
        )
    )
    return {
        "id": campaign["id"],
        "contactId": contacts[0]["id"],
        "stepId": steps[1]["id"],
        "testId": test["id"],
        "variantId": variant["id"],
        "enrollmentId": enrollments[0]["id"],
        "importId": imported["importId"],
        "contactIds": [c["id"] for c in contacts],
        "stepIds": [s["id"] for s in reversed(steps)],
    }


@pytest.fixture
def seeded(clean_app):
    """A fresh organization per operation, its rows gone after it (clean_app): under
    pytest-xdist another module's test may run next in this process."""
    with clean_app.app_context():
        # No user: hashing a password on purpose takes longer than the whole seeding.
        org = accounts.create_organization(db.session, "Fuzz")
        _, token = accounts.create_api_key(db.session, org.id, "schemathesis")
        # Made here, not through the API: an API key cannot create keys.
        spare_key_id = accounts.create_api_key(db.session, org.id, "spare")[0].id
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    SEEDED.clear()
    SEEDED.update(seed(clean_app, headers), keyId=spare_key_id)
    clean_app.config["CRON_SECRET"] = CRON_SECRET
    yield Seeded(clean_app, headers)
    clean_app.config["CRON_SECRET"] = None
    SEEDED.clear()


def error_envelope(ctx, response, case):
    """Every 4xx/5xx JSON answer is {"error": {"code": str, "message": str, "details"?}}."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict), f"error body is not an object: {body!r}"
    assert set(body) == {"error"}, f"error body has keys {sorted(body)}"
    error = body["error"]
    assert isinstance(error, dict), error
    assert set(error) <= {"code", "message", "details"}, f"error has keys {sorted(error)}"
    assert isinstance(error.get("code"), str), error
    assert isinstance(error.get("message"), str), error
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_documented(case, seeded):
    headers = dict(seeded.headers)
    if case.path.startswith("/api/cron/"):
        headers["Authorization"] = f"Bearer {CRON_SECRET}"
    case.call_and_validate(
        app=seeded.app, headers=headers, checks=CHECKS, additional_checks=[error_envelope]
    )


# --- what schemathesis found, pinned: each was a 500 or a schema-violating request accepted ---

BAD_REQUESTS = [
    # (method, path with {names} of seeded ids, JSON body or None, expected status)
    ("DELETE", "/api/api-keys/56145427068262678528", None, 404),
    ("GET", "/api/drip-campaigns/{id}/ab-tests/9223372036854775808/variants", None, 404),
    ("GET", "/api/contacts?page=552790910771327488", None, 422),
    ("GET", "/api/contacts?page=%C2%B2", None, 422),
    ("GET", "/api/contacts?perPage=" + "9" * 5000, None, 422),
    ("GET", "/api/contacts?page=0000", None, 422),
    ("GET", "/api/contacts?q=a%00b", None, 422),
    ("POST", "/api/contacts", {"phone": [None, None]}, 422),
    ("POST", "/api/contacts", {"phone": "+12025550199", "firstName": "A\u0000"}, 400),
    ("POST", "/api/drip-campaigns", {"name": "W", "sendWindow": {"timezone": [None]}}, 422),
    ("POST", "/api/drip-campaigns", {"name": "W", "sendWindow": {"timezone": "America"}}, 422),
    ("POST", "/api/drip-campaigns", {"name": "W", "sendWindow": {"timezone": {}}}, 422),
    ("POST", "/api/drip-campaigns", {"name": "W", "description": [None]}, 422),
    ("PATCH", "/api/drip-campaigns/{id}", {"trigger": {"value": [1]}}, 422),
    ("POST", "/api/drip-campaigns/{id}/ab-tests", {"name": "T", "stepId": -(2**66)}, 400),
    ("POST", "/api/drip-campaigns/{id}/enrollments", {"contactIds": [2**64]}, 400),
    ("POST", "/api/drip-campaigns", {"name": "K\ud800"}, 400),
    (
        "PATCH",
        "/api/drip-campaigns/{id}/steps/{stepId}",
        {"template": {"name": "welcome"}, "messageContent": "x" * 5000},
        422,
    ),
    ("PATCH", "/api/drip-campaigns/{id}/steps/{stepId}", {"template": {"name": "hi\n"}}, 422),
    ("PATCH", "/api/drip-campaigns/{id}/steps/{stepId}", {"delayAmount": "5"}, 422),
    ("POST", "/api/drip-campaigns/{id}/preview", {"messageContent": "Hi", "contactId": ""}, 422),
]


BAD_BODIES = [
    b'{"name": NaN}',
    b'{"name": "x", "n": Infinity}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
]


def test_what_schemathesis_found_stays_fixed(seeded):
    """One organization for all of them: seeding and emptying the database per request would
    cost more than the requests."""
    client = seeded.app.test_client()
    ids = {name: value for name, value in SEEDED.items() if isinstance(value, int)}
    wrong = []
    for method, path, body, status in BAD_REQUESTS:
        url = path.format(**ids)
        response = client.open(url, method=method, json=body, headers=seeded.headers)
        if response.status_code != status or set(response.get_json() or {}) != {"error"}:
            wrong.append((method, path[:80], response.status_code, response.get_data()[:200]))
    for raw in BAD_BODIES:  # JSON that Python's parser takes or chokes on
        response = client.post(
            "/api/drip-campaigns",
            data=raw,
            content_type="application/json",
            headers=seeded.headers,
        )
        if response.status_code != 400 or response.get_json()["error"]["code"] != "bad_request":
            wrong.append(("POST", raw[:40], response.status_code, response.get_data()[:200]))
    assert not wrong, wrong
