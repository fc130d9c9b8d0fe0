"""OpenAPI shapes of a campaign step (its text, its catalog template with parameters, header
and buttons, a text step's fallback template, its branch) and of the journey's graph, for
app/api/campaigns_openapi.py."""

from __future__ import annotations

from app.api.openapi import MESSAGE_TEXT, NULLABLE_INTEGER, NULLABLE_STRING, trimmed_text
from app.drip import enrollment, limits

TEMPLATE_PARAMETERS = {
    "type": "array",
    "description": "one text per parameter of the catalog template, in its order ({{1}}, {{2}} "
    "... or the names of a named template); each may use {{first_name|there}}, {{last_name}}, "
    "{{phone}}, {{attributes.KEY}} or be literal text",
    "items": {"type": "string", "maxLength": limits.TEMPLATE_PARAMETER_MAX},
    "maxItems": limits.TEMPLATE_PARAMETERS_MAX,
}
FALLBACK_TEMPLATE = {
    "type": "object",
    "description": "a text step's template for contacts whose 24-hour window is closed at send "
    "time: a usable catalog template with body parameters only (no header media, no button "
    "parameters); null removes it",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9_]{1,512}$"},
        "language": {"type": "string", "pattern": "^[a-z]{2,3}(_[A-Z]{2})?$", "example": "en_US"},
        "parameters": TEMPLATE_PARAMETERS,
    },
}
TEMPLATE = {
    "type": "object",
    "description": "a template of the organization's catalog (GET /api/templates), not "
    "REJECTED, DISABLED or deleted (PAUSED and PENDING are accepted: the step holds until "
    "Meta approves it), with exactly its parameters; otherwise 422 naming template.name, "
    "template.language, template.parameters, template.header or template.buttons",
    "required": ["name"],
    "properties": {
        **FALLBACK_TEMPLATE["properties"],
        "header": {
            "type": "string",
            "nullable": True,
            "maxLength": limits.TEMPLATE_HEADER_MAX,
            "description": "the header's parameter: an https link for an IMAGE, VIDEO or "
            "DOCUMENT header, the text for a TEXT header with a variable; null otherwise",
        },
        "buttons": {
            "type": "array",
            "description": "one text per URL button whose url has a variable, in button order",
            "items": {"type": "string", "maxLength": limits.TEMPLATE_PARAMETER_MAX},
            "maxItems": limits.TEMPLATE_BUTTONS_MAX,
        },
    },
}
GO_TO = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "description": "a later live step of this campaign"},
        {"type": "string", "enum": [enrollment.END], "description": "the end of the journey"},
    ]
}
BRANCH = {
    "type": "object",
    "nullable": True,
    "description": "what the step waits for once sent, and where each outcome leads: the "
    "first of the conditions' events to happen within the wait wins (a tie goes to the one "
    "listed first; a reply also counts as read), else onTimeout when the wait runs out. "
    "goTo and onTimeout name a later step of this campaign (never this step or an earlier "
    "one; another organization's step is a 404) or end. replied needs stopOnReply off, "
    "clicked needs trackLinks on, goal needs the campaign's goal with exitOnGoal off. null "
    "removes the branch. Problems are a 422 naming branch.waitAmount, "
    "branch.conditions.0.goTo ...",
    "required": ["waitAmount", "conditions"],
    "additionalProperties": False,
    "properties": {
        "waitAmount": {
            "type": "integer",
            "minimum": 1,
            "maximum": enrollment.MAX_WAIT["minutes"],
            "description": "how long to wait: at most 30 days ("
            + ", ".join(f"{n:,} {unit}" for unit, n in enrollment.MAX_WAIT.items())
            + ")",
        },
        "waitUnit": {"type": "string", "enum": list(enrollment.MAX_WAIT), "default": "days"},
        "conditions": {
            "type": "array",
            "minItems": 1,
            "maxItems": enrollment.MAX_CONDITIONS,
            "description": "each event at most once, in the order they are judged",
            "items": {
                "type": "object",
                "required": ["event", "goTo"],
                "properties": {
                    "event": {"type": "string", "enum": list(enrollment.EVENTS)},
                    "goTo": GO_TO,
                },
            },
        },
        "onTimeout": {
            "oneOf": [
                GO_TO["oneOf"][0],
                {
                    "type": "string",
                    "enum": [enrollment.END, enrollment.NEXT],
                    "description": "end: the end of the journey; next: the next step in order",
                },
            ],
            "default": enrollment.NEXT,
        },
    },
    "example": {
        "waitAmount": 2,
        "waitUnit": "days",
        "conditions": [{"event": "replied", "goTo": "end"}, {"event": "read", "goTo": 12}],
        "onTimeout": "next",
    },
}
STEP_INPUT = {
    "type": "object",
    "description": "a text step has messageContent, a template step a template: never both",
    "properties": {
        "name": trimmed_text(limits.NAME_MAX),
        "delayAmount": {"type": "integer", "minimum": 0},
        "delayUnit": {"type": "string", "enum": ["minutes", "hours", "days"]},
        "messageType": {"type": "string", "enum": ["text", "template"]},
        "messageContent": MESSAGE_TEXT,
        "template": TEMPLATE,
        "fallbackTemplate": {**FALLBACK_TEMPLATE, "nullable": True},
        "branch": BRANCH,
        "position": {"type": "integer", "minimum": 1},
    },
    "example": {
        "name": "Day 2 tips",
        "delayAmount": 1,
        "delayUnit": "days",
        "messageContent": "Hi {{first_name|there}}, here are three tips for your first week.",
    },
}
STEP = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "campaignId": {"type": "integer"},
        "position": {"type": "integer"},
        "name": {"type": "string"},
        "delayAmount": {"type": "integer"},
        "delayUnit": {"type": "string"},
        "messageType": {"type": "string"},
        "messageContent": NULLABLE_STRING,
        "template": {**TEMPLATE, "nullable": True},
        "fallbackTemplate": {**FALLBACK_TEMPLATE, "nullable": True},
        "branch": BRANCH,
    },
}

