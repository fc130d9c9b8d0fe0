"""parse_branch (every refusal names its field, and says why in words) and build_graph (the
edges of a campaign's journey, the steps nobody reaches, and the warnings before activation)."""

from __future__ import annotations

import pytest

from app.drip.campaigns import build_graph
from app.drip.enrollment import parse_branch
from app.drip.errors import ValidationError
from app.models import DripCampaign, DripCampaignStep

LATER = [12, 13]  # the live steps after step 11, the one being edited


def branch(**changes) -> dict:
    return {
        "waitAmount": 2,
        "waitUnit": "days",
        "conditions": [{"event": "read", "goTo": 12}],
        "onTimeout": "next",
        **changes,
    }


def refusal(value) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse_branch(value, 11, LATER)
    assert caught.value.message == "The branch is not valid."
    return caught.value.fields


def test_a_good_branch_and_its_stored_shape():
    value = branch(conditions=[{"event": "replied", "goTo": "end"}, {"event": "read", "goTo": 13}])
    parsed = parse_branch(value, 11, LATER)
    assert parsed.as_json() == value
    assert parse_branch({**value, "onTimeout": 12}, 11, LATER).on_timeout == 12
    # A form's select sends ids as text.
    assert (
        parse_branch(branch(conditions=[{"event": "read", "goTo": "13"}]), 11, LATER).rules[0].to
        == 13
    )


def test_none_or_empty_removes_the_branch():
    assert parse_branch(None, 11, LATER) is None
    assert parse_branch({}, 11, LATER) is None


def test_backwards_is_refused():
    fields = refusal(branch(conditions=[{"event": "read", "goTo": 10}]))
    assert fields == {
        "branch.conditions.0.goTo": "A branch leads only to a later step of this campaign "
        "(or the end)."
    }


def test_to_itself_is_refused():
    assert refusal(branch(conditions=[{"event": "read", "goTo": 11}])) == {
        "branch.conditions.0.goTo": "A step cannot branch to itself."
    }
    assert refusal(branch(onTimeout=11)) == {"branch.onTimeout": "A step cannot branch to itself."}


def test_an_unknown_step_or_another_campaigns_step_is_refused():
    # parse_branch knows only the later steps of this campaign: any other id is refused alike.
    for other in (999, 5_000):
        fields = refusal(branch(conditions=[{"event": "read", "goTo": other}], onTimeout=other))
        assert set(fields) == {"branch.conditions.0.goTo", "branch.onTimeout"}
    assert "later step" in refusal(branch(onTimeout="somewhere"))["branch.onTimeout"]
    assert refusal(branch(onTimeout=True))["branch.onTimeout"].startswith("Choose a later step")


def test_a_duplicate_event_is_refused():
    fields = refusal(
        branch(conditions=[{"event": "read", "goTo": 12}, {"event": "read", "goTo": 13}])
    )
    assert fields == {"branch.conditions.1.event": "“read” is already a condition of this branch."}


def test_too_many_or_no_conditions_are_refused():
    five = [{"event": e, "goTo": "end"} for e in ("read", "replied", "clicked", "goal", "read")]
    for conditions in (five, [], None, "read"):
        assert refusal(branch(conditions=conditions)) == {
            "branch.conditions": "Give 1 to 4 conditions, each an event and where it leads."
        }
    assert refusal(branch(conditions=["read"])) == {
        "branch.conditions.0": "Give an event and where it leads."
    }
    assert refusal(branch(conditions=[{"event": "opened", "goTo": 12}])) == {
        "branch.conditions.0.event": "Choose read, replied, clicked or goal."
    }


@pytest.mark.parametrize(
    ("amount", "unit", "field", "words"),
    [
        (0, "days", "branch.waitAmount", "Wait from 1 to 30 days (30 days at most)."),
        (31, "days", "branch.waitAmount", "Wait from 1 to 30 days (30 days at most)."),
        (721, "hours", "branch.waitAmount", "Wait from 1 to 720 hours (30 days at most)."),
        ("2", "days", "branch.waitAmount", "Give how long to wait, as a whole number."),
        (True, "days", "branch.waitAmount", "Give how long to wait, as a whole number."),
        (None, "days", "branch.waitAmount", "Give how long to wait, as a whole number."),
        (2, "weeks", "branch.waitUnit", "Use minutes, hours or days."),
    ],
)
def test_a_bad_wait_is_refused(amount, unit, field, words):
    assert refusal(branch(waitAmount=amount, waitUnit=unit)) == {field: words}


def test_an_unknown_field_or_not_an_object_is_refused():
    assert refusal(branch(goTo=12)) == {"branch": "Unknown field: goTo."}
    assert refusal([1, 2]) == {"branch": "Give an object."}


def test_every_problem_at_once():
    fields = refusal(
        {"waitAmount": 0, "conditions": [{"event": "x", "goTo": 11}], "onTimeout": 1, "y": 1}
    )
    assert set(fields) == {
        "branch",
        "branch.waitAmount",
        "branch.conditions.0.event",
        "branch.conditions.0.goTo",
        "branch.onTimeout",
    }


