"""Delivered orders built directly from models and the real ledger services."""

import itertools
from datetime import timedelta

from django.utils import timezone

from disputes.demo import tiny_png
from orders.models import Lead, Order, OrderStatus, OrderType, RulesVersion
from wallet.models import Account, PricingVersion, TopUp, Transfer
from wallet.services import hold_capture, hold_place, topup_credit

_seq = itertools.count(1)

PNG = tiny_png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def top_up(user, credits: int) -> TopUp:
    pricing = PricingVersion.objects.get(active=True)
    topup = TopUp.objects.create(
        user=user,
        pricing_version=pricing,
        credits=credits,
        credit_price_minor=pricing.credit_price_minor,
        amount_minor=credits * pricing.credit_price_minor,
        currency=pricing.currency,
        status=TopUp.Status.PAID,
        paid_at=timezone.now(),
    )
    topup_credit(topup=topup)
    return topup


def delivered_order(
    user,
    *,
    leads: int = 3,
    unit_price: int = 5,
    order_type: str = OrderType.LIST,
    window_ends_at=None,
    undelivered: int = 0,
    captured_leads: int | None = None,
) -> Order:
    """An order of ``leads`` delivered leads (plus ``undelivered`` ones) charged through the
    ledger: top-up, hold, capture of ``captured_leads`` (default: all) × unit price."""
    n = next(_seq)
    total = leads + undelivered
    now = timezone.now()
    order = Order.objects.create(
        user=user,
        type=order_type,
        status=OrderStatus.DELIVERED,
        target_count=total,
        pricing_version=PricingVersion.objects.get(active=True),
        rules_version=RulesVersion.objects.get(active=True),
        unit_price=unit_price,
        idempotency_key=f"test-order-{n}",
        delivered_at=now,
        delivered_count=leads,
        dispute_window_ends_at=window_ends_at or now + timedelta(days=14),
    )
    top_up(user, total * unit_price)
    hold = hold_place(user=user, amount=total * unit_price, key=f"order:{order.pk}", order_id=order.pk)
    charged = (leads if captured_leads is None else captured_leads) * unit_price
    hold_capture(hold=hold, amount=charged, key=f"order:{order.pk}:resolve")
    Order.objects.filter(pk=order.pk).update(hold=hold, charged_credits=charged)
    for i in range(total):
        Lead.objects.create(
            order=order,
            provider="sandbox",
            provider_id=f"p-{n}-{i}",
            dedupe_key=f"lead{n}-{i}@example.com",
            full_name=f"Person {n}-{i}",
            title="Head of Growth",
            company=f"Company {i}",
            company_domain=f"company{i}.example",
            email=f"lead{n}-{i}@company{i}.example",
            email_status="valid",
            country="DE",
            raw={"id": f"p-{n}-{i}", "source": "sandbox", "score": 0.5},
            accepted=True,
            delivered=i < leads,
            qualified=True if order_type == OrderType.MQL else None,
            score=42 if order_type == OrderType.MQL else None,
            # What scoring stores: the inputs (the full breakdown is derived on read).
            score_breakdown=(
                {
                    "rules_version": order.rules_version.version,
                    "counts": {"clicked": 2, "opened": 3},
                    "suppressed": False,
                }
                if order_type == OrderType.MQL
                else {}
            ),
        )
    return Order.objects.get(pk=order.pk)


def delivered_leads(order):
    return list(order.leads.filter(delivered=True).order_by("id"))


def available_balance(user) -> int:
    account = Account.objects.filter(owner=user, kind=Account.Kind.AVAILABLE).first()
    return account.balance if account else 0


def refunds_for(order) -> list[Transfer]:
    return list(Transfer.objects.filter(order_id=order.pk, kind=Transfer.Kind.DISPUTE_REFUND))


def ledger_sums_to_zero() -> bool:
    from django.db.models import Sum

    return (Account.objects.aggregate(s=Sum("balance"))["s"] or 0) == 0
