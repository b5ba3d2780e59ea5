import json
import time

import pytest

from tests.wallet.conftest import make_event, session_obj, signed
from wallet import services
from wallet.ledger_check import run_checks
from wallet.models import StripeEvent, TopUp, Transfer
from wallet.stripe_events import stripe_event_process

pytestmark = pytest.mark.django_db


def available(user):
    return services.client_accounts(user)[0].balance


@pytest.fixture
def topup(client_user):
    return services.topup_start(user=client_user, credits=500)


# --- rejected deliveries -------------------------------------------------------------------


def test_bad_signature_is_rejected_and_nothing_stored(post_event, topup):
    event = make_event("checkout.session.completed", session_obj(topup))
    response = post_event(event, secret="whsec_somebody_else")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_rejected"
    assert StripeEvent.objects.count() == 0


def test_with_no_endpoint_secret_configured_even_an_empty_key_signature_is_refused(post_event, topup, settings):
    """An empty HMAC key is public: with no secret set, nothing verifies."""
    settings.STRIPE_WEBHOOK_SECRET = ""
    event = make_event("checkout.session.completed", session_obj(topup, payment_status="paid"))
    response = post_event(event, secret="")
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert available(topup.user) == 0


def test_missing_signature_is_rejected(post_event, topup):
    response = post_event(make_event("checkout.session.completed", session_obj(topup)), signature="")
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_stale_timestamp_is_rejected(post_event, topup):
    event = make_event("checkout.session.completed", session_obj(topup))
    response = post_event(event, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert "stale" in response.json()["error"]["message"]
    assert StripeEvent.objects.count() == 0


def test_malformed_json_is_rejected_even_when_signed(post_event):
    response = post_event(b'{"id": "evt_1", "type": ')
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Malformed JSON payload."
    assert StripeEvent.objects.count() == 0


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"id": "evt_1"}', b'{"id": "evt_1", "type": "x", "data": {}}'])
def test_signed_json_that_is_not_an_event_is_rejected(post_event, body):
    assert post_event(body).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_oversize_body_is_rejected_before_verification(post_event, topup):
    event = make_event("checkout.session.completed", session_obj(topup, padding="x" * 300_000))
    response = post_event(event)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Payload too large."
    assert StripeEvent.objects.count() == 0


def test_only_post_is_allowed(client):
    assert client.get("/webhooks/stripe/").status_code == 405


# --- processing -------------------------------------------------------------------------


def test_completed_session_credits_the_topup_once(deliver, topup, client_user):
    event = make_event("checkout.session.completed", session_obj(topup))
    response = deliver(event)
    assert response.status_code == 200 and response.json()["duplicate"] is False
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.PAID and topup.paid_at is not None
    assert available(client_user) == 500
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.topup_id, stored.attempts) == ("processed", topup.pk, 1)
    assert json.loads(stored.raw_body)["id"] == event["id"]
    # the same delivery again: acknowledged, nothing processed twice
    again = deliver(event)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert StripeEvent.objects.get().attempts == 1
    assert available(client_user) == 500
    # a different event for the same payment does not credit twice either
    deliver(make_event("checkout.session.completed", session_obj(topup)))
    assert Transfer.objects.filter(topup=topup, kind="topup").count() == 1
    assert available(client_user) == 500
    assert run_checks().violations == []


def test_unpaid_completion_waits_for_the_async_result(deliver, topup, client_user):
    deliver(make_event("checkout.session.completed", session_obj(topup, payment_status="unpaid")))
    topup.refresh_from_db()
    assert topup.status == "pending" and available(client_user) == 0
    deliver(make_event("checkout.session.async_payment_succeeded", session_obj(topup)))
    topup.refresh_from_db()
    assert topup.status == "paid" and available(client_user) == 500


def test_async_payment_failure_and_expiry_credit_nothing(deliver, client_user):
    failed = services.topup_start(user=client_user, credits=100)
    expired = services.topup_start(user=client_user, credits=100)
    deliver(make_event("checkout.session.async_payment_failed", session_obj(failed, payment_status="unpaid")))
    deliver(make_event("checkout.session.expired", session_obj(expired, payment_status="unpaid")))
    failed.refresh_from_db()
    expired.refresh_from_db()
    assert (failed.status, expired.status) == ("failed", "expired")
    assert available(client_user) == 0


def test_amount_mismatch_is_flagged_and_not_credited(deliver, topup, client_user):
    deliver(make_event("checkout.session.completed", session_obj(topup, amount_total=100)))
    topup.refresh_from_db()
    assert topup.status == "pending" and topup.flagged_for_finance
    assert "paid 100, expected 50000" in topup.finance_note
    assert available(client_user) == 0
    assert "expected 50000" in StripeEvent.objects.get().error


