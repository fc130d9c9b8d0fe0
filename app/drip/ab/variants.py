"""A test's variants: add, change, remove, and allocation edits of a running test.

Allocations are percents with two decimals, each above 0; a test's never add up to more
than 100 (a variant that would exceed it is refused naming the share left) and a test starts
only when they add up to exactly 100. Variants are added, changed and removed while the test
is a draft; the control, the step's own message, is never removed. A running or paused test
takes new allocations all at once (reallocate): they must still add up to 100, and they
start a new analysis phase, since contacts assigned before the change were split otherwise.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip.campaigns import ensure_editable, text_errors
from app.drip.errors import Conflict, NotFound, ValidationError
from app.drip.limits import NAME_MAX, VARIANTS_PER_TEST_MAX
from app.drip.scope import get_scoped
from app.models import DripAbTest, DripAbVariant, DripCampaign

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def shown_percent(value: Decimal) -> str:
    """30.00 -> "30", 33.50 -> "33.5"."""
    return format(value.normalize(), "f")


def allocation(value, field: str = "traffic_allocation") -> Decimal:
    """A percent above 0 and at most 100, with at most two decimals, or ValidationError."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        raise ValidationError("The allocation must be a number.", {field: "A percent, e.g. 50."})
    if number <= 0 or number > HUNDRED:
        raise ValidationError(
            "The allocation must be above 0% and at most 100%.", {field: "From 0.01 to 100."}
        )
    if number != number.quantize(CENT):
        raise ValidationError(
            "The allocation has at most two decimals.", {field: "e.g. 33.33, not 33.333."}
        )
    return number.quantize(CENT)


def variants_of(session: Session, test: DripAbTest) -> list[DripAbVariant]:
    return list(
        session.scalars(
            select(DripAbVariant).where(DripAbVariant.test_id == test.id).order_by(DripAbVariant.id)
        )
    )


def get_variant(session: Session, test: DripAbTest, variant_id: int) -> DripAbVariant:
    variant = get_scoped(session, DripAbVariant, test.organization_id, variant_id)
    if variant.test_id != test.id:
        raise NotFound(f"Variant {variant_id} not found in this test.")
    return variant


def ensure_changeable(session: Session, test: DripAbTest) -> None:
    ensure_editable(session.get(DripCampaign, test.campaign_id))
    if test.status == "completed":
        raise Conflict("This test is completed: its variants can no longer change.")


def _ensure_draft(session: Session, test: DripAbTest, what: str) -> None:
    ensure_changeable(session, test)
    if test.status != "draft":
        raise Conflict(
            f"{what} only while the test is a draft (it is {test.status}). To move traffic "
            "between the variants of a started test, PATCH the test with "
            '{"action": "reallocate", "allocations": [{"variantId", "trafficAllocation"}]}.'
        )


def _left_error(left: Decimal) -> ValidationError:
    message = f"Only {shown_percent(left)}% of traffic is left"
    hint = "lower another variant's allocation first" if left <= 0 else "allocate at most that"
    return ValidationError(f"{message}: {hint}.", {"traffic_allocation": f"{message}."})


def _name(value, taken: set[str]) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ValidationError("Give the variant a name.", {"name": "Required."})
    if len(name) > NAME_MAX:
        raise ValidationError("The name is too long.", {"name": f"At most {NAME_MAX} characters."})
    if name.casefold() in taken:
        raise ValidationError(
            f"This test already has a variant called {name}.", {"name": "Pick another name."}
        )
    return name


def _content(value) -> str:
    problems = text_errors(value if isinstance(value, str) else None)
    if problems:
        raise ValidationError(
            "The message needs attention.", {"message_content": " ".join(problems)}
        )
    return value


