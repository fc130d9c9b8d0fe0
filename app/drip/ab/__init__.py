"""A/B tests of step messages: assignment, lifecycle, variants, statistics, sequential
decisions, results and their shapes, and audited changes."""

from app.drip.ab.assignment import assign_variant, variants_for_batch
from app.drip.ab.changes import (
    add_variant,
    apply_action,
    create_test,
    delete_test,
    delete_variant,
    update_variant,
)
from app.drip.ab.headline import NO_SENDS, lift_text
from app.drip.ab.intervals import LiftInterval, lift_interval
from app.drip.ab.lifecycle import ACTIONS, DEFAULTS, declare_winner, get_test, list_tests, start
from app.drip.ab.results import results_for, test_results
from app.drip.ab.running import check_for_winners, report
from app.drip.ab.sequential import (
    DEFAULT_PLANNED_N,
    analyse,
    effective_n,
    sequential_p_value,
)
from app.drip.ab.shapes import test_dict, variants_dict
from app.drip.ab.stats import VariantData, two_proportion_z
from app.drip.ab.variants import HUNDRED, check_startable, get_variant, shown_percent, variants_of

__all__ = [
    "ACTIONS",
    "DEFAULTS",
    "DEFAULT_PLANNED_N",
    "HUNDRED",
    "NO_SENDS",
    "LiftInterval",
    "VariantData",
    "add_variant",
    "analyse",
    "apply_action",
    "assign_variant",
    "check_for_winners",
    "check_startable",
    "create_test",
    "declare_winner",
    "delete_test",
    "delete_variant",
    "effective_n",
    "get_test",
    "get_variant",
    "lift_interval",
    "lift_text",
    "list_tests",
    "report",
    "results_for",
    "sequential_p_value",
    "shown_percent",
    "start",
    "test_dict",
    "test_results",
    "two_proportion_z",
    "update_variant",
    "variants_dict",
    "variants_for_batch",
    "variants_of",
]
