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
    """Every transfer that moved the client's available balance, newest first, annotated with
    ``direction`` ("in"/"out") and ``balance_after`` (the available balance after it)."""
    account_id = Account.objects.filter(owner=user, kind=Account.Kind.AVAILABLE).values_list("pk", flat=True).first()
    if account_id is None:
        return Transfer.objects.none()
    return (
        Transfer.objects.filter(Q(debit_account_id=account_id) | Q(credit_account_id=account_id))
        .annotate(
            direction=Case(When(credit_account_id=account_id, then=Value("in")), default=Value("out")),
            balance_after=Case(
                When(credit_account_id=account_id, then=F("credit_balance_after")), default=F("debit_balance_after")
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
