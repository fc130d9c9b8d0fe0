"""Meta's `components` of a template send, built from the catalog's template and the step's
rendered values. Pure.

- body: one text parameter per entry of the template's `parameters`, in order; a named
  template's carry `parameter_name` (Meta's field for `{{name}}` placeholders).
- header: the step's one header value: a media link for IMAGE / VIDEO / DOCUMENT headers, the
  text for a TEXT header with a placeholder.
- buttons: one per URL button whose url has a placeholder, with the button's index in the
  template (Meta counts every button) and the step's values in button order.

A template without parameters anywhere gets no components (Meta's shape for a plain send).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}


def build_components(
    template: Any,
    parameters: Sequence[str] = (),
    header: str | None = None,
    buttons: Sequence[str] = (),
) -> list[dict]:
    """`template` is a catalog row (or anything with parameter_format, parameters, header,
    buttons); the values are already rendered for the contact."""
    named = (template.parameter_format or "positional") == "named"
    components: list[dict] = []
    header_part = _header(template.header, header, named)
    if header_part is not None:
        components.append(header_part)
    if parameters:
        names = list(template.parameters or [])
        values = [
            _text(value, names[i] if named and i < len(names) else None)
            for i, value in enumerate(parameters)
        ]
        components.append({"type": "body", "parameters": values})
    components.extend(_buttons(template.buttons, buttons))
    return components


def _text(value: str, name: str | None = None) -> dict:
    parameter = {"type": "text", "text": str(value)}
    if name:
        parameter["parameter_name"] = name
    return parameter


def _header(spec: dict | None, value: str | None, named: bool) -> dict | None:
    if not spec or not value:
        return None
    fmt = str(spec.get("format") or "TEXT").upper()
    if fmt in MEDIA_FORMATS:
        kind = MEDIA_FORMATS[fmt]
        parameter = {"type": kind, kind: {"link": value}}
    elif fmt == "TEXT" and spec.get("parameters"):
        name = spec["parameters"][0] if named else None
        parameter = _text(value, name)
    else:
        return None
    return {"type": "header", "parameters": [parameter]}


def _buttons(specs: list | None, values: Sequence[str]) -> list[dict]:
    parts = []
    remaining = list(values)
    for index, button in enumerate(specs or []):
        if not remaining:
            break
        if str(button.get("type") or "").upper() != "URL" or not button.get("parameters"):
            continue
        parts.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": str(index),
                "parameters": [{"type": "text", "text": str(remaining.pop(0))}],
            }
        )
    return parts
