"""Ledger services: every movement of credits goes through one of these functions.

Each runs in one durable transaction, locks the accounts it touches in a fixed order
(by primary key) with SELECT ... FOR UPDATE, writes immutable transfers and updates the
stored balances. Each takes an idempotency key: replaying it with the same parameters
returns the first result; with different parameters it raises IdempotencyConflict.
"""

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from solosales.core.errors import ApplicationError, IdempotencyConflict, IllegalTransition, InsufficientCredits
from wallet.models import Account, Hold, PricingVersion, TopUp, Transfer

K = Account.Kind


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


def platform_account(kind: str) -> Account:
    account, _ = Account.objects.get_or_create(owner=None, kind=kind)
    return account


def _lock(*accounts: Account) -> dict[int, Account]:
    """Locks the accounts in primary-key order (the one global order, so no deadlocks)."""
    ids = sorted({a.pk for a in accounts})
    locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    return locked


def _post(
    *, locked: dict[int, Account], kind, debit: Account, credit: Account, amount: int, key: str, params: dict, **refs
):
    """Writes one transfer between two locked accounts and updates both balances."""
    if amount <= 0:
        raise ApplicationError(_("A transfer moves a positive number of credits."))
    d, c = locked[debit.pk], locked[credit.pk]
    if d.owner_id is not None and d.balance < amount:
        raise InsufficientCredits(
            _("Not enough credits: %(missing)s more needed.") % {"missing": amount - d.balance},
            extra={"shortfall": amount - d.balance, "available": d.balance, "required": amount},
        )
    d.balance -= amount
    c.balance += amount
    Account.objects.filter(pk=d.pk).update(balance=d.balance)
    Account.objects.filter(pk=c.pk).update(balance=c.balance)
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


def atomic_service(func):
    """A ledger service: its own durable transaction (or a savepoint inside a caller's, when
    the caller passes ``in_transaction=True``), retried once on an idempotency-key race."""

    def wrapper(*args, in_transaction: bool = False, **kwargs):
        last_error = None
        for _attempt in range(2):
            try:
                with transaction.atomic(durable=not in_transaction):
                    return func(*args, **kwargs)
            except IntegrityError as exc:
                last_error = exc
                if in_transaction:
                    raise
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
    key = key or f"topup:{topup.pk}"
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
def hold_place(*, user, amount: int, key: str, order_id: int | None = None, memo: str = "") -> Hold:
    """Moves ``amount`` from available to held, or refuses with InsufficientCredits (and the
    shortfall) writing nothing. Invariant 1: available never goes below zero."""
    if not isinstance(amount, int) or amount <= 0:
        raise ApplicationError(_("A hold must be a positive whole number of credits."))
    params = {"op": "hold", "user": user.pk, "amount": amount, "order": order_id}
    existing = Hold.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if (existing.user_id, existing.amount, existing.order_id) != (user.pk, amount, order_id):
            raise IdempotencyConflict(extra={"idempotency_key": key})
        return existing
    available, held = client_accounts(user)
    locked = _lock(available, held)
    if locked[available.pk].balance < amount:
        missing = amount - locked[available.pk].balance
        raise InsufficientCredits(
            _("Not enough credits: %(missing)s more needed.") % {"missing": missing},
            extra={"shortfall": missing, "available": locked[available.pk].balance, "required": amount},
        )
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
    if not isinstance(amount, int) or amount < 0:
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


def captured_for_order(order_id: int) -> int:
    return Transfer.objects.filter(order_id=order_id, kind=Transfer.Kind.CAPTURE).aggregate(s=Sum("amount"))["s"] or 0


def refunded_for_order(order_id: int) -> int:
    return (
        Transfer.objects.filter(order_id=order_id, kind=Transfer.Kind.DISPUTE_REFUND).aggregate(s=Sum("amount"))["s"]
        or 0
    )


@atomic_service
def dispute_refund(*, user, amount: int, order_id: int, dispute_id: int, key: str, actor=None) -> Transfer:
    """Refunds ``amount`` credits revenue → available for accepted disputed leads.
    Invariant 7: refunds on an order never exceed what was captured for it."""
    if not isinstance(amount, int) or amount <= 0:
        raise ApplicationError(_("A refund moves a positive number of credits."))
    params = {"op": "dispute_refund", "user": user.pk, "amount": amount, "order": order_id, "dispute": dispute_id}
    if (existing := _replayed(key, params)) is not None:
        return existing
    available, _held = client_accounts(user)
    revenue = platform_account(K.REVENUE)
    # The client's account lock serialises every refund of this client's orders.
    locked = _lock(available, revenue)
    refundable = captured_for_order(order_id) - refunded_for_order(order_id)
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
    if not isinstance(credits, int) or credits <= 0:
        raise ApplicationError(_("A card refund moves a positive number of credits."))
    existing = Transfer.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return CardRefundResult(existing, existing.amount, credits - existing.amount)
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
            params={"op": kind, "topup": topup.pk, "credits": credits},
            user=topup.user,
            topup=topup,
        )
    return CardRefundResult(transfer, recovered, credits - recovered)


@atomic_service
def chargeback_reverse(*, topup: TopUp, credits: int, key: str) -> Transfer:
    """A dispute closed in our favour: the credits taken back are returned to the client."""
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


ADJUSTMENT_REASONS = {
    "goodwill": _("Goodwill credit"),
    "correction": _("Correction of an error"),
    "promotion": _("Promotion"),
    "manual_refund": _("Manual refund"),
    "clawback": _("Clawback"),
}


@atomic_service
def adjustment_post(*, user, amount: int, reason_code: str, actor, key: str, memo: str = "") -> Transfer:
    """An ops correction, never an edit: positive ``amount`` moves revenue → available,
    negative moves available → revenue (refused if it would overdraw)."""
    if reason_code not in ADJUSTMENT_REASONS:
        raise ApplicationError(_("Unknown reason code."), extra={"reason_code": reason_code})
    if not isinstance(amount, int) or amount == 0:
        raise ApplicationError(_("An adjustment is a non-zero whole number of credits."))
    if not memo.strip():
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