# --- build_graph ----------------------------------------------------------------------------


def campaign(**settings) -> DripCampaign:
    values = {
        "stop_on_reply": False,
        "track_links": True,
        "goal_event": None,
        "exit_on_goal": False,
    }
    return DripCampaign(id=1, name="Journey", **{**values, **settings})


def steps(*branches) -> list[DripCampaignStep]:
    names = ("Welcome", "Reminder", "Offer", "Last chance", "Thanks")
    return [
        DripCampaignStep(id=10 + i, campaign_id=1, position=i + 1, name=names[i], branch=b)
        for i, b in enumerate(branches)
    ]


def edges(graph) -> list[tuple]:
    return [(e.from_step_id, e.to_step_id, e.via) for e in graph.edges]


def test_a_straight_campaign_goes_in_order_to_the_end():
    graph = build_graph(campaign(), steps(None, None, None))
    assert edges(graph) == [(10, 11, "next"), (11, 12, "next"), (12, None, "next")]
    assert graph.unreachable == [] and graph.warnings == []
    assert graph.as_json()["edges"][2] == {"fromStepId": 12, "toStepId": None, "via": "next"}


def test_a_branch_leads_by_each_event_and_by_its_timeout():
    welcome = branch(
        conditions=[{"event": "replied", "goTo": "end"}, {"event": "read", "goTo": 12}]
    )
    graph = build_graph(campaign(), steps(welcome, None, None))
    assert edges(graph) == [
        (10, None, "replied"),
        (10, 12, "read"),
        (10, 11, "next"),  # the timeout's default: the next step
        (11, 12, "next"),
        (12, None, "next"),
    ]
    timeout_to_end = build_graph(campaign(), steps({**welcome, "onTimeout": "end"}, None, None))
    assert (10, None, "timeout") in edges(timeout_to_end)


def test_a_step_no_path_leads_to_is_unreachable_and_said_so():
    # Welcome: read -> Offer, else the end: the Reminder between them is never reached.
    welcome = branch(conditions=[{"event": "read", "goTo": 12}], onTimeout="end")
    graph = build_graph(campaign(), steps(welcome, None, None))
    assert [s.id for s in graph.unreachable] == [11]
    assert graph.warnings == ["Step 2 “Reminder” can never be reached: no step leads to it."]
    assert graph.as_json()["unreachableStepIds"] == [11]


def test_a_step_reached_only_from_an_unreachable_one_is_unreachable_too():
    welcome = branch(conditions=[{"event": "read", "goTo": 13}], onTimeout=13)
    reminder = branch(conditions=[{"event": "read", "goTo": 12}], onTimeout="end")
    graph = build_graph(campaign(), steps(welcome, reminder, None, None))
    assert [s.id for s in graph.unreachable] == [11, 12]


def test_a_branch_the_settings_keep_from_being_taken_is_a_warning():
    welcome = branch(
        conditions=[
            {"event": "replied", "goTo": 12},
            {"event": "clicked", "goTo": 12},
            {"event": "goal", "goTo": "end"},
        ]
    )
    graph = build_graph(campaign(stop_on_reply=True, track_links=False), steps(welcome, None, None))
    assert graph.unreachable == []
    assert graph.warnings == [
        "The branch of step 1 “Welcome” on “replied” is never taken. This campaign stops a "
        "journey when the contact replies: turn off “Stop on reply” to branch on a reply.",
        "The branch of step 1 “Welcome” on “clicked” is never taken. Clicks are counted only "
        "with link tracking: turn on “Track links” first.",
        "The branch of step 1 “Welcome” on “goal” is never taken. Set the campaign's goal "
        "first (Goal and holdout).",
    ]
    fine = build_graph(campaign(goal_event="purchase"), steps(welcome, None, None))
    assert fine.warnings == []


def test_a_deleted_target_leads_to_the_next_live_step_after_it():
    welcome = branch(conditions=[{"event": "read", "goTo": 99}], onTimeout="end")
    graph = build_graph(campaign(), steps(welcome, None, None), {99: 2})
    assert (10, 12, "read") in edges(graph)  # 99 was at position 2: the Offer (3) is next
    assert build_graph(campaign(), steps(None), {}).edges[0].to_step_id is None
    assert build_graph(campaign(), [], {}).edges == []


def test_a_repeated_event_is_reported_even_when_the_first_has_a_bad_target():
    with pytest.raises(ValidationError) as raised:
        parse_branch(
            {
                "waitAmount": 1,
                "waitUnit": "days",
                "conditions": [{"event": "read", "goTo": 999}, {"event": "read", "goTo": "end"}],
            },
            1,
            [2, 3],
        )
    assert set(raised.value.fields) == {"branch.conditions.0.goTo", "branch.conditions.1.event"}
