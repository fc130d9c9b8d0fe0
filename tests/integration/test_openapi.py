"""/api/openapi.json documents exactly the API routes the app serves."""

from __future__ import annotations

import re

from app.envelope import camel_case


def documented_operations(doc) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, operations in doc["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }


def served_operations(app) -> set[tuple[str, str]]:
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint == "openapi.document":
            continue
        # Flask's <int:contact_id> is OpenAPI's {contactId}.
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "{" + camel_case(m[1]) + "}", rule.rule)
        served |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return served


def test_document_is_public_and_matches_the_routes(clean_app):
    response = clean_app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.")
    assert documented_operations(doc) == served_operations(clean_app)


def test_every_operation_documents_its_answers(clean_app):
    doc = clean_app.test_client().get("/api/openapi.json").json
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert operation.get("summary"), (method, path)
            statuses = set(operation["responses"])
            assert any(s.startswith("2") for s in statuses), (method, path)
            if path.startswith("/api/webhooks") or path.startswith("/api/cron"):
                continue
            assert "401" in statuses, (method, path)
            for name in re.findall(r"{(\w+)}", path):
                assert name in {p["name"] for p in operation.get("parameters", [])} or any(
                    name in {p["name"] for p in o.get("parameters", [])}
                    for o in operations.values()
                    if isinstance(o, dict)
                ), (method, path, name)
