"""/api/openapi.json: the contract, assembled from the OPENAPI paths each API module declares."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.auth import public

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


def request_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


PAGING_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "perPage", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
]


def build_document(paths: dict) -> dict:
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
