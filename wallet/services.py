"""Ledger services: every movement of credits goes through one of these functions.

Each runs in one durable transaction, locks the accounts it touches in a fixed order
(by primary key) with SELECT ... FOR UPDATE, writes immutable transfers and updates the
stored balances. Each takes an idempotency key: replaying it with the same parameters
returns the first result; with different parameters it raises IdempotencyConflict.
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Sum, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from solosales.core import flags
from solosales.core.errors import (
    ApplicationError,
    IdempotencyConflict,
    IllegalTransition,
    InsufficientCredits,
    ValidationFailed,
)
from wallet.models import Account, Hold, PricingVersion, StripeEvent, TopUp, Transfer

log = logging.getLogger(__name__)

K = Account.Kind


def _is_whole(value) -> bool:
    """A Python int that is not a bool (True would otherwise pass as 1 credit)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _params_hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def _replayed(key: str, params: dict) -> Transfer | None:
    """The transfer first written under ``key``, after checking the parameters match."""
    existing = Transfer.objects.filter(idempotency_key=key).first()
    if existing is not None and existing.params_hash != _params_hash(params):
        raise IdempotencyConflict(extra={"idempotency_key": key})
    return existing


def client_accounts(user) -> tuple[Account, Account]:
    """The client's (available, held) accounts, created on first use."""
    accounts = {a.kind: a for a in Account.objects.filter(owner=user)}
    for kind in Account.CLIENT_KINDS:
        if kind not in accounts:
            try:
                with transaction.atomic():
                    accounts[kind] = Account.objects.create(owner=user, kind=kind)
            except IntegrityError:  # created concurrently
                accounts[kind] = Account.objects.get(owner=user, kind=kind)
    return accounts[K.AVAILABLE], accounts[K.HELD]


def _client_accounts_locked(user) -> tuple[Account, Account, dict[int, Account]]:
    """The client's (available, held) accounts and both locked (as ``_lock``, primary-key
    order): one SELECT … FOR UPDATE when both exist, else created first (client_accounts)."""
    locked = {
        a.pk: a
        for a in Account.objects.select_for_update().filter(owner=user, kind__in=Account.CLIENT_KINDS).order_by("pk")
    }
    by_kind = {a.kind: a for a in locked.values()}
    if len(by_kind) == len(Account.CLIENT_KINDS):
        return by_kind[K.AVAILABLE], by_kind[K.HELD], locked
    available, held = client_accounts(user)
    return available, held, _lock(available, held)


def platform_account(kind: str) -> Account:
    account, _ = Account.objects.get_or_create(owner=None, kind=kind)
    return account


def _lock(*accounts: Account) -> dict[int, Account]:
    """Locks the accounts in primary-key order (the one global order, so no deadlocks)."""
    ids = sorted({a.pk for a in accounts})
    locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    return locked


def insufficient_credits(*, available: int, required: int) -> InsufficientCredits:
    """The refusal of a movement of ``required`` credits from an account holding
    ``available``: its message and the shortfall."""
    missing = required - available
    return InsufficientCredits(
        _("Not enough credits: %(missing)s more needed.") % {"missing": missing},
        extra={"shortfall": missing, "available": available, "required": required},
    )


def _post(
    *, locked: dict[int, Account], kind, debit: Account, credit: Account, amount: int, key: str, params: dict, **refs
):
    """Writes one transfer between two locked accounts and updates both balances."""
    if amount <= 0:
        raise ApplicationError(_("A transfer moves a positive number of credits."))
    d, c = locked[debit.pk], locked[credit.pk]
    if d.owner_id is not None and d.balance < amount:
        raise insufficient_credits(available=d.balance, required=amount)
    d.balance -= amount
    c.balance += amount
    # Both balances in one UPDATE (one round trip).
    Account.objects.filter(pk__in=(d.pk, c.pk)).update(
        balance=Case(When(pk=d.pk, then=Value(d.balance)), default=Value(c.balance))
    )
    return Transfer.objects.create(
        kind=kind,
        debit_account=d,
        credit_account=c,
        amount=amount,
        debit_balance_after=d.balance,
        credit_balance_after=c.balance,
        idempotency_key=key,
        params_hash=_params_hash(params),
        **refs,
    )


