"""Presentation helpers for order pages: one badge colour per status, everywhere."""

import re

from django import template
from django.utils.translation import gettext

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


# Reasons the pipeline stores already formatted (numbers filled in): shown through their msgid,
# so the timeline reads in the client's language.
FORMATTED_REASONS = [
    (
        re.compile(r"^(?P<valid>\d+) valid leads found for a target of (?P<target>\d+)\.$"),
        "%(valid)s valid leads found for a target of %(target)s.",
    ),
]


@register.filter
def reason_display(reason: str) -> str:
    """A timeline reason in the active language (stored reasons are English msgids)."""
    if not reason:
        return ""
    for pattern, msgid in FORMATTED_REASONS:
        match = pattern.match(reason)
        if match:
            return gettext(msgid) % match.groupdict()
    return gettext(reason)
