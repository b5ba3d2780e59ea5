"""Recovery: the sweeper, resume_stalled, concurrent QA decisions, a worker killed mid-build."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from orders.models import Lead, Order, OrderStatus, PipelineStep, QADecision
from orders.pipeline import claim_step, run_step, stalled_steps, sweep
from orders.services import order_qa_decide
from solosales.core.errors import Conflict, IllegalTransition
from tests.factories import make_staff
from tests.orders.conftest import balances, build_step, place
from tests.orders.ledger import assert_ledger_clean

St = PipelineStep.Status


def _queued_job_count(queue="providers"):
    import django_rq

    return django_rq.get_queue(queue).count


@pytest.mark.django_db
def test_a_fresh_pending_step_is_not_swept(funded_client):
    place(funded_client)
    assert not stalled_steps().exists()


@pytest.mark.django_db
def test_an_expired_lease_and_a_lost_enqueue_are_found(funded_client):
    a, b, c = (build_step(place(funded_client)) for _ in range(3))
    past = timezone.now() - timedelta(minutes=5)
    PipelineStep.objects.filter(pk=a.pk).update(status=St.RUNNING, lease_until=past)  # worker killed
    PipelineStep.objects.filter(pk=b.pk).update(updated_at=past)  # enqueue lost after commit
    PipelineStep.objects.filter(pk=c.pk).update(status=St.RUNNING, lease_until=timezone.now() + timedelta(minutes=1))
    assert set(stalled_steps().values_list("id", flat=True)) == {a.pk, b.pk}


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_the_sweeper_recovers_a_lost_enqueue(client_user, run_jobs):
    from tests.orders.conftest import fund

    fund(client_user, 500)
    order = place(client_user, target_count=30)  # transaction=True: the enqueue really happens
    import django_rq

    django_rq.get_queue("providers").empty()  # ...and is lost
    step = build_step(order)
    PipelineStep.objects.filter(pk=step.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
    assert sweep() == 1
    run_jobs()
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.leads.filter(status=Lead.Status.VALID).count() == 30
    assert sweep() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_resume_stalled_recovers_an_expired_lease_without_duplicates(client_user, run_jobs, settings):
    from tests.orders.conftest import fund

    settings.PIPELINE_PAGE_SIZE = 10
    fund(client_user, 500)
    order = place(client_user, target_count=40)
    import django_rq

    django_rq.get_queue("providers").empty()
    step = build_step(order)
    # A worker committed two pages, then died holding the lease.
    from orders.pipeline import _commit_page
    from orders.services import order_transition
    from providers.base import CallContext, Criteria, get_provider

    order_transition(order=order, name="start")
    token = claim_step(step.pk)
    sandbox = get_provider("sandbox")
    cursor = None
    for _ in range(2):
        page = sandbox.search(Criteria.from_dict(order.criteria), cursor=cursor, page_size=10, context=CallContext())
        _commit_page(
            step_id=step.pk, token=token, order_id=order.pk, records=page.records, next_cursor=page.next_cursor
        )
        cursor = page.next_cursor
    PipelineStep.objects.filter(pk=step.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    out = StringIO()
    call_command("resume_stalled", stdout=out)
    assert "re-enqueued 1" in out.getvalue()
    run_jobs()
    order.refresh_from_db()
    step.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert step.pages_done >= 4
    keys = list(order.leads.values_list("dedupe_key", flat=True))
    assert len(keys) == len(set(keys))
    assert order.leads.filter(status=Lead.Status.VALID).count() == 40


@pytest.mark.django_db
def test_resume_stalled_dry_run_lists_without_enqueueing(funded_client):
    step = build_step(place(funded_client))
    PipelineStep.objects.filter(pk=step.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
    out = StringIO()
    call_command("resume_stalled", "--dry-run", stdout=out)
    assert f"step {step.pk}" in out.getvalue()
    assert claim_step(step.pk) is not None  # still free: nothing ran it


# --- full lifecycle with a real worker (burst) ----------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.redis
def test_full_lifecycle_with_the_worker(client_user, run_jobs):
    from tests.orders.conftest import fund

    fund(client_user, 1000)
    order = place(client_user, target_count=200)
    assert order.status == OrderStatus.QUEUED
    run_jobs()
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.found_count == 200
    staff = make_staff()
    order = order_qa_decide(order=order, gate="list", decision="pass", accepted_count=180, actor=staff)
    assert order.status == OrderStatus.DELIVERED
    assert order.charged_credits == 180 * order.unit_price
    assert balances(client_user) == (1000 - 180 * order.unit_price, 0)
    assert order.leads.filter(delivered=True).count() == 180
    assert_ledger_clean()


# --- concurrent QA decisions --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_concurrent_qa_decisions_one_wins(client_user):
    from tests.orders.conftest import fund

    fund(client_user, 1000)
    order = place(client_user, target_count=30)
    assert run_step(build_step(order).pk) == "finished"
    staff = make_staff()
    barrier = threading.Barrier(2)
    results = {}

    def decide(name, decision):
        try:
            barrier.wait()
            o = Order.objects.get(pk=order.pk)
            results[name] = order_qa_decide(
                order=o, gate="list", decision=decision, accepted_count=None, actor=staff, notes="concurrent"
            ).status
        except (Conflict, IllegalTransition) as exc:
            results[name] = type(exc).__name__
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(n, d)) for n, d in (("a", "pass"), ("b", "fail"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = sorted(results.values())
    assert outcomes in (["Conflict", "delivered"], ["Conflict", "failed"]), outcomes
    assert QADecision.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.hold.status == "resolved"
    assert_ledger_clean()


# --- a worker killed mid-build -------------------------------------------------------------


def _worker_env():
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "orders_worker_settings"
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent / "worker"), str(settings.BASE_DIR)])
    env["WORKER_DB_NAME"] = connection.settings_dict["NAME"]
    env["REDIS_URL"] = settings.REDIS_URL
    return env


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_build_is_recovered_without_duplicates(client_user):
    from tests.orders.conftest import fund

    fund(client_user, 30000)
    order = place(client_user, target_count=6000, criteria={"countries": ["US"]})
    step = build_step(order)
    cmd = [sys.executable, str(settings.BASE_DIR / "manage.py"), "rqworker", "providers", "--burst"]
    # A non-forking worker runs the job in its own process, so SIGKILL kills the build mid-page
    # (a forking worker's work horse sits in its own process group and would outlive it).
    first = subprocess.Popen(
        [*cmd, "--worker-class", "rq.worker.SimpleWorker"],
        env=_worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            step.refresh_from_db()
            if step.pages_done >= 3:
                break
            time.sleep(0.05)
        assert step.pages_done >= 3, "the worker did not start building"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    step.refresh_from_db()
    pages_at_kill = step.pages_done
    assert step.status == St.RUNNING and Order.objects.get(pk=order.pk).status == OrderStatus.BUILDING
    # The lease of the dead worker expires; the sweeper hands the step to a new worker.
    PipelineStep.objects.filter(pk=step.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    import django_rq

    django_rq.get_queue("providers").empty()
    assert sweep() == 1
    second = subprocess.run(cmd, env=_worker_env(), timeout=300, capture_output=True)
    assert second.returncode == 0, second.stderr[-2000:]
    assert b"run_step" in second.stderr + second.stdout
    order.refresh_from_db()
    step.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert step.pages_done > pages_at_kill
    keys = list(order.leads.values_list("dedupe_key", flat=True))
    assert len(keys) == len(set(keys))
    assert order.leads.filter(status=Lead.Status.VALID).count() == 6000
    assert order.found_count == 6000