def _violates_idempotency_key(error: IntegrityError) -> bool:
    cause = getattr(error, "__cause__", None)
    name = getattr(getattr(cause, "diag", None), "constraint_name", None) or ""
    return "idempotency_key" in name or "idempotency_key" in str(error)


def atomic_service(func):
    """A ledger service: its own durable transaction (or a savepoint inside a caller's, when
    the caller passes ``in_transaction=True``), retried once on an idempotency-key race.

    ``savepoint=False`` (only with ``in_transaction=True``) skips that savepoint, for a
    caller whose own atomic block is undone whole by any error the service raises."""

    def wrapper(*args, in_transaction: bool = False, savepoint: bool = True, **kwargs):
        last_error = None
        for _attempt in range(2):
            try:
                with transaction.atomic(durable=not in_transaction, savepoint=savepoint or not in_transaction):
                    return func(*args, **kwargs)
            except IntegrityError as exc:
                last_error = exc
                if in_transaction:
                    raise
        # Still refused after the retry (which answers a concurrent replay): a key already
        # taken by another operation, e.g. a capture key reused on another hold.
        if _violates_idempotency_key(last_error):
            raise IdempotencyConflict(extra={"idempotency_key": kwargs.get("key")}) from last_error
        raise last_error

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    wrapper.__wrapped__ = func
    return wrapper


# --- top-ups ---------------------------------------------------------------


@atomic_service
def topup_credit(*, topup: TopUp, key: str | None = None) -> Transfer:
    """Invariant 6: a paid top-up credits ``topup.credits`` to the client's available
    balance from ``stripe_clearing`` exactly once (key ``topup:<id>``)."""
    canonical = f"topup:{topup.pk}"
    if key not in (None, canonical):
        # Any other key would let one payment be credited twice.
        raise IdempotencyConflict(extra={"idempotency_key": key, "expected": canonical})
    key = canonical
    params = {"op": "topup", "topup": topup.pk, "credits": topup.credits, "user": topup.user_id}
    if (existing := _replayed(key, params)) is not None:
        return existing
    available, _held = client_accounts(topup.user)
    clearing = platform_account(K.STRIPE_CLEARING)
    locked = _lock(available, clearing)
    return _post(
        locked=locked,
        kind=Transfer.Kind.TOPUP,
        debit=clearing,
        credit=available,
        amount=topup.credits,
        key=key,
        params=params,
        user=topup.user,
        topup=topup,
    )


# --- holds -----------------------------------------------------------------


@atomic_service
def hold_place(
    *, user, amount: int, key: str, order_id: int | None = None, memo: str = "", fresh_key: bool = False
) -> Hold:
    """Moves ``amount`` from available to held, or refuses with InsufficientCredits (and the
    shortfall) writing nothing. Invariant 1: available never goes below zero.

    ``fresh_key``: the caller vouches that ``key`` was never used (it names a row created in
    the same transaction), so the replay lookup is skipped; the unique key still refuses a
    second hold."""
    if not _is_whole(amount) or amount <= 0:
        raise ApplicationError(_("A hold must be a positive whole number of credits."))
    params = {"op": "hold", "user": user.pk, "amount": amount, "order": order_id}
    existing = None if fresh_key else Hold.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if (existing.user_id, existing.amount, existing.order_id) != (user.pk, amount, order_id):
            raise IdempotencyConflict(extra={"idempotency_key": key})
        return existing
    available, held, locked = _client_accounts_locked(user)
    if locked[available.pk].balance < amount:
        raise insufficient_credits(available=locked[available.pk].balance, required=amount)
    hold = Hold.objects.create(user=user, amount=amount, order_id=order_id, idempotency_key=key)
    _post(
        locked=locked,
        kind=Transfer.Kind.HOLD,
        debit=available,
        credit=held,
        amount=amount,
        key=f"{key}:hold",
        params=params,
        user=user,
        hold=hold,
        order_id=order_id,
        memo=memo[:500],
    )
    return hold


