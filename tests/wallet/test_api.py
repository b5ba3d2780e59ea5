import subprocess
import sys

import pytest

from solosales.accounts.services import api_token_create
from wallet import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, client_user):
    _, key = api_token_create(user=client_user, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def test_wallet_summary(api, client_user, fund):
    fund(client_user, 120)
    services.hold_place(user=client_user, amount=20, key="order:1:hold", order_id=1)
    assert api.get("/api/v1/wallet/").json() == {
        "available": 100,
        "held": 20,
        "currency": "cny",
        "credit_price_minor": 100,
    }


def test_wallet_needs_authentication(client):
    response = client.get("/api/v1/wallet/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_transfers_are_paginated_with_direction_and_balance_after(api, client_user, fund):
    """Every transfer of the client's credits, the charge of held credits included."""
    topup = fund(client_user, 120)
    hold = services.hold_place(user=client_user, amount=20, key="order:2:hold", order_id=2)
    services.hold_capture(hold=hold, amount=5, key="order:2:qa1")
    body = api.get("/api/v1/wallet/transfers/?page_size=2").json()
    assert body["count"] == 4 and body["next"] and body["previous"] is None
    release, charge = body["results"]
    fields = ("kind", "amount", "account", "direction", "balance_after", "order", "topup", "dispute")
    assert {k: release[k] for k in fields} == {
        "kind": "release",
        "amount": 15,
        "account": "available",
        "direction": "in",
        "balance_after": 115,
        "order": 2,
        "topup": None,
        "dispute": None,
    }
    # The charge moved held credits to revenue: out of held, which is then 15 (the rest
    # is released by the next transfer).
    assert {k: charge[k] for k in fields} == {
        "kind": "capture",
        "amount": 5,
        "account": "held",
        "direction": "out",
        "balance_after": 15,
        "order": 2,
        "topup": None,
        "dispute": None,
    }
    placed, top = api.get(body["next"]).json()["results"]
    assert (placed["kind"], placed["account"], placed["direction"], placed["balance_after"]) == (
        "hold",
        "available",
        "out",
        100,
    )
    assert (top["kind"], top["topup"], top["direction"]) == ("topup", topup.pk, "in")
    assert set(top) == {"id", "kind", "amount", "account", "direction", "balance_after", "order", "topup", "dispute",
                        "created_at"}  # fmt: skip


def test_transfers_of_other_clients_are_not_listed(api, other_client, fund):
    fund(other_client, 50)
    assert api.get("/api/v1/wallet/transfers/").json()["count"] == 0


def test_create_and_read_a_topup(api, client_user):
    response = api.post("/api/v1/wallet/topups/", {"credits": 500}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("status", "credits", "amount_minor", "currency")} == {
        "status": "pending",
        "credits": 500,
        "amount_minor": 50000,
        "currency": "cny",
    }
    assert body["checkout_url"] == f"http://testserver/wallet/test-checkout/{body['id']}/"
    again = api.get(f"/api/v1/wallet/topups/{body['id']}/").json()
    assert again["id"] == body["id"] and again["status"] == "pending"
    assert api.get("/api/v1/wallet/topups/").json()["count"] == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [({"credits": 49}, "invalid"), ({"credits": "abc"}, "invalid"), ({}, "invalid"), ({"credits": 12.5}, "invalid")],
)
def test_topup_validation_errors_use_the_error_format(api, payload, code):
    response = api.post("/api/v1/wallet/topups/", payload, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert "credits" in error["detail"]


def test_topups_switched_off(api):
    from waffle.models import Switch

    Switch.objects.filter(name="stripe_topups").update(active=False)
    response = api.post("/api/v1/wallet/topups/", {"credits": 100}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "topups_disabled"


def test_schema_generates_without_warnings_for_the_wallet():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--fail-on-warn", "--validate", "--file", "/dev/null"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"DJANGO_SETTINGS_MODULE": "solosales.settings", "PATH": "/usr/bin:/bin"},
    )
    wallet_lines = [line for line in (result.stdout + result.stderr).splitlines() if "wallet" in line.lower()]
    assert wallet_lines == []
