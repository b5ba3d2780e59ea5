"""Reads over the provider audit trail (for ops, the order pipeline and its reports)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from .models import ProviderCall


def calls_for_order(order_id: int) -> QuerySet[ProviderCall]:
    """Every provider call made for the order, oldest first."""
    return ProviderCall.objects.filter(order_id=order_id).order_by("created_at", "id")


def cost_summary_for_order(order_id: int) -> dict:
    """{"calls": int, "cost": Decimal (US cents), "records": int, "by_provider": {name: {...}}}."""
    rows = (
        ProviderCall.objects.filter(order_id=order_id)
        .values("provider")
        .annotate(calls=Count("id"), cost=Sum("estimated_cost"), records=Sum("records_returned"))
        .order_by("provider")
    )
    by_provider = {
        r["provider"]: {"calls": r["calls"], "cost": r["cost"] or Decimal("0"), "records": r["records"] or 0}
        for r in rows
    }
    return {
        "calls": sum(p["calls"] for p in by_provider.values()),
        "cost": sum((p["cost"] for p in by_provider.values()), Decimal("0")),
        "records": sum(p["records"] for p in by_provider.values()),
        "by_provider": by_provider,
    }