@atomic_service
def hold_capture(*, hold: Hold, amount: int, key: str, actor=None) -> Hold:
    """Resolves an open hold exactly once: ``amount`` goes held → revenue and the rest
    held → available, in one transaction. Invariant 5: captured + released = held."""
    if not _is_whole(amount) or amount < 0:
        raise ApplicationError(_("A capture is a whole number of credits, zero or more."))
    locked_hold = Hold.objects.select_for_update().get(pk=hold.pk)
    if locked_hold.status == Hold.Status.RESOLVED:
        if locked_hold.resolution_key == key and locked_hold.captured == amount:
            return locked_hold
        if locked_hold.resolution_key == key:
            raise IdempotencyConflict(extra={"idempotency_key": key})
        raise IllegalTransition(_("This hold was already resolved."), extra={"hold": hold.pk})
    if amount > locked_hold.amount:
        raise ApplicationError(
            _("Cannot capture %(amount)s credits from a hold of %(held)s.")
            % {"amount": amount, "held": locked_hold.amount}
        )
    available, held = client_accounts(locked_hold.user)
    revenue = platform_account(K.REVENUE)
    locked = _lock(available, held, revenue)
    refs = {"user": locked_hold.user, "hold": locked_hold, "order_id": locked_hold.order_id, "actor": actor}
    release = locked_hold.amount - amount
    if amount:
        _post(
            locked=locked,
            kind=Transfer.Kind.CAPTURE,
            debit=held,
            credit=revenue,
            amount=amount,
            key=f"{key}:capture",
            params={"op": "capture", "hold": hold.pk, "amount": amount},
            **refs,
        )
    if release:
        _post(
            locked=locked,
            kind=Transfer.Kind.RELEASE,
            debit=held,
            credit=available,
            amount=release,
            key=f"{key}:release",
            params={"op": "release", "hold": hold.pk, "amount": release},
            **refs,
        )
    locked_hold.captured = amount
    locked_hold.released = release
    locked_hold.status = Hold.Status.RESOLVED
    locked_hold.resolution_key = key
    locked_hold.resolved_at = timezone.now()
    locked_hold.save(update_fields=["captured", "released", "status", "resolution_key", "resolved_at"])
    return locked_hold


def hold_release(*, hold: Hold, key: str, actor=None, in_transaction: bool = False) -> Hold:
    """Resolves an open hold by releasing all of it back to available (nothing charged)."""
    return hold_capture(hold=hold, amount=0, key=key, actor=actor, in_transaction=in_transaction)


# --- refunds and adjustments -------------------------------------------------


def captured_for_order(order_id: int, *, user=None) -> int:
    qs = Transfer.objects.filter(order_id=order_id, kind=Transfer.Kind.CAPTURE)
    if user is not None:
        qs = qs.filter(user=user)
    return qs.aggregate(s=Sum("amount"))["s"] or 0


def refunded_for_order(order_id: int, *, user=None) -> int:
    qs = Transfer.objects.filter(order_id=order_id, kind=Transfer.Kind.DISPUTE_REFUND)
    if user is not None:
        qs = qs.filter(user=user)
    return qs.aggregate(s=Sum("amount"))["s"] or 0


@atomic_service
def dispute_refund(*, user, amount: int, order_id: int, dispute_id: int, key: str, actor=None) -> Transfer:
    """Refunds ``amount`` credits revenue → available for accepted disputed leads.
    Invariant 7: refunds on an order never exceed what was captured for it."""
    if not _is_whole(amount) or amount <= 0:
        raise ApplicationError(_("A refund moves a positive number of credits."))
    params = {"op": "dispute_refund", "user": user.pk, "amount": amount, "order": order_id, "dispute": dispute_id}
    if (existing := _replayed(key, params)) is not None:
        return existing
    available, _held = client_accounts(user)
    revenue = platform_account(K.REVENUE)
    # The client's account lock serialises every refund of this client's orders.
    locked = _lock(available, revenue)
    # Scoped to this client: a refund can only return what this client was charged.
    refundable = captured_for_order(order_id, user=user) - refunded_for_order(order_id, user=user)
    if amount > refundable:
        raise ApplicationError(
            _("Refund of %(amount)s credits exceeds the %(refundable)s still refundable on this order.")
            % {"amount": amount, "refundable": refundable},
            extra={"refundable": refundable},
        )
    return _post(
        locked=locked,
        kind=Transfer.Kind.DISPUTE_REFUND,
        debit=revenue,
        credit=available,
        amount=amount,
        key=key,
        params=params,
        user=user,
        order_id=order_id,
        dispute_id=dispute_id,
        actor=actor,
    )


