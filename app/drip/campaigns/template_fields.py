"""A step's template (or a text step's fallback template) checked against the organization's
catalog before it is saved, so Meta never answers 132000 (parameter count mismatch) or
132001 (template does not exist) for a step Drip accepted.

check_template(session, organization_id, template, errors, prefix=...) -> the values to store
({name, language, parameters, header, buttons}), with problems added to `errors` under
"<prefix>.name", ".language", ".parameters", ".header", ".buttons". PAUSED and PENDING
templates are accepted (the send holds until Meta approves them again); REJECTED and DISABLED
ones, deleted ones and rows a webhook made before any sync are refused."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from app.drip.campaigns.template_preview import (
    MEDIA_HEADERS,
    header_format,
    header_needs_parameter,
    url_buttons,
)
from app.drip.campaigns.templating import variable_errors
from app.drip.limits import (
    TEMPLATE_BUTTONS_MAX,
    TEMPLATE_HEADER_MAX,
    TEMPLATE_PARAMETER_MAX,
    TEMPLATE_PARAMETERS_MAX,
)
from app.drip.templates import REFUSED_AT_SAVE, ensure_sandbox_catalog, find_template
from app.models import WhatsAppTemplate, utcnow

# \Z, not $: Python's $ also matches before a final newline, so "welcome\n" passed the check
# (the OpenAPI document's pattern, read as ECMA, refuses it).
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}\Z")
TEMPLATE_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?\Z")
# A catalog row a webhook made before the sync filled it in (app.drip.templates.updates).
NOT_SYNCED = ("UNKNOWN", "DELETED")


def check_template(
    session: Session,
    organization_id: int,
    template,
    errors: dict,
    *,
    prefix: str = "template",
    fallback: bool = False,
) -> dict:
    """The values of a valid template; problems are added to `errors`."""
    shape = "{name, language, parameters}" + ("" if fallback else ", header, buttons")
    if not isinstance(template, dict):
        errors[prefix] = f"An approved template of the catalog: {shape}."
        return {}
    name, language = template.get("name"), template.get("language") or "en_US"
    parameters = template.get("parameters") or []
    header, buttons = template.get("header") or None, template.get("buttons") or []
    found = len(errors)
    if not isinstance(name, str) or not TEMPLATE_NAME.match(name):
        errors[f"{prefix}.name"] = "Pick a template from the list (a-z, 0-9, _)."
    if not isinstance(language, str) or not TEMPLATE_LANGUAGE.match(language):
        errors[f"{prefix}.language"] = "A language code such as en or en_US."
    _texts(parameters, TEMPLATE_PARAMETERS_MAX, f"{prefix}.parameters", "Parameter", errors)
    if fallback and (header is not None or buttons):
        key = f"{prefix}.header" if header is not None else f"{prefix}.buttons"
        errors[key] = "A fallback template takes body parameters only."
    if not fallback:
        if header is not None and (
            not isinstance(header, str) or len(header) > TEMPLATE_HEADER_MAX
        ):
            errors[f"{prefix}.header"] = (
                f"A text or an https link, at most {TEMPLATE_HEADER_MAX} characters."
            )
        _texts(buttons, TEMPLATE_BUTTONS_MAX, f"{prefix}.buttons", "Button", errors)
    values = {
        "name": name,
        "language": language,
        "parameters": parameters,
        "header": header,
        "buttons": buttons or None,
    }
    if len(errors) == found:
        # A sandbox organization that never synced gets the built-in catalog first.
        ensure_sandbox_catalog(session, organization_id, utcnow())
        row = find_template(session, organization_id, name, language)
        _against_catalog(row, values, errors, prefix, fallback)
    return values


def _texts(items, most: int, key: str, what: str, errors: dict) -> None:
    if isinstance(items, list) and len(items) > most:
        errors[key] = f"At most {most} {what.lower()} parameters."
        return
    if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
        errors[key] = f"A list of texts, one per {what.lower()} parameter of the template."
        return
    for index, item in enumerate(items, start=1):
        problems = _text_problems(item)
        if problems:
            errors[key] = f"{what} {index}: " + "; ".join(problems)
            return


def _text_problems(text: str) -> list[str]:
    problems = variable_errors(text)
    if not text.strip():
        problems.append("is empty")
    if len(text) > TEMPLATE_PARAMETER_MAX:
        problems.append(f"is over {TEMPLATE_PARAMETER_MAX} characters")
    return problems


def _against_catalog(
    row: WhatsAppTemplate | None, values: dict, errors: dict, prefix: str, fallback: bool
) -> None:
    name, language = values["name"], values["language"]
    if row is None or row.status in NOT_SYNCED:
        errors[f"{prefix}.name"] = (
            f"No approved template named {name} in {language}: sync templates or pick one "
            "from the list."
        )
        return
    if row.deleted_at is not None:
        errors[f"{prefix}.name"] = (
            f"The template {name} ({language}) was deleted in WhatsApp Manager: pick another one."
        )
        return
    if row.status in REFUSED_AT_SAVE:
        reason = f" ({row.reason})" if row.reason else ""
        errors[f"{prefix}.name"] = (
            f"The template {name} ({language}) is {row.status} at Meta{reason}: Meta will not "
            "send it; pick another one."
        )
        return
    expected = list(row.parameters or [])
    if len(values["parameters"]) != len(expected):
        listed = ", ".join("{{" + p + "}}" for p in expected) or "none"
        errors[f"{prefix}.parameters"] = (
            f"{name} takes {len(expected)} parameter{'s' if len(expected) != 1 else ''} "
            f"({listed}); {len(values['parameters'])} given."
        )
    if fallback:
        _fallback_shape(row, errors, prefix)
    else:
        _header(row, values["header"], errors, prefix)
        _buttons(row, values["buttons"] or [], errors, prefix)


def _fallback_shape(row: WhatsAppTemplate, errors: dict, prefix: str) -> None:
    needs = []
    if header_needs_parameter(row):
        fmt = header_format(row)
        needs.append(f"a header {fmt.lower() if fmt in MEDIA_HEADERS else 'text'}")
    if url_buttons(row):
        needs.append("button parameters")
    if needs:
        errors[f"{prefix}.name"] = (
            f"{row.name} needs {' and '.join(needs)}; a fallback template sends body parameters "
            "only: pick one without them."
        )


def _header(row: WhatsAppTemplate, header: str | None, errors: dict, prefix: str) -> None:
    fmt = header_format(row)
    key = f"{prefix}.header"
    if fmt in MEDIA_HEADERS:
        if not header or not _https_link(header):
            errors[key] = (
                f"{row.name} has a {fmt.lower()} header: give its https link "
                "(https://example.com/file)."
            )
    elif fmt == "LOCATION":
        errors[key] = f"{row.name} has a location header, which Drip cannot send yet."
    elif header_needs_parameter(row):
        if not header or not header.strip():
            errors[key] = f"{row.name}'s header has a variable: give its text."
        elif variable_errors(header):
            errors[key] = " ".join(variable_errors(header))
    elif header is not None:
        errors[key] = f"{row.name}'s header takes no parameter: leave it empty."


def _https_link(text: str) -> bool:
    if any(c.isspace() for c in text):
        return False
    parts = urlsplit(text)
    return parts.scheme == "https" and bool(parts.hostname)


def _buttons(row: WhatsAppTemplate, buttons: list[str], errors: dict, prefix: str) -> None:
    expected = url_buttons(row)
    if len(buttons) != len(expected):
        labels = ", ".join(f"“{b.get('text') or 'URL'}”" for b in expected) or "none"
        errors[f"{prefix}.buttons"] = (
            f"{row.name} has {len(expected)} URL button{'s' if len(expected) != 1 else ''} "
            f"with a variable ({labels}); {len(buttons)} parameter"
            f"{'s' if len(buttons) != 1 else ''} given."
        )
