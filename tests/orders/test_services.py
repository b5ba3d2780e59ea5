import pytest
from django.utils import timezone

from orders import hooks
from orders.models import (
    Lead,
    Order,
    OrderStatus,
    OrderTransition,
    PipelineStep,
    QADecision,
    RulesVersion,
    SuppressedAddress,
)
from orders.pipeline import run_step
from orders.services import (
    order_cancel,
    order_close_due,
    order_qa_decide,
    order_quote,
    order_transition,
    suppression_add,
)
from solosales.core.errors import (
    Conflict,
    IdempotencyConflict,
    IllegalTransition,
    InsufficientCredits,
    ValidationFailed,
)
from tests.factories import make_client, make_staff
from tests.orders.conftest import BODY, balances, build_step, fund, place
from tests.orders.ledger import assert_ledger_clean
from wallet.models import Hold, PricingVersion, Transfer

pytestmark = pytest.mark.django_db


def built(order) -> Order:
    """Build synchronously from the sandbox (the job itself, run in this process)."""
    assert run_step(build_step(order).pk) == "finished"
    return Order.objects.get(pk=order.pk)


# --- quote and placement ---------------------------------------------------------------


def test_quote_says_price_cost_and_shortfall(client_user):
    fund(client_user, 30)
    quote = order_quote(user=client_user, data=BODY)
    pricing = PricingVersion.objects.get(active=True)
    assert quote["unit_price"] == pricing.list_lead_price
    assert quote["max_cost"] == 50 * pricing.list_lead_price
    assert quote["available"] == 30
    assert quote["shortfall"] == max(0, quote["max_cost"] - 30)


def test_quote_for_mql_uses_the_mql_price(client_user):
    quote = order_quote(user=client_user, data={**BODY, "type": "mql"})
    assert quote["unit_price"] == PricingVersion.objects.get(active=True).mql_lead_price
    assert quote["available"] == 0