@dataclass
class CardRefundResult:
    transfer: Transfer | None
    recovered: int
    shortfall: int


@atomic_service
def card_refund(*, topup: TopUp, credits: int, key: str, kind: str = Transfer.Kind.CARD_REFUND) -> CardRefundResult:
    """Takes back up to ``credits`` from the client's available balance to stripe_clearing
    (card refund or chargeback). Never drives the balance negative: what is already spent
    is returned as ``shortfall`` for finance to follow up."""
    if not _is_whole(credits) or credits <= 0:
        raise ApplicationError(_("A card refund moves a positive number of credits."))
    params = {"op": kind, "topup": topup.pk, "credits": credits}
    if (existing := _replayed(key, params)) is not None:
        return CardRefundResult(existing, existing.amount, credits - existing.amount)
    # NB: when nothing could be recovered no transfer is written, so a replay of the key
    # cannot tell; callers keep their own durable record (TopUp.refunded_credits,
    # TopUp.stripe_dispute_id) in the same transaction and do not call twice.
    available, _held = client_accounts(topup.user)
    clearing = platform_account(K.STRIPE_CLEARING)
    locked = _lock(available, clearing)
    recovered = min(credits, locked[available.pk].balance)
    transfer = None
    if recovered:
        transfer = _post(
            locked=locked,
            kind=kind,
            debit=available,
            credit=clearing,
            amount=recovered,
            key=key,
            params=params,
            user=topup.user,
            topup=topup,
        )
    return CardRefundResult(transfer, recovered, credits - recovered)


@atomic_service
def chargeback_reverse(*, topup: TopUp, credits: int, key: str) -> Transfer:
    """A dispute closed in our favour: the credits taken back are returned to the client."""
    if not _is_whole(credits) or credits <= 0:
        raise ApplicationError(_("A chargeback reversal moves a positive number of credits."))
    params = {"op": "chargeback_reversal", "topup": topup.pk, "credits": credits}
    if (existing := _replayed(key, params)) is not None:
        return existing
    available, _held = client_accounts(topup.user)
    clearing = platform_account(K.STRIPE_CLEARING)
    locked = _lock(available, clearing)
    return _post(
        locked=locked,
        kind=Transfer.Kind.CHARGEBACK_REVERSAL,
        debit=clearing,
        credit=available,
        amount=credits,
        key=key,
        params=params,
        user=topup.user,
        topup=topup,
    )


# Lazy: this dict is built at import time, its labels are shown in the reader's language.
ADJUSTMENT_REASONS = {
    "goodwill": gettext_lazy("Goodwill credit"),
    "correction": gettext_lazy("Correction of an error"),
    "promotion": gettext_lazy("Promotion"),
    "manual_refund": gettext_lazy("Manual refund"),
    "clawback": gettext_lazy("Clawback"),
}


@atomic_service
def adjustment_post(*, user, amount: int, reason_code: str, actor, key: str, memo: str = "") -> Transfer:
    """An ops correction, never an edit: positive ``amount`` moves revenue → available,
    negative moves available → revenue (refused if it would overdraw)."""
    if reason_code not in ADJUSTMENT_REASONS:
        raise ApplicationError(_("Unknown reason code."), extra={"reason_code": reason_code})
    if not _is_whole(amount) or amount == 0:
        raise ApplicationError(_("An adjustment is a non-zero whole number of credits."))
    if not (memo or "").strip():
        raise ApplicationError(_("An adjustment needs a note."))
    params = {"op": "adjustment", "user": user.pk, "amount": amount, "reason": reason_code}
    if (existing := _replayed(key, params)) is not None:
        return existing
    available, _held = client_accounts(user)
    revenue = platform_account(K.REVENUE)
    locked = _lock(available, revenue)
    debit, credit = (revenue, available) if amount > 0 else (available, revenue)
    return _post(
        locked=locked,
        kind=Transfer.Kind.ADJUSTMENT,
        debit=debit,
        credit=credit,
        amount=abs(amount),
        key=key,
        params=params,
        user=user,
        reason_code=reason_code,
        memo=memo[:500],
        actor=actor,
    )


