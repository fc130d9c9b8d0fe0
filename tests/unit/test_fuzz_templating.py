"""Hypothesis fuzzing of the message renderer (app/drip/templating.py).

- Any text, valid or not, with any contact values: text_errors() answers a list of messages and
  render() a string; nothing raises (render used to raise AttributeError on {{x}}).
- Rendering is modelled: a template built from literal text and variables renders to the
  literal text with each variable replaced by the contact's value, or else its trimmed
  fallback, or else nothing. A contact's own text is inserted as written, never read as
  variables again (no template injection), and a variable that is not documented renders its
  fallback, never the renderer's internals ({{lookup}} used to print the contact object).
- The output is plain text: HTML escaping is the page's job (tests/integration/
  test_preview_escaping.py); the renderer leaves <, & and quotes as the contact wrote them.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.drip.campaigns.templating import (
    CONTACT_FIELDS,
    ContactValues,
    is_known_variable,
    render,
    text_errors,
    variable_errors,
)

NASTY = ["{{first_name}}", "{{phone|x}}", "}}", "{{", "<b>&amp;</b>", "\"'", "\x00", "é\u0301"]
VALUE = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=20),
    st.sampled_from(NASTY),
    st.text(st.characters(codec=None, categories=None), max_size=10),
)
ATTRIBUTE_KEYS = st.from_regex(r"[A-Za-z0-9_\-]{1,12}", fullmatch=True)
ATTRIBUTE_VALUE = VALUE | st.integers() | st.floats() | st.booleans()
CONTACTS = st.builds(
    ContactValues,
    first_name=VALUE,
    last_name=VALUE,
    phone=VALUE,
    attributes=st.dictionaries(ATTRIBUTE_KEYS | st.text(max_size=8), ATTRIBUTE_VALUE, max_size=4),
)
BRACEY_TEXT = st.lists(
    st.sampled_from([*"{}| ._-aZ9\n", "first_name", "attributes.", "{{", "}}"]), max_size=30
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), BRACEY_TEXT), CONTACTS)
def test_any_text_validates_and_renders_without_raising(text, contact):
    errors = text_errors(text)
    assert isinstance(errors, list) and all(isinstance(e, str) and e for e in errors)
    rendered = render(text, contact)
    assert isinstance(rendered, str)
    assert "ContactValues" not in rendered and "bound method" not in rendered
    written = [contact.first_name, contact.last_name, contact.phone, *contact.attributes.values()]
    if not variable_errors(text) and not any("{" in str(v) or "}" in str(v) for v in written):
        # A valid text leaves no variable syntax, unless a contact wrote braces themselves.
        assert "{{" not in rendered


# --- the model -------------------------------------------------------------------------------

KNOWN_NAMES = st.sampled_from(CONTACT_FIELDS) | ATTRIBUTE_KEYS.map("attributes.{}".format)
ANY_NAME = KNOWN_NAMES | st.sampled_from(["", "x", "lookup", "__class__", "attributes", "phone2"])
LITERAL = st.text(st.characters(exclude_characters="{}"), max_size=15)
SPACES = st.sampled_from(["", " ", "  ", "\t"])
FALLBACK = st.none() | st.text(st.characters(exclude_characters="{}"), max_size=12)


@st.composite
def variables(draw, names=ANY_NAME):
    name = draw(names)
    fallback = draw(FALLBACK)
    before, after = draw(SPACES), draw(SPACES)
    if fallback is not None and "|" in name:
        fallback = None
    source = "{{" + before + name + after + ("" if fallback is None else "|" + fallback) + "}}"
    return source, name, fallback


def expected_value(contact: ContactValues, name: str, fallback: str | None) -> str:
    value = None
    if name in CONTACT_FIELDS:
        value = getattr(contact, name)
    elif is_known_variable(name):
        value = contact.attributes.get(name.removeprefix("attributes."))
    if value is not None and value != "":
        return str(value)
    return (fallback or "").strip()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(LITERAL, variables()), max_size=6), LITERAL, CONTACTS)
def test_rendering_follows_the_model(pieces, tail, contact):
    template = "".join(literal + source for literal, (source, _, _) in pieces) + tail
    expected = (
        "".join(
            literal + expected_value(contact, name, fallback)
            for literal, (_, name, fallback) in pieces
        )
        + tail
    )
    assert render(template, contact) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(LITERAL, variables(KNOWN_NAMES)), min_size=1, max_size=5), CONTACTS)
def test_templates_of_known_variables_are_valid(pieces, contact):
    template = "".join(literal + source for literal, (source, _, _) in pieces)
    assert variable_errors(template) == []
    assert isinstance(render(template, contact), str)


@settings(max_examples=200, deadline=None)
@given(LITERAL, st.sampled_from(["{{first_name", "first_name}}", "{{ {{phone}}", "{{a{b}}"]))
def test_stray_braces_are_reported(literal, broken):
    errors = variable_errors(literal + broken)
    assert errors, literal + broken
