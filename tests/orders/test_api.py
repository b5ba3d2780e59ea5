"""Orders API v1 (DESIGN.md section 11): auth, ownership, validation, idempotent placement,
cancel, delivered leads and downloads."""

import csv
import io

import pytest

from orders.models import Download, Lead, Order, OrderStatus
from solosales.accounts.services import api_token_create
from tests.orders.helpers import fund, make_order
from wallet.services import client_accounts

pytestmark = pytest.mark.django_db
S = OrderStatus

BODY = {
    "type": "list",
    "target_count": 100,
    "criteria": {"titles": ["CTO"], "seniorities": ["c_suite"], "countries": ["de", "AT"], "company_sizes": ["51-200"]},
}
ORDER_FIELDS = {
    "id",
    "type",
    "status",
    "status_label",
    "target_count",
    "found",
    "accepted",
    "qualified",
    "delivered",
    "unit_price",
    "held",
    "charged",
    "released",
    "pricing_version",
    "rules_version",
    "timeline",
    "created_at",
}
LEAD_FIELDS = {
    "id",
    "full_name",
    "title",
    "company",
    "company_domain",
    "email",
    "email_status",
    "phone",
    "linkedin_url",
    "country",
    "region",
    "city",
    "industry",
    "company_size",
    "qualified",
    "score",
}