def test_unknown_event_types_are_stored_and_acknowledged(deliver):
    response = deliver(make_event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200
    assert StripeEvent.objects.get().status == "ignored"


def test_unmatched_session_fails_visibly_and_can_be_reprocessed(deliver, topup, client_user):
    obj = session_obj(topup, client_reference_id=None, metadata={}, id="cs_unknown")
    deliver(make_event("checkout.session.completed", obj))
    event = StripeEvent.objects.get()
    assert event.status == "failed" and "No top-up matches" in event.error
    assert available(client_user) == 0


def test_refund_takes_credits_back_and_records_the_shortfall(deliver, topup, client_user):
    session = session_obj(topup)
    deliver(make_event("checkout.session.completed", session))
    services.hold_place(user=client_user, amount=450, key="order:1:hold", order_id=1)
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": session["payment_intent"],
        "amount": 50000,
        "amount_refunded": 20000,
        "refunded": False,
    }
    deliver(make_event("charge.refunded", charge))
    topup.refresh_from_db()
    assert (topup.refunded_credits, topup.shortfall_credits, topup.flagged_for_finance) == (200, 150, True)
    assert topup.status == "paid" and topup.charge_id == "ch_1"
    assert available(client_user) == 0
    # the rest refunded later: cumulative amount, nothing left to take
    deliver(make_event("charge.refunded", {**charge, "amount_refunded": 50000, "refunded": True}))
    topup.refresh_from_db()
    assert (topup.refunded_credits, topup.shortfall_credits, topup.status) == (500, 450, "refunded")
    # an older refund event arriving late changes nothing
    deliver(make_event("charge.refunded", charge))
    topup.refresh_from_db()
    assert topup.refunded_credits == 500
    assert run_checks().violations == []


def test_refund_before_completion_is_applied_once_the_payment_arrives(deliver, topup, client_user):
    session = session_obj(topup)
    charge = {
        "id": "ch_2",
        "object": "charge",
        "payment_intent": session["payment_intent"],
        "amount": 50000,
        "amount_refunded": 50000,
        "refunded": True,
    }
    deliver(make_event("charge.refunded", charge))
    assert StripeEvent.objects.get().status == "deferred"
    assert available(client_user) == 0
    deliver(make_event("checkout.session.completed", session))
    topup.refresh_from_db()
    assert (topup.status, topup.refunded_credits, topup.shortfall_credits) == ("refunded", 500, 0)
    assert available(client_user) == 0
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}
    kinds = list(Transfer.objects.filter(topup=topup).order_by("id").values_list("kind", "amount"))
    assert kinds == [("topup", 500), ("card_refund", 500)]
    assert run_checks().violations == []


def test_dispute_created_then_won(deliver, topup, client_user):
    session = session_obj(topup)
    deliver(make_event("checkout.session.completed", session))
    services.hold_place(user=client_user, amount=100, key="order:2:hold", order_id=2)
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": session["payment_intent"], "amount": 50000}
    deliver(make_event("charge.dispute.created", {**dispute, "status": "needs_response"}))
    topup.refresh_from_db()
    assert (topup.disputed_credits, topup.shortfall_credits, topup.flagged_for_finance) == (500, 100, True)
    assert available(client_user) == 0
    deliver(make_event("charge.dispute.closed", {**dispute, "status": "won"}))
    topup.refresh_from_db()
    assert (topup.dispute_status, topup.disputed_credits, topup.shortfall_credits) == ("won", 0, 0)
    assert available(client_user) == 400
    assert run_checks().violations == []


def test_dispute_lost_moves_nothing_more(deliver, topup, client_user):
    session = session_obj(topup)
    deliver(make_event("checkout.session.completed", session))
    dispute = {"id": "dp_2", "object": "dispute", "payment_intent": session["payment_intent"], "amount": 30000}
    deliver(make_event("charge.dispute.created", {**dispute, "status": "needs_response"}))
    assert available(client_user) == 200
    deliver(make_event("charge.dispute.closed", {**dispute, "status": "lost"}))
    topup.refresh_from_db()
    assert topup.dispute_status == "lost" and available(client_user) == 200


def test_dispute_closed_before_created_ends_in_the_same_state(deliver, topup, client_user):
    session = session_obj(topup)
    deliver(make_event("checkout.session.completed", session))
    dispute = {"id": "dp_3", "object": "dispute", "payment_intent": session["payment_intent"], "amount": 50000}
    deliver(make_event("charge.dispute.closed", {**dispute, "status": "won"}))
    deliver(make_event("charge.dispute.created", {**dispute, "status": "needs_response"}))
    topup.refresh_from_db()
    assert topup.dispute_status == "won" and available(client_user) == 500


def test_admin_reprocess_is_idempotent(deliver, topup, client_user):
    deliver(make_event("checkout.session.completed", session_obj(topup)))
    event = StripeEvent.objects.get()
    again = stripe_event_process(event_pk=event.pk, force=True)
    assert again.status == "processed" and again.attempts == 2
    assert available(client_user) == 500


def test_signed_helper_matches_what_stripe_verifies():
    import stripe
    from django.conf import settings

    body, header = signed({"id": "evt_x", "object": "event"})
    event = stripe.Webhook.construct_event(body, header, settings.STRIPE_WEBHOOK_SECRET)
    assert event["id"] == "evt_x"
