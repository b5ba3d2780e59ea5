"""QA#2 in admin: the qualified/unqualified split, pass and fail with exact ledger effects."""

import pytest
from django.urls import reverse

from orders.models import OrderStatus, QADecision
from qualification import services
from tests.factories import make_staff
from tests.qualification.helpers import make_mql_order, process_pending, send_step
from wallet.models import Account, Hold, Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""


def in_review(leads=4, interested=2):
    order = make_mql_order(leads=leads)
    messages = send_step(order)
    for m in messages[:interested]:
        services.portal_link_used(message_id=m.message_id, kind="interest_confirmed")
    process_pending()
    order = services.nurture_finish(order=order, force=True)
    assert order.status == OrderStatus.MQL_QA
    assert order.qualified_count == interested
    return order


def review_url(order):
    return reverse("admin:qualification_mqlreview_change", args=[order.pk])


def available(user):
    return Account.objects.get(owner=user, kind=Account.Kind.AVAILABLE).balance


def test_the_review_lists_orders_in_mql_qa_and_shows_the_split(client, staff_user):
    order = in_review()
    client.force_login(staff_user)
    listing = client.get(reverse("admin:qualification_mqlreview_changelist"))
    assert listing.status_code == 200
    assert f">{order.pk}<" in listing.content.decode()
    page = client.get(review_url(order))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Qualified leads (2)" in html and "Not qualified (2)" in html
    assert "<svg" in html
    assert page.context["capture"] == 2 * order.unit_price
    assert page.context["release"] == order.max_cost - 2 * order.unit_price
    assert "Confirmed interest" in html


def test_the_admin_index_links_to_the_review(client, staff_user):
    client.force_login(staff_user)
    html = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:qualification_mqlreview_changelist") in html


def test_pass_captures_qualified_times_price_and_releases_the_rest(client, staff_user):
    from tests.orders.ledger import assert_ledger_clean

    order = in_review(leads=4, interested=3)
    before = available(order.user)
    client.force_login(staff_user)
    response = client.post(review_url(order), {"decision": "pass", "notes": "looks right"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.charged_credits == 3 * order.unit_price
    assert order.released_credits == order.max_cost - 3 * order.unit_price
    hold = Hold.objects.get(pk=order.hold_id)
    assert (hold.captured, hold.released, hold.status) == (
        3 * order.unit_price,
        order.max_cost - 3 * order.unit_price,
        "resolved",
    )
    captured = Transfer.objects.get(order_id=order.pk, kind=Transfer.Kind.CAPTURE)
    assert captured.amount == 3 * order.unit_price
    assert available(order.user) == before + order.max_cost - 3 * order.unit_price
    assert order.leads.filter(delivered=True).count() == 3
    decision = QADecision.objects.get(order=order, gate="mql")
    assert decision.actor == staff_user and decision.accepted_count == 3
    assert_ledger_clean()


def test_fail_needs_notes_and_releases_everything(client, staff_user):
    from tests.orders.ledger import assert_ledger_clean

    order = in_review()
    before = available(order.user)
    client.force_login(staff_user)
    response = client.post(review_url(order), {"decision": "fail", "notes": ""})
    assert response.status_code == 200
    assert "Say why the order fails QA#2." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.MQL_QA
    client.post(review_url(order), {"decision": "fail", "notes": "engagement looks automated"})
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert (order.charged_credits, order.released_credits) == (0, order.max_cost)
    assert available(order.user) == before + order.max_cost
    assert_ledger_clean()


def test_staff_outside_ops_qa_cannot_see_the_review(client):
    order = in_review()
    outsider = make_staff(groups=("finance",))
    client.force_login(outsider)
    assert client.get(review_url(order)).status_code == 403
    assert client.post(review_url(order), {"decision": "pass"}).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.MQL_QA


def test_an_order_not_in_review_redirects_back(client, staff_user):
    order = make_mql_order(leads=1)
    client.force_login(staff_user)
    response = client.get(review_url(order))
    assert response.status_code == 302


def test_email_admin_is_read_only(client, staff_user):
    order = make_mql_order(leads=1)
    message = send_step(order)[0]
    client.force_login(staff_user)
    assert client.get(reverse("admin:qualification_emailmessage_changelist") + "?status=sent").status_code == 200
    assert client.get(reverse("admin:qualification_emailevent_changelist") + "?outcome=accepted").status_code == 200
    assert client.get(reverse("admin:qualification_emailmessage_change", args=[message.pk])).status_code == 200
    assert client.get(reverse("admin:qualification_emailmessage_add")).status_code == 403
    assert client.post(reverse("admin:qualification_emailmessage_delete", args=[message.pk])).status_code == 403
