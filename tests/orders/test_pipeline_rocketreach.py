# ruff: noqa: F811  (rr_fake and the breaker reset are fixtures imported from the providers suite)
"""The build step against the fake RocketReach server (real HTTP on 127.0.0.1)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Lead, Order, OrderStatus, OrderTransition, PipelineStep
from orders.pipeline import run_step
from providers.fakes import Fault
from providers.models import ProviderCall
from tests.orders.conftest import balances, place, set_switch, use_provider
from tests.orders.ledger import assert_ledger_clean
from tests.providers.conftest import _fresh_provider_state, rr_fake  # noqa: F401

pytestmark = pytest.mark.django_db
St = PipelineStep.Status


def _due(step):
    PipelineStep.objects.filter(pk=step.pk).update(not_before=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def rr_order(funded_client, rr_fake, settings):
    settings.PIPELINE_PAGE_SIZE = 25
    order = place(funded_client, target_count=60)
    return order, use_provider(order, "rocketreach")


def _drive(step, limit=20):
    outcomes = []
    for _ in range(limit):
        outcome = run_step(step.pk)
        outcomes.append(outcome)
        if outcome in ("finished", "failed", "not_claimed"):
            break
        _due(step)
    return outcomes


def test_builds_to_target_with_an_audit_row_per_call(rr_order, rr_fake):
    order, step = rr_order
    assert _drive(step)[-1] == "finished"
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.leads.filter(status=Lead.Status.VALID).count() == 60
    assert ProviderCall.objects.filter(order_id=order.pk).count() >= rr_fake.count("search")
    keys = list(order.leads.values_list("dedupe_key", flat=True))
    assert len(keys) == len(set(keys))


def test_429_reschedules_then_completes(rr_order, rr_fake):
    order, step = rr_order
    rr_fake.inject("search", Fault.error(429, retry_after=7))
    assert run_step(step.pk) == "rate_limited"
    step.refresh_from_db()
    assert step.status == St.WAITING
    assert step.not_before >= timezone.now() + timedelta(seconds=5)
    _due(step)
    assert _drive(step)[-1] == "finished"


def test_500s_retry_then_succeed(rr_order, rr_fake):
    order, step = rr_order
    rr_fake.inject("search", Fault.error(500), Fault.error(502), Fault.error(503))
    outcomes = _drive(step)
    assert outcomes[:3] == ["retry", "retry", "retry"] and outcomes[-1] == "finished"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.LIST_QA


def test_401_fails_cleanly_with_one_request(rr_order, rr_fake, funded_client):
    order, step = rr_order
    rr_fake.inject("search", Fault.error(401, {"detail": "Invalid API key"}))
    assert _drive(step) == ["failed"]
    assert rr_fake.count("search") == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED and order.status_reason
    assert balances(funded_client) == (1000, 0)
    assert_ledger_clean()


def test_open_breaker_pauses_then_resumes(rr_order, rr_fake, settings):
    settings.PROVIDER_BREAKER_FAIL_MAX = 2
    settings.PROVIDER_BREAKER_RESET = 1
    settings.PROVIDER_MAX_ATTEMPTS = 10
    from providers.breakers import reset_breakers

    reset_breakers()
    order, step = rr_order
    rr_fake.inject("search", Fault.error(500), Fault.error(500))
    outcomes = []
    for _ in range(4):
        outcomes.append(run_step(step.pk))
        _due(step)
        if outcomes[-1] == "paused":
            break
    assert "paused" in outcomes
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAUSED
    requests_while_open = rr_fake.count("search")
    import time

    time.sleep(1.1)  # the breaker's reset timeout: the next call is a trial
    _due(step)
    assert _drive(step)[-1] == "finished"
    assert rr_fake.count("search") > requests_while_open
    statuses = list(OrderTransition.objects.filter(order=order).values_list("to_status", flat=True))
    assert "paused" in statuses and statuses[-1] == "list_qa"


def test_without_a_usable_fallback_an_open_breaker_pauses(rr_order, rr_fake, settings):
    """RocketReach's fallback is Hunter; with no Hunter key it cannot take over, so the order
    pauses even with the fallback switch on, and no request is sent while the breaker is open."""
    settings.PROVIDER_BREAKER_FAIL_MAX = 1
    settings.PROVIDER_BREAKER_RESET = 600
    settings.HUNTER_API_KEY = ""
    from providers.breakers import reset_breakers

    reset_breakers()
    set_switch("provider_fallback", True)
    order, step = rr_order
    rr_fake.inject("search", Fault.error(500))
    assert run_step(step.pk) == "paused"  # the failing call trips the breaker: an outage, not a retry
    _due(step)
    assert run_step(step.pk) == "still_paused"
    step.refresh_from_db()
    assert step.provider == "rocketreach" and step.status == St.WAITING
    assert rr_fake.count("search") == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAUSED
