"""The orders panel of the client dashboard (registered from OrdersConfig.ready())."""

from orders.selectors_client import recent_orders
from solosales.core import dashboard


def recent_orders_context(request) -> dict:
    return {"recent_orders": recent_orders(user=request.user)}


def register_panels() -> None:
    dashboard.register(order=20, template="orders/panel_recent.html", context=recent_orders_context)
