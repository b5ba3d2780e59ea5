# ruff: noqa: F811  (the fake servers and the breaker reset are fixtures imported from the providers suite)
"""The verify step: built leads' emails checked with the fake Hunter server before QA#1."""

import json
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Lead, Order, OrderStatus, OrderTransition, PipelineStep
from orders.pipeline import claim_step, run_step, stalled_steps
from providers.base import CallContext
from providers.fakes import Fault
from providers.hunter import HunterProvider
from providers.models import ProviderCall
from providers.sandbox import email_status_for
from tests.orders.conftest import build_step, place
from tests.providers.conftest import _fresh_provider_state, hunter_fake  # noqa: F401

pytestmark = pytest.mark.django_db
St = PipelineStep.Status
HUNTER_SEED = 7  # Hunter's verdicts differ from the sandbox's (seed 1) on some addresses
QUOTA_BODY = {"errors": [{"id": "too_many_requests", "code": 429, "details": "You have reached your usage limit."}]}


def _due(step):
    PipelineStep.objects.filter(pk=step.pk).update(not_before=timezone.now() - timedelta(seconds=1))


def _recheck_due(step):
    """Time travel: the wait after Hunter's 202 answers is over."""
    step.refresh_from_db()
    PipelineStep.objects.filter(pk=step.pk).update(state={**step.state, "recheck_after": 0})
    _due(step)


def _verify_step(order) -> PipelineStep:
    return PipelineStep.objects.get(order=order, name=PipelineStep.Name.VERIFY)


def _asked(hunter_fake) -> Counter:
    return Counter(r["args"]["email"] for r in hunter_fake.requests if r["route"] == "email_verifier")


@pytest.fixture
def built(funded_client, hunter_fake):
    """An order built by the sandbox with Hunter configured: the build hands over to verify."""
    hunter_fake.seed = HUNTER_SEED
    order = place(funded_client, target_count=40)
    assert run_step(build_step(order).pk) == "verifying"
    return Order.objects.get(pk=order.pk)


def test_without_a_hunter_key_the_build_goes_straight_to_quality_review(funded_client, settings):
    settings.HUNTER_API_KEY = ""
    order = place(funded_client, target_count=30)
    assert run_step(build_step(order).pk) == "finished"
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert not PipelineStep.objects.filter(order=order, name=PipelineStep.Name.VERIFY).exists()
    assert not ProviderCall.objects.filter(order_id=order.pk, provider="hunter").exists()


def test_leads_are_verified_202_then_200_and_rejected_by_the_rules(built, hunter_fake):
    order = built
    assert order.status == OrderStatus.BUILDING
    assert build_step(order).status == St.DONE
    verify = _verify_step(order)
    assert (verify.provider, verify.status) == ("hunter", St.PENDING)
    built_valid = list(order.leads.filter(status=Lead.Status.VALID).values_list("id", "email"))
    assert len(built_valid) == 40

    # Every address first answers 202 "still verifying": the step is rescheduled, nobody sleeps.
    before = timezone.now()
    assert run_step(verify.pk) == "waiting_for_verification"
    verify.refresh_from_db()
    assert verify.status == St.WAITING and verify.lease_until is None
    assert verify.not_before >= before + timedelta(seconds=25)
    assert len(verify.state["pending"]) == 40
    assert Order.objects.get(pk=order.pk).status == OrderStatus.BUILDING
    assert run_step(verify.pk) == "not_claimed"  # not due yet

    _recheck_due(verify)
    assert run_step(verify.pk) == "finished"
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert list(OrderTransition.objects.filter(order=order).values_list("to_status", flat=True)) == [
        "queued",
        "building",
        "list_qa",
    ]
    assert set(_asked(hunter_fake).values()) == {2}  # each address: one 202, one answer
    calls = ProviderCall.objects.filter(order_id=order.pk, provider="hunter", operation="email_verify")
    assert Counter(calls.values_list("http_status", flat=True)) == {202: 40, 200: 40}
    assert set(calls.values_list("step", flat=True)) == {"verify"}

    accepted = order.rules_version.accepted_email_statuses
    rejected = 0
    for lead_id, email in built_valid:
        lead = Lead.objects.get(pk=lead_id)
        verdict = email_status_for(email, HUNTER_SEED)
        assert lead.email_status == verdict
        if verdict in accepted:
            assert lead.status == Lead.Status.VALID
        else:
            rejected += 1
            assert lead.status == Lead.Status.INVALID
            assert lead.invalid_reason == f"email status {verdict} (verification)"
    assert rejected > 0
    assert order.found_count == 40 - rejected
    summary = build_step(order).state["qa_checks"]["summary"]
    assert summary["valid"] == 40 - rejected
    assert summary["verification"]["verified"] == 40 and summary["verification"]["invalidated"] == rejected
    assert _verify_step(order).status == St.DONE


