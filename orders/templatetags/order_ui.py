"""Presentation helpers for order pages: one badge colour per status, everywhere."""

from django import template

from orders.models import OrderStatus

register = template.Library()

S = OrderStatus
STATUS_BADGES = {
    S.QUEUED: "badge-neutral",
    S.BUILDING: "badge-progress",
    S.PAUSED: "badge-warn",
    S.LIST_QA: "badge-info",
    S.NURTURING: "badge-progress",
    S.MQL_QA: "badge-info",
    S.DELIVERED: "badge-ok",
    S.CLOSED: "badge-ok",
    S.CANCELLED: "badge-neutral",
    S.FAILED: "badge-bad",
}


@register.filter
def status_badge(status: str) -> str:
    """The badge class for an order status (``badge-neutral`` for anything unknown)."""
    return STATUS_BADGES.get(status, "badge-neutral")


@register.inclusion_tag("orders/_status.html")
def order_status(order):
    """``<span class="badge ...">label</span>`` for an order."""
    return {"status": order.status, "label": order.get_status_display()}
