"""JSON API: A/B tests of a campaign's steps, their variants, start / pause / declare winner."""

from __future__ import annotations

from flask import Blueprint

from app.api.ab_tests_openapi import OPENAPI  # noqa: F401 - collected by create_app
from app.api.respond import BadJson, json_body, ok, paged, paging_args
from app.auth import current_actor, current_org_id
from app.drip import ab
from app.drip.scope import get_scoped
from app.extensions import db
from app.models import DripCampaign, utcnow

bp = Blueprint("api_ab_tests", __name__, url_prefix="/api/drip-campaigns")

NUMBER = (int, float)
# Body keys: (the domain's name, accepted JSON types, what the 400 says).
TEST_FIELDS = {
    "name": ("name", (str,), "a string"),
    "stepId": ("step_id", (int,), "an integer (a step id of this campaign)"),
    "winningMetric": ("winning_metric", (str,), "a string"),
    "confidenceThreshold": ("confidence_threshold", NUMBER, "a number, e.g. 0.95"),
    "minSampleSize": ("min_sample_size", (int,), "an integer"),
    "outcomeWindowHours": ("outcome_window_hours", (int,), "an integer"),
    "controlAllocation": ("control_allocation", NUMBER, "a number (percent)"),
    "plannedSampleSize": ("planned_sample_size", (int,), "an integer (sends per variant)"),
    "maxDurationDays": ("max_duration_days", (int,), "an integer (days)"),
}
# Settings a PATCH without an action changes.
SETTING_FIELDS = {k: TEST_FIELDS[k] for k in ("plannedSampleSize", "maxDurationDays")}
VARIANT_FIELDS = {
    "name": ("name", (str,), "a string"),
    "messageContent": ("message_content", (str,), "a string"),
    "trafficAllocation": ("traffic_allocation", NUMBER, "a number (percent)"),
}
ACTION_FIELDS = {
    "action": ("action", (str,), "a string: start, pause, declare_winner or reallocate"),
    "winnerId": ("winner_id", (int,), "an integer (a variant id of this test)"),
    "allocations": ("allocations", (list,), "a list of {variantId, trafficAllocation}"),
}


def fields_of(body: dict, spec: dict) -> dict:
    """The body's known keys under their domain names; a value of the wrong JSON type is a
    400 naming the field (null counts as not given)."""
    fields = {}
    for key, (name, types, kind) in spec.items():
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            raise BadJson(f"{key} must be {kind}.", {name: f"Must be {kind}."})
        fields[name] = value
    return fields


def allocations_of(items: list) -> dict[int, object]:
    shares = {}
    for item in items:
        variant_id = item.get("variantId") if isinstance(item, dict) else None
        share = item.get("trafficAllocation") if isinstance(item, dict) else None
        if (
            not isinstance(variant_id, int)
            or isinstance(variant_id, bool)
            or not isinstance(share, NUMBER)
            or isinstance(share, bool)
        ):
            raise BadJson(
                "allocations must be a list of {variantId: integer, trafficAllocation: number}.",
                {"allocations": "[{variantId, trafficAllocation}]"},
            )
        shares[variant_id] = share
    return shares


def _campaign(campaign_id: int) -> DripCampaign:
    return get_scoped(db.session, DripCampaign, current_org_id(), campaign_id)


def _test(campaign_id: int, test_id: int):
    return ab.get_test(db.session, current_org_id(), campaign_id, test_id)


def _one(test) -> dict:
    return ab.test_dict(ab.test_results(db.session, test, utcnow()))


def _variant_dict(test, variant_id: int) -> dict:
    results = ab.test_results(db.session, test, utcnow())
    return next(v for v in ab.variants_dict(results) if v["id"] == variant_id)


@bp.get("/<int:id>/ab-tests")
def list_tests(id: int):
    page, per_page = paging_args()
    tests, total = ab.list_tests(db.session, current_org_id(), id, page, per_page)
    results = ab.results_for(db.session, tests, utcnow())
    return paged([ab.test_dict(results[t.id]) for t in tests], total, page, per_page)


@bp.post("/<int:id>/ab-tests")
def create_test(id: int):
    campaign = _campaign(id)
    fields = fields_of(json_body(), TEST_FIELDS)
    test = ab.create_test(db.session, current_actor(), campaign, fields)
    db.session.commit()
    return ok(_one(test), status=201)


@bp.get("/<int:id>/ab-tests/<int:test_id>")
def get_test(id: int, test_id: int):
    return ok(_one(_test(id, test_id)))


@bp.patch("/<int:id>/ab-tests/<int:test_id>")
def change_test(id: int, test_id: int):
    test = _test(id, test_id)
    raw = json_body()
    body = fields_of(raw, ACTION_FIELDS) | fields_of(raw, SETTING_FIELDS)
    if "allocations" in body:
        body["allocations"] = allocations_of(body["allocations"])
    ab.apply_action(db.session, current_actor(), test, body, utcnow())
    db.session.commit()
    return ok(_one(test))


@bp.delete("/<int:id>/ab-tests/<int:test_id>")
def delete_test(id: int, test_id: int):
    ab.delete_test(db.session, current_actor(), _test(id, test_id))
    db.session.commit()
    return ok({"id": test_id, "deleted": True})


@bp.get("/<int:id>/ab-tests/<int:test_id>/variants")
def list_variants(id: int, test_id: int):
    test = _test(id, test_id)
    return ok(ab.variants_dict(ab.test_results(db.session, test, utcnow())))


@bp.post("/<int:id>/ab-tests/<int:test_id>/variants")
def add_variant(id: int, test_id: int):
    test = _test(id, test_id)
    fields = fields_of(json_body(), VARIANT_FIELDS)
    variant = ab.add_variant(db.session, current_actor(), test, fields)
    db.session.commit()
    return ok(_variant_dict(test, variant.id), status=201)


@bp.patch("/<int:id>/ab-tests/<int:test_id>/variants/<int:variant_id>")
def update_variant(id: int, test_id: int, variant_id: int):
    test = _test(id, test_id)
    variant = ab.get_variant(db.session, test, variant_id)
    fields = fields_of(json_body(), VARIANT_FIELDS)
    ab.update_variant(db.session, current_actor(), test, variant, fields)
    db.session.commit()
    return ok(_variant_dict(test, variant_id))


@bp.delete("/<int:id>/ab-tests/<int:test_id>/variants/<int:variant_id>")
def delete_variant(id: int, test_id: int, variant_id: int):
    test = _test(id, test_id)
    variant = ab.get_variant(db.session, test, variant_id)
    ab.delete_variant(db.session, current_actor(), test, variant)
    db.session.commit()
    return ok({"id": variant_id, "deleted": True})