# --- pricing -------------------------------------------------------------------


def pricing_active() -> PricingVersion:
    version = PricingVersion.objects.filter(active=True).first()
    if version is None:
        raise ApplicationError(_("No active pricing version; ops must activate one."))
    return version


def pricing_mark_used(*, version: PricingVersion) -> None:
    """Freezes a pricing version the first time an order or top-up uses it."""
    if not version.used:
        PricingVersion.objects.filter(pk=version.pk, used=False).update(used=True)
        version.used = True


# --- Stripe top-ups --------------------------------------------------------------


class TopUpsDisabled(ApplicationError):
    code = "topups_disabled"
    status = 403
    default_message = gettext_lazy("Buying credits is switched off at the moment. Please try again later.")


def topup_start(*, user, credits) -> TopUp:
    """Opens a pending top-up of ``credits`` at the active price and its Checkout Session.

    Nothing is credited here (only a verified webhook credits). Bounds and price come from
    the active PricingVersion, which is then frozen. If the session cannot be created the
    whole top-up is rolled back: no half-made TopUp is left behind."""
    from wallet import stripe_gateway  # the gateway imports nothing from here; kept lazy for tests' overrides

    if not flags.is_on(flags.STRIPE_TOPUPS):
        raise TopUpsDisabled()
    if not stripe_gateway.stripe_enabled() and not settings.TEST_CHECKOUT:
        raise TopUpsDisabled()  # no payment provider, and no stand-in allowed (production)
    if not _is_whole(credits):
        raise ValidationFailed(_("Enter a whole number of credits."), extra={"credits": [_("Not a whole number.")]})
    pricing = pricing_active()
    if not pricing.min_topup_credits <= credits <= pricing.max_topup_credits:
        message = _("A top-up is between %(min)s and %(max)s credits.") % {
            "min": pricing.min_topup_credits,
            "max": pricing.max_topup_credits,
        }
        raise ValidationFailed(
            message,
            extra={"credits": [message], "min": pricing.min_topup_credits, "max": pricing.max_topup_credits},
        )
    currency = (pricing.currency or settings.CREDITS_CURRENCY).lower()
    # The Stripe call runs inside the transaction on purpose: if it fails, the top-up row
    # rolls back with it. The client's timeout bounds how long the row stays uncommitted.
    with transaction.atomic(durable=True):
        topup = TopUp.objects.create(
            user=user,
            pricing_version=pricing,
            credits=credits,
            credit_price_minor=pricing.credit_price_minor,
            amount_minor=credits * pricing.credit_price_minor,
            currency=currency,
        )
        pricing_mark_used(version=pricing)
        success_path = reverse("wallet:topup_success", args=[topup.pk])
        cancel_path = reverse("wallet:topup_cancel", args=[topup.pk])
        if stripe_gateway.stripe_enabled():
            session_id, url = stripe_gateway.checkout_session_create(
                topup, success_path=success_path, cancel_path=cancel_path
            )
        else:
            session_id = f"cs_local_{topup.pk}_{secrets.token_hex(8)}"
            url = reverse("wallet:test_checkout", args=[topup.pk])
        topup.stripe_session_id = session_id
        topup.checkout_url = url
        topup.save(update_fields=["stripe_session_id", "checkout_url", "updated_at"])
    return topup


def _flag(topup: TopUp, note: str) -> None:
    topup.flagged_for_finance = True
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
    topup.finance_note = (topup.finance_note + "\n" if topup.finance_note else "") + f"[{stamp}] {note}"


