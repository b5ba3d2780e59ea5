"""Scoring is a pure function of (events, rules); recomputation gives identical results."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.models import Lead
from qualification.models import EmailEvent
from qualification.scoring import Rules, expand, rescore_order, score_lead
from tests.qualification.helpers import make_mql_order, process_pending, send_step

RULES = Rules(
    weights={"delivered": 0, "opened": 5, "clicked": 15, "interest_confirmed": 40},
    caps={"opened": 3, "clicked": 3, "interest_confirmed": 1},
    threshold=30,
    high_intent=("clicked", "interest_confirmed"),
    version=1,
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ev(*names):
    return [(name, T0 + timedelta(minutes=i)) for i, name in enumerate(names)]


def row(result, rule):
    return next(r for r in result.breakdown if r["rule"] == rule)


def test_it_adds_weights_up_to_each_cap():
    result = score_lead(ev("delivered", *["opened"] * 5, "clicked", "clicked"), RULES)
    assert row(result, "opened") == {"rule": "opened", "count": 5, "counted": 3, "weight": 5, "points": 15, "cap": 3}
    assert row(result, "clicked")["points"] == 30
    assert result.score == 45
    assert result.qualified is True
    assert result.reasons == ["qualified"]


def test_a_high_score_without_high_intent_does_not_qualify():
    rules = Rules(weights={"opened": 20}, caps={}, threshold=30, high_intent=("clicked",))
    result = score_lead(ev("opened", "opened"), rules)
    assert result.score == 40
    assert result.qualified is False
    assert result.reasons == ["no_high_intent"]


def test_below_threshold_is_reported():
    result = score_lead(ev("delivered", "clicked"), RULES)
    assert (result.score, result.qualified, result.reasons) == (15, False, ["below_threshold"])


@pytest.mark.parametrize("negative", ["unsubscribed", "complained", "bounced_hard"])
def test_unsubscribe_complaint_or_hard_bounce_disqualifies_and_adds_nothing(negative):
    result = score_lead(ev("delivered", "interest_confirmed", "clicked", negative), RULES)
    assert result.score == 55
    assert result.qualified is False
    assert negative in result.reasons
    assert all(r["rule"] != negative for r in result.breakdown)


def test_a_suppressed_address_does_not_qualify():
    result = score_lead(ev("interest_confirmed"), RULES, suppressed=True)
    assert result.score == 40
    assert result.reasons == ["suppressed"]


def test_no_events_scores_zero_with_every_rule_listed():
    result = score_lead([], RULES)
    assert result.score == 0
    assert [r["rule"] for r in result.breakdown] == ["delivered", "opened", "clicked", "interest_confirmed"]
    assert result.reasons == ["below_threshold", "no_high_intent"]


EVENTS = st.lists(
    st.sampled_from(
        ["delivered", "opened", "clicked", "interest_confirmed", "unsubscribed", "bounced_soft", "complained"]
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(names=EVENTS, seed=st.integers(0, 2**32 - 1))
def test_shuffling_events_never_changes_the_result(names, seed):
    events = ev(*names)
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    assert score_lead(events, RULES) == score_lead(shuffled, RULES)


@settings(max_examples=200, deadline=None)
@given(names=EVENTS)
def test_caps_bound_every_rule_and_the_score_is_the_sum_of_points(names):
    result = score_lead(ev(*names), RULES)
    for r in result.breakdown:
        if r["cap"] is not None:
            assert r["counted"] <= r["cap"]
        assert r["counted"] <= r["count"]
        assert r["points"] == r["counted"] * r["weight"]
    assert result.score == sum(r["points"] for r in result.breakdown)
    max_score = sum(RULES.weights[k] * RULES.caps.get(k, 1) for k in RULES.weights)
    assert result.score <= max_score


def _add_events(order, plan):
    """Accepted events written as the processor would, for rescoring tests."""
    leads = list(order.leads.filter(accepted=True).order_by("id"))
    for lead, names in zip(leads, plan, strict=False):
        for i, name in enumerate(names):
            EmailEvent.objects.create(
                unique_key=f"{order.pk}-{lead.pk}-{i}-{name}",
                source=EmailEvent.Source.SENDCLOUD,
                event_raw=name,
                event=name,
                lead=lead,
                order_id=order.pk,
                occurred_at=T0 + timedelta(seconds=i),
                outcome=EmailEvent.Outcome.ACCEPTED,
            )


@pytest.mark.django_db
def test_rescore_order_writes_scores_and_is_identical_every_time():
    order = make_mql_order(leads=4)
    _add_events(
        order,
        [["delivered", "opened", "clicked", "clicked"], ["delivered", "interest_confirmed"], ["opened"], []],
    )
    first = rescore_order(order)
    second = rescore_order(order)
    assert (first.leads, first.qualified) == (4, 2)
    assert first.checksum == second.checksum
    scores = list(order.leads.order_by("id").values_list("score", "qualified"))
    assert scores == [(35, True), (40, True), (5, False), (0, False)]
    stored = order.leads.order_by("id").first().score_breakdown
    assert stored == {
        "rules_version": order.rules_version.version,
        "counts": {"clicked": 2, "delivered": 1, "opened": 1},
        "suppressed": False,
    }
    breakdown = expand(stored, order.rules_version)
    assert breakdown["rules_version"] == order.rules_version.version
    assert {r["rule"]: r["points"] for r in breakdown["rows"]}["clicked"] == 30
    assert (breakdown["score"], breakdown["qualified"], breakdown["reasons"]) == (35, True, ["qualified"])


@pytest.mark.django_db
def test_rescore_command_prints_the_same_count_and_checksum_twice(capsys):
    order = make_mql_order(leads=3)
    _add_events(order, [["clicked", "clicked", "opened"], ["opened"], ["interest_confirmed"]])
    call_command("rescore", str(order.pk))
    first = capsys.readouterr().out
    call_command("rescore", str(order.pk))
    second = capsys.readouterr().out
    assert first == second
    assert "leads=3 qualified=2" in first
    assert "checksum=" in first
    first_lead = Lead.objects.get(pk=order.leads.order_by("id").first().pk)
    assert first_lead.score == 35
    assert first_lead.qualified is None  # nurturing: scores only, decisions at the window's end


@pytest.mark.django_db
def test_rescore_command_refuses_unknown_and_list_orders():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("rescore", "999999")


@pytest.mark.django_db
def test_rescore_from_real_processing_matches_live_scores(client):
    order = make_mql_order(leads=2)
    messages = send_step(order)
    from tests.qualification.helpers import post_form, seconds_ago, signed

    for i, kind in enumerate(("open", "click", "click")):
        data = signed(messages[0], kind, ts=seconds_ago(10 - i), url="https://x.example")
        assert post_form(client, data).status_code == 200
    process_pending()
    live = Lead.objects.get(pk=messages[0].lead_id).score
    summary = rescore_order(order, set_qualified=False)
    assert Lead.objects.get(pk=messages[0].lead_id).score == live == 35
    assert summary.leads == 2
