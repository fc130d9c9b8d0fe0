"""Sticky assignment as pure functions: the salted hash follows the allocation, exactly."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from scipy.stats import chisquare

from app.drip.ab.assignment import SCALE, assign_variant, hash_point, pick, unit_point

ALLOCATION_50_30_20 = [(11, Decimal("50")), (12, Decimal("30")), (13, Decimal("20"))]


def test_assignment_follows_a_50_30_20_allocation_over_100000_contacts():
    counts = Counter(assign_variant(7, contact, ALLOCATION_50_30_20) for contact in range(100_000))
    observed = [counts[11], counts[12], counts[13]]
    assert sum(observed) == 100_000
    result = chisquare(observed, [50_000, 30_000, 20_000])
    assert result.pvalue > 0.001, (observed, result)


def test_a_skewed_assignment_fails_the_same_check():
    """The check above can fail: a 52/28/20 split over 100,000 contacts does."""
    result = chisquare([52_000, 28_000, 20_000], [50_000, 30_000, 20_000])
    assert result.pvalue < 0.001


def test_the_same_contact_always_gets_the_same_variant():
    first = [assign_variant(7, contact, ALLOCATION_50_30_20) for contact in range(2_000)]
    again = [assign_variant(7, contact, ALLOCATION_50_30_20) for contact in range(2_000)]
    assert first == again
    # The order the variants are given in does not matter: they split the line in id order.
    shuffled = [ALLOCATION_50_30_20[2], ALLOCATION_50_30_20[0], ALLOCATION_50_30_20[1]]
    assert [assign_variant(7, c, shuffled) for c in range(2_000)] == first


def test_points_are_fixed_values_of_the_salted_hash():
    # Pinned: a change of salt or hash would move every contact not yet assigned.
    assert hash_point(1, 1) == 0x6A14702C3BBC4DAB
    assert hash_point(42, 1000) == 0x4D801D9353C652F4
    assert hash_point(1, 2) != hash_point(2, 1)
    assert 0.0 <= unit_point(1, 1) < 1.0


def test_tests_split_contacts_independently():
    """Contact c's variant in one test says nothing about its variant in another."""
    pairs = Counter(
        (assign_variant(1, c, ALLOCATION_50_30_20), assign_variant(2, c, ALLOCATION_50_30_20))
        for c in range(30_000)
    )
    table = [[pairs[(a, b)] for b in (11, 12, 13)] for a in (11, 12, 13)]
    expected = [[30_000 * pa * pb for pb in (0.5, 0.3, 0.2)] for pa in (0.5, 0.3, 0.2)]
    flat_observed = [x for row in table for x in row]
    flat_expected = [x for row in expected for x in row]
    assert chisquare(flat_observed, flat_expected).pvalue > 0.001


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (0, 1),
        (SCALE // 2 - 1, 1),
        (SCALE // 2, 2),  # exactly the boundary belongs to the next variant
        (SCALE - 1, 2),
    ],
)
def test_pick_splits_the_line_exactly(point, expected):
    assert pick(point, [(1, Decimal(50)), (2, Decimal(50))]) == expected


def test_pick_counts_thirds_in_hundredths():
    thirds = [(1, Decimal("33.33")), (2, Decimal("33.33")), (3, Decimal("33.34"))]
    boundary = -(-SCALE * 3333 // 10000)  # the first point of variant 2
    assert pick(boundary - 1, thirds) == 1
    assert pick(boundary, thirds) == 2
    assert pick(SCALE - 1, thirds) == 3


def test_pick_skips_zero_allocations_and_answers_none_without_any():
    assert pick(0, [(1, Decimal(0)), (2, Decimal(100))]) == 2
    assert pick(SCALE - 1, [(1, Decimal(100)), (2, Decimal(0))]) == 1
    assert pick(5, [(1, Decimal(0))]) is None
    assert pick(5, []) is None


def test_allocations_not_adding_up_to_100_are_normalised():
    counts = Counter(
        assign_variant(3, c, [(1, Decimal(30)), (2, Decimal(10))]) for c in range(40_000)
    )
    assert chisquare([counts[1], counts[2]], [30_000, 10_000]).pvalue > 0.001
