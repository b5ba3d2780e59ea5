"""Faults: a crash between commit and enqueue, PostgreSQL connections killed mid-run, and Redis
going away (a private redis-server this test starts and stops) — nothing is lost or half-applied."""

import json
import socket
import subprocess
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection

from orders.models import Order, OrderStatus, PipelineStep
from orders.pipeline import sweep
from solosales.accounts.services import api_token_create
from tests.factories import make_client
from tests.orders.conftest import balances, fund
from wallet.models import StripeEvent, TopUp
from wallet.services import topup_start
from wallet.stripe_events import stripe_events_sweep
from wallet.stripe_gateway import sign_payload

BODY = {"type": "list", "target_count": 20, "criteria": {"countries": ["US"]}}


def _api(client, user):
    _t, key = api_token_create(user=user, name="faults")
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def _paid_event(topup):
    event = {
        "id": f"evt_fault_{topup.pk}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": topup.stripe_session_id,
                "object": "checkout.session",
                "client_reference_id": str(topup.pk),
                "amount_total": topup.amount_minor,
                "currency": topup.currency,
                "payment_status": "paid",
                "payment_intent": f"pi_fault_{topup.pk}",
            }
        },
    }
    return json.dumps(event).encode()


def _post_stripe(client, body):
    return client.post(
        "/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign_payload(body)
    )


# --- crash between commit and enqueue ------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_crash_between_commit_and_enqueue_is_recovered_by_the_sweepers(client, monkeypatch, run_jobs):
    from solosales.core import jobs

    user = make_client()
    fund(user, 500)
    auth = _api(client, user)
    topup = topup_start(user=user, credits=100)

    def crash(*args, **kwargs):
        raise ConnectionError("process died after the commit, before the enqueue")

    monkeypatch.setattr(jobs, "enqueue_now", crash)
    placed = client.post(
        "/api/v1/orders/", data=BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1", **auth
    )
    paid = _post_stripe(client, _paid_event(topup))
    monkeypatch.undo()
    assert placed.status_code == 201 and paid.status_code == 200
    order = Order.objects.get(pk=placed.json()["id"])
    assert order.status == OrderStatus.QUEUED
    assert balances(user) == (480, 20)  # the hold committed
    run_jobs()  # nothing was enqueued: nothing happens
    assert Order.objects.get(pk=order.pk).status == OrderStatus.QUEUED
    assert StripeEvent.objects.get(event_id=f"evt_fault_{topup.pk}").status == StripeEvent.Status.RECEIVED

    assert sweep(pending_grace=0) == 1
    assert stripe_events_sweep(older_than=timedelta(0)) == 1
    run_jobs()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.LIST_QA
    assert TopUp.objects.get(pk=topup.pk).status == TopUp.Status.PAID
    assert balances(user) == (580, 20)
    assert sweep(pending_grace=0) == 0  # nothing left behind


# --- PostgreSQL connections killed ------------------------------------------------------------


def _terminate(pid=None):
    """pg_terminate_backend on this test database's connections only (the other xdist
    worker's database is left alone)."""
    s = connection.settings_dict
    dsn = f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        if pid is None:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        else:
            rows = admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchall()
    return len(rows)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_app_reconnects_after_its_database_connections_are_killed():
    """gunicorn with persistent connections (CONN_MAX_AGE) as in production: every
    connection of this test database is terminated (a PostgreSQL restart, as the app sees
    it); the next requests get a fresh connection (CONN_HEALTH_CHECKS), no 5xx."""
    import requests

    from tests.reliability.server import gunicorn

    user = make_client()
    _t, key = api_token_create(user=user, name="reconnect")
    headers = {"Authorization": f"Token {key}"}
    with gunicorn(workers=1, CONN_MAX_AGE=600) as url:
        for _ in range(3):
            assert requests.get(url + "/api/v1/wallet/", headers=headers, timeout=10).status_code == 200
        assert _terminate() >= 1  # the worker's persistent connection among them
        connection.close()  # this test's own connection was cut too
        for path in ("/api/v1/wallet/", "/api/v1/orders/", "/healthz", "/api/v1/me/"):
            response = requests.get(url + path, headers=headers, timeout=10)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_placement_whose_connection_dies_mid_transaction_leaves_nothing_behind(client, monkeypatch):
    from wallet import services as wallet

    user = make_client()
    fund(user, 500)
    auth = _api(client, user)
    real = wallet.hold_place

    def dying(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        _terminate(pid)  # the server restarts under us: order row written, hold not yet
        return real(**kwargs)

    monkeypatch.setattr("orders.services.wallet.hold_place", dying)
    client.raise_request_exception = False
    response = client.post(
        "/api/v1/orders/", data=BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="x", **auth
    )
    assert response.status_code >= 500
    monkeypatch.undo()
    connection.close()
    assert Order.objects.filter(user=user).count() == 0  # the order row rolled back with the hold
    assert balances(user) == (500, 0)
    again = client.post("/api/v1/orders/", data=BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="x", **auth)
    assert again.status_code == 201  # the retry with the same key is applied exactly once
    assert balances(user) == (480, 20)
    assert PipelineStep.objects.filter(order__user=user).count() == 1


# --- Redis unavailable ---------------------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis(monkeypatch, settings):
    """A redis-server of this test's own on a free port, wired into the queues and REDIS_URL;
    ``stop()`` / ``start()`` take it away and bring it back (empty, as after a restart)."""
    import django_rq.settings

    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    state = {}

    def start():
        proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        state["proc"] = proc
        import redis

        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop():
        proc = state.pop("proc", None)
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)

    settings.REDIS_URL = url
    for name, config in django_rq.settings.QUEUES.items():
        monkeypatch.setitem(django_rq.settings.QUEUES, name, {**config, "URL": url})
    start()
    yield type("R", (), {"start": staticmethod(start), "stop": staticmethod(stop), "url": url})
    stop()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_pages_work_healthz_is_503_and_queued_work_resumes(client, private_redis, run_jobs):
    user = make_client()
    fund(user, 500)
    auth = _api(client, user)
    topup = topup_start(user=user, credits=100)
    private_redis.stop()

    assert client.get("/healthz").status_code == 503
    client.force_login(user)
    for url in ("/dashboard/", "/orders/", "/wallet/", "/orders/new/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/api/v1/wallet/", **auth).status_code == 200
    placed = client.post(
        "/api/v1/orders/", data=BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r", **auth
    )
    assert placed.status_code == 201  # the durable checkpoint is written; the enqueue is not
    assert _post_stripe(client, _paid_event(topup)).status_code == 200  # stored, answered fast
    order = Order.objects.get(pk=placed.json()["id"])
    assert order.status == OrderStatus.QUEUED and balances(user) == (480, 20)

    private_redis.start()  # back, empty: whatever was queued before is gone
    assert client.get("/healthz").status_code == 200
    assert sweep(pending_grace=0) == 1
    stripe_events_sweep(older_than=timedelta(0))
    run_jobs()
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA and order.found_count == 20
    assert TopUp.objects.get(pk=topup.pk).status == TopUp.Status.PAID
    assert balances(user) == (580, 20)
