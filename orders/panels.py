"""The orders panel of the client dashboard (registered from OrdersConfig.ready())."""

from datetime import timedelta

from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import OrderStatus
from orders.selectors import qa_queue
from orders.selectors_client import recent_orders
from solosales.core import dashboard, ops


def recent_orders_context(request) -> dict:
    return {"recent_orders": recent_orders(user=request.user)}


def register_panels() -> None:
    dashboard.register(order=20, template="orders/panel_recent.html", context=recent_orders_context)
    register_ops_panels()


# --- ops dashboard (admin index) -------------------------------------------------------------

# How long an order may wait at a QA gate before the dashboard marks it overdue.
QA_SLA = {"list_qa": timedelta(hours=4), "mql_qa": timedelta(hours=8)}
OPS_ROWS = 10


def qa_dashboard_context(request) -> dict | None:
    if not request.user.has_perm("orders.add_qadecision"):
        return None
    gates = []
    for status, label in (
        (OrderStatus.LIST_QA, _("QA#1 — list quality")),
        (OrderStatus.MQL_QA, _("QA#2 — qualification")),
    ):
        queue = qa_queue(statuses=(status,))
        sla = QA_SLA[status]
        rows = [ops.sla_row(order, order.status_changed_at or order.created_at, sla) for order in queue[:OPS_ROWS]]
        gates.append(
            {
                "status": status,
                "label": label,
                "count": queue.count(),
                "rows": rows,
                # Counted by the database: every waiting order past the SLA, not only those shown.
                "overdue": queue.annotate(waiting_since=Coalesce("status_changed_at", "created_at"))
                .filter(waiting_since__lt=timezone.now() - sla)
                .count(),
                "sla_hours": int(sla.total_seconds() // 3600),
            }
        )
    return {"gates": gates}


def register_ops_panels() -> None:
    ops.register(order=10, template="admin/orders/ops_qa_panel.html", context=qa_dashboard_context)
