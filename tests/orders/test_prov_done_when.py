# ruff: noqa: F811  (rr_fake is a fixture imported from the providers suite)
"""Issue 5's "done when": an order built against the fake RocketReach server with injected
429s, 500s and one worker kill (a real rqworker process, SIGKILL) completes with exactly the
target leads, an audit row for every call, and the client-visible pause/resume in its
timeline."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import django_rq
import pytest
from django.conf import settings
from django.utils import timezone

from orders.models import Lead, Order, OrderStatus, OrderTransition, PipelineStep
from orders.pipeline import run_step, sweep
from providers.breakers import reset_breakers
from providers.fakes import Fault
from providers.models import ProviderCall
from tests.orders.conftest import fund, place, use_provider
from tests.orders.ledger import assert_ledger_clean
from tests.orders.test_sweeper import _worker_env
from tests.providers.conftest import RR_KEY, _fresh_provider_state, rr_fake  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
]
St = PipelineStep.Status
TARGET = 600


def _due(step):
    PipelineStep.objects.filter(pk=step.pk).update(not_before=timezone.now() - timedelta(seconds=1))


def _env():
    env = _worker_env()
    env.update(
        ROCKETREACH_API_BASE=settings.ROCKETREACH_API_BASE,
        ROCKETREACH_API_KEY=RR_KEY,
        WORKER_ROCKETREACH_PER_SECOND="1000",
        WORKER_ROCKETREACH_PER_MINUTE="100000",
        WORKER_PAGE_SIZE="50",
    )
    return env


def test_an_order_survives_429s_500s_an_outage_and_a_killed_worker(client_user, rr_fake, settings):
    settings.PROVIDER_BREAKER_FAIL_MAX = 2
    settings.PROVIDER_BREAKER_RESET = 1
    reset_breakers()
    rr_fake.population = 3000
    fund(client_user, 10_000)
    order = place(client_user, target_count=TARGET, criteria={"countries": ["US"]})
    step = use_provider(order, "rocketreach")
    settings.PIPELINE_PAGE_SIZE = 50

    # A 429 with Retry-After: the step is rescheduled, not slept in.
    rr_fake.inject("search", Fault.error(429, retry_after=3))
    assert run_step(step.pk) == "rate_limited"
    _due(step)
    # An outage: 500s open the breaker and the order pauses; it resumes once a call succeeds.
    rr_fake.inject("search", Fault.error(500), Fault.error(500))
    outcomes = []
    for _ in range(4):
        outcomes.append(run_step(step.pk))
        _due(step)
        if outcomes[-1] == "paused":
            break
    assert outcomes[-1] == "paused" and Order.objects.get(pk=order.pk).status == OrderStatus.PAUSED
    time.sleep(1.2)  # the breaker's reset timeout
    _due(step)
    settings.PIPELINE_RUN_SECONDS = 0  # hand over after the first page: the rest is the worker's
    assert run_step(step.pk) == "continued"  # resumed, a page built, handed over
    assert Order.objects.get(pk=order.pk).status == OrderStatus.BUILDING

    # A real worker process picks the build up and is killed mid-build.
    django_rq.get_queue("providers").empty()
    PipelineStep.objects.filter(pk=step.pk).update(status=St.PENDING, lease_until=None)
    from orders import jobs

    django_rq.get_queue("providers").enqueue(jobs.run_step, step.pk)
    rr_fake.inject("search", *[Fault.slow(0.3)] * 4)  # slow pages, so the kill lands mid-build
    cmd = [sys.executable, str(settings.BASE_DIR / "manage.py"), "rqworker", "providers", "--burst"]
    step.refresh_from_db()
    pages_before = step.pages_done
    assert step.state["valid"] < TARGET / 2
    worker = subprocess.Popen(
        [*cmd, "--worker-class", "rq.worker.SimpleWorker"],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            step.refresh_from_db()
            if step.pages_done >= pages_before + 2:
                break
            time.sleep(0.05)
        assert step.pages_done >= pages_before + 2, "the worker did not build"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    step.refresh_from_db()
    assert step.status == St.RUNNING and Order.objects.get(pk=order.pk).status == OrderStatus.BUILDING

    # The dead worker's lease expires; the sweeper hands the step to a new worker, which finishes.
    PipelineStep.objects.filter(pk=step.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    django_rq.get_queue("providers").empty()
    assert sweep() == 1
    finished = subprocess.run(cmd, env=_env(), timeout=300, capture_output=True)
    assert finished.returncode == 0, finished.stderr[-2000:]

    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    valid = order.leads.filter(status=Lead.Status.VALID)
    assert valid.count() == TARGET == order.found_count
    keys = list(order.leads.values_list("dedupe_key", flat=True))
    assert len(keys) == len(set(keys))
    # An audit row for every call the fake answered (but the one the kill may have cut).
    audited = ProviderCall.objects.filter(order_id=order.pk, provider="rocketreach").count()
    assert rr_fake.count() - 1 <= audited <= rr_fake.count()
    assert ProviderCall.objects.filter(order_id=order.pk, outcome="rate_limited").exists()
    assert ProviderCall.objects.filter(order_id=order.pk, outcome="error").count() >= 2
    # The client sees the provider delay and the resumption in the order's timeline.
    timeline = list(OrderTransition.objects.filter(order=order).order_by("id").values_list("to_status", flat=True))
    assert "paused" in timeline
    assert timeline.index("paused") < len(timeline) - 1 - timeline[::-1].index("building")
    assert timeline[-1] == "list_qa"
    assert_ledger_clean()
