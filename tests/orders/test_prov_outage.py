# ruff: noqa: F811  (the fake servers and the breaker reset are fixtures imported from the providers suite)
"""Outages against the fake RocketReach server with the project's default resilience settings:
a long outage pauses the order (it never fails it) and the order resumes by itself; a Hunter
fallback that cannot serve the criteria, or runs dry, hands back to the primary."""

from datetime import UTC, datetime, timedelta

import pybreaker
import pytest
from django.utils import timezone

from orders.models import Lead, Order, OrderStatus, OrderTransition, PipelineStep
from orders.pipeline import breaker_retry_seconds, max_attempts, page_size, run_step
from providers.breakers import get_breaker
from providers.fakes import Fault
from providers.models import ProviderCall
from tests.orders.conftest import place, set_switch, use_provider
from tests.providers.conftest import _fresh_provider_state, hunter_fake, rr_fake  # noqa: F401

pytestmark = pytest.mark.django_db
St = PipelineStep.Status


def _due(step):
    PipelineStep.objects.filter(pk=step.pk).update(not_before=timezone.now() - timedelta(seconds=1))


def _reset_timeout_passes(name: str) -> float:
    """Time travel in the breaker's shared state: it opened a reset timeout (plus a second)
    ago, so the next call is its trial. Returns the seconds skipped."""
    breaker = get_breaker(name)
    skipped = breaker.reset_timeout + 1
    opened = datetime.now(UTC) - timedelta(seconds=skipped)
    storage = breaker._state_storage
    if isinstance(storage, pybreaker.CircuitRedisStorage):
        # pybreaker only ever moves "opened_at" forward; write the earlier time directly.
        storage._redis.set(storage._namespace("opened_at"), int(opened.timestamp()))
    else:
        storage.opened_at = opened
    return skipped


def _timeline(order):
    return list(OrderTransition.objects.filter(order=order).values_list("to_status", flat=True))


def test_an_outage_longer_than_the_retry_budget_pauses_and_resumes_by_itself(funded_client, rr_fake):
    """Defaults: 5 failures open the breaker, 6 attempts, 60 s reset (nothing raised here)."""
    breaker = get_breaker("rocketreach")
    assert (breaker.fail_max, breaker.reset_timeout, max_attempts()) == (5, 60, 6)
    assert breaker_retry_seconds() == 60
    order = place(funded_client, target_count=60)
    step = use_provider(order, "rocketreach")
    failed_trials = 4
    outage_calls = breaker.fail_max + failed_trials
    rr_fake.inject("search", *[Fault.error(503)] * outage_calls)

    outcomes, simulated = [], 0.0
    for _ in range(breaker.fail_max):
        outcomes.append(run_step(step.pk))
        step.refresh_from_db()
        simulated += max(0.0, (step.not_before - timezone.now()).total_seconds()) if outcomes[-1] == "retry" else 0
        _due(step)
    # The 5th failure trips the breaker: the order pauses instead of spending another retry.
    assert outcomes == ["retry"] * (breaker.fail_max - 1) + ["paused"]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAUSED
    step.refresh_from_db()
    assert step.attempt == 0 and step.status == St.WAITING and "503" in step.last_error

    # While the breaker is open nothing is sent and the order stays paused.
    sent = rr_fake.count("search")
    _due(step)
    assert run_step(step.pk) == "still_paused"
    assert rr_fake.count("search") == sent

    # Each reset period one trial call fails: the order stays paused, never fails.
    for _ in range(failed_trials):
        simulated += _reset_timeout_passes("rocketreach")
        _due(step)
        assert run_step(step.pk) == "paused"
        assert Order.objects.get(pk=order.pk).status == OrderStatus.PAUSED
    longest_retry_budget = sum(min(300.0, 2.0 * 2 ** (n - 1)) for n in range(1, max_attempts() + 1))
    assert simulated > longest_retry_budget  # the outage outlasted attempts x backoff
    assert rr_fake.count("search") == outage_calls > max_attempts()

    # The provider is back: the next trial succeeds, the order resumes and completes.
    _reset_timeout_passes("rocketreach")
    _due(step)
    outcome = run_step(step.pk)
    order.refresh_from_db()
    assert outcome == "finished" and order.status == OrderStatus.LIST_QA
    assert order.leads.filter(status=Lead.Status.VALID).count() == 60
    assert _timeline(order) == ["queued", "building", "paused", "building", "list_qa"]
    errors = ProviderCall.objects.filter(order_id=order.pk, provider="rocketreach", http_status=503).count()
    assert errors == outage_calls


