"""decide(): the way a branch goes, as a pure function of what is recorded (the first event
in the wait wins, ties to the rule listed first, "read" is met by a reply, the timeout only at
the end of the wait), and the stored shape of a branch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.drip.enrollment.branching import END, NEXT, TIMEOUT, Branch, Facts, Rule, decide

SENT = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
BRANCH = Branch(2, "hours", (Rule("replied", END), Rule("read", 12), Rule("clicked", 14)), 13)


def at(minutes: int) -> datetime:
    return SENT + timedelta(minutes=minutes)


def test_the_first_event_in_the_wait_wins():
    outcome = decide(BRANCH, Facts(SENT, read_at=at(30), clicked_at=at(10)))
    assert (outcome.via, outcome.at, outcome.to) == ("clicked", at(10), 14)


def test_a_tie_goes_to_the_rule_listed_first():
    # The reply also counts as a read at the same moment: "replied" is listed first.
    outcome = decide(BRANCH, Facts(SENT, replied_at=at(5)))
    assert (outcome.via, outcome.to) == ("replied", END)
    swapped = Branch(2, "hours", (Rule("read", 12), Rule("replied", END)))
    assert decide(swapped, Facts(SENT, replied_at=at(5))).via == "read"
    both = decide(BRANCH, Facts(SENT, read_at=at(5), clicked_at=at(5)))
    assert both.via == "read"


def test_read_is_met_by_a_reply():
    only_read = Branch(1, "days", (Rule("read", 12),))
    outcome = decide(only_read, Facts(SENT, replied_at=at(40)))
    assert (outcome.via, outcome.at, outcome.to) == ("read", at(40), 12)
    # The earlier of the read receipt and the reply.
    assert decide(only_read, Facts(SENT, read_at=at(50), replied_at=at(40))).at == at(40)


def test_an_event_stamped_before_the_send_counts_at_the_send():
    # Meta stamps whole seconds on its own clock: a read in the send's second reads earlier.
    early = decide(BRANCH, Facts(SENT, read_at=SENT - timedelta(milliseconds=400)))
    assert (early.via, early.at) == ("read", SENT)
    # A goal reached before the send is met at once.
    goal = Branch(1, "days", (Rule("goal", END),))
    assert decide(goal, Facts(SENT, goal_at=SENT - HOUR)).at == SENT


def test_events_after_the_wait_or_after_the_end_do_not_count():
    assert decide(BRANCH, Facts(SENT, read_at=SENT + 2 * HOUR + timedelta(seconds=1))) is None
    # At the end of the wait itself, still in time.
    assert decide(BRANCH, Facts(SENT, read_at=SENT + 2 * HOUR)).via == "read"
    ended = Facts(SENT, read_at=at(30), clicked_at=at(20), ended_at=at(25))
    assert decide(BRANCH, ended).via == "clicked"
    assert decide(BRANCH, Facts(SENT, read_at=at(30), ended_at=at(25))) is None
    # At the very time it ended, the event still counts.
    assert decide(BRANCH, Facts(SENT, read_at=at(25), ended_at=at(25))).via == "read"


def test_the_timeout_only_at_the_end_of_the_wait():
    facts = Facts(SENT)
    assert decide(BRANCH, facts) is None
    assert decide(BRANCH, facts, SENT + 2 * HOUR - timedelta(microseconds=1)) is None
    outcome = decide(BRANCH, facts, SENT + 2 * HOUR)
    assert (outcome.via, outcome.at, outcome.to) == (TIMEOUT, SENT + 2 * HOUR, 13)
    default = Branch(30, "minutes", (Rule("read", 12),))
    assert decide(default, facts, SENT + 5 * HOUR) == decide(default, facts, at(30))
    assert decide(default, facts, at(30)).to == NEXT
    # An event in the wait wins over the timeout, whenever it is judged.
    assert decide(default, Facts(SENT, read_at=at(29)), SENT + 5 * HOUR).via == "read"


def test_branch_json_round_trip():
    assert Branch.from_json(BRANCH.as_json()) == BRANCH
    assert Branch.from_json(None) is None
    assert Branch.from_json({}) is None
    stored = {"waitAmount": 3, "waitUnit": "days", "conditions": [{"event": "goal", "goTo": 7}]}
    branch = Branch.from_json(stored)
    assert branch == Branch(3, "days", (Rule("goal", 7),), NEXT)
    assert branch.as_json() == {**stored, "onTimeout": "next"}
    assert branch.wait == timedelta(days=3)


# --- properties ------------------------------------------------------------------------------

EVENT_NAMES = ("read", "replied", "clicked", "goal")
TARGETS = st.one_of(st.just(END), st.integers(2, 9))
MINUTES = st.one_of(st.none(), st.integers(-60, 600))


@st.composite
def branches(draw) -> Branch:
    events = draw(st.lists(st.sampled_from(EVENT_NAMES), min_size=1, max_size=4, unique=True))
    rules = tuple(Rule(event, draw(TARGETS)) for event in events)
    timeout = draw(st.one_of(st.just(NEXT), TARGETS))
    return Branch(draw(st.integers(1, 300)), "minutes", rules, timeout)


@st.composite
def facts(draw) -> dict:
    times = {name: draw(MINUTES) for name in ("read_at", "replied_at", "clicked_at", "goal_at")}
    times["ended_at"] = draw(st.one_of(st.none(), st.integers(0, 600)))
    return {k: (at(v) if v is not None else None) for k, v in times.items()}


def oracle(branch: Branch, times: dict, now: datetime | None):
    """The same rule, said differently: every (time, rule order) in the wait, the least."""
    deadline = SENT + branch.wait
    ended = times["ended_at"] or deadline
    candidates = []
    for order, rule in enumerate(branch.rules):
        happened = [times[f"{rule.event}_at"]]
        if rule.event == "read":
            happened.append(times["replied_at"])
        for t in happened:
            # Stamped before the send: counted at the send.
            if t is not None and max(t, SENT) <= min(deadline, ended):
                candidates.append((max(t, SENT), order))
    if candidates:
        t, order = min(candidates)
        return (branch.rules[order].event, t, branch.rules[order].to)
    if now is not None and now >= deadline:
        return (TIMEOUT, deadline, branch.on_timeout)
    return None


def plain(outcome):
    return None if outcome is None else (outcome.via, outcome.at, outcome.to)


@given(branch=branches(), times=facts(), now=st.one_of(st.none(), st.integers(0, 900)))
def test_decide_is_the_first_event_in_the_wait(branch, times, now):
    moment = at(now) if now is not None else None
    assert plain(decide(branch, Facts(SENT, **times), moment)) == oracle(branch, times, moment)


@given(branch=branches(), times=facts(), data=st.data())
def test_a_later_event_never_changes_an_earlier_decision(branch, times, data):
    """Monotone: once an event decided, another event after it (or no event) changes nothing;
    a decision made at some moment stays the decision at any later moment."""
    before = decide(branch, Facts(SENT, **times))
    if before is not None:
        name = data.draw(st.sampled_from(["read_at", "replied_at", "clicked_at", "goal_at"]))
        later = before.at + timedelta(minutes=data.draw(st.integers(1, 600)))
        if times[name] is None or times[name] > later:
            more = {**times, name: later}
            assert decide(branch, Facts(SENT, **more)) == before
    moment = at(data.draw(st.integers(0, 900)))
    decided = decide(branch, Facts(SENT, **times), moment)
    if decided is not None:
        assert decide(branch, Facts(SENT, **times), moment + HOUR) == decided


@given(branch=branches(), times=facts())
def test_the_order_of_the_rules_matters_only_for_ties(branch, times):
    """Reversing the rules changes the outcome only when two of them met at the same moment."""
    reverse = Branch(branch.wait_amount, branch.wait_unit, branch.rules[::-1], branch.on_timeout)
    one, other = decide(branch, Facts(SENT, **times)), decide(reverse, Facts(SENT, **times))
    if one is None or other is None:
        assert one == other
    else:
        assert one.at == other.at
        if one.via != other.via:
            facts_ = Facts(SENT, **times)
            # Both met at the decision's moment (an event stamped before the send counts at it).
            assert max(facts_.time_of(one.via), SENT) == max(facts_.time_of(other.via), SENT)
