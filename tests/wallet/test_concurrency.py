"""Real threads against PostgreSQL: each thread has its own connection and transactions."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from solosales.core.errors import InsufficientCredits
from tests.factories import make_client
from tests.wallet.conftest import make_event, session_obj, signed
from wallet import services
from wallet.models import Hold, StripeEvent, Transfer
from wallet.stripe_events import stripe_event_process

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(n, target):
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results[i] = target(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_20_concurrent_holds_on_a_wallet_that_affords_10(fund, capsys):
    user = make_client()
    fund(user, 100)
    results = run_threads(20, lambda i: services.hold_place(user=user, amount=10, key=f"race:{i}", order_id=i))
    holds = [r for r in results if isinstance(r, Hold)]
    refused = [r for r in results if isinstance(r, InsufficientCredits)]
    assert (len(holds), len(refused)) == (10, 10), results
    available, held = services.client_accounts(user)
    assert (available.balance, held.balance) == (0, 100)
    assert Transfer.objects.filter(kind="hold").count() == 10
    call_command("ledger_check")
    assert "all invariants hold" in capsys.readouterr().out


def test_concurrent_replays_of_one_key_make_one_hold(fund):
    user = make_client()
    fund(user, 100)
    results = run_threads(8, lambda i: services.hold_place(user=user, amount=30, key="same-key", order_id=1))
    assert all(isinstance(r, Hold) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert services.client_accounts(user)[0].balance == 70


def test_10_concurrent_deliveries_of_one_stripe_event_credit_once(settings, capsys):
    settings.JOBS_INLINE = True  # each thread processes what it enqueued, right after its commit
    user = make_client()
    topup = services.topup_start(user=user, credits=500)
    body, header = signed(make_event("checkout.session.completed", session_obj(topup), event_id="evt_race"))

    def deliver(_i):
        response = Client().post(
            "/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        return response.status_code

    assert run_threads(10, deliver) == [200] * 10
    # whichever thread lost the race to process, a later re-run changes nothing either
    stripe_event_process(event_pk=StripeEvent.objects.get().pk)
    assert StripeEvent.objects.count() == 1
    assert Transfer.objects.filter(topup=topup, kind="topup").count() == 1
    assert services.client_accounts(user)[0].balance == 500
    call_command("ledger_check")
    assert "all invariants hold" in capsys.readouterr().out


def test_refund_before_completion_through_the_queue(settings, capsys):
    settings.JOBS_INLINE = True
    user = make_client()
    topup = services.topup_start(user=user, credits=200)
    session = session_obj(topup)
    charge = {
        "id": "ch_ooo",
        "object": "charge",
        "payment_intent": session["payment_intent"],
        "amount": 20000,
        "amount_refunded": 5000,
    }
    client = Client()
    for event in (make_event("charge.refunded", charge), make_event("checkout.session.completed", session)):
        body, header = signed(event)
        assert (
            client.post(
                "/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
            ).status_code
            == 200
        )
    topup.refresh_from_db()
    assert (topup.status, topup.refunded_credits) == ("paid", 50)
    assert services.client_accounts(user)[0].balance == 150
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}
    call_command("ledger_check")
    assert "all invariants hold" in capsys.readouterr().out


@pytest.mark.redis
def test_the_webhook_queue_processes_events_after_commit(settings, run_jobs):
    settings.JOBS_INLINE = False
    user = make_client()
    topup = services.topup_start(user=user, credits=100)
    body, header = signed(make_event("checkout.session.completed", session_obj(topup)))
    response = Client().post(
        "/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 200
    assert StripeEvent.objects.get().status == "received"  # answered before processing
    run_jobs(["webhooks"])
    assert StripeEvent.objects.get().status == "processed"
    assert services.client_accounts(user)[0].balance == 100
