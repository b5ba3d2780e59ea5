import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disputes.models import Dispute
from tests.disputes.helpers import PNG, available_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client_for, client_user):
    return api_client_for(client_user)


def _create(api, order, leads, **overrides):
    body = {
        "order": order.pk,
        "items": [{"lead": lead.pk, "reason": "invalid_email", "note": "bounced"} for lead in leads],
        "statement": "These bounced.",
        **overrides,
    }
    return api.post("/api/v1/disputes/", body, format="json")


def test_create_list_and_get_a_dispute(api, order, leads):
    response = _create(api, order, leads[:2])
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "open" and data["order"] == order.pk
    assert [i["lead"] for i in data["items"]] == [leads[0].pk, leads[1].pk]
    assert {i["decision"] for i in data["items"]} == {"pending"}
    assert [(e["seq"], e["kind"]) for e in data["evidence"]] == [(1, "client_statement"), (2, "system_snapshot")]
    assert all(len(e["item_hash"]) == 64 for e in data["evidence"])
    assert data["refund"] == 0
    listing = api.get("/api/v1/disputes/").json()
    assert listing["count"] == 1 and set(listing) >= {"count", "next", "previous", "results"}
    assert api.get(f"/api/v1/disputes/{data['id']}/").json()["id"] == data["id"]


def test_create_errors_use_the_core_format(api, order, leads):
    response = _create(api, order, leads[:1], items=[{"lead": leads[0].pk, "reason": "other"}])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "explanation" in response.json()["error"]["message"]
    response = _create(api, order, leads[:1], items=[])
    assert response.status_code == 400 and "items" in response.json()["error"]["detail"]
    assert _create(api, order, leads[:1]).status_code == 201
    response = _create(api, order, leads[:1])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lead_already_disputed"
    assert response.json()["error"]["detail"]["leads"] == [leads[0].pk]


def test_evidence_upload_and_withdraw(api, order, leads):
    dispute_id = _create(api, order, leads[:1]).json()["id"]
    response = api.post(
        f"/api/v1/disputes/{dispute_id}/evidence/",
        {"text": "screenshot", "file": SimpleUploadedFile("shot.png", PNG, content_type="image/png")},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    item = response.json()
    assert item["seq"] == 3 and item["kind"] == "client_file"
    assert item["file"]["content_type"] == "image/png" and item["file"]["size"] == len(PNG)
    assert item["submitted_by"] == "client"
    # The file, over the API with the token: the bytes, as an attachment nothing renders.
    assert item["file"]["url"] == f"/api/v1/disputes/{dispute_id}/evidence/3/file/"
    download = api.get(item["file"]["url"])
    assert download.status_code == 200, download
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png" and download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert api.get(f"/api/v1/disputes/{dispute_id}/evidence/99/file/").status_code == 404
    response = api.post(
        f"/api/v1/disputes/{dispute_id}/evidence/",
        {"file": SimpleUploadedFile("shot.pdf", PNG)},
        format="multipart",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_file"
    response = api.post(f"/api/v1/disputes/{dispute_id}/withdraw/")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    response = api.post(f"/api/v1/disputes/{dispute_id}/withdraw/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "illegal_state"


def test_ops_decision_over_the_api(api, api_client_for, staff_user, qa_staff, client_user, order, leads):
    dispute_id = _create(api, order, leads[:2]).json()["id"]
    url = f"/api/v1/ops/disputes/{dispute_id}/decision/"
    body = {
        "items": [{"lead": leads[0].pk, "decision": "accepted"}, {"lead": leads[1].pk, "decision": "rejected"}],
        "notes": "First bounced, second is valid.",
    }
    assert api.post(url, body, format="json").status_code == 404  # a client
    assert api_client_for(qa_staff).post(url, body, format="json").status_code == 404
    ops = api_client_for(staff_user)
    response = ops.post(url, {**body, "notes": ""}, format="json")
    assert response.status_code == 400
    before = available_balance(client_user)
    response = ops.post(url, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "partially_accepted"
    assert response.json()["refund"] == order.unit_price
    assert available_balance(client_user) == before + order.unit_price
    response = ops.post(url, body, format="json")
    assert response.status_code == 409
    client_view = api.get(f"/api/v1/disputes/{dispute_id}/").json()
    assert [i["decision"] for i in client_view["items"]] == ["accepted", "rejected"]
    assert ops.post("/api/v1/ops/disputes/999999/decision/", body, format="json").status_code == 404


def test_ops_second_approval_over_the_api(api, api_client_for, staff_user, second_staff, order, leads, settings):
    settings.DISPUTE_SECOND_APPROVER_ABOVE = 1
    dispute_id = _create(api, order, leads[:1]).json()["id"]
    body = {"items": [{"lead": leads[0].pk, "decision": "accepted"}], "notes": "ok"}
    first = api_client_for(staff_user)
    response = first.post(f"/api/v1/ops/disputes/{dispute_id}/decision/", body, format="json")
    assert response.json()["awaiting_approval"] is True and response.json()["status"] == "under_review"
    assert api.get(f"/api/v1/disputes/{dispute_id}/").json()["items"][0]["decision"] == "pending"
    response = first.post(f"/api/v1/ops/disputes/{dispute_id}/approve/")
    assert response.status_code == 403 and response.json()["error"]["code"] == "second_approver_required"
    response = api_client_for(second_staff).post(f"/api/v1/ops/disputes/{dispute_id}/approve/")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert Dispute.objects.get(pk=dispute_id).refund_transfer_id is not None


def test_token_auth_works(client, client_user, order, leads):
    from solosales.accounts.services import api_token_create

    _, key = api_token_create(user=client_user, name="CRM")
    response = client.get("/api/v1/disputes/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
