"""OrderSerializer's written-out representation against DRF's own field-by-field rendering
of the same declared fields, for orders in every shape the API answers with."""

import pytest
from django.utils import timezone
from rest_framework import serializers

from orders.models import Order, OrderStatus
from orders.selectors_client import orders_for_client_with_timeline
from orders.serializers import OrderSerializer
from orders.services import order_transition
from tests.factories import make_client, make_staff
from tests.orders.helpers import make_order

S = OrderStatus
pytestmark = pytest.mark.django_db


def drf_rendering(order: Order) -> dict:
    return serializers.ModelSerializer.to_representation(OrderSerializer(), order)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def test_every_order_shape_renders_as_drf_renders_it(zone):
    user = make_client()
    staff = make_staff()
    make_order(user, status=S.QUEUED)
    make_order(user, status=S.CANCELLED)  # hold released, the client as actor
    make_order(user, status=S.PAUSED, leads=3)  # a system entry with a reason
    make_order(user, status=S.DELIVERED, leads=5, accepted=4)  # captured and released
    make_order(user, status=S.CLOSED, type="mql", leads=6, accepted=5, qualified=2)
    order_transition(order=make_order(user, status=S.BUILDING), name="fail", actor=staff, reason="ops: bad criteria")
    orders = list(orders_for_client_with_timeline(user=user))
    assert len(orders) == 6 and len({o.status for o in orders}) == 6
    with timezone.override(zone):
        for order in orders:
            ours = OrderSerializer(order).data
            assert ours == drf_rendering(order)
            assert list(ours) == OrderSerializer.Meta.fields
        assert OrderSerializer(orders, many=True).data == [drf_rendering(o) for o in orders]
    assert any(entry["actor"] == staff.email for o in orders for entry in OrderSerializer(o).data["timeline"])
    assert any(OrderSerializer(o).data["charged"] > 0 for o in orders)


def test_an_order_without_a_hold_holds_nothing():
    user = make_client()
    order = make_order(user)
    Order.objects.filter(pk=order.pk).update(hold=None)
    order = orders_for_client_with_timeline(user=user).get(pk=order.pk)
    assert OrderSerializer(order).data["held"] == 0 == drf_rendering(order)["held"]
    assert OrderSerializer(order).data == drf_rendering(order)
