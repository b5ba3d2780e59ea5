from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from providers.audit import record_call, scrub
from providers.base import CallContext
from providers.models import ProviderCall
from providers.selectors import calls_for_order, cost_summary_for_order


def make_call(**kwargs):
    defaults = {"provider": "rocketreach", "operation": "search", "outcome": "ok", "context": CallContext(order_id=5)}
    return record_call(**{**defaults, **kwargs})


def test_scrub_drops_secret_keys_and_masks_secret_values():
    data = {"params": {"api_key": "abc", "email": "x@y.z"}, "Api-Key": "abc", "note": "key abc here", "n": 3}
    assert scrub(data, ("abc",)) == {"params": {"email": "x@y.z"}, "note": "key *** here", "n": 3}


@pytest.mark.django_db
def test_cost_summary_and_calls_for_an_order():
    make_call(estimated_cost=Decimal("15.00"), records_returned=10)
    make_call(estimated_cost=Decimal("35"), operation="lookup", records_returned=1)
    make_call(provider="hunter", operation="email_verify", estimated_cost=Decimal("2.45"), records_returned=1)
    make_call(outcome="error", context=CallContext(order_id=6), estimated_cost=1)
    summary = cost_summary_for_order(5)
    assert summary["calls"] == 3
    assert summary["cost"] == Decimal("52.45")
    assert summary["records"] == 12
    assert summary["by_provider"]["hunter"] == {"calls": 1, "cost": Decimal("2.45"), "records": 1}
    assert [c.operation for c in calls_for_order(5)] == ["search", "lookup", "email_verify"]
    assert cost_summary_for_order(999) == {"calls": 0, "cost": Decimal("0"), "records": 0, "by_provider": {}}


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_audit_trail_refuses_update_and_delete():
    call = make_call(error_message="original")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ProviderCall.objects.filter(pk=call.pk).update(error_message="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ProviderCall.objects.filter(pk=call.pk).delete()
    assert ProviderCall.objects.get(pk=call.pk).error_message == "original"


@pytest.mark.django_db
def test_admin_lists_filters_and_searches_but_cannot_change(client, staff_user):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser(email="root@example.com", password="x-long-password")
    client.force_login(admin_user)
    call = make_call(provider_request_id="req-abc-123")
    make_call(context=CallContext(order_id=8))
    url = reverse("admin:providers_providercall_changelist")
    assert client.get(url).status_code == 200
    assert client.get(url, {"outcome": "ok", "provider": "rocketreach", "operation": "search"}).status_code == 200
    by_order = client.get(url, {"q": "8"})
    assert by_order.status_code == 200 and by_order.context["cl"].result_count == 1
    by_request = client.get(url, {"q": "req-abc-123"})
    assert by_request.context["cl"].result_count == 1
    change = client.get(reverse("admin:providers_providercall_change", args=[call.pk]))
    assert change.status_code == 200
    assert client.get(reverse("admin:providers_providercall_add")).status_code == 403
    assert client.post(reverse("admin:providers_providercall_delete", args=[call.pk])).status_code == 403


@pytest.mark.django_db
def test_ops_qa_and_finance_may_view_provider_calls():
    from django.contrib.auth.models import Group

    from solosales.core.groups import sync_group_permissions

    sync_group_permissions()
    for group in ("ops_qa", "finance"):
        perms = set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))
        assert "view_providercall" in perms


@pytest.mark.django_db
def test_lookup_admin_searches_by_profile_or_order(client):
    from django.contrib.auth import get_user_model

    from providers.models import LookupRecord

    admin_user = get_user_model().objects.create_superuser(email="root2@example.com", password="x-long-password")
    client.force_login(admin_user)
    LookupRecord.objects.create(key="9:40000001", order_id=9, profile_id="40000001")
    url = reverse("admin:providers_lookuprecord_changelist")
    assert client.get(url, {"q": "9"}).context["cl"].result_count == 1
    assert client.get(url, {"q": "abc"}).context["cl"].result_count == 0
