"""Meta's template components built from a catalog template and a step's rendered values."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from app.drip.templates import build_components
from app.whatsapp.client import template_body


def template(fmt="positional", parameters=(), header=None, buttons=None):
    return SimpleNamespace(
        parameter_format=fmt, parameters=list(parameters), header=header, buttons=buttons
    )


def test_positional_body_parameters_in_order():
    built = build_components(template(parameters=["1", "2"]), ["Ana", "20%"])
    assert built == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "20%"}],
        }
    ]


def test_the_simple_positional_case_is_the_clients_own_shape():
    """Components or plain parameters: the same wire body for a body-only template."""
    values = ["Ana", "20%"]
    built = build_components(template(parameters=["1", "2"]), values)
    assert template_body("+15550001", "t", "en_US", values, components=built) == template_body(
        "+15550001", "t", "en_US", values
    )


def test_named_parameters_carry_their_names():
    built = build_components(template("named", ["first_name", "code"]), ["Ana", "X1"])
    assert built[0]["parameters"] == [
        {"type": "text", "text": "Ana", "parameter_name": "first_name"},
        {"type": "text", "text": "X1", "parameter_name": "code"},
    ]


def test_media_headers_take_a_link():
    for fmt, kind in (("IMAGE", "image"), ("VIDEO", "video"), ("DOCUMENT", "document")):
        built = build_components(template(header={"format": fmt}), [], "https://x.example/a")
        assert built == [
            {
                "type": "header",
                "parameters": [{"type": kind, kind: {"link": "https://x.example/a"}}],
            }
        ]


def test_a_text_header_with_a_placeholder_takes_text():
    header = {"format": "TEXT", "text": "Hi {{1}}", "parameters": ["1"]}
    built = build_components(template(header=header, parameters=["1"]), ["b"], "Ana")
    assert built[0] == {"type": "header", "parameters": [{"type": "text", "text": "Ana"}]}
    assert built[1]["type"] == "body"
    # A header without a placeholder takes nothing, whatever the step says.
    fixed = {"format": "TEXT", "text": "Hello", "parameters": []}
    assert build_components(template(header=fixed), [], "Ana") == []


def test_url_buttons_with_a_placeholder_take_their_index_in_the_template():
    buttons = [
        {"type": "QUICK_REPLY", "text": "Stop", "parameters": []},
        {"type": "URL", "text": "Shop", "url": "https://s.example", "parameters": []},
        {"type": "URL", "text": "Track", "url": "https://s.example/{{1}}", "parameters": ["1"]},
    ]
    built = build_components(template(buttons=buttons), [], None, ["order/42"])
    assert built == [
        {
            "type": "button",
            "sub_type": "url",
            "index": "2",
            "parameters": [{"type": "text", "text": "order/42"}],
        }
    ]


def test_no_parameters_no_components():
    assert build_components(template(), []) == []


def test_the_client_fixture_still_matches_for_positional_components():
    fixture = Path(__file__).resolve().parents[1] / "fakes" / "fixtures"
    expected = json.loads((fixture / "send_template_request.json").read_text())
    tpl = expected["template"]
    values = [p["text"] for p in tpl.get("components", [{}])[0].get("parameters", [])]
    built = build_components(template(parameters=[str(i + 1) for i in range(len(values))]), values)
    assert built == tpl.get("components", [])
