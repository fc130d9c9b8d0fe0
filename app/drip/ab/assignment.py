"""Which variant a contact gets: deterministic, sticky, and read a batch at a time.

A contact's point in [0, 1) is a salted SHA-256 of (test id, contact id); the variants, in id
order, split [0, 1) by cumulative allocation, and the point picks one. The same contact
always lands on the same point, so the first assignment is what any later one would be under
the same allocation; it is stored once (unique test + contact, inserted if absent) and never
changes, so an allocation edit only moves contacts not assigned yet.

The processor asks for a whole batch at once (variants_for_batch): one query for the tests of
the batch's steps and their variants, one for the assignments already made, one insert of the
new ones. Which tests assign:
- running: existing assignments, and new ones for contacts not assigned yet;
- paused: existing assignments only; everyone else gets the step's own message;
- draft and completed: none (a completed test's winner is the step's message by then).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.drip.sql import id_in, insert_many_once
from app.models import DripAbTest, DripAbVariant, DripVariantAssignment, utcnow

# Fixed forever: changing it would move every contact not yet assigned to another variant.
SALT = "drip-ab-v1"
SCALE = 1 << 64
ASSIGNING = ("running", "paused")


def hash_point(test_id: int, contact_id: int) -> int:
    """The contact's point in a test as an integer in [0, 2**64): [0, 1) scaled by 2**64."""
    digest = hashlib.sha256(f"{SALT}:{test_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def unit_point(test_id: int, contact_id: int) -> float:
    """The contact's point in [0, 1) (for display and tests; picking uses exact integers)."""
    return hash_point(test_id, contact_id) / SCALE


def pick(point: int, allocations: Sequence[tuple[int, Decimal | float | int]]) -> int | None:
    """The id whose share of [0, 2**64) holds point; allocations are (id, percent) pairs in
    the order that splits the line (ids ascending). Exact: percents count in hundredths. None
    when nothing has a positive allocation."""
    weights = [(key, round(Decimal(str(share)) * 100)) for key, share in allocations]
    total = sum(w for _, w in weights if w > 0)
    if total <= 0:
        return None
    # point / 2**64 < cumulative / total, without floats.
    target, cumulative = point * total, 0
    for key, weight in weights:
        if weight <= 0:
            continue
        cumulative += weight
        if target < cumulative * SCALE:
            return key
    return weights[-1][0]  # unreachable: point < 2**64


def assign_variant(
    test_id: int, contact_id: int, allocations: Sequence[tuple[int, Decimal | float | int]]
) -> int | None:
    """The variant id a contact not yet assigned gets under these allocations."""
    return pick(hash_point(test_id, contact_id), sorted(allocations, key=lambda a: a[0]))


def variants_for_batch(
    session: Session, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], tuple[int, str]]:
    """{(step id, contact id): (variant id, message text)} for the pairs whose step has a
    running or paused test that assigns them; pairs missing from the answer get the step's
    own message. Assigns contacts of running tests that have no assignment yet."""
    pairs = set(pairs)
    if not pairs:
        return {}
    tests = _assigning_tests(session, {step for step, _ in pairs})
    if not tests:
        return {}
    by_id = {t.id: t for t in tests.values()}
    variants = _variants_of(session, list(by_id))
    wanted = {(tests[step].id, contact) for step, contact in pairs if step in tests}
    chosen = _existing(session, wanted)
    fresh = [key for key in wanted - chosen.keys() if by_id[key[0]].status == "running"]
    chosen.update(_assign(session, by_id, variants, fresh))
    answer = {}
    for step, contact in pairs:
        test = tests.get(step)
        variant_id = chosen.get((test.id, contact)) if test is not None else None
        if variant_id is not None:
            answer[(step, contact)] = (variant_id, variants[variant_id].message_content or "")
    return answer


def _assigning_tests(session: Session, step_ids: set[int]) -> dict[int, DripAbTest]:
    """The running (else paused) test of each step; the API keeps one of them per step."""
    rows = session.scalars(
        select(DripAbTest)
        .where(DripAbTest.step_id.in_(list(step_ids)), DripAbTest.status.in_(ASSIGNING))
        .order_by(DripAbTest.id)
    )
    tests: dict[int, DripAbTest] = {}
    for test in rows:
        current = tests.get(test.step_id)
        if current is None or (current.status != "running" and test.status == "running"):
            tests[test.step_id] = test
    return tests


def _variants_of(session: Session, test_ids: list[int]) -> dict[int, DripAbVariant]:
    rows = session.scalars(
        select(DripAbVariant).where(DripAbVariant.test_id.in_(test_ids)).order_by(DripAbVariant.id)
    )
    return {v.id: v for v in rows}


def _existing(session: Session, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    if not wanted:
        return {}
    a = DripVariantAssignment
    test_ids = {test for test, _ in wanted}
    contacts = {contact for _, contact in wanted}
    rows = session.execute(
        select(a.test_id, a.contact_id, a.variant_id).where(
            a.test_id.in_(list(test_ids)), id_in(session, a.contact_id, list(contacts))
        )
    )
    return {(r.test_id, r.contact_id): r.variant_id for r in rows if (r[0], r[1]) in wanted}


def _assign(
    session: Session,
    by_test: dict[int, DripAbTest],
    variants: dict[int, DripAbVariant],
    fresh: list[tuple[int, int]],
) -> dict[tuple[int, int], int]:
    """Insert the assignments of contacts not assigned yet; what each one holds now."""
    if not fresh:
        return {}
    allocations: dict[int, list[tuple[int, Decimal]]] = {}
    for variant in variants.values():
        allocations.setdefault(variant.test_id, []).append((variant.id, variant.traffic_allocation))
    now, rows = utcnow(), []
    for test_id, contact in sorted(fresh):
        variant_id = assign_variant(test_id, contact, allocations.get(test_id, []))
        if variant_id is None:
            continue
        test = by_test[test_id]
        rows.append(
            {
                "organization_id": test.organization_id,
                "test_id": test_id,
                "contact_id": contact,
                "variant_id": variant_id,
                "phase": test.phase,
                "assigned_at": now,
            }
        )
    inserted = insert_many_once(session, DripVariantAssignment, rows, ("test_id", "contact_id"))
    chosen = {(r["test_id"], r["contact_id"]): r["variant_id"] for r in rows}
    lost = [key for key in chosen if key not in inserted]
    if lost:  # another transaction assigned them first: theirs stands
        a = DripVariantAssignment
        for row in session.execute(
            select(a.test_id, a.contact_id, a.variant_id).where(
                tuple_(a.test_id, a.contact_id).in_(lost)
            )
        ):
            chosen[(row.test_id, row.contact_id)] = row.variant_id
    return chosen
