"""How much a client may send: every limit on a list or a text, in one place.

The domain's checks, the HTML forms' validators and the OpenAPI document read these same
numbers, so a page, the JSON API and the contract never disagree. Without them a client could
send millions of ids or megabytes of text in one request (found by a security review: 6
million contactIds held a worker for 34 s; a 20 MB description was copied into the audit log
on every edit). Text limits match the columns that hold the values: a longer value must be a
422, never reach the database (PostgreSQL refuses it: a 500).
"""

from __future__ import annotations

# A JSON request body, whole (bytes). The CSV import has its own, larger limit
# (MAX_CONTENT_LENGTH in app/config.py); the webhook its own 1 MiB.
JSON_BODY_MAX = 1024 * 1024

# Names of campaigns, steps, A/B tests and variants (String(200) columns).
NAME_MAX = 200
# A campaign's description (a Text column: the limit is ours).
DESCRIPTION_MAX = 5_000
# The keyword of a keyword trigger, and each of an organization's opt-out keywords: one word
# or a short phrase a contact types.
KEYWORD_MAX = 100
OPT_OUT_KEYWORDS_MAX = 50

# Contacts (String(120) names, String(64) tag names and time zones).
CONTACT_NAME_MAX = 120
TAG_MAX = 64
TAGS_PER_CONTACT_MAX = 100
ATTRIBUTES_MAX = 100
ATTRIBUTE_KEY_MAX = 64
ATTRIBUTE_VALUE_MAX = 1_000

# One enroll request: larger audiences go by tag or search, which enroll set-based.
ENROLL_IDS_MAX = 10_000
# The text of an enroll search ({q, tag}): the contact search compares it with names.
SEARCH_TEXT_MAX = 200
# Enrollments chosen by id for one bulk pause / resume / stop: more go by a filter.
BULK_IDS_MAX = 1_000

# A template step's body parameters ({{1}} ... {{10}}), each at most this long. There is no
# template catalog yet to say how many a template takes, so this is the ceiling for all.
TEMPLATE_PARAMETERS_MAX = 10
TEMPLATE_PARAMETER_MAX = 1_024
# A template step's header parameter (a media https link, or a header text with a variable)
# and its URL-button parameters (Meta allows at most 10 buttons on a template).
TEMPLATE_HEADER_MAX = 2_048
TEMPLATE_BUTTONS_MAX = 10

# Variants of one A/B test, the control included: each must reach enough contacts to tell.
VARIANTS_PER_TEST_MAX = 10