def test_a_hunter_fallback_that_cannot_serve_the_criteria_keeps_the_order_paused(
    funded_client, rr_fake, hunter_fake
):
    set_switch("provider_fallback", True)
    hunter_fake.verify_pending = 0
    order = place(funded_client, target_count=40)  # seniority + country: nothing Hunter can search by
    step = use_provider(order, "rocketreach")
    rr_fake.inject("search", *[Fault.error(500)] * 5)
    outcomes = []
    for _ in range(6):
        outcomes.append(run_step(step.pk))
        _due(step)
        if outcomes[-1] != "retry":
            break
    assert outcomes == ["retry"] * 4 + ["paused"]
    order.refresh_from_db()
    step.refresh_from_db()
    assert order.status == OrderStatus.PAUSED
    assert step.provider == "rocketreach" and step.status == St.WAITING
    assert step.state["unusable"] == ["hunter"]
    assert "hunter" in step.last_error and "domain" in step.last_error
    assert hunter_fake.count() == 0  # no request was sent to Hunter
    refused = ProviderCall.objects.get(order_id=order.pk, provider="hunter")
    assert refused.outcome == "error" and "no request sent" in refused.error_message
    assert not order.leads.exists()

    # Still down: still paused, and the unusable fallback is not tried again.
    _due(step)
    assert run_step(step.pk) == "still_paused"
    assert ProviderCall.objects.filter(order_id=order.pk, provider="hunter").count() == 1

    _reset_timeout_passes("rocketreach")
    _due(step)
    assert run_step(step.pk) == "verifying"  # the primary is back; Hunter (configured) verifies
    verify = PipelineStep.objects.get(order=order, name=PipelineStep.Name.VERIFY)
    assert run_step(verify.pk) == "finished"
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert set(order.leads.values_list("provider", flat=True)) == {"rocketreach"}
    assert _timeline(order) == ["queued", "building", "paused", "building", "list_qa"]


def test_a_hunter_fallback_that_runs_dry_hands_back_to_the_primary(funded_client, rr_fake, hunter_fake):
    set_switch("provider_fallback", True)
    hunter_fake.verify_pending = 0
    order = place(funded_client, target_count=150, criteria={"countries": ["US"], "keywords": ["acme.com"]})
    step = use_provider(order, "rocketreach")
    rr_fake.inject("search", *[Fault.error(500)] * 5)
    outcomes = []
    for _ in range(8):
        outcomes.append(run_step(step.pk))
        _due(step)
        if outcomes[-1] != "retry":
            break
    # The 5th failure opens the breaker: Hunter takes over, serves acme.com's people, runs dry,
    # and the step goes back to RocketReach, which is still down: paused, not done.
    assert outcomes == ["retry"] * 4 + ["paused"]
    order.refresh_from_db()
    step.refresh_from_db()
    from_hunter = order.leads.filter(provider="hunter", status=Lead.Status.VALID).count()
    assert 0 < from_hunter < order.target_count
    assert order.status == OrderStatus.PAUSED
    assert step.provider == "rocketreach" and step.state["exhausted"] == ["hunter"]
    assert step.state["providers_used"] == ["rocketreach", "hunter", "rocketreach"]
    assert "no more results" in step.last_error

    _reset_timeout_passes("rocketreach")
    _due(step)
    assert run_step(step.pk) == "verifying"
    assert run_step(PipelineStep.objects.get(order=order, name=PipelineStep.Name.VERIFY).pk) == "finished"
    order.refresh_from_db()
    valid = order.leads.filter(status=Lead.Status.VALID)
    assert order.status == OrderStatus.LIST_QA
    assert valid.count() == 150 and valid.filter(provider="rocketreach").exists()
    assert ProviderCall.objects.filter(order_id=order.pk, provider="rocketreach", http_status=200).count() >= 1
    assert page_size() == 500  # the default: RocketReach serves at most 100 of it per request
    assert "paused" in _timeline(order)


def test_a_hunter_fallback_with_a_spent_quota_hands_back_instead_of_retrying(funded_client, rr_fake, hunter_fake):
    set_switch("provider_fallback", True)
    hunter_fake.verify_pending = 0
    quota = {"errors": [{"id": "too_many_requests", "code": 429, "details": "You have reached your usage limit."}]}
    hunter_fake.inject("domain_search", Fault.error(429, quota))  # no Retry-After: a quota, not a rate limit
    order = place(funded_client, target_count=40, criteria={"countries": ["US"], "keywords": ["acme.com"]})
    step = use_provider(order, "rocketreach")
    rr_fake.inject("search", *[Fault.error(500)] * 5)
    outcomes = []
    for _ in range(6):
        outcomes.append(run_step(step.pk))
        _due(step)
        if outcomes[-1] != "retry":
            break
    assert outcomes == ["retry"] * 4 + ["paused"]
    step.refresh_from_db()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAUSED
    assert step.provider == "rocketreach" and step.state["unusable"] == ["hunter"]
    assert "usage limit" in step.last_error
    assert hunter_fake.count("domain_search") == 1
    call = ProviderCall.objects.get(order_id=order.pk, provider="hunter")
    assert (call.outcome, call.http_status) == ("rate_limited", 429)

    _due(step)
    assert run_step(step.pk) == "still_paused"
    _reset_timeout_passes("rocketreach")
    _due(step)
    assert run_step(step.pk) == "verifying"
    assert hunter_fake.count("domain_search") == 1  # the spent fallback is not asked again
