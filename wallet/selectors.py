"""Wallet reads, always scoped to the requesting client."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.http import Http404

from wallet.models import Account, Hold, TopUp, Transfer


@dataclass(frozen=True)
class WalletSummary:
    available: int
    held: int
    currency: str
    credit_price_minor: int
    min_topup_credits: int
    max_topup_credits: int
    low_balance_threshold: int

    @property
    def is_low(self) -> bool:
        return self.available < self.low_balance_threshold


def wallet_summary(*, user) -> WalletSummary:
    from wallet.models import PricingVersion

    balances = dict(Account.objects.filter(owner=user).values_list("kind", "balance"))
    pricing = PricingVersion.objects.filter(active=True).first()
    return WalletSummary(
        available=balances.get(Account.Kind.AVAILABLE, 0),
        held=balances.get(Account.Kind.HELD, 0),
        currency=((pricing.currency if pricing else "") or settings.CREDITS_CURRENCY).lower(),
        credit_price_minor=pricing.credit_price_minor if pricing else 0,
        min_topup_credits=pricing.min_topup_credits if pricing else 0,
        max_topup_credits=pricing.max_topup_credits if pricing else 0,
        low_balance_threshold=settings.LOW_BALANCE_THRESHOLD,
    )


def statement_for(*, user) -> QuerySet[Transfer]:
    """Every transfer of the client's credits, newest first: what moved their available
    balance (top-ups, holds, releases, refunds, adjustments) and what was charged out of
    their held credits (captures). Annotated with ``account`` ("available", or "held" for a
    transfer that touches only held credits), ``direction`` ("in"/"out" of that account) and
    ``balance_after`` (that account's balance after it)."""
    accounts = dict(Account.objects.filter(owner=user, kind__in=Account.CLIENT_KINDS).values_list("kind", "pk"))
    available_id, held_id = accounts.get(Account.Kind.AVAILABLE), accounts.get(Account.Kind.HELD)
    if available_id is None:
        return Transfer.objects.none()
    touches_available = Q(debit_account_id=available_id) | Q(credit_account_id=available_id)
    touches = touches_available | (Q(debit_account_id=held_id) | Q(credit_account_id=held_id) if held_id else Q())
    return (
        Transfer.objects.filter(touches)
        .annotate(
            account=Case(When(touches_available, then=Value("available")), default=Value("held")),
            direction=Case(
                When(credit_account_id=available_id, then=Value("in")),
                When(Q(debit_account_id=available_id) | Q(debit_account_id=held_id), then=Value("out")),
                default=Value("in"),
            ),
            balance_after=Case(
                When(credit_account_id=available_id, then=F("credit_balance_after")),
                When(debit_account_id=available_id, then=F("debit_balance_after")),
                When(debit_account_id=held_id, then=F("debit_balance_after")),
                default=F("credit_balance_after"),
            ),
        )
        .order_by("-id")
    )


def holds_for(*, user) -> QuerySet[Hold]:
    """The client's holds, newest first: what each order reserved, charged (captured) and
    returned (released)."""
    return Hold.objects.filter(user=user).order_by("-created_at", "-id")


def topups_for(*, user) -> QuerySet[TopUp]:
    return TopUp.objects.filter(user=user).order_by("-created_at", "-id")


def topup_for(*, user, pk: int) -> TopUp:
    """The client's own top-up; 404 for anyone else's (no hint that it exists)."""
    topup = TopUp.objects.filter(user=user, pk=pk).first()
    if topup is None:
        raise Http404
    return topup