def add_variant(session: Session, test: DripAbTest, fields: dict) -> DripAbVariant:
    """A new variant of a draft test; without an allocation it takes the share left."""
    _ensure_draft(session, test, "Variants can be added")
    variants = variants_of(session, test)
    if len(variants) >= VARIANTS_PER_TEST_MAX:
        # Each variant splits the traffic further: past a handful none reaches a verdict.
        raise ValidationError(
            f"A test has at most {VARIANTS_PER_TEST_MAX} variants, the control included.",
            {"variants": f"At most {VARIANTS_PER_TEST_MAX}, the control included."},
        )
    left = HUNDRED - sum((v.traffic_allocation for v in variants), Decimal(0))
    name = _name(fields.get("name"), {v.name.casefold() for v in variants})
    content = _content(fields.get("message_content"))
    if fields.get("traffic_allocation") is None:
        if left <= 0:
            raise _left_error(left)
        share = left
    else:
        share = allocation(fields["traffic_allocation"])
        if share > left:
            raise _left_error(left)
    variant = DripAbVariant(
        organization_id=test.organization_id,
        test_id=test.id,
        name=name,
        message_content=content,
        traffic_allocation=share,
        is_control=False,
    )
    session.add(variant)
    session.flush()
    return variant


def update_variant(
    session: Session, test: DripAbTest, variant: DripAbVariant, fields: dict
) -> DripAbVariant:
    """Change a draft test's variant: name, message, allocation."""
    _ensure_draft(session, test, "Variants can be changed")
    others = [v for v in variants_of(session, test) if v.id != variant.id]
    if "name" in fields:
        variant.name = _name(fields["name"], {v.name.casefold() for v in others})
    if "message_content" in fields:
        variant.message_content = _content(fields["message_content"])
    if "traffic_allocation" in fields:
        share = allocation(fields["traffic_allocation"])
        left = HUNDRED - sum((v.traffic_allocation for v in others), Decimal(0))
        if share > left:
            raise _left_error(left)
        variant.traffic_allocation = share
    session.flush()
    return variant


def delete_variant(session: Session, test: DripAbTest, variant: DripAbVariant) -> None:
    _ensure_draft(session, test, "Variants can be removed")
    if variant.is_control:
        raise Conflict("The control cannot be removed: it is the step's own message.")
    session.delete(variant)
    session.flush()


def check_startable(variants: list[DripAbVariant]) -> None:
    """Starting needs a control, a challenger, messages and allocations adding up to 100."""
    if len(variants) < 2:
        raise ValidationError(
            "Add at least one variant besides the control before starting.",
            {"variants": "A control and at least one variant."},
        )
    total = sum((v.traffic_allocation for v in variants), Decimal(0))
    if total != HUNDRED:
        raise ValidationError(
            f"The allocations add up to {shown_percent(total)}%; they must add up to exactly "
            "100% to start.",
            {"traffic_allocation": f"Now {shown_percent(total)}%, must be 100%."},
        )
    for variant in variants:
        if text_errors(variant.message_content):
            raise ValidationError(
                f"Variant {variant.name} has no valid message.",
                {"message_content": f"Fix the message of {variant.name}."},
            )


def reallocate(
    session: Session, test: DripAbTest, shares: dict[int, object], now: datetime
) -> list[DripAbVariant]:
    """New allocations for some or all variants, at once. On a started test they must add up
    to exactly 100, and a change starts a new analysis phase; a draft takes any split up to
    100."""
    ensure_changeable(session, test)
    variants = variants_of(session, test)
    by_id = {v.id: v for v in variants}
    unknown = sorted(set(shares) - set(by_id))
    if unknown:
        raise ValidationError(
            f"Variant {unknown[0]} is not a variant of this test.",
            {"allocations": f"Variants of this test: {sorted(by_id)}."},
        )
    new = {i: allocation(s, "allocations") for i, s in shares.items()}
    total = sum((new.get(v.id, v.traffic_allocation) for v in variants), Decimal(0))
    started = test.status != "draft"
    if (started and total != HUNDRED) or total > HUNDRED:
        raise ValidationError(
            f"The allocations would add up to {shown_percent(total)}%; a "
            f"{'started' if started else 'draft'} test needs "
            f"{'exactly' if started else 'at most'} 100%.",
            {"allocations": f"Now {shown_percent(total)}%."},
        )
    changed = [v for v in variants if v.id in new and new[v.id] != v.traffic_allocation]
    for variant in changed:
        variant.traffic_allocation = new[variant.id]
    if changed and started:
        test.phase += 1
        test.phase_started_at = now
    session.flush()
    return variants
