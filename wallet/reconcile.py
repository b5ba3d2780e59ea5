"""Reconciliation: our top-ups against Stripe's record (sessions, refunds, disputes)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from wallet import stripe_gateway
from wallet.models import TopUp

CREDITED = (TopUp.Status.PAID, TopUp.Status.REFUNDED)


@dataclass
class Reconciliation:
    sessions: int = 0
    refunds: int = 0
    disputes: int = 0
    mismatches: list[str] = field(default_factory=list)


def _id(value) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "")


def _topup_for_session(session, by_session, by_id):
    topup = by_session.get(_id(session.get("id")))
    ref = str(session.get("client_reference_id") or (session.get("metadata") or {}).get("topup_id") or "")
    if topup is None and ref.isdigit():
        topup = by_id.get(int(ref))
    return topup


def reconcile(since: datetime, until: datetime) -> Reconciliation:
    result = Reconciliation()
    topups = list(TopUp.objects.filter(created_at__gte=since, created_at__lt=until))
    by_session = {t.stripe_session_id: t for t in topups if t.stripe_session_id}
    by_id = {t.pk: t for t in topups}
    # Sessions can be listed for top-ups created just before the range: look those up too.
    paid_in_stripe: set[int] = set()
    for session in stripe_gateway.list_sessions(since, until):
        result.sessions += 1
        topup = _topup_for_session(session, by_session, by_id)
        if topup is None:
            ref = session.get("client_reference_id")
            topup = TopUp.objects.filter(stripe_session_id=_id(session.get("id"))).first() or (
                TopUp.objects.filter(pk=int(ref)).first() if str(ref or "").isdigit() else None
            )
        paid = session.get("payment_status") == "paid"
        sid = _id(session.get("id"))
        if topup is None:
            if paid:
                result.mismatches.append(f"session {sid}: paid in Stripe but matches no top-up")
            continue
        if paid:
            paid_in_stripe.add(topup.pk)
            if topup.status not in CREDITED:
                result.mismatches.append(f"top-up #{topup.pk}: paid in Stripe ({sid}) but not credited")
            if session.get("amount_total") != topup.amount_minor:
                result.mismatches.append(
                    f"top-up #{topup.pk}: Stripe amount {session.get('amount_total')} differs from ours "
                    f"{topup.amount_minor}"
                )
            if str(session.get("currency") or "").lower() != topup.currency.lower():
                result.mismatches.append(
                    f"top-up #{topup.pk}: Stripe currency {session.get('currency')} differs from ours {topup.currency}"
                )
        elif topup.status in CREDITED:
            result.mismatches.append(f"top-up #{topup.pk}: credited but Stripe session {sid} is not paid")
    for topup in topups:
        if topup.status in CREDITED and topup.pk not in paid_in_stripe:
            result.mismatches.append(f"top-up #{topup.pk}: credited but no paid session in Stripe")

    refunded_minor: dict[str, int] = defaultdict(int)
    for refund in stripe_gateway.list_refunds(since, until):
        result.refunds += 1
        if refund.get("status") in ("succeeded", "pending"):
            refunded_minor[_id(refund.get("payment_intent"))] += int(refund.get("amount") or 0)
    for payment_intent, amount in refunded_minor.items():
        topup = TopUp.objects.filter(payment_intent_id=payment_intent).first() if payment_intent else None
        if topup is None:
            result.mismatches.append(f"refund on {payment_intent or 'unknown payment'}: matches no top-up")
            continue
        expected = min(amount // topup.credit_price_minor, topup.credits)
        if topup.refunded_credits < expected:
            result.mismatches.append(
                f"top-up #{topup.pk}: refund of {amount} ({expected} credits) not applied "
                f"(applied {topup.refunded_credits})"
            )

    for dispute in stripe_gateway.list_disputes(since, until):
        result.disputes += 1
        payment_intent = _id(dispute.get("payment_intent"))
        topup = TopUp.objects.filter(payment_intent_id=payment_intent).first() if payment_intent else None
        did = _id(dispute.get("id"))
        if topup is None:
            result.mismatches.append(f"dispute {did}: matches no top-up")
        elif topup.stripe_dispute_id != did:
            result.mismatches.append(f"top-up #{topup.pk}: dispute {did} not applied")
        elif dispute.get("status") in ("won", "lost", "warning_closed") and topup.dispute_status != dispute.get(
            "status"
        ):
            result.mismatches.append(
                f"top-up #{topup.pk}: dispute {did} is {dispute.get('status')} in Stripe, {topup.dispute_status} here"
            )
    return result