def _stripe_id(value) -> str:
    """Stripe ids may arrive expanded (an object) or as a plain id."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else ""


CREDITED = (TopUp.Status.PAID, TopUp.Status.REFUNDED)


def topup_settle(*, topup: TopUp, session: dict) -> tuple[TopUp, str]:
    """A Checkout Session was paid: credit the top-up exactly once (invariant 6).

    Credits only when the amount and currency paid equal ``credits × locked price``;
    otherwise the top-up is flagged for finance and nothing is credited. The caller holds
    the top-up row lock inside its transaction. Returns (top-up, note for the event log)."""
    if topup.status in CREDITED:
        return topup, ""
    session_id = _stripe_id(session.get("id"))
    payment_intent = _stripe_id(session.get("payment_intent"))
    problems = []
    if topup.stripe_session_id and session_id and session_id != topup.stripe_session_id:
        problems.append(f"session {session_id} is not this top-up's session {topup.stripe_session_id}")
    if session.get("amount_total") != topup.amount_minor:
        problems.append(f"paid {session.get('amount_total')!r}, expected {topup.amount_minor}")
    if str(session.get("currency") or "").lower() != topup.currency.lower():
        problems.append(f"currency {session.get('currency')!r}, expected {topup.currency!r}")
    if problems:
        note = "payment not credited: " + "; ".join(problems)
        _flag(topup, note)
        topup.save(update_fields=["flagged_for_finance", "finance_note", "updated_at"])
        log.warning("top-up %s: %s", topup.pk, note)
        return topup, note
    topup.status = TopUp.Status.PAID
    topup.paid_at = timezone.now()
    if payment_intent:
        topup.payment_intent_id = payment_intent
    topup.save(update_fields=["status", "paid_at", "payment_intent_id", "updated_at"])
    topup_credit(topup=topup, in_transaction=True)
    return topup, ""


def topup_close_unpaid(*, topup: TopUp, status: str) -> TopUp:
    """A pending top-up whose session expired or whose async payment failed. A credited
    top-up never goes back."""
    if topup.status == TopUp.Status.PENDING and status in (TopUp.Status.EXPIRED, TopUp.Status.FAILED):
        topup.status = status
        topup.save(update_fields=["status", "updated_at"])
    return topup


def topup_refund_apply(*, topup: TopUp, refunded_minor: int, charge_id: str = "") -> TopUp:
    """Brings the ledger in line with Stripe's cumulative refunded amount for this payment:
    the refunded credits (at the locked credit price) go available → stripe_clearing once.
    What the client already spent is not taken (the balance never goes negative): it is
    recorded as a shortfall and the top-up flagged for finance. Replays change nothing."""
    if not _is_whole(refunded_minor) or refunded_minor < 0:
        raise ApplicationError(_("A refund amount must be a whole number of minor units."))
    credits_total = min(refunded_minor // topup.credit_price_minor, topup.credits)
    fields = {"updated_at"}
    odd_note = f"refund of {refunded_minor} is not a whole number of credits; {credits_total} taken back"
    if refunded_minor % topup.credit_price_minor and odd_note not in topup.finance_note:
        _flag(topup, odd_note)
        fields |= {"flagged_for_finance", "finance_note"}
    delta = credits_total - topup.refunded_credits
    if delta > 0:
        result = card_refund(
            topup=topup, credits=delta, key=f"stripe-refund:{topup.pk}:{credits_total}", in_transaction=True
        )
        topup.refunded_credits = credits_total
        fields.add("refunded_credits")
        if result.shortfall:
            topup.shortfall_credits += result.shortfall
            _flag(topup, f"refund: {result.shortfall} credits already spent, not recovered")
            fields |= {"shortfall_credits", "flagged_for_finance", "finance_note"}
    if charge_id and topup.charge_id != charge_id:
        topup.charge_id = charge_id
        fields.add("charge_id")
    if topup.refunded_credits >= topup.credits and topup.status != TopUp.Status.REFUNDED:
        topup.status = TopUp.Status.REFUNDED
        fields.add("status")
    topup.save(update_fields=sorted(fields))
    return topup


def _dispute_take_back(topup: TopUp, *, dispute_id: str, amount_minor: int) -> None:
    credits = min(amount_minor // topup.credit_price_minor, topup.credits - topup.refunded_credits)
    topup.disputed_credits = max(credits, 0)
    if credits > 0:
        result = card_refund(
            topup=topup,
            credits=credits,
            key=f"stripe-dispute:{dispute_id}",
            kind=Transfer.Kind.CHARGEBACK,
            in_transaction=True,
        )
        if result.shortfall:
            topup.shortfall_credits += result.shortfall
            _flag(topup, f"chargeback {dispute_id}: {result.shortfall} credits already spent, not recovered")


def topup_dispute_open(*, topup: TopUp, dispute_id: str, amount_minor: int, status: str = "") -> TopUp:
    """A card dispute was opened: the disputed credits go available → stripe_clearing
    (kind ``chargeback``), never below zero (the rest is a flagged shortfall). Once per dispute."""
    if topup.stripe_dispute_id == dispute_id:
        return topup  # already seen (opened, or closed before this event arrived)
    topup.stripe_dispute_id = dispute_id
    topup.dispute_status = status or "needs_response"
    _dispute_take_back(topup, dispute_id=dispute_id, amount_minor=amount_minor)
    topup.save()
    return topup


DISPUTE_REVERSED = ("won", "warning_closed")


def topup_dispute_close(*, topup: TopUp, dispute_id: str, amount_minor: int, status: str) -> TopUp:
    """A card dispute closed. Won: what was taken back is returned (``chargeback_reversal``)
    and the shortfall it caused is cleared. Lost: nothing more moves. Once per dispute;
    a close that arrives before its open is applied as if the open had come first."""
    if topup.stripe_dispute_id == dispute_id and topup.dispute_status in (*DISPUTE_REVERSED, "lost"):
        return topup
    if topup.stripe_dispute_id != dispute_id:
        topup.stripe_dispute_id = dispute_id
        if status not in DISPUTE_REVERSED:
            _dispute_take_back(topup, dispute_id=dispute_id, amount_minor=amount_minor)
        topup.dispute_status = status
        topup.save()
        return topup
    if status in DISPUTE_REVERSED:
        taken = Transfer.objects.filter(idempotency_key=f"stripe-dispute:{dispute_id}").first()
        recovered = taken.amount if taken else 0
        if recovered:
            chargeback_reverse(
                topup=topup, credits=recovered, key=f"stripe-dispute-won:{dispute_id}", in_transaction=True
            )
        unrecovered = max(topup.disputed_credits - recovered, 0)
        topup.shortfall_credits = max(topup.shortfall_credits - unrecovered, 0)
        topup.disputed_credits = 0
    topup.dispute_status = status
    topup.save()
    return topup


def stripe_event_deferred_for(*, payment_intent: str) -> list[int]:
    """Events that arrived before their payment was credited (e.g. a refund before the
    completed session); re-processed once the payment is settled."""
    if not payment_intent:
        return []
    return list(
        StripeEvent.objects.filter(status=StripeEvent.Status.DEFERRED, payment_ref=payment_intent)
        .order_by("id")
        .values_list("pk", flat=True)
    )


def pricing_activate(*, version: PricingVersion) -> PricingVersion:
    """Makes ``version`` the one active pricing version (the previous one is kept, inactive)."""
    with transaction.atomic():
        PricingVersion.objects.select_for_update().filter(active=True).exclude(pk=version.pk).update(active=False)
        PricingVersion.objects.filter(pk=version.pk).update(active=True)
    version.active = True
    return version


def topup_seed_paid(*, user, credits: int, session_id: str) -> TopUp:
    """Demo history: a top-up paid through the same settle path a webhook uses. Idempotent
    on ``session_id``."""
    with transaction.atomic():
        existing = TopUp.objects.filter(stripe_session_id=session_id).first()
        if existing is not None:
            return existing
        pricing = pricing_active()
        topup = TopUp.objects.create(
            user=user,
            pricing_version=pricing,
            credits=credits,
            credit_price_minor=pricing.credit_price_minor,
            amount_minor=credits * pricing.credit_price_minor,
            currency=(pricing.currency or settings.CREDITS_CURRENCY).lower(),
            stripe_session_id=session_id,
        )
        pricing_mark_used(version=pricing)
        topup, _note = topup_settle(
            topup=topup,
            session={
                "id": session_id,
                "payment_status": "paid",
                "amount_total": topup.amount_minor,
                "currency": topup.currency,
                "payment_intent": f"pi_{session_id}",
            },
        )
    return topup
