"""Stripe over the wire: Checkout Sessions, the list calls reconciliation needs, and the
signer the local test checkout uses.

The official library is pointed at ``STRIPE_API_BASE`` (a local HTTP server in tests).
With no ``STRIPE_SECRET_KEY`` nothing here talks to Stripe: the local test checkout stands in.
"""

import hashlib
import hmac
import time
from datetime import datetime, timedelta

import stripe
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from solosales.core.errors import ServiceUnavailable

# Stripe accepts expires_at between 30 minutes and 24 hours from now.
CHECKOUT_TTL = timedelta(minutes=getattr(settings, "STRIPE_CHECKOUT_TTL_MINUTES", 60))


class StripeUnavailable(ServiceUnavailable):
    code = "payment_provider_error"
    status = 502


def stripe_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def get_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE.rstrip("/")},
        http_client=stripe.RequestsClient(timeout=getattr(settings, "STRIPE_TIMEOUT_SECONDS", 20)),
        max_network_retries=getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", 1),
    )


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def checkout_session_params(topup, *, success_path: str, cancel_path: str, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    metadata = {"topup_id": str(topup.pk), "credits": str(topup.credits), "user_id": str(topup.user_id)}
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": topup.currency,
                    "product_data": {"name": _("SoloSales credits")},
                    "unit_amount": topup.credit_price_minor,
                },
                "quantity": topup.credits,
            }
        ],
        "client_reference_id": str(topup.pk),
        "metadata": metadata,
        # Charges, refunds and disputes then carry the top-up id too.
        "payment_intent_data": {"metadata": metadata},
        # Stripe substitutes {CHECKOUT_SESSION_ID}; the success page never credits anything.
        "success_url": _site(success_path) + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": _site(cancel_path),
        "expires_at": int((now + CHECKOUT_TTL).timestamp()),
    }


def checkout_session_create(topup, *, success_path: str, cancel_path: str) -> tuple[str, str]:
    """Creates the Checkout Session for ``topup``; returns (session id, checkout URL).

    The idempotency key is derived from the top-up, so a retried call (ours or the
    library's) cannot open a second session for the same top-up."""
    params = checkout_session_params(topup, success_path=success_path, cancel_path=cancel_path)
    try:
        session = get_client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": topup.checkout_idempotency_key}
        )
    except stripe.StripeError as exc:
        detail = getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__
        raise StripeUnavailable(
            _("The payment provider could not start the checkout: %(detail)s") % {"detail": detail},
            extra={"http_status": getattr(exc, "http_status", None)},
        ) from exc
    data = session.to_dict()
    if not data.get("id") or not data.get("url"):
        raise StripeUnavailable(_("The payment provider answered without a checkout page."))
    return data["id"], data["url"]


def _created_range(since: datetime, until: datetime) -> dict:
    return {"created": {"gte": int(since.timestamp()), "lt": int(until.timestamp())}, "limit": 100}


def list_sessions(since: datetime, until: datetime):
    for item in get_client().v1.checkout.sessions.list(params=_created_range(since, until)).auto_paging_iter():
        yield item.to_dict()


def list_refunds(since: datetime, until: datetime):
    for item in get_client().v1.refunds.list(params=_created_range(since, until)).auto_paging_iter():
        yield item.to_dict()


def list_disputes(since: datetime, until: datetime):
    for item in get_client().v1.disputes.list(params=_created_range(since, until)).auto_paging_iter():
        yield item.to_dict()


def sign_payload(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``body``, exactly as Stripe computes it (the library
    only verifies). Used by the local test checkout and by tests."""
    secret = secret if secret is not None else settings.STRIPE_WEBHOOK_SECRET
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