GRAPH = {
    "type": "object",
    "description": "the journey (one campaign's answer only, not the list's): where each live "
    "step leads, the steps no path reaches, and the warnings activation gives",
    "properties": {
        "edges": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "fromStepId": {"type": "integer"},
                    "toStepId": {**NULLABLE_INTEGER, "description": "null: the end"},
                    "via": {
                        "type": "string",
                        "description": "next (in order, or a branch's default timeout), "
                        "timeout, or the branch's event: read, replied, clicked, goal",
                    },
                },
            },
        },
        "unreachableStepIds": {"type": "array", "items": {"type": "integer"}},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}


PREVIEW = {
    "type": "object",
    "properties": {
        "text": NULLABLE_STRING,
        "template": {
            "type": "object",
            "nullable": True,
            "description": "a template step's parts as WhatsApp shows them: header (text), "
            "media {format, link}, body, footer, buttons [{type, text, url}]",
        },
        "fallback": {
            **NULLABLE_STRING,
            "description": "a text step's fallback template, rendered",
        },
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        "contact": {"type": "object"},
        "warning": NULLABLE_STRING,
        "length": {
            "type": "object",
            "description": "a text step's length in characters: as typed, as this contact "
            "reads it, and with the longest value of each variable among the contacts (or its "
            "fallback, if longer); limit is WhatsApp's. Null numbers for a template step.",
            "properties": {
                "typed": NULLABLE_INTEGER,
                "characters": NULLABLE_INTEGER,
                "longest": NULLABLE_INTEGER,
                "limit": {"type": "integer"},
            },
        },
        "audience": {
            "type": "object",
            "description": "whom the counts are over: scope enrolled (the campaign's waiting "
            "enrollments, when it has some) or all (the contacts who have not opted out)",
            "properties": {
                "scope": {"type": "string", "enum": ["enrolled", "all"]},
                "total": {"type": "integer"},
            },
        },
        "missing": {
            "type": "array",
            "description": "variables the message uses that some of those contacts lack",
            "items": {
                "type": "object",
                "properties": {
                    "variable": {"type": "string"},
                    "missing": {"type": "integer"},
                    "total": {"type": "integer"},
                    "fallback": NULLABLE_STRING,
                    "text": {"type": "string"},
                },
            },
        },
    },
}


# The preview renders whatever the editor holds: problems with the step's fields come back in
# the answer's `errors` (200), as the editor shows them, so those fields are not constrained here.
PREVIEW_INPUT = {
    "type": "object",
    "description": "the fields of a step (see adding a step); their problems are answered in "
    "errors, not as a 422",
    "properties": {
        **{
            name: {"description": f"as {name} of a step"}
            for name in STEP_INPUT["properties"]
            if name not in ("position", "branch")
        },
        "contactId": {
            **NULLABLE_INTEGER,
            "description": "render for this contact; null: a sample contact",
        },
    },
    "example": {"messageContent": "Hi {{first_name|there}}!", "contactId": 1},
}
