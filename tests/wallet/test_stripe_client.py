"""The Stripe client and reconciliation against a local HTTP server speaking Stripe's wire format."""

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from werkzeug import Response

from wallet import services
from wallet.models import TopUp

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_server(httpserver, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return httpserver


def test_topup_start_creates_a_checkout_session_with_an_idempotency_key(stripe_server, client_user):
    seen = {}

    def handler(request):
        seen["headers"] = dict(request.headers)
        seen["form"] = parse_qs(request.get_data(as_text=True))
        return Response(
            json.dumps(
                {"id": "cs_test_123", "object": "checkout.session", "url": "https://checkout.stripe.test/c/123"}
            ),
            content_type="application/json",
        )

    stripe_server.expect_request("/v1/checkout/sessions", method="POST").respond_with_handler(handler)
    topup = services.topup_start(user=client_user, credits=250)

    assert (topup.stripe_session_id, topup.checkout_url) == ("cs_test_123", "https://checkout.stripe.test/c/123")
    assert seen["headers"]["Idempotency-Key"] == topup.checkout_idempotency_key
    assert seen["headers"]["Authorization"] == "Bearer sk_test_local"
    form = seen["form"]
    assert form["mode"] == ["payment"]
    assert form["client_reference_id"] == [str(topup.pk)]
    assert form["line_items[0][quantity]"] == ["250"]
    assert form["line_items[0][price_data][unit_amount]"] == ["100"]
    assert form["line_items[0][price_data][currency]"] == ["cny"]
    assert form["line_items[0][price_data][product_data][name]"] == ["SoloSales credits"]
    assert form["metadata[topup_id]"] == [str(topup.pk)]
    assert form["metadata[credits]"] == ["250"]
    assert form["success_url"] == [
        f"http://127.0.0.1:8000/wallet/topups/{topup.pk}/success/?session_id={{CHECKOUT_SESSION_ID}}"
    ]
    assert form["cancel_url"] == [f"http://127.0.0.1:8000/wallet/topups/{topup.pk}/cancel/"]
    expires = int(form["expires_at"][0]) - int(datetime.now(UTC).timestamp())
    assert 30 * 60 <= expires <= 24 * 3600


def test_a_stripe_error_leaves_no_topup_behind(stripe_server, client_user):
    stripe_server.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"error": {"type": "invalid_request_error", "message": "Invalid currency: xyz"}}, status=400
    )
    with pytest.raises(services.ApplicationError) as exc:
        services.topup_start(user=client_user, credits=100)
    assert exc.value.code == "payment_provider_error"
    assert "Invalid currency: xyz" in str(exc.value.message)
    assert TopUp.objects.count() == 0


def test_the_api_answers_a_stripe_outage_in_the_error_format(stripe_server, logged_in):
    stripe_server.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"error": {"type": "api_error", "message": "Something went wrong"}}, status=500
    )
    response = logged_in.post("/api/v1/wallet/topups/", {"credits": 100}, content_type="application/json")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "payment_provider_error"
    assert TopUp.objects.count() == 0


# --- reconcile_stripe -----------------------------------------------------------------


def _listing(data):
    return {"object": "list", "data": data, "has_more": False, "url": "/v1/x"}


def _serve_lists(server, sessions, refunds=(), disputes=()):
    server.expect_request("/v1/checkout/sessions", method="GET").respond_with_json(_listing(list(sessions)))
    server.expect_request("/v1/refunds", method="GET").respond_with_json(_listing(list(refunds)))
    server.expect_request("/v1/disputes", method="GET").respond_with_json(_listing(list(disputes)))


def _paid(user, fund_credits, fund):
    topup = fund(user, fund_credits)
    return topup, {
        "id": topup.stripe_session_id,
        "object": "checkout.session",
        "client_reference_id": str(topup.pk),
        "payment_status": "paid",
        "amount_total": topup.amount_minor,
        "currency": topup.currency,
        "payment_intent": topup.payment_intent_id,
    }


def test_reconcile_is_clean_when_records_agree(stripe_server, client_user, fund, capsys):
    _topup, session = _paid(client_user, 100, fund)
    _serve_lists(stripe_server, [session])
    call_command("reconcile_stripe", "--since", "2000-01-01")
    out = capsys.readouterr().out
    assert "1 sessions" in out and "no mismatches" in out


def test_reconcile_reports_every_mismatch(stripe_server, client_user, fund, capsys):
    credited, session_ok = _paid(client_user, 100, fund)
    unpaid_credited, session_unpaid = _paid(client_user, 50, fund)
    session_unpaid["payment_status"] = "unpaid"
    stripe_server.expect_oneshot_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": "cs_pending_1", "object": "checkout.session", "url": "https://checkout.stripe.test/c/p1"}
    )
    pending = services.topup_start(user=client_user, credits=60)
    session_pending = {
        "id": pending.stripe_session_id,
        "client_reference_id": str(pending.pk),
        "payment_status": "paid",
        "amount_total": 7000,
        "currency": "cny",
    }
    refund = {
        "id": "re_1",
        "object": "refund",
        "status": "succeeded",
        "payment_intent": credited.payment_intent_id,
        "amount": 5000,
    }
    dispute = {
        "id": "dp_9",
        "object": "dispute",
        "status": "needs_response",
        "payment_intent": credited.payment_intent_id,
        "amount": 10000,
    }
    _serve_lists(stripe_server, [session_ok, session_unpaid, session_pending], [refund], [dispute])
    with pytest.raises(SystemExit) as exc:
        call_command("reconcile_stripe", "--since", "2000-01-01", "--until", "2999-01-01")
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert f"top-up #{unpaid_credited.pk}: credited but Stripe session" in out
    assert f"top-up #{pending.pk}: paid in Stripe" in out and "but not credited" in out
    assert f"top-up #{pending.pk}: Stripe amount 7000 differs from ours 6000" in out
    assert f"top-up #{credited.pk}: refund of 5000 (50 credits) not applied" in out
    assert f"top-up #{credited.pk}: dispute dp_9 not applied" in out


@pytest.mark.parametrize(
    "args", [["--since", "yesterday"], ["--since", "2026-13-01"], ["--since", "2026-02-01", "--until", "2026-01-01"]]
)
def test_reconcile_refuses_bad_dates(stripe_server, args):
    with pytest.raises(CommandError) as exc:
        call_command("reconcile_stripe", *args)
    assert exc.value.returncode == 2


def test_reconcile_needs_a_stripe_key(settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError) as exc:
        call_command("reconcile_stripe", "--since", "2026-01-01")
    assert exc.value.returncode == 2 and "STRIPE_SECRET_KEY" in str(exc.value)
