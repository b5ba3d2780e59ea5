"""The build step: pages, checkpoints, de-duplication, validation and provider errors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Lead, Order, OrderStatus, OrderTransition, PipelineStep, QADecision
from orders.pipeline import _commit_page, claim_step, run_step
from orders.services import order_qa_decide, suppression_add
from providers.base import CircuitOpen, PermanentError, RateLimited, TransientError
from tests.orders.conftest import balances, build_step, person, place, set_switch, use_provider
from tests.orders.ledger import assert_ledger_clean

pytestmark = pytest.mark.django_db
St = PipelineStep.Status


def _due(step):
    """Make a waiting step due now (instead of waiting for its not_before)."""
    PipelineStep.objects.filter(pk=step.pk).update(not_before=timezone.now() - timedelta(seconds=1))


def test_build_stops_at_target_and_moves_to_quality_review(funded_client, scripted, settings):
    settings.PIPELINE_PAGE_SIZE = 30
    order = place(funded_client, target_count=75)
    step = use_provider(order, "scripted")
    assert run_step(step.pk) == "finished"
    order.refresh_from_db()
    step.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.leads.filter(status=Lead.Status.VALID).count() == 75
    assert order.found_count == 75
    assert step.status == St.DONE and step.pages_done == 3
    assert scripted["calls"] == [None, "30", "60"]
    assert [t.to_status for t in order.transitions.all()] == ["queued", "building", "list_qa"]
    assert step.state["qa_checks"]["summary"]["valid"] == 75
    assert len(step.state["qa_sample"]) == order.rules_version.qa_sample_size
    assert order.leads.filter(qa_sampled=True).count() == order.rules_version.qa_sample_size


def test_provider_exhaustion_finishes_with_fewer_leads(funded_client, scripted, settings):
    settings.PIPELINE_PAGE_SIZE = 40
    scripted["total"] = 45
    order = place(funded_client, target_count=100)
    assert run_step(use_provider(order, "scripted").pk) == "finished"
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.found_count == 45
    assert build_step(order).state["qa_checks"]["summary"]["enough"] is False


def test_leads_are_deduplicated_validated_and_suppressed_addresses_skipped(funded_client, scripted):
    suppression_add(email="Gone@Company1.example", reason="unsubscribed")
    scripted["pages"] = [
        [
            person(1),
            person(2, email="PERSON1@company1.example"),  # same email as person 1, other case
            person(3, email=""),  # no email: de-duplicated by provider id, and invalid
            person(3, email=""),  # same provider id again
            person(4, email="gone@company1.example"),  # suppressed
            person(5, status="invalid"),  # email status not accepted
            person(6, title=""),  # a required field missing
            person(7, email="not-an-email"),
            person(8, country="USA"),  # not ISO-2: normalised away -> missing country
        ],
        [person(1), person(9)],  # a later page repeats person 1
    ]
    order = place(funded_client, target_count=10)
    assert run_step(use_provider(order, "scripted").pk) == "finished"
    order.refresh_from_db()
    leads = {lead.dedupe_key: lead for lead in order.leads.all()}
    assert set(leads) == {
        "person1@company1.example",
        "scripted:p3",
        "person5@company5.example",
        "person6@company6.example",
        "not-an-email",
        "person8@company1.example",
        "person9@company2.example",
    }
    assert leads["scripted:p3"].invalid_reason == "missing email"
    assert leads["person5@company5.example"].invalid_reason == "email status invalid"
    assert leads["person6@company6.example"].invalid_reason == "missing job title"
    assert leads["not-an-email"].invalid_reason == "malformed email"
    assert leads["person8@company1.example"].invalid_reason == "missing country"
    assert order.leads.filter(status=Lead.Status.VALID).count() == 2
    assert order.duplicate_count == 3
    assert order.suppressed_count == 1
    assert order.invalid_count == 5
    assert not order.leads.filter(email="gone@company1.example").exists()


def test_excluded_domains_are_rejected_with_a_reason(funded_client, scripted):
    scripted["pages"] = [[person(1, company_domain="www.Blocked.example"), person(2)]]
    order = place(
        funded_client, target_count=10, criteria={"countries": ["US"], "exclude_domains": ["blocked.example"]}
    )
    run_step(use_provider(order, "scripted").pk)
    assert order.leads.get(provider_id="p1").invalid_reason == "excluded domain"


def test_a_job_run_twice_creates_no_duplicate_leads(funded_client, scripted, settings):
    settings.PIPELINE_PAGE_SIZE = 25
    order = place(funded_client, target_count=60)
    step = use_provider(order, "scripted")
    assert run_step(step.pk) == "finished"
    assert run_step(step.pk) == "not_claimed"
    assert order.leads.count() == 60
    assert len(scripted["calls"]) == 3


def test_a_replayed_page_inserts_nothing_twice(funded_client, scripted):
    order = place(funded_client, target_count=50)
    step = use_provider(order, "scripted")
    from orders.services import order_transition

    order_transition(order=order, name="start")
    token = claim_step(step.pk)
    records = [person(i) for i in range(10)]
    first = _commit_page(step_id=step.pk, token=token, order_id=order.pk, records=records, next_cursor="10")
    again = _commit_page(step_id=step.pk, token=token, order_id=order.pk, records=records, next_cursor="10")
    assert first["valid"] == 10 and again["valid"] == 0 and again["duplicate"] == 10
    assert order.leads.count() == 10


def test_a_step_held_by_a_live_lease_is_not_claimed_twice(funded_client):
    step = build_step(place(funded_client))
    assert claim_step(step.pk) is not None
    assert claim_step(step.pk) is None
    assert run_step(step.pk) == "not_claimed"


def test_a_run_that_lost_its_claim_writes_nothing(funded_client, scripted):
    order = place(funded_client, target_count=50)
    step = use_provider(order, "scripted")
    from orders.pipeline import ClaimLost
    from orders.services import order_transition

    order_transition(order=order, name="start")
    claim_step(step.pk)
    with pytest.raises(ClaimLost):
        _commit_page(step_id=step.pk, token="stale", order_id=order.pk, records=[person(1)], next_cursor=None)
    assert not order.leads.exists()


# --- provider errors -----------------------------------------------------------------------


def test_rate_limit_reschedules_without_sleeping(funded_client, scripted):
    scripted["errors"] = [RateLimited(retry_after=30)]
    order = place(funded_client, target_count=20)
    step = use_provider(order, "scripted")
    before = timezone.now()
    assert run_step(step.pk) == "rate_limited"
    step.refresh_from_db()
    order.refresh_from_db()
    assert step.status == St.WAITING and step.lease_until is None
    assert before + timedelta(seconds=29) <= step.not_before <= timezone.now() + timedelta(seconds=31)
    assert order.status == OrderStatus.BUILDING
    assert run_step(step.pk) == "not_claimed"  # not due yet
    _due(step)
    assert run_step(step.pk) == "finished"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.LIST_QA


def test_transient_errors_retry_with_backoff_then_succeed(funded_client, scripted):
    scripted["errors"] = [TransientError("502"), TransientError("timeout")]
    order = place(funded_client, target_count=20)
    step = use_provider(order, "scripted")
    assert run_step(step.pk) == "retry"
    step.refresh_from_db()
    assert step.attempt == 1 and step.status == St.WAITING and "502" in step.last_error
    assert step.not_before > timezone.now()
    _due(step)
    assert run_step(step.pk) == "retry"
    step.refresh_from_db()
    assert step.attempt == 2
    _due(step)
    assert run_step(step.pk) == "finished"
    step.refresh_from_db()
    assert step.attempt == 0 and step.last_error == ""


def test_too_many_transient_errors_fail_the_order_and_release_the_hold(funded_client, scripted, settings):
    settings.PROVIDER_MAX_ATTEMPTS = 3
    scripted["errors"] = [TransientError("500")] * 5
    order = place(funded_client, target_count=20)
    step = use_provider(order, "scripted")
    outcomes = []
    for _ in range(3):
        outcomes.append(run_step(step.pk))
        _due(step)
    assert outcomes == ["retry", "retry", "failed"]
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "3 times" in order.status_reason
    assert build_step(order).status == St.FAILED
    assert balances(funded_client) == (1000, 0)
    assert_ledger_clean()


def test_a_refused_key_fails_cleanly_without_retries(funded_client, scripted):
    scripted["errors"] = [PermanentError("401 invalid API key")]
    order = place(funded_client, target_count=20)
    step = use_provider(order, "scripted")
    assert run_step(step.pk) == "failed"
    _due(step)
    assert run_step(step.pk) == "not_claimed"
    assert len(scripted["calls"]) == 1
    order.refresh_from_db()
    step.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "401 invalid API key" in order.status_reason
    assert "401" in step.last_error and step.status == St.FAILED
    assert balances(funded_client) == (1000, 0)
    assert_ledger_clean()


def test_an_open_breaker_pauses_the_order_and_it_resumes_by_itself(funded_client, scripted):
    scripted["errors"] = [CircuitOpen()]
    order = place(funded_client, target_count=20)
    step = use_provider(order, "scripted")
    assert run_step(step.pk) == "paused"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAUSED
    assert order.get_status_display() == "Paused — provider delay"
    assert build_step(order).status == St.WAITING
    _due(step)
    assert run_step(step.pk) == "finished"
    statuses = list(OrderTransition.objects.filter(order=order).values_list("to_status", flat=True))
    assert statuses == ["queued", "building", "paused", "building", "list_qa"]


def test_fallback_provider_takes_over_when_the_switch_is_on(funded_client, scripted):
    set_switch("provider_fallback", True)
    scripted["errors"] = [CircuitOpen()]
    order = place(funded_client, target_count=20)
    step = use_provider(order, "scripted")
    assert run_step(step.pk) == "finished"
    order.refresh_from_db()
    step.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.provider == step.provider == "sandbox"
    assert step.state["providers_used"] == ["scripted", "sandbox"]
    assert set(order.leads.values_list("provider", flat=True)) == {"sandbox"}


def test_without_the_fallback_switch_the_order_pauses(funded_client, scripted):
    set_switch("provider_fallback", False)
    scripted["errors"] = [CircuitOpen()]
    order = place(funded_client, target_count=20)
    assert run_step(use_provider(order, "scripted").pk) == "paused"


def test_a_cancelled_order_stops_building(funded_client, scripted):
    from orders.services import order_cancel

    scripted["errors"] = [RateLimited(retry_after=5)]
    order = place(funded_client, target_count=20)
    step = use_provider(order, "scripted")
    run_step(step.pk)
    order_cancel(order=order, actor=funded_client)
    _due(step)
    assert run_step(step.pk) == "not_claimed"
    assert not order.leads.exists()


# --- automatic QA -------------------------------------------------------------------------


def test_with_the_qa_switch_off_the_gate_passes_automatically(funded_client, scripted):
    set_switch("qa_gate_list", False)
    order = place(funded_client, target_count=20)
    assert run_step(use_provider(order, "scripted").pk) == "finished"
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    decision = QADecision.objects.get(order=order)
    assert decision.automatic and decision.actor is None and decision.accepted_count == 20
    assert order.charged_credits == 20 * order.unit_price
    assert OrderTransition.objects.get(order=order, to_status="delivered").actor is None
    assert_ledger_clean()


def test_automatic_qa_with_no_valid_leads_fails_and_charges_nothing(funded_client, scripted):
    set_switch("qa_gate_list", False)
    scripted["pages"] = [[person(1, status="invalid")]]
    order = place(funded_client, target_count=20)
    run_step(use_provider(order, "scripted").pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert balances(funded_client) == (1000, 0)


def test_automated_checks_are_stored_for_the_reviewer(funded_client, scripted):
    scripted["pages"] = [[person(1), person(2, country="DE"), person(3, status="invalid")]]
    order = place(funded_client, target_count=20)
    run_step(use_provider(order, "scripted").pk)
    checks = {c["name"]: c for c in build_step(order).state["qa_checks"]["checks"]}
    assert set(checks) == {"required_fields", "email_status", "duplicates", "suppression", "criteria_match"}
    assert checks["criteria_match"]["count"] == 1 and not checks["criteria_match"]["ok"]
    assert checks["required_fields"]["detail"] == {"email status invalid": 1}
    order_qa_decide(order=Order.objects.get(pk=order.pk), gate="list", decision="pass", accepted_count=1)
    assert QADecision.objects.get(order=order).checks["summary"]["valid"] == 2
