"""Reads, always scoped to the requesting user (or to staff)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from disputes.models import ACTIVE_STATUSES, Dispute, DisputeItem
from solosales.core.groups import OPS_ARBITRATION


def is_arbitrator(user) -> bool:
    """Active staff in the ops_arbitration group (or a superuser)."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name=OPS_ARBITRATION).exists()


def dispute_window_ends_at(order):
    """The order's dispute deadline: the stored one, else delivery + the rules' window."""
    if order.dispute_window_ends_at is not None:
        return order.dispute_window_ends_at
    if order.delivered_at is not None:
        return order.delivered_at + timedelta(days=order.rules_version.dispute_window_days)
    return None


def disputes_for(*, user) -> QuerySet[Dispute]:
    return (
        Dispute.objects.filter(user=user)
        .select_related("order")
        .annotate(lead_count=Count("items"))
        .order_by("-created_at", "-id")
    )


def dispute_for(*, user, pk: int) -> Dispute | None:
    """The dispute if ``user`` owns it, else None (callers answer 404)."""
    return Dispute.objects.select_related("order", "order__rules_version").filter(pk=pk, user=user).first()


def dispute_for_viewer(*, user, pk: int) -> Dispute | None:
    """Owner or arbitrator (evidence files are served to both)."""
    dispute = Dispute.objects.select_related("order").filter(pk=pk).first()
    if dispute is None:
        return None
    if dispute.user_id == user.pk or is_arbitrator(user):
        return dispute
    return None


def order_has_active_dispute(order) -> bool:
    return Dispute.objects.filter(order_id=order.pk, status__in=ACTIVE_STATUSES).exists()


def disputable_leads(*, order, q: str = "") -> QuerySet:
    """Delivered leads of ``order``, flagged ``under_dispute`` when an active dispute covers them."""
    from orders.models import Lead  # disputes sits above orders

    qs = Lead.objects.filter(order=order, delivered=True).annotate(
        under_dispute=Exists(DisputeItem.objects.filter(lead=OuterRef("pk"), active=True))
    )
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(full_name__icontains=q) | Q(email__icontains=q) | Q(company__icontains=q))
    return qs.order_by("id")
