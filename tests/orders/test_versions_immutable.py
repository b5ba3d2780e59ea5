"""Used pricing and rules versions are immutable in the database (wallet 0006, orders 0004):
only ``active`` may change; unused versions stay editable; a used version is not deleted,
even by SQL that goes around the ORM's PROTECT."""

import pytest
from django.db import IntegrityError, connection, transaction

from orders.models import RulesVersion
from orders.services import rules_version_activate, rules_version_create_from
from tests.factories import make_client
from tests.orders.conftest import fund, place
from wallet import services as wallet
from wallet.models import PricingVersion

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def refused(queryset, **changes) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**changes)
    except IntegrityError as exc:
        assert "is used" in str(exc)
        return True
    return False


def delete_refused(table: str, pk: int) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608 (fixed table names)
    except IntegrityError as exc:
        assert "cannot be deleted" in str(exc)
        return True
    return False


@pytest.fixture
def placed_order():
    user = make_client()
    fund(user, 1000)
    return place(user)


def test_a_used_pricing_version_changes_only_in_being_activated_or_not(placed_order):
    used = PricingVersion.objects.filter(pk=placed_order.pricing_version_id)
    assert used.get().used
    assert refused(used, list_lead_price=2)
    assert refused(used, used=False)
    assert refused(used, notes="edited")
    assert used.get().list_lead_price == placed_order.unit_price
    newer = PricingVersion.objects.create(
        version=99,
        list_lead_price=3,
        mql_lead_price=9,
        credit_price_minor=100,
        min_order_size=10,
        max_order_size=1000,
    )
    assert not refused(PricingVersion.objects.filter(pk=newer.pk), list_lead_price=4)  # unused: editable
    wallet.pricing_activate(version=newer)  # the used one deactivated: allowed
    assert not used.get().active
    assert delete_refused("wallet_pricingversion", used.get().pk)
    wallet.pricing_activate(version=used.get())
    assert not delete_refused("wallet_pricingversion", newer.pk)  # never used: it can go


def test_a_used_rules_version_changes_only_in_being_activated_or_not(placed_order):
    used = RulesVersion.objects.filter(pk=placed_order.rules_version_id)
    assert used.get().used
    assert refused(used, threshold=1)
    assert refused(used, event_weights={"opened": 100})
    assert refused(used, used=False)
    successor = rules_version_create_from(source=used.get(), notes="next")
    assert not refused(RulesVersion.objects.filter(pk=successor.pk), threshold=40)
    rules_version_activate(version=successor)
    assert not used.get().active
    assert delete_refused("orders_rulesversion", used.get().pk)
    assert place(placed_order.user).rules_version_id == successor.pk