@pytest.fixture
def api(client, client_user):
    """A test client authenticated with an API token (no session)."""
    _, key = api_token_create(user=client_user, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def _place(api, body=None, key="key-1"):
    return api.post("/api/v1/orders/", body or BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def _fields(response) -> dict:
    return response.json()["error"]["detail"]["fields"]


# --- auth and ownership ------------------------------------------------------------------


def test_anonymous_callers_get_401_everywhere(client, client_user):
    order = make_order(client_user, status=S.DELIVERED, leads=2)
    for method, url in [
        ("get", "/api/v1/orders/"),
        ("post", "/api/v1/orders/"),
        ("post", "/api/v1/orders/quote/"),
        ("get", f"/api/v1/orders/{order.pk}/"),
        ("post", f"/api/v1/orders/{order.pk}/cancel/"),
        ("get", f"/api/v1/orders/{order.pk}/leads/"),
        ("get", f"/api/v1/orders/{order.pk}/download/?format=csv"),
    ]:
        response = getattr(client, method)(url, content_type="application/json")
        assert response.status_code == 401, url
        assert response.json()["error"]["code"] == "not_authenticated"


def test_session_auth_works_too(logged_in, client_user):
    make_order(client_user)
    assert logged_in.get("/api/v1/orders/").json()["count"] == 1


def test_other_clients_orders_are_404_and_unchanged(api, other_client):
    theirs = make_order(other_client, status=S.BUILDING)
    delivered = make_order(other_client, status=S.DELIVERED, leads=2)
    for url in [
        f"/api/v1/orders/{theirs.pk}/",
        f"/api/v1/orders/{delivered.pk}/leads/",
        f"/api/v1/orders/{delivered.pk}/download/?format=csv",
    ]:
        response = api.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    assert api.post(f"/api/v1/orders/{theirs.pk}/cancel/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == S.BUILDING
    assert api.get("/api/v1/orders/").json()["count"] == 0
    assert not Download.objects.exists()


# --- quote -------------------------------------------------------------------------------


def test_quote_prices_the_body_without_placing(api, client_user):
    fund(client_user, 30)
    response = api.post("/api/v1/orders/quote/", {**BODY, "type": "mql"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"unit_price": 5, "max_cost": 500, "available": 30, "shortfall": 470}
    assert not Order.objects.exists()


def test_quote_reports_field_errors(api):
    response = api.post(
        "/api/v1/orders/quote/",
        {**BODY, "target_count": 0, "criteria": {"countries": ["XX"]}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(_fields(response)) == {"target_count", "countries"}


# --- place -------------------------------------------------------------------------------


def test_placing_an_order_answers_201_with_the_order(api, client_user):
    fund(client_user, 150)
    response = _place(api)
    assert response.status_code == 201
    data = response.json()
    assert set(data) == ORDER_FIELDS
    order = Order.objects.get(pk=data["id"])
    assert order.user == client_user
    assert order.criteria["countries"] == ["DE", "AT"]
    assert data["status"] == "queued" and data["status_label"] == "Queued"
    assert (data["unit_price"], data["held"], data["charged"], data["released"]) == (1, 100, 0, 0)
    assert (data["pricing_version"], data["rules_version"]) == (1, 1)
    assert data["timeline"] == [
        {"status": "queued", "at": data["timeline"][0]["at"], "actor": client_user.email, "reason": "Order placed"}
    ]
    available, held = client_accounts(client_user)
    assert (available.balance, held.balance) == (50, 100)


def test_replaying_the_idempotency_key_returns_the_same_order_with_200(api, client_user):
    fund(client_user, 500)
    first = _place(api, key="abc")
    second = _place(api, key="abc")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Order.objects.count() == 1
    assert client_accounts(client_user)[1].balance == 100


def test_reusing_the_key_with_another_body_is_409(api, client_user):
    fund(client_user, 500)
    _place(api, key="abc")
    response = _place(api, {**BODY, "target_count": 200}, key="abc")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert Order.objects.count() == 1


def test_the_idempotency_key_header_is_required(api, client_user):
    fund(client_user, 500)
    response = api.post("/api/v1/orders/", BODY, content_type="application/json")
    assert response.status_code == 400
    assert "Idempotency-Key" in _fields(response)
    response = _place(api, key="x" * 201)
    assert response.status_code == 400
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target_count": 5}, "target_count"),
        ({"target_count": 50001}, "target_count"),
        ({"target_count": -10}, "target_count"),
        ({"target_count": "100"}, "target_count"),
        ({"target_count": 10.5}, "target_count"),
        ({"target_count": True}, "target_count"),
        ({"target_count": None}, "target_count"),
        ({"type": "bulk"}, "type"),
        ({"criteria": {"countries": ["XX"]}}, "countries"),
        ({"criteria": {"industries": ["space_mining"]}}, "industries"),
        ({"criteria": {"seniorities": "director"}}, "seniorities"),
        ({"criteria": {"company_sizes": [51]}}, "company_sizes"),
        ({"criteria": {"titles": ["CTO"], "hobbies": ["golf"]}}, "criteria"),
        ({"criteria": []}, "criteria"),
    ],
)
def test_invalid_bodies_get_per_field_errors_and_change_nothing(api, client_user, change, field):
    fund(client_user, 100_000)
    response = _place(api, {**BODY, **change})
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["detail"]["fields"], error
    assert not Order.objects.exists()
    assert client_accounts(client_user)[1].balance == 0


def test_a_non_json_body_is_refused(api, client_user):
    fund(client_user, 500)
    response = api.post(
        "/api/v1/orders/", "type=list", content_type="application/x-www-form-urlencoded", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 415
    assert not Order.objects.exists()


def test_insufficient_credits_give_the_shortfall(api, client_user):
    fund(client_user, 40)
    response = _place(api)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits"
    assert error["detail"]["shortfall"] == 60
    assert not Order.objects.exists()


# --- list and detail ---------------------------------------------------------------------


def test_list_is_paginated_and_filters_by_status(api, client_user):
    make_order(client_user)
    building = make_order(client_user, status=S.BUILDING)
    data = api.get("/api/v1/orders/").json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 2
    assert set(data["results"][0]) == ORDER_FIELDS
    filtered = api.get("/api/v1/orders/", {"status": "building"}).json()
    assert [o["id"] for o in filtered["results"]] == [building.pk]
    response = api.get("/api/v1/orders/", {"status": "lost"})
    assert response.status_code == 400
    assert "status" in _fields(response)


def test_list_query_count_does_not_grow_with_orders(api, client_user, django_assert_max_num_queries):
    fund(client_user, 10_000)
    for _ in range(3):
        make_order(client_user, fund_credits=0)
    with django_assert_max_num_queries(20) as few:
        api.get("/api/v1/orders/")
    for _ in range(20):
        make_order(client_user, fund_credits=0)
    with django_assert_max_num_queries(len(few)):
        assert api.get("/api/v1/orders/").json()["count"] == 23


def test_detail_of_a_delivered_order(api, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=25, accepted=18)
    data = api.get(f"/api/v1/orders/{order.pk}/").json()
    assert (data["status"], data["status_label"]) == ("delivered", "Delivered")
    assert (data["found"], data["accepted"], data["delivered"]) == (25, 18, 18)
    assert (data["held"], data["charged"], data["released"]) == (0, 18, 2)
    assert [t["status"] for t in data["timeline"]] == ["queued", "building", "list_qa", "delivered"]
    assert data["timeline"][1]["actor"] == "system"


# --- cancel ------------------------------------------------------------------------------


def test_cancel_while_building_releases_the_hold(api, client_user):
    order = make_order(client_user, status=S.BUILDING, target_count=20, fund_credits=20)
    response = api.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "cancelled"
    assert (data["held"], data["released"]) == (0, 20)
    assert data["timeline"][-1]["actor"] == client_user.email
    assert client_accounts(client_user)[0].balance == 20


@pytest.mark.parametrize("status", [S.LIST_QA, S.DELIVERED, S.CANCELLED])
def test_cancel_is_409_when_the_state_forbids_it(api, client_user, status):
    order = make_order(client_user, status=status, target_count=20, leads=20)
    response = api.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_state"
    order.refresh_from_db()
    assert order.status == status


# --- leads -------------------------------------------------------------------------------


def test_leads_lists_delivered_leads_only(api, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=25, accepted=12)
    data = api.get(f"/api/v1/orders/{order.pk}/leads/").json()
    assert data["count"] == 12
    assert set(data["results"][0]) == LEAD_FIELDS
    delivered_ids = set(Lead.objects.filter(order=order, delivered=True).values_list("id", flat=True))
    assert {lead["id"] for lead in data["results"]} == delivered_ids
    page = api.get(f"/api/v1/orders/{order.pk}/leads/", {"page_size": 5, "page": 3}).json()
    assert len(page["results"]) == 2 and page["next"] is None


def test_leads_of_an_undelivered_order_are_empty(api, client_user):
    order = make_order(client_user, status=S.LIST_QA, target_count=20, leads=20)
    assert api.get(f"/api/v1/orders/{order.pk}/leads/").json()["count"] == 0


# --- download ----------------------------------------------------------------------------


def test_download_csv_over_the_api_is_recorded(api, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=3)
    response = api.get(f"/api/v1/orders/{order.pk}/download/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="solosales-order-{order.pk}-leads.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 4
    download = Download.objects.get()
    assert (download.format, download.rows, download.via_api, download.user) == ("csv", 3, True, client_user)


def test_download_xlsx_over_the_api(api, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=3)
    response = api.get(f"/api/v1/orders/{order.pk}/download/", {"format": "xlsx"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert "attachment" in response["Content-Disposition"]
    assert Download.objects.get().format == "xlsx"


def test_download_rejects_unknown_formats_and_undelivered_orders(api, client_user):
    delivered = make_order(client_user, status=S.DELIVERED, target_count=20, leads=3)
    response = api.get(f"/api/v1/orders/{delivered.pk}/download/", {"format": "pdf"})
    assert response.status_code == 400
    assert "format" in _fields(response)
    building = make_order(client_user, status=S.BUILDING)
    response = api.get(f"/api/v1/orders/{building.pk}/download/", {"format": "csv"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_state"
    assert not Download.objects.exists()
