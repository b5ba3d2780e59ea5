"""The open-disputes panel of the ops dashboard (registered from DisputesConfig.ready())."""

from datetime import timedelta

from disputes.models import ACTIVE_STATUSES, Dispute
from solosales.core import ops

# How long a dispute may wait for arbitration before the dashboard marks it overdue.
DISPUTE_SLA = timedelta(hours=48)
OPS_ROWS = 10


def open_disputes_context(request) -> dict | None:
    if not request.user.has_perm("disputes.view_dispute"):
        return None
    disputes = Dispute.objects.filter(status__in=ACTIVE_STATUSES).select_related("user", "order").order_by("created_at")
    rows = [ops.sla_row(d, d.created_at, DISPUTE_SLA) for d in disputes[:OPS_ROWS]]
    return {
        "count": disputes.count(),
        "rows": rows,
        "overdue": sum(1 for row in rows if row["overdue"]),
        "sla_hours": int(DISPUTE_SLA.total_seconds() // 3600),
    }


def register_ops_panels() -> None:
    ops.register(order=30, template="admin/disputes/ops_disputes_panel.html", context=open_disputes_context)
