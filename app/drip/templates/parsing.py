"""Meta's template objects (`GET /{waba-id}/message_templates`) read into row values. Pure.

A template's parameters are the placeholders of its body: positional `{{1}}`, `{{2}}` or named
`{{first_name}}`. Meta says which in `parameter_format`; when it does not (older answers), the
placeholders themselves tell."""

from __future__ import annotations

import re
from typing import Any

from app.drip.errors import ValidationError
from app.models.templates import QUALITY_SCORES, TEMPLATE_CATEGORIES

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_MAX_NAME = 512
_MAX_LANGUAGE = 16


def placeholders(text: str | None) -> list[str]:
    """The distinct placeholder names of `text`, in order of first appearance."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def parse_template(item: Any) -> dict[str, Any]:
    """Row values (name, language, category, status, ...) of one template object; raises
    ValidationError for an object without a usable name or language."""
    if not isinstance(item, dict):
        raise ValidationError("A template is not a JSON object.")
    name, language = _text(item.get("name")), _text(item.get("language"))
    if not name or len(name) > _MAX_NAME or not language or len(language) > _MAX_LANGUAGE:
        raise ValidationError("A template has no usable name or language.")
    components = _components(item.get("components"))
    body = components.get("BODY", {})
    body_text = _text(body.get("text"))
    names = placeholders(body_text) or _example_names(body.get("example"))
    return {
        "meta_id": _text(item.get("id")),
        "name": name,
        "language": language,
        "category": _upper(item.get("category"), "UTILITY", TEMPLATE_CATEGORIES),
        "status": (_text(item.get("status")) or "PENDING").upper()[:32],
        "quality_score": _quality(item.get("quality_score")),
        "parameter_format": _format(item.get("parameter_format"), names),
        "parameters": names,
        "body_text": body_text,
        "header": _header(components.get("HEADER")),
        "footer_text": _text(components.get("FOOTER", {}).get("text")),
        "buttons": _buttons(components.get("BUTTONS")),
    }


def _text(value: Any) -> str | None:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _upper(value: Any, default: str, known: tuple[str, ...]) -> str:
    text = (_text(value) or "").upper()
    return text if text in known else default


def _components(value: Any) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for part in value if isinstance(value, list) else []:
        if isinstance(part, dict) and isinstance(part.get("type"), str):
            found.setdefault(part["type"].upper(), part)
    return found


def _example_names(example: Any) -> list[str]:
    """Named parameters listed only in the example (a body without its text)."""
    named = example.get("body_text_named_params") if isinstance(example, dict) else None
    names = [p.get("param_name") for p in named or [] if isinstance(p, dict)]
    return [n for n in names if isinstance(n, str) and n]


def _quality(value: Any) -> str | None:
    score = value.get("score") if isinstance(value, dict) else value
    text = (_text(score) or "").upper()
    return text if text in QUALITY_SCORES else None


def _format(value: Any, names: list[str]) -> str:
    said = (_text(value) or "").lower()
    if said in ("positional", "named"):
        return said
    return "positional" if all(name.isdigit() for name in names) else "named"


def _header(part: dict | None) -> dict | None:
    if not part:
        return None
    header: dict[str, Any] = {"format": (_text(part.get("format")) or "TEXT").upper()}
    if _text(part.get("text")):
        header["text"] = _text(part.get("text"))
        header["parameters"] = placeholders(header["text"])
    return header


def _buttons(part: dict | None) -> list | None:
    if not part or not isinstance(part.get("buttons"), list):
        return None
    buttons = []
    for button in part["buttons"]:
        if not isinstance(button, dict):
            continue
        kept = {key: _text(button.get(key)) for key in ("type", "text", "url", "phone_number")}
        kept = {key: value for key, value in kept.items() if value}
        kept["parameters"] = placeholders(kept.get("url"))
        buttons.append(kept)
    return buttons