def test_placing_holds_the_max_cost_and_locks_versions(funded_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        order = place(funded_client)
    assert len(callbacks) == 1  # the build job, enqueued on commit
    assert order.status == OrderStatus.QUEUED
    assert order.unit_price == order.pricing_version.list_lead_price
    assert order.hold.amount == order.max_cost
    assert balances(funded_client) == (1000 - order.max_cost, order.max_cost)
    assert order.pricing_version.__class__.objects.get(pk=order.pricing_version_id).used
    assert RulesVersion.objects.get(pk=order.rules_version_id).used
    assert order.criteria == {"seniorities": ["director"], "countries": ["US"]}
    first = order.transitions.get()
    assert (first.from_status, first.to_status, first.actor) == ("", "queued", funded_client)
    assert build_step(order).status == PipelineStep.Status.PENDING


def test_insufficient_credits_says_the_shortfall_and_writes_nothing(client_user):
    fund(client_user, 20)
    with pytest.raises(InsufficientCredits) as err:
        place(client_user, target_count=50)
    assert err.value.extra["shortfall"] == 50 * PricingVersion.objects.get(active=True).list_lead_price - 20
    assert not Order.objects.exists()
    assert not Hold.objects.exists()
    assert not PipelineStep.objects.exists()
    assert balances(client_user) == (20, 0)


def test_replaying_the_idempotency_key_returns_the_same_order(funded_client):
    first = place(funded_client, key="double-submit")
    second = place(funded_client, key="double-submit")
    assert first.pk == second.pk
    assert Order.objects.count() == 1
    assert balances(funded_client)[1] == first.max_cost


def test_same_key_with_another_body_is_a_conflict(funded_client):
    place(funded_client, key="k1")
    with pytest.raises(IdempotencyConflict):
        place(funded_client, key="k1", target_count=60)
    assert Order.objects.count() == 1


def test_the_same_key_of_two_clients_makes_two_orders(funded_client):
    other = make_client()
    fund(other, 500)
    assert place(funded_client, key="shared").pk != place(other, key="shared").pk


def test_a_missing_idempotency_key_is_refused(funded_client):
    from orders.services import order_place

    with pytest.raises(ValidationFailed):
        order_place(user=funded_client, data=BODY, idempotency_key="  ")


# --- transitions -----------------------------------------------------------------------


def test_an_illegal_transition_changes_nothing(funded_client):
    order = place(funded_client)
    with pytest.raises(IllegalTransition):
        order_transition(order=order, name="close")
    with pytest.raises(IllegalTransition):
        order_transition(order=order, name="delete")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.QUEUED
    assert order.transitions.count() == 1


def test_a_transition_is_recorded_with_actor_and_reason(funded_client):
    staff = make_staff()
    order = order_transition(order=place(funded_client), name="start", actor=staff, reason="go")
    assert order.status == OrderStatus.BUILDING
    assert order.status_changed_at is not None
    last = order.transitions.last()
    assert (last.from_status, last.to_status, last.actor, last.reason) == ("queued", "building", staff, "go")
    assert last.actor_label == staff.email


# --- cancel ----------------------------------------------------------------------------


@pytest.mark.parametrize("transitions", [[], ["start"], ["start", "pause"]])
def test_client_cancel_releases_the_whole_hold(funded_client, transitions):
    order = place(funded_client)
    for name in transitions:
        order = order_transition(order=order, name=name)
    order = order_cancel(order=order, actor=funded_client, reason="changed my mind")
    assert order.status == OrderStatus.CANCELLED
    assert order.released_credits == order.max_cost and order.charged_credits == 0
    assert balances(funded_client) == (1000, 0)
    assert build_step(order).status == PipelineStep.Status.FAILED
    assert_ledger_clean()


def test_client_cannot_cancel_in_quality_review_but_ops_can(funded_client):
    order = built(place(funded_client))
    assert order.status == OrderStatus.LIST_QA
    with pytest.raises(IllegalTransition):
        order_cancel(order=order, actor=funded_client)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.LIST_QA
    order = order_cancel(order=order, actor=make_staff(), reason="criteria impossible")
    assert order.status == OrderStatus.CANCELLED
    assert balances(funded_client) == (1000, 0)
    assert_ledger_clean()


def test_cancel_after_delivery_is_refused(funded_client):
    order = built(place(funded_client))
    order = order_qa_decide(order=order, gate="list", decision="pass", actor=make_staff())
    with pytest.raises(IllegalTransition):
        order_cancel(order=order, actor=funded_client)


# --- QA#1 --------------------------------------------------------------------------------


def test_qa_pass_captures_accepted_times_price_and_releases_the_rest(funded_client):
    order = built(place(funded_client))
    staff = make_staff()
    valid = order.leads.filter(status=Lead.Status.VALID).count()
    assert valid == order.target_count
    order = order_qa_decide(order=order, gate="list", decision="pass", accepted_count=40, actor=staff)
    assert order.status == OrderStatus.DELIVERED
    assert order.accepted_count == order.delivered_count == 40
    assert order.charged_credits == 40 * order.unit_price
    assert order.released_credits == order.max_cost - 40 * order.unit_price
    assert balances(funded_client) == (1000 - 40 * order.unit_price, 0)
    assert order.leads.filter(delivered=True).count() == 40
    assert order.leads.filter(delivered=True, status=Lead.Status.INVALID).count() == 0
    assert order.dispute_window_ends_at > timezone.now()
    decision = QADecision.objects.get(order=order)
    assert decision.actor == staff and decision.checks["summary"]["valid"] == valid
    assert decision.sample_lead_ids
    kinds = sorted(Transfer.objects.filter(order_id=order.pk).values_list("kind", flat=True))
    assert kinds == ["capture", "hold", "release"]
    assert_ledger_clean()


def test_qa_pass_defaults_to_valid_leads_capped_at_target(funded_client):
    order = order_qa_decide(order=built(place(funded_client)), gate="list", decision="pass")
    assert order.accepted_count == order.target_count
    assert order.released_credits == 0
    assert_ledger_clean()


@pytest.mark.parametrize("count", [0, 51, -1, True, "10"])
def test_qa_pass_with_an_impossible_count_is_refused(funded_client, count):
    order = built(place(funded_client))
    with pytest.raises(ValidationFailed):
        order_qa_decide(order=order, gate="list", decision="pass", accepted_count=count)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.LIST_QA
    assert not QADecision.objects.exists()


def test_qa_fail_needs_notes_and_releases_everything(funded_client):
    order = built(place(funded_client))
    with pytest.raises(ValidationFailed):
        order_qa_decide(order=order, gate="list", decision="fail", actor=make_staff(), notes="  ")
    order = order_qa_decide(order=order, gate="list", decision="fail", actor=make_staff(), notes="wrong people")
    assert order.status == OrderStatus.FAILED
    assert order.charged_credits == 0 and order.released_credits == order.max_cost
    assert order.status_reason == "wrong people"
    assert balances(funded_client) == (1000, 0)
    assert not order.leads.filter(delivered=True).exists()
    assert_ledger_clean()


def test_repeating_a_decision_is_idempotent_and_a_different_one_conflicts(funded_client):
    order = built(place(funded_client))
    order_qa_decide(order=order, gate="list", decision="pass", accepted_count=30)
    again = order_qa_decide(order=order, gate="list", decision="pass", accepted_count=30)
    assert again.charged_credits == 30 * order.unit_price
    with pytest.raises(Conflict):
        order_qa_decide(order=order, gate="list", decision="fail", notes="no")
    assert QADecision.objects.count() == 1
    assert Transfer.objects.filter(order_id=order.pk, kind="capture").count() == 1


def test_a_decision_for_a_gate_that_is_not_open_is_illegal(funded_client):
    order = place(funded_client)
    with pytest.raises(IllegalTransition):
        order_qa_decide(order=order, gate="list", decision="pass")
    with pytest.raises(ValidationFailed):
        order_qa_decide(order=order, gate="bogus", decision="pass")


# --- MQL -----------------------------------------------------------------------------------


def test_mql_order_goes_to_nurture_then_charges_only_qualified(funded_client, django_capture_on_commit_callbacks):
    started = []
    passed = []
    hooks.register_on_list_qa_passed_mql(started.append)
    hooks.register_on_mql_qa_passed(passed.append)
    try:
        order = built(place(funded_client, type="mql", target_count=20))
        with django_capture_on_commit_callbacks(execute=True):
            order = order_qa_decide(order=order, gate="list", decision="pass", accepted_count=20)
        assert order.status == OrderStatus.NURTURING
        assert [o.pk for o in started] == [order.pk]
        assert order.leads.filter(accepted=True).count() == 20
        assert not order.leads.filter(delivered=True).exists()
        assert order.hold.status == Hold.Status.OPEN
        qualified_ids = list(order.leads.filter(accepted=True).values_list("id", flat=True)[:7])
        Lead.objects.filter(pk__in=qualified_ids).update(qualified=True)
        order = order_transition(order=order, name="finish_nurturing")
        with django_capture_on_commit_callbacks(execute=True):
            order = order_qa_decide(order=order, gate="mql", decision="pass", actor=make_staff())
        assert order.status == OrderStatus.DELIVERED
        assert [o.pk for o in passed] == [order.pk]
        assert order.qualified_count == order.delivered_count == 7
        assert order.charged_credits == 7 * order.unit_price
        assert balances(funded_client) == (1000 - 7 * order.unit_price, 0)
        assert set(order.leads.filter(delivered=True).values_list("id", flat=True)) == set(qualified_ids)
        assert_ledger_clean()
    finally:
        hooks._ON_LIST_QA_PASSED_MQL.remove(started.append)
        hooks._ON_MQL_QA_PASSED.remove(passed.append)


def test_mql_qa_fail_releases_everything(funded_client):
    order = built(place(funded_client, type="mql", target_count=20))
    order = order_qa_decide(order=order, gate="list", decision="pass")
    order = order_transition(order=order, name="finish_nurturing")
    order = order_qa_decide(order=order, gate="mql", decision="fail", actor=make_staff(), notes="nobody engaged")
    assert order.status == OrderStatus.FAILED
    assert balances(funded_client) == (1000, 0)
    assert_ledger_clean()


# --- closing -------------------------------------------------------------------------------


def test_delivered_orders_close_when_the_dispute_window_ends(funded_client):
    order = order_qa_decide(order=built(place(funded_client)), gate="list", decision="pass")
    assert order_close_due() == 0
    Order.objects.filter(pk=order.pk).update(dispute_window_ends_at=timezone.now())
    assert order_close_due() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED and order.closed_at
    assert order_close_due() == 0
    assert OrderTransition.objects.filter(order=order, to_status="closed", actor=None).count() == 1


def test_an_open_dispute_hook_keeps_the_order_delivered(funded_client):
    order = order_qa_decide(order=built(place(funded_client)), gate="list", decision="pass")
    Order.objects.filter(pk=order.pk).update(dispute_window_ends_at=timezone.now())

    def blocks(o):
        return o.pk == order.pk

    hooks.register_blocks_close(blocks)
    try:
        assert order_close_due() == 0
        assert Order.objects.get(pk=order.pk).status == OrderStatus.DELIVERED
    finally:
        hooks._BLOCKS_CLOSE.remove(blocks)
    assert order_close_due() == 1


# --- suppression ---------------------------------------------------------------------------


def test_suppression_add_lowercases_and_is_idempotent(db):
    first = suppression_add(email=" Bob@Example.COM ", reason="unsubscribed", source="sendcloud")
    second = suppression_add(email="bob@example.com", reason="complained")
    assert first.pk == second.pk
    assert SuppressedAddress.objects.get().reason == "unsubscribed"
    from orders.selectors import is_suppressed

    assert is_suppressed("BOB@example.com")
    assert not is_suppressed("alice@example.com")


@pytest.mark.parametrize("email,reason", [("not-an-email", "manual"), ("a@b.example", "because")])
def test_suppression_add_refuses_bad_input(db, email, reason):
    with pytest.raises(ValidationFailed):
        suppression_add(email=email, reason=reason)
    assert not SuppressedAddress.objects.exists()


def test_the_demo_seeder_delivers_orders_idempotently(db):
    from orders.demo import DEMO_ORDERS, seed

    client, staff = make_client(), make_staff(superuser=True)
    seed(client=client, staff=staff)
    seed(client=client, staff=staff)
    orders = Order.objects.filter(user=client)
    assert orders.count() == len(DEMO_ORDERS)
    assert orders.filter(status=OrderStatus.DELIVERED).count() == 2
    assert orders.filter(status=OrderStatus.LIST_QA).count() == 1
    assert_ledger_clean()