def test_a_restart_mid_step_repeats_only_the_uncommitted_page(built, hunter_fake, settings):
    hunter_fake.verify_pending = 0
    settings.PIPELINE_VERIFY_PAGE_SIZE = 10
    settings.PIPELINE_RUN_SECONDS = 0  # every run commits one page and hands over
    verify = _verify_step(built)
    assert run_step(verify.pk) == "continued"
    verify.refresh_from_db()
    first_page = list(built.leads.filter(status=Lead.Status.VALID).order_by("id").values_list("email", flat=True)[:10])
    assert verify.pages_done == 1 and verify.status == St.PENDING
    assert int(verify.cursor) == built.leads.get(email=first_page[-1]).pk

    # The next worker claims the step, asks Hunter about its page and is killed before committing.
    claim_step(verify.pk)
    second_page = list(
        built.leads.filter(status=Lead.Status.VALID, id__gt=int(verify.cursor)).order_by("id")[:10]
    )
    hunter = HunterProvider()
    for lead in second_page:
        hunter.verify_email(lead.email, context=CallContext(order_id=built.pk, step="verify"))
    PipelineStep.objects.filter(pk=verify.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert verify.pk in set(stalled_steps().values_list("id", flat=True))

    settings.PIPELINE_RUN_SECONDS = 240
    assert run_step(verify.pk) == "finished"
    asked = _asked(hunter_fake)
    assert all(asked[email] == 1 for email in first_page)  # committed: never asked again
    assert all(asked[lead.email] == 2 for lead in second_page)  # the lost page, asked once more
    assert sum(asked.values()) == 40 + len(second_page)
    verify.refresh_from_db()
    assert verify.status == St.DONE and verify.state["verified"] == 40
    assert Order.objects.get(pk=built.pk).status == OrderStatus.LIST_QA


def test_verification_respects_rate_limits_and_backoff(built, hunter_fake):
    hunter_fake.verify_pending = 0
    rate_limit = {"errors": [{"id": "too_many_requests", "code": 403, "details": "Rate limit reached"}]}
    hunter_fake.inject("email_verifier", Fault.error(403, rate_limit, retry_after=9), Fault.error(502))
    verify = _verify_step(built)
    before = timezone.now()
    assert run_step(verify.pk) == "rate_limited"
    verify.refresh_from_db()
    assert verify.status == St.WAITING and verify.not_before >= before + timedelta(seconds=8)
    _due(verify)
    assert run_step(verify.pk) == "retry"
    verify.refresh_from_db()
    assert verify.attempt == 1 and "502" in verify.last_error
    _due(verify)
    assert run_step(verify.pk) == "finished"
    assert Order.objects.get(pk=built.pk).status == OrderStatus.LIST_QA
    assert _verify_step(built).state["verified"] == 40


def test_a_spent_hunter_quota_ends_verification_visibly_instead_of_retrying(built, hunter_fake):
    """Hunter's 429 is "usage limit reached" (a quota, no Retry-After): the order must not stay
    building; the unverified leads keep the status the build found and ops see why."""
    hunter_fake.verify_pending = 0
    hunter_fake.inject("email_verifier", Fault.error(429, QUOTA_BODY))
    statuses_before = dict(built.leads.values_list("id", "email_status"))
    verify = _verify_step(built)
    assert run_step(verify.pk) == "finished"
    order = Order.objects.get(pk=built.pk)
    assert order.status == OrderStatus.LIST_QA
    assert hunter_fake.count("email_verifier") == 1
    verify.refresh_from_db()
    assert verify.status == St.DONE
    assert "usage limit" in verify.last_error and "usage limit" in verify.state["stopped"]
    assert verify.state["unverified"] == 40
    call = ProviderCall.objects.get(order_id=order.pk, provider="hunter")
    assert (call.outcome, call.http_status, call.retry_after) == ("rate_limited", 429, None)
    assert "usage limit" in call.error_message
    assert dict(order.leads.values_list("id", "email_status")) == statuses_before
    summary = build_step(order).state["qa_checks"]["summary"]
    assert summary["verification"]["unverified"] == 40
    assert json.dumps(summary)  # stored for the reviewer as plain JSON
