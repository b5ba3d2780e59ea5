import pytest
from rest_framework.test import APIClient

from orders.models import Order, OrderStatus, QADecision
from orders.pipeline import run_step
from tests.factories import make_staff
from tests.orders.conftest import balances, build_step, place
from tests.orders.ledger import assert_ledger_clean

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def in_qa(funded_client):
    order = place(funded_client, target_count=30)
    run_step(build_step(order).pk)
    return Order.objects.get(pk=order.pk)


def test_the_queue_lists_orders_waiting_for_qa(api, in_qa, funded_client):
    other = place(funded_client)  # still queued: not in the queue
    api.force_authenticate(make_staff(groups=("ops_qa",)))
    body = api.get("/api/v1/ops/orders/", {"status": "list_qa"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == in_qa.pk and row["status"] == "list_qa" and row["client"] == funded_client.email
    assert row["checks"]["valid"] == 30
    assert other.pk not in [r["id"] for r in api.get("/api/v1/ops/orders/").json()["results"]]


def test_an_unknown_queue_is_a_400(api, in_qa):
    api.force_authenticate(make_staff(groups=("ops_qa",)))
    response = api.get("/api/v1/ops/orders/", {"status": "delivered"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("groups", [(), ("finance",)])
def test_staff_outside_ops_qa_and_clients_get_404(api, in_qa, funded_client, groups):
    api.force_authenticate(make_staff(groups=groups))
    assert api.get("/api/v1/ops/orders/").status_code == 404
    assert api.post(f"/api/v1/ops/orders/{in_qa.pk}/qa/", {"gate": "list", "decision": "pass"}).status_code == 404
    api.force_authenticate(funded_client)
    assert api.get("/api/v1/ops/orders/").status_code == 404
    assert Order.objects.get(pk=in_qa.pk).status == OrderStatus.LIST_QA


def test_anonymous_gets_401(api, in_qa):
    assert api.get("/api/v1/ops/orders/").status_code == 401


def test_pass_over_the_api_captures_and_delivers(api, in_qa, funded_client):
    staff = make_staff(groups=("ops_qa",))
    api.force_authenticate(staff)
    response = api.post(
        f"/api/v1/ops/orders/{in_qa.pk}/qa/", {"gate": "list", "decision": "pass", "accepted_count": 25}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "delivered"
    assert response.json()["charged_credits"] == 25 * in_qa.unit_price
    assert QADecision.objects.get(order=in_qa).actor == staff
    assert balances(funded_client) == (1000 - 25 * in_qa.unit_price, 0)
    again = api.post(
        f"/api/v1/ops/orders/{in_qa.pk}/qa/", {"gate": "list", "decision": "fail", "notes": "x"}, format="json"
    )
    assert again.status_code == 409
    assert_ledger_clean()


def test_fail_without_notes_is_a_400_and_changes_nothing(api, in_qa):
    api.force_authenticate(make_staff(groups=("ops_qa",)))
    response = api.post(f"/api/v1/ops/orders/{in_qa.pk}/qa/", {"gate": "list", "decision": "fail"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["detail"]["fields"]["notes"]
    assert Order.objects.get(pk=in_qa.pk).status == OrderStatus.LIST_QA


@pytest.mark.parametrize(
    "body",
    [
        {"gate": "list", "decision": "maybe"},
        {"gate": "nope", "decision": "pass"},
        {"gate": "list", "decision": "pass", "accepted_count": "many"},
        {"gate": "list", "decision": "pass", "accepted_count": 31},
    ],
)
def test_bad_decisions_are_400(api, in_qa, body):
    api.force_authenticate(make_staff(groups=("ops_qa",)))
    assert api.post(f"/api/v1/ops/orders/{in_qa.pk}/qa/", body, format="json").status_code == 400
    assert not QADecision.objects.exists()


def test_wrong_gate_state_is_409_and_missing_order_404(api, in_qa):
    api.force_authenticate(make_staff(groups=("ops_qa",)))
    assert api.post(f"/api/v1/ops/orders/{in_qa.pk}/qa/", {"gate": "mql", "decision": "pass"}).status_code == 409
    assert api.post("/api/v1/ops/orders/999999/qa/", {"gate": "list", "decision": "pass"}).status_code == 404


def test_the_schema_documents_the_ops_endpoints_without_warnings(capsys):
    from django.core.management import call_command

    call_command("spectacular", "--file", "/dev/null", "--validate")
    err = capsys.readouterr().err
    mine = [line for line in err.splitlines() if "ops_api" in line or "OpsOrder" in line]
    assert not mine, mine
