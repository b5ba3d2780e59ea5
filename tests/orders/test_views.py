"""Client order pages: list, new order (quote, idempotency, errors), detail with live
progress, cancel, downloads; owners see them, everyone else gets 404 or the login page."""

import re

import pytest
from django.urls import reverse

from orders.models import Download, Order, OrderStatus
from solosales.core import dashboard
from tests.orders.helpers import fund, make_order
from wallet.services import client_accounts

pytestmark = pytest.mark.django_db
S = OrderStatus

FORM = {
    "type": "list",
    "target_count": "50",
    "titles": "Head of Sales, VP Sales\nSales Director",
    "seniorities": ["director", "vp"],
    "countries": ["DE", "FR"],
    "company_sizes": ["51-200"],
    "exclude_domains": "competitor.example",
    "action": "place",
}


def _key(response) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', response.content.decode()).group(1)


def _order_urls(order):
    return [
        reverse("orders:detail", args=[order.pk]),
        reverse("orders:progress", args=[order.pk]),
        reverse("orders:download", args=[order.pk, "csv"]),
        reverse("orders:download", args=[order.pk, "xlsx"]),
    ]


# --- access ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, client_user):
    order = make_order(client_user, status=S.DELIVERED, leads=3)
    for url in [reverse("orders:list"), reverse("orders:new"), *_order_urls(order)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert reverse("account_login") in response["Location"]
    response = client.post(reverse("orders:cancel", args=[order.pk]))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_unverified_clients_are_sent_to_verify_their_email(client):
    from tests.factories import make_client

    client.force_login(make_client(verified=False))
    response = client.get(reverse("orders:list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")


def test_the_owner_sees_every_page_of_their_order(logged_in, client_user):
    order = make_order(client_user, status=S.DELIVERED, leads=3)
    for url in [reverse("orders:list"), reverse("orders:new"), *_order_urls(order)]:
        assert logged_in.get(url).status_code == 200, url


def test_outsiders_get_404_on_every_order_url_and_nothing_changes(client, client_user, other_client):
    delivered = make_order(client_user, status=S.DELIVERED, leads=3)
    building = make_order(client_user, status=S.BUILDING)
    client.force_login(other_client)
    for url in _order_urls(delivered) + _order_urls(building):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("orders:cancel", args=[building.pk])).status_code == 404
    building.refresh_from_db()
    assert building.status == S.BUILDING
    assert not Download.objects.exists()
    # and their list does not show it
    assert f"#{delivered.pk}" not in client.get(reverse("orders:list")).content.decode()


def test_an_order_that_does_not_exist_is_404(logged_in):
    assert logged_in.get(reverse("orders:detail", args=[999999])).status_code == 404


# --- list --------------------------------------------------------------------------------


def test_empty_list_invites_the_first_order(logged_in):
    response = logged_in.get(reverse("orders:list"))
    body = response.content.decode()
    assert "Place your first order" in body
    assert reverse("orders:new") in body


def test_list_shows_label_badge_progress_and_charge(logged_in, client_user):
    make_order(client_user, status=S.BUILDING, target_count=20, leads=5)
    delivered = make_order(client_user, status=S.DELIVERED, target_count=20, leads=8, accepted=6)
    body = logged_in.get(reverse("orders:list")).content.decode()
    assert '<span class="badge badge-progress" data-status="building">Building list</span>' in body
    assert '<span class="badge badge-ok" data-status="delivered">Delivered</span>' in body
    assert "5 of 20" in body and "8 of 20" in body
    assert f'<td class="num">{delivered.charged_credits}</td>' in body
    assert delivered.charged_credits == 6


def test_list_filters_by_status_and_type(logged_in, client_user):
    queued = make_order(client_user)
    mql = make_order(client_user, type="mql")
    cancelled = make_order(client_user, status=S.CANCELLED)
    body = logged_in.get(reverse("orders:list"), {"status": "cancelled"}).content.decode()
    assert f"#{cancelled.pk}<" in body and f"#{queued.pk}<" not in body
    body = logged_in.get(reverse("orders:list"), {"type": "mql"}).content.decode()
    assert f"#{mql.pk}<" in body and f"#{queued.pk}<" not in body and f"#{cancelled.pk}<" not in body
    body = logged_in.get(reverse("orders:list"), {"status": "delivered"}).content.decode()
    assert "No orders match these filters." in body
    # unknown filter values are ignored rather than failing
    assert logged_in.get(reverse("orders:list"), {"status": "nope", "type": "x"}).status_code == 200


def test_list_is_paginated_by_25(logged_in, client_user):
    fund(client_user, 10_000)
    for _ in range(27):
        make_order(client_user, fund_credits=0)
    first = logged_in.get(reverse("orders:list"))
    assert len(first.context["page"].object_list) == 25
    second = logged_in.get(reverse("orders:list"), {"page": 2})
    assert len(second.context["page"].object_list) == 2


def _list_queries(client, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(reverse("orders:list")).status_code == 200
    return len(captured)


def test_list_query_count_stays_flat_as_orders_grow(logged_in, client_user, django_assert_max_num_queries):
    fund(client_user, 100_000)
    for _ in range(5):
        make_order(client_user, fund_credits=0)
    few = _list_queries(logged_in, django_assert_max_num_queries, 15)
    for _ in range(45):
        make_order(client_user, fund_credits=0)
    many = _list_queries(logged_in, django_assert_max_num_queries, few)
    assert many == few


# --- new order ---------------------------------------------------------------------------


def test_new_order_form_has_a_fresh_idempotency_key_and_the_quote_script(logged_in):
    first = logged_in.get(reverse("orders:new"))
    second = logged_in.get(reverse("orders:new"))
    assert _key(first) != _key(second)
    body = first.content.decode()
    assert "orders/quote.js" in body
    assert 'data-quote-url="/api/v1/orders/quote/"' in body
    assert "<script>" not in body  # CSP: no inline script


def test_placing_an_order_holds_credits_and_shows_it(logged_in, client_user):
    fund(client_user, 500)
    page = logged_in.get(reverse("orders:new"))
    response = logged_in.post(reverse("orders:new"), {**FORM, "idempotency_key": _key(page)})
    order = Order.objects.get(user=client_user)
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.pk])
    assert order.status == S.QUEUED and order.target_count == 50
    assert order.criteria["titles"] == ["Head of Sales", "VP Sales", "Sales Director"]
    assert order.criteria["seniorities"] == ["director", "vp"]
    assert order.criteria["exclude_domains"] == ["competitor.example"]
    available, held = client_accounts(client_user)
    assert (available.balance, held.balance) == (450, 50)


