"""The ops dashboard on the admin index: orders waiting at each QA gate, oldest first, with
their age against the gate's SLA."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.panels import OPS_ROWS, QA_SLA, qa_dashboard_context
from tests.factories import make_client, make_staff
from tests.orders.helpers import make_order

pytestmark = pytest.mark.django_db


def test_every_overdue_order_is_counted_not_only_those_shown(rf):
    user = make_client()
    now = timezone.now()
    late = QA_SLA[OrderStatus.LIST_QA] + timedelta(minutes=5)
    orders = [make_order(user, status=OrderStatus.LIST_QA) for _ in range(OPS_ROWS + 3)]
    for i, order in enumerate(orders):
        # all but two are past the SLA, the oldest first
        age = late + timedelta(minutes=len(orders) - i) if i < len(orders) - 2 else timedelta(minutes=10)
        Order.objects.filter(pk=order.pk).update(status_changed_at=now - age)
    request = rf.get("/admin/")
    request.user = make_staff(groups=("ops_qa",))
    gate = qa_dashboard_context(request)["gates"][0]
    assert gate["count"] == OPS_ROWS + 3 and len(gate["rows"]) == OPS_ROWS
    assert gate["overdue"] == OPS_ROWS + 1
    assert [row["obj"].pk for row in gate["rows"]] == [o.pk for o in orders[:OPS_ROWS]]  # oldest first


def test_staff_without_qa_rights_see_no_qa_panel(rf):
    request = rf.get("/admin/")
    request.user = make_staff(groups=("finance",))
    assert qa_dashboard_context(request) is None
