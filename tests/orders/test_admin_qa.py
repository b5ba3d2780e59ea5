import pytest
from django.contrib.auth.models import Group

from orders.models import Lead, Order, OrderStatus, QADecision, RulesVersion, SuppressedAddress
from orders.pipeline import run_step
from tests.factories import make_staff
from tests.orders.conftest import balances, build_step, place
from tests.orders.ledger import assert_ledger_clean

pytestmark = pytest.mark.django_db


@pytest.fixture
def qa_staff(client):
    staff = make_staff(groups=("ops_qa",))
    client.force_login(staff)
    return staff


@pytest.fixture
def in_qa(funded_client):
    order = place(funded_client, target_count=40)
    run_step(build_step(order).pk)
    return Order.objects.get(pk=order.pk)


def test_ops_qa_group_has_least_privilege():
    perms = set(Group.objects.get(name="ops_qa").permissions.values_list("codename", flat=True))
    assert {"view_order", "view_lead", "add_qadecision", "view_suppressedaddress"} <= perms
    assert "change_order" not in perms and "delete_lead" not in perms
    assert not any(p.startswith(("add_adjust", "post_adjust")) for p in perms)


def test_the_queue_shows_orders_in_quality_review_oldest_first(client, qa_staff, in_qa, funded_client):
    newer = place(funded_client, target_count=20)
    run_step(build_step(newer).pk)
    response = client.get("/admin/orders/order/qa-queue/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index(f"#{in_qa.pk}<") < html.index(f"#{newer.pk}<")


def test_the_review_page_shows_the_sample_and_checks(client, qa_staff, in_qa):
    response = client.get(f"/admin/orders/order/{in_qa.pk}/qa/")
    assert response.status_code == 200
    sample = response.context["sample_rows"]
    assert len(sample) == in_qa.rules_version.qa_sample_size
    assert all(row["lead"].order_id == in_qa.pk for row in sample)
    assert {c["name"] for c in response.context["checks"]} >= {"required_fields", "email_status", "criteria_match"}
    assert response.context["pass_form"].initial["accepted_count"] == 40


def test_passing_in_admin_captures_and_delivers(client, qa_staff, in_qa, funded_client):
    response = client.post(f"/admin/orders/order/{in_qa.pk}/qa/", {"action": "pass", "accepted_count": 35})
    assert response.status_code == 302
    order = Order.objects.get(pk=in_qa.pk)
    assert order.status == OrderStatus.DELIVERED and order.accepted_count == 35
    assert QADecision.objects.get(order=order).actor == qa_staff
    assert balances(funded_client) == (1000 - 35 * order.unit_price, 0)
    assert_ledger_clean()


def test_failing_without_notes_is_refused(client, qa_staff, in_qa):
    response = client.post(f"/admin/orders/order/{in_qa.pk}/qa/", {"action": "fail", "notes": ""})
    assert response.status_code == 200
    assert response.context["fail_form"].errors
    assert Order.objects.get(pk=in_qa.pk).status == OrderStatus.LIST_QA


def test_failing_with_notes_releases_the_hold(client, qa_staff, in_qa, funded_client):
    client.post(f"/admin/orders/order/{in_qa.pk}/qa/", {"action": "fail", "notes": "titles do not match"})
    order = Order.objects.get(pk=in_qa.pk)
    assert order.status == OrderStatus.FAILED
    assert balances(funded_client) == (1000, 0)


def test_too_many_accepted_leads_shows_an_error(client, qa_staff, in_qa):
    response = client.post(f"/admin/orders/order/{in_qa.pk}/qa/", {"action": "pass", "accepted_count": 41}, follow=True)
    assert Order.objects.get(pk=in_qa.pk).status == OrderStatus.LIST_QA
    assert any("40" in str(m) for m in response.context["messages"])


def test_staff_without_the_qa_group_cannot_decide(client, in_qa):
    client.force_login(make_staff(groups=("finance",)))
    assert client.get(f"/admin/orders/order/{in_qa.pk}/qa/").status_code == 403
    assert (
        client.post(f"/admin/orders/order/{in_qa.pk}/qa/", {"action": "pass", "accepted_count": 1}).status_code == 403
    )
    assert Order.objects.get(pk=in_qa.pk).status == OrderStatus.LIST_QA


def test_order_pages_are_read_only_and_searchable(client, qa_staff, in_qa, funded_client):
    assert client.get("/admin/orders/order/", {"q": funded_client.email}).status_code == 200
    assert client.get("/admin/orders/order/", {"q": str(in_qa.pk)}).status_code == 200
    assert client.get("/admin/orders/order/", {"status__exact": "list_qa"}).status_code == 200
    page = client.get(f"/admin/orders/order/{in_qa.pk}/change/")
    assert page.status_code == 200
    assert b'name="status"' not in page.content
    assert client.get("/admin/orders/lead/", {"status": "invalid"}).status_code == 200
    lead = Lead.objects.filter(order=in_qa).first()
    assert client.get(f"/admin/orders/lead/{lead.pk}/change/").status_code == 200


def test_superuser_can_add_a_suppression_and_copy_a_used_rules_version(client, in_qa):
    client.force_login(make_staff(superuser=True))
    client.post("/admin/orders/suppressedaddress/add/", {"email": "X@Example.com", "reason": "manual", "source": ""})
    assert SuppressedAddress.objects.get().email == "x@example.com"
    used = RulesVersion.objects.get(active=True)
    assert used.used
    page = client.get(f"/admin/orders/rulesversion/{used.pk}/change/")
    assert b'name="qa_sample_size"' not in page.content  # immutable once used
    client.post("/admin/orders/rulesversion/", {"action": "create_new_version", "_selected_action": [used.pk]})
    new = RulesVersion.objects.order_by("-version").first()
    assert new.version == used.version + 1 and not new.used and not new.active
    client.post("/admin/orders/rulesversion/", {"action": "activate", "_selected_action": [new.pk]})
    assert RulesVersion.objects.get(active=True) == new
