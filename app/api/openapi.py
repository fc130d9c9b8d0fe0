"""/api/openapi.json: the contract, assembled from the OPENAPI paths each API module declares."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.api.respond import MAX_PER_PAGE
from app.auth import public
from app.drip.limits import JSON_BODY_MAX
from app.drip.paging import MAX_PAGE

bp = Blueprint("openapi", __name__)

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
PAGE_META = {
    "type": "object",
    "properties": {
        "page": {"type": "integer"},
        "perPage": {"type": "integer"},
        "total": {"type": "integer"},
    },
}

# The scalars several API modules share: one name per meaning.
NULLABLE_STRING = {"type": "string", "nullable": True}
NULLABLE_INTEGER = {"type": "integer", "nullable": True}
# A date-time the document gives no zone for (contacts, imports, API keys) ...
DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME = {**DATETIME, "nullable": True}
# ... and one it says is UTC (enrollments, A/B tests).
UTC_DATETIME = {**DATETIME, "description": "UTC"}
NULLABLE_UTC_DATETIME = {**UTC_DATETIME, "nullable": True}
# A text message's body, at most Meta's limit.
MESSAGE_TEXT = {"type": "string", "maxLength": 4096}


def error_responses(*statuses: int) -> dict:
    """The envelope for each error status an operation can answer."""
    return {
        str(status): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def data_response(schema: dict, status: int = 200, description: str = "ok") -> dict:
    return {
        str(status): {
            "description": description,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["data"],
                        "properties": {"data": schema},
                    }
                }
            },
        }
    }


def list_response(item_schema: dict) -> dict:
    return {
        "200": {
            "description": "a page of results",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["data", "meta"],
                        "properties": {
                            "data": {"type": "array", "items": item_schema},
                            "meta": {"$ref": "#/components/schemas/PageMeta"},
                        },
                    }
                }
            },
        }
    }


def path_id(name: str) -> dict:
    """The path parameter `{name}`: a row id."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


# {id} in every /api/drip-campaigns/{id}/... path.
CAMPAIGN_ID = path_id("id")


def trimmed_text(max_length: int, **schema) -> dict:
    """A text the API trims before it checks the length. maxLength would count the spaces
    around it (and promise a refusal the API does not give), so the limit is said in words and
    in x-trimmed-max-length."""
    return {
        "type": "string",
        "description": f"at most {max_length} characters, not counting spaces around it",
        "x-trimmed-max-length": max_length,
        **schema,
    }


def request_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def operation(summary, responses, *statuses, parameters=None, body=None, description=None):
    """An operation: its success responses plus the error envelope for each status."""
    answer = {"summary": summary, "responses": {**responses, **error_responses(*statuses)}}
    if parameters:
        answer["parameters"] = parameters
    if body is not None:
        answer["requestBody"] = request_body(body)
    if description:
        answer["description"] = description
    return answer


# An empty ?page= or ?perPage= is the default, as if it were not given.
PAGING_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "allowEmptyValue": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    },
    {
        "name": "perPage",
        "in": "query",
        "allowEmptyValue": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    },
]


def with_int64(node):
    """The schemas with format int64 on every integer that names no format: the API takes and
    gives 64-bit integers (ids are BIGINT); a larger one is a 400 in a body, 404 in a path."""
    if isinstance(node, list):
        return [with_int64(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: with_int64(value) for key, value in node.items()}
    if copy.get("type") == "integer" and "format" not in copy:
        copy["format"] = "int64"
    return copy


def with_body_limit(paths: dict) -> dict:
    """Every operation that takes a JSON body says so: its limit, and the 413 past it
    (app.api.respond.json_body). Changes `paths`, a copy (with_int64)."""
    for operations in paths.values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body and "application/json" in body.get("content", {}):
                body.setdefault("description", f"JSON, at most {JSON_BODY_MAX // 2**20} MiB")
                operation["responses"].setdefault("413", error_responses(413)["413"])
    return paths


def build_document(paths: dict) -> dict:
    paths = with_body_limit(with_int64(paths))
    return {
        "openapi": "3.0.3",
        "info": {"title": "Drip API", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR, "PageMeta": PAGE_META},
        },
        "paths": paths,
    }


@bp.get("/api/openapi.json")
@public
def document():
    return jsonify(build_document(current_app.extensions["drip_openapi_paths"]))
