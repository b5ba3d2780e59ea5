"""Reads for the client surface (pages, API, downloads), always scoped to the requesting user."""

from django.db.models import Prefetch, QuerySet

from orders.models import Lead, Order, OrderStatus, OrderTransition, OrderType

# Statuses whose progress changes by itself (the detail page polls while in one of these).
LIVE_STATUSES = (OrderStatus.QUEUED, OrderStatus.BUILDING, OrderStatus.PAUSED)
DOWNLOADABLE_STATUSES = (OrderStatus.DELIVERED, OrderStatus.CLOSED)


def orders_for_client(*, user, status: str | None = None, type: str | None = None) -> QuerySet:  # noqa: A002
    """The user's orders, newest first, with everything a list row shows joined in."""
    qs = Order.objects.filter(user=user).select_related("pricing_version", "rules_version", "hold")
    if status in OrderStatus.values:
        qs = qs.filter(status=status)
    if type in OrderType.values:
        qs = qs.filter(type=type)
    return qs.order_by("-created_at", "-id")


def orders_for_client_with_timeline(*, user, status: str | None = None) -> QuerySet:
    """As orders_for_client, with the transitions and their actors prefetched (API)."""
    transitions = OrderTransition.objects.select_related("actor").order_by("created_at", "id")
    return orders_for_client(user=user, status=status).prefetch_related(Prefetch("transitions", queryset=transitions))


def order_for_client(*, user, pk) -> Order | None:
    """The order if ``user`` owns it, else None (callers answer 404 either way)."""
    if not user.is_authenticated:
        return None
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return orders_for_client(user=user).filter(pk=pk).first()


def order_timeline(*, order: Order) -> list[OrderTransition]:
    return list(order.transitions.select_related("actor").order_by("created_at", "id"))


def delivered_leads(*, order: Order) -> QuerySet:
    """The leads the client received (accepted at QA and delivered), in a stable order."""
    return Lead.objects.filter(order=order, delivered=True, accepted=True).order_by("id")


def recent_orders(*, user, limit: int = 5) -> list[Order]:
    return list(orders_for_client(user=user)[:limit])


def order_money(order: Order) -> dict:
    """Quote vs held vs charged vs released, in credits. ``held`` is what is still reserved."""
    hold = order.hold
    held = hold.remaining if hold is not None else 0
    return {
        "quote": order.max_cost,
        "held": held,
        "charged": order.charged_credits,
        "released": order.released_credits,
    }


def order_percent(order: Order) -> int:
    if not order.target_count:
        return 0
    return min(100, round(100 * order.found_count / order.target_count))