def test_a_double_submit_places_one_order(logged_in, client_user):
    fund(client_user, 500)
    key = _key(logged_in.get(reverse("orders:new")))
    first = logged_in.post(reverse("orders:new"), {**FORM, "idempotency_key": key})
    second = logged_in.post(reverse("orders:new"), {**FORM, "idempotency_key": key})
    assert Order.objects.filter(user=client_user).count() == 1
    assert first["Location"] == second["Location"]
    available, _ = client_accounts(client_user)
    assert available.balance == 450


def test_insufficient_credits_say_how_many_are_missing_and_link_to_top_up(logged_in, client_user):
    fund(client_user, 20)
    key = _key(logged_in.get(reverse("orders:new")))
    response = logged_in.post(reverse("orders:new"), {**FORM, "idempotency_key": key})
    assert response.status_code == 200
    body = response.content.decode()
    assert "You need 30 more credits to place this order." in body
    assert response.context["shortfall"] == 30
    assert not Order.objects.exists()
    # the re-rendered form carries a new key for the next attempt
    assert _key(response) != key


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"target_count": "5"}, "target_count", "Order between 10 and 50000 leads."),
        ({"target_count": "100000"}, "target_count", "Order between 10 and 50000 leads."),
        ({"target_count": "-3"}, "target_count", "Order between 10 and 50000 leads."),
        ({"target_count": "12.5"}, "target_count", "Enter a whole number."),
        ({"target_count": ""}, "target_count", "This field is required."),
        ({"countries": ["XX"]}, "countries", "Select a valid choice."),
        ({"type": "bulk"}, "type", "Select a valid choice."),
        ({"exclude_domains": "not a domain"}, "exclude_domains", "Not a domain name"),
    ],
)
def test_invalid_input_is_shown_beside_its_field_and_places_nothing(logged_in, client_user, change, field, message):
    fund(client_user, 10_000)
    response = logged_in.post(reverse("orders:new"), {**FORM, "idempotency_key": "k1", **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in e for e in errors[field]), errors[field]
    assert not Order.objects.exists()


def test_an_order_without_targeting_says_so(logged_in, client_user):
    fund(client_user, 500)
    response = logged_in.post(
        reverse("orders:new"), {"type": "list", "target_count": "50", "idempotency_key": "k2", "action": "place"}
    )
    assert "Choose at least one targeting criterion" in response.content.decode()
    assert not Order.objects.exists()


def test_update_quote_shows_the_server_quote_and_places_nothing(logged_in, client_user):
    fund(client_user, 30)
    response = logged_in.post(
        reverse("orders:new"), {**FORM, "type": "mql", "idempotency_key": "k3", "action": "quote"}
    )
    assert response.status_code == 200
    quote = response.context["quote"]
    assert (quote["unit_price"], quote["max_cost"], quote["available"], quote["shortfall"]) == (5, 250, 30, 220)
    assert '<span data-quote="max_cost">250</span>' in response.content.decode()
    assert not Order.objects.exists()


# --- detail ------------------------------------------------------------------------------


def test_detail_shows_timeline_money_and_cancel_while_building(logged_in, client_user):
    order = make_order(client_user, status=S.BUILDING, target_count=20, leads=5)
    body = logged_in.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'data-poll-active="true"' in body
    assert reverse("orders:progress", args=[order.pk]) + "?status=building" in body
    assert reverse("orders:cancel", args=[order.pk]) in body
    assert "data-confirm=" in body
    # timeline: placed by the client, started by the system
    assert client_user.email in body and "system" in body
    assert "Queued" in body and "Building list" in body
    assert "Download CSV" not in body


def test_detail_of_a_delivered_order_offers_downloads_and_a_preview(logged_in, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=30, accepted=20)
    response = logged_in.get(reverse("orders:detail", args=[order.pk]))
    body = response.content.decode()
    assert reverse("orders:download", args=[order.pk, "csv"]) in body
    assert reverse("orders:download", args=[order.pk, "xlsx"]) in body
    assert "data-poll-url" not in body
    assert reverse("orders:cancel", args=[order.pk]) not in body
    assert len(response.context["leads_page"].object_list) == 20
    money = response.context["money"]
    assert money == {"quote": 20, "held": 0, "charged": 20, "released": 0}


def test_detail_shows_the_translated_status_in_chinese(logged_in, client_user):
    order = make_order(client_user, status=S.PAUSED)
    logged_in.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    body = logged_in.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "已暂停（数据源延迟）" in body


# --- progress JSON -----------------------------------------------------------------------


def test_progress_json_reports_counts_while_building(logged_in, client_user):
    order = make_order(client_user, status=S.BUILDING, target_count=20, leads=5)
    url = reverse("orders:progress", args=[order.pk])
    data = logged_in.get(url, {"status": "building"}).json()
    assert data["active"] is True and data["reload"] is False
    assert data["percent"] == 25
    assert data["fields"] == {"status": "Building list", "found": "5", "target": "20", "percent": "25%"}
    Order.objects.filter(pk=order.pk).update(found_count=15)
    assert logged_in.get(url, {"status": "building"}).json()["fields"]["found"] == "15"


def test_progress_json_updates_the_page_in_place_when_the_status_moves_on(logged_in, client_user):
    order = make_order(client_user, status=S.LIST_QA, target_count=20, leads=20)
    data = logged_in.get(reverse("orders:progress", args=[order.pk]), {"status": "building"}).json()
    assert data["active"] is False and data["reload"] is False
    assert data["fields"]["status"] == "In quality review"
    assert "In quality review" in data["html"]["badge"] and 'data-status="list_qa"' in data["html"]["badge"]
    assert "<ol class=\"timeline\">" in data["html"]["timeline"]


def test_progress_json_asks_for_a_reload_when_the_order_becomes_downloadable(logged_in, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=20)
    data = logged_in.get(reverse("orders:progress", args=[order.pk]), {"status": "building"}).json()
    assert data["active"] is False and data["reload"] is True


# --- cancel ------------------------------------------------------------------------------


def test_cancel_releases_the_hold(logged_in, client_user):
    order = make_order(client_user, status=S.BUILDING, target_count=20, fund_credits=100)
    response = logged_in.post(reverse("orders:cancel", args=[order.pk]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    available, held = client_accounts(client_user)
    assert (available.balance, held.balance) == (100, 0)


def test_cancel_after_qa_is_refused_and_changes_nothing(logged_in, client_user):
    order = make_order(client_user, status=S.LIST_QA, target_count=20, leads=20)
    response = logged_in.post(reverse("orders:cancel", args=[order.pk]), follow=True)
    assert "This order can no longer be cancelled." in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.LIST_QA


def test_cancel_needs_post(logged_in, client_user):
    order = make_order(client_user, status=S.BUILDING)
    assert logged_in.get(reverse("orders:cancel", args=[order.pk])).status_code == 405


# --- downloads ---------------------------------------------------------------------------


def test_download_before_delivery_is_409_with_a_message(logged_in, client_user):
    order = make_order(client_user, status=S.LIST_QA, target_count=20, leads=20)
    response = logged_in.get(reverse("orders:download", args=[order.pk, "csv"]))
    assert response.status_code == 409
    assert "can be downloaded once it is delivered" in response.content.decode()
    assert not Download.objects.exists()


def test_unknown_download_format_is_404(logged_in, client_user):
    order = make_order(client_user, status=S.DELIVERED, leads=3)
    assert logged_in.get(reverse("orders:download", args=[order.pk, "pdf"])).status_code == 404


def test_each_download_is_recorded(logged_in, client_user):
    order = make_order(client_user, status=S.CLOSED, target_count=20, leads=4)
    response = logged_in.get(reverse("orders:download", args=[order.pk, "csv"]))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    logged_in.get(reverse("orders:download", args=[order.pk, "xlsx"]))
    rows = list(Download.objects.order_by("id").values_list("order_id", "user_id", "format", "rows", "via_api"))
    assert rows == [(order.pk, client_user.pk, "csv", 4, False), (order.pk, client_user.pk, "xlsx", 4, False)]


# --- dashboard panel ---------------------------------------------------------------------


def test_dashboard_panel_lists_recent_orders_with_a_new_order_button(logged_in, client_user):
    from orders.panels import register_panels

    register_panels()
    order = make_order(client_user, status=S.BUILDING)
    body = logged_in.get(reverse("dashboard")).content.decode()
    assert "Recent orders" in body
    assert reverse("orders:detail", args=[order.pk]) in body
    assert reverse("orders:new") in body
    assert any(p.template == "orders/panel_recent.html" for p in dashboard._PANELS)


def test_the_live_quote_posts_with_the_forms_csrf_token(client_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(client_user)
    page = browser.get(reverse("orders:new")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = {"type": "list", "target_count": 40, "criteria": {"titles": ["CFO"]}}
    url = reverse("api-order-quote")
    assert browser.post(url, body, content_type="application/json").status_code == 403
    response = browser.post(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["max_cost"] == 40


def test_the_quote_script_is_a_static_file():
    from django.contrib.staticfiles import finders

    path = finders.find("orders/quote.js")
    assert path is not None
    with open(path, encoding="utf-8") as fh:
        script = fh.read()
    assert 'getAttribute("data-quote-url")' in script and '"X-CSRFToken"' in script


def test_a_delivered_mql_order_links_its_report_and_disputes(logged_in, client_user):
    order = make_order(client_user, type="mql", status=S.DELIVERED, target_count=10, leads=10, qualified=4)
    response = logged_in.get(reverse("orders:detail", args=[order.pk]))
    body = response.content.decode()
    assert reverse("qualification:report", args=[order.pk]) in body
    assert reverse("disputes:new", args=[order.pk]) in body
    assert response.context["money"] == {"quote": 50, "held": 0, "charged": 20, "released": 30}
    assert len(response.context["leads_page"].object_list) == 4
    assert "Qualified" in body


def test_a_list_order_has_no_qualification_report_link(logged_in, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=10, leads=10)
    body = logged_in.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert reverse("qualification:report", args=[order.pk]) not in body
    assert reverse("disputes:new", args=[order.pk]) in body
