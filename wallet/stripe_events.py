"""Stripe webhook events: verify and store (the request), then process (a job).

Receiving: the signature is verified on the raw body (``stripe.Webhook.construct_event``,
300 s tolerance) before anything is stored; a verified event is stored once under its event
id and its processing is enqueued on the ``webhooks`` queue after commit. A duplicate
delivery stores nothing new; it only re-enqueues an event that was never processed (a lost
enqueue), and processing is idempotent, so nothing happens twice.

Processing: the event row is locked, the handler runs in a savepoint, and the event's
status is set in the same transaction as the ledger effects. Every handler is idempotent
on the top-up's own durable state, so ops may re-process any event from admin.

Out-of-order events: refunds and disputes name a PaymentIntent. If no top-up has been
settled for it yet (its ``checkout.session.completed`` has not been processed), the event is
stored as ``deferred`` under that PaymentIntent, and re-enqueued in the same transaction
that settles the payment (and by the periodic sweep). So ``charge.refunded`` before
``checkout.session.completed`` ends as: credited, then refunded.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from solosales.core.errors import ApplicationError
from solosales.core.jobs import enqueue_on_commit
from wallet import services
from wallet.models import StripeEvent, TopUp

log = logging.getLogger(__name__)

MAX_BODY_BYTES = getattr(settings, "STRIPE_WEBHOOK_MAX_BYTES", 256 * 1024)
TOLERANCE_SECONDS = 300


class WebhookRejected(ApplicationError):
    code = "webhook_rejected"
    status = 400
    default_message = gettext_lazy("The webhook was rejected.")


# --- receiving ----------------------------------------------------------------------


def stripe_event_receive(*, body: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verifies and stores one delivery. Returns (event, created). Raises WebhookRejected
    (nothing stored) for an oversize body, a missing/bad signature, a stale timestamp or a
    body that is not a Stripe event."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(_("Payload too large."))
    if not signature:
        raise WebhookRejected(_("Missing Stripe-Signature header."))
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise WebhookRejected(_("Invalid signature or stale timestamp."))  # no secret: nothing verifies
    try:
        stripe.Webhook.construct_event(body, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        raise WebhookRejected(_("Invalid signature or stale timestamp."))
    except ValueError:  # also UnicodeDecodeError
        raise WebhookRejected(_("Malformed JSON payload."))
    except (AttributeError, TypeError, KeyError):  # signed, valid JSON, but not an event object
        raise WebhookRejected(_("Not a Stripe event."))
    data = json.loads(body)
    if not isinstance(data, dict):
        raise WebhookRejected(_("Not a Stripe event."))
    event_id, event_type = data.get("id"), data.get("type")
    obj = data["data"].get("object") if isinstance(data.get("data"), dict) else None
    if not (
        isinstance(event_id, str)
        and 0 < len(event_id) <= 255
        and isinstance(event_type, str)
        and 0 < len(event_type) <= 100
        and isinstance(obj, dict)
    ):
        raise WebhookRejected(_("Not a Stripe event."))
    created_ts = data.get("created")
    stripe_created = (
        datetime.fromtimestamp(created_ts, tz=UTC) if isinstance(created_ts, int) and created_ts > 0 else None
    )
    with transaction.atomic():
        event, created = StripeEvent.objects.get_or_create(
            event_id=event_id,
            defaults={
                "type": event_type,
                "livemode": bool(data.get("livemode")),
                "stripe_created": stripe_created,
                "raw_body": body.decode("utf-8"),
                "payload": data,
            },
        )
        if created or event.status == StripeEvent.Status.RECEIVED:
            _enqueue(event.pk)
    return event, created


def _enqueue(event_pk: int) -> None:
    from wallet.jobs import stripe_event_process_job  # jobs imports this module

    enqueue_on_commit(stripe_event_process_job, event_pk, queue="webhooks")


# --- processing ---------------------------------------------------------------------

S = StripeEvent.Status


def stripe_event_process(*, event_pk: int, force: bool = False) -> StripeEvent:
    """Applies one stored event, exactly once (``force`` re-runs a processed one: every
    handler is idempotent, so that only repairs). A failing handler changes nothing and
    leaves the event ``failed`` with its error for ops."""
    with transaction.atomic(durable=True):
        event = StripeEvent.objects.select_for_update().get(pk=event_pk)
        if event.status in (S.PROCESSED, S.IGNORED) and not force:
            return event
        event.attempts += 1
        handler = HANDLERS.get(event.type)
        note = ""
        if handler is None:
            outcome = S.IGNORED
        else:
            try:
                with transaction.atomic():
                    outcome, note = handler(event, event.payload["data"]["object"])
            except Exception as exc:  # recorded for ops; the savepoint undid any partial effect
                log.exception("Stripe event %s (%s) failed", event.event_id, event.type)
                outcome, note = S.FAILED, f"{exc.__class__.__name__}: {getattr(exc, 'message', exc)}"
        event.status = outcome
        event.error = str(note)[:4000]
        event.processed_at = timezone.now() if outcome in (S.PROCESSED, S.IGNORED) else None
        event.save(update_fields=["status", "error", "processed_at", "attempts", "topup", "payment_ref"])
    return event


def _locked_topup(**lookup) -> TopUp | None:
    return TopUp.objects.select_for_update().filter(**lookup).first()


def _session_topup(session: dict) -> TopUp | None:
    ref = str(session.get("client_reference_id") or (session.get("metadata") or {}).get("topup_id") or "")
    topup = _locked_topup(pk=int(ref)) if ref.isdigit() else None
    if topup is None and session.get("id"):
        topup = _locked_topup(stripe_session_id=str(session["id"]))
    return topup


def _payment_topup(payment_intent: str, charge_id: str) -> TopUp | None:
    topup = _locked_topup(payment_intent_id=payment_intent) if payment_intent else None
    if topup is None and charge_id:
        topup = _locked_topup(charge_id=charge_id)
    return topup


def _on_session_paid(event: StripeEvent, session: dict):
    topup = _session_topup(session)
    if topup is None:
        raise ApplicationError(_("No top-up matches this Checkout Session."))
    event.topup = topup
    event.payment_ref = services._stripe_id(session.get("payment_intent"))
    if session.get("payment_status") != "paid":
        # An asynchronous payment method: wait for checkout.session.async_payment_succeeded.
        return S.PROCESSED, "payment not yet paid; waiting for the async result"
    topup, note = services.topup_settle(topup=topup, session=session)
    if topup.status in services.CREDITED:
        for pk in services.stripe_event_deferred_for(payment_intent=topup.payment_intent_id or ""):
            _enqueue(pk)
    return S.PROCESSED, note


def _on_session_closed(status):
    def handler(event: StripeEvent, session: dict):
        topup = _session_topup(session)
        if topup is None:
            raise ApplicationError(_("No top-up matches this Checkout Session."))
        event.topup = topup
        services.topup_close_unpaid(topup=topup, status=status)
        return S.PROCESSED, ""

    return handler


def _payment_event(apply):
    """Refund and dispute events: applied to the settled top-up of their PaymentIntent,
    deferred until that top-up is settled."""

    def handler(event: StripeEvent, obj: dict):
        payment_intent = services._stripe_id(obj.get("payment_intent"))
        charge_id = services._stripe_id(obj.get("charge")) or (
            services._stripe_id(obj.get("id")) if obj.get("object") == "charge" else ""
        )
        event.payment_ref = payment_intent or charge_id
        topup = _payment_topup(payment_intent, charge_id)
        if topup is None or topup.status not in services.CREDITED:
            return S.DEFERRED, "waiting for the payment's checkout.session.completed"
        event.topup = topup
        apply(topup, obj)
        return S.PROCESSED, ""

    return handler


def _apply_refund(topup: TopUp, charge: dict):
    services.topup_refund_apply(
        topup=topup, refunded_minor=int(charge["amount_refunded"]), charge_id=services._stripe_id(charge.get("id"))
    )


def _apply_dispute_created(topup: TopUp, dispute: dict):
    services.topup_dispute_open(
        topup=topup,
        dispute_id=str(dispute["id"]),
        amount_minor=int(dispute["amount"]),
        status=str(dispute.get("status") or ""),
    )


def _apply_dispute_closed(topup: TopUp, dispute: dict):
    services.topup_dispute_close(
        topup=topup,
        dispute_id=str(dispute["id"]),
        amount_minor=int(dispute["amount"]),
        status=str(dispute.get("status") or ""),
    )


HANDLERS = {
    "checkout.session.completed": _on_session_paid,
    "checkout.session.async_payment_succeeded": _on_session_paid,
    "checkout.session.async_payment_failed": _on_session_closed(TopUp.Status.FAILED),
    "checkout.session.expired": _on_session_closed(TopUp.Status.EXPIRED),
    "charge.refunded": _payment_event(_apply_refund),
    "charge.dispute.created": _payment_event(_apply_dispute_created),
    "charge.dispute.closed": _payment_event(_apply_dispute_closed),
}


def stripe_events_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Re-enqueues events whose enqueue was lost, and deferred ones whose payment has since
    been settled. Idempotent: processing claims each event under its row lock."""
    cutoff = timezone.now() - older_than
    pending = list(
        StripeEvent.objects.filter(status=S.RECEIVED, received_at__lt=cutoff).values_list("pk", flat=True)[:500]
    )
    settled = TopUp.objects.filter(status__in=services.CREDITED).values("payment_intent_id")
    pending += list(
        StripeEvent.objects.filter(status=S.DEFERRED, payment_ref__in=settled).values_list("pk", flat=True)[:500]
    )
    with transaction.atomic():
        for pk in pending:
            _enqueue(pk)
    return len(pending)
