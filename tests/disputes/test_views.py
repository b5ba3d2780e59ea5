import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from disputes.models import Dispute
from disputes.services import dispute_add_evidence, dispute_open
from tests.disputes.helpers import PNG, delivered_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispute(client_user, order, leads):
    return dispute_open(
        user=client_user,
        order=order,
        items=[{"lead": leads[0], "reason": "invalid_email", "note": "bounced"}],
        statement="It bounced.",
        files=[SimpleUploadedFile("bounce.png", PNG)],
    )


def _urls(dispute):
    return [
        ("get", reverse("disputes:detail", args=[dispute.pk])),
        ("get", reverse("disputes:new", args=[dispute.order_id])),
        ("post", reverse("disputes:new", args=[dispute.order_id])),
        ("post", reverse("disputes:evidence_add", args=[dispute.pk])),
        ("post", reverse("disputes:withdraw", args=[dispute.pk])),
        ("get", reverse("disputes:evidence_file", args=[dispute.pk, 2])),
        ("get", f"/api/v1/disputes/{dispute.pk}/"),
        ("post", f"/api/v1/disputes/{dispute.pk}/evidence/"),
        ("post", f"/api/v1/disputes/{dispute.pk}/withdraw/"),
        ("post", f"/api/v1/ops/disputes/{dispute.pk}/decision/"),
        ("post", f"/api/v1/ops/disputes/{dispute.pk}/approve/"),
    ]


def test_outsiders_get_404_on_every_dispute_url(client, other_client, dispute):
    client.force_login(other_client)
    for method, url in _urls(dispute):
        response = getattr(client, method)(url, {"text": "x", "statement": "x", "lead": "1"})
        assert response.status_code == 404, (method, url, response.status_code)
    response = client.post(
        "/api/v1/disputes/",
        {"order": dispute.order_id, "items": [{"lead": 1, "reason": "duplicate"}], "statement": "x"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/disputes/").json()["count"] == 0
    assert Dispute.objects.get(pk=dispute.pk).status == "open"
    assert dispute.evidence.count() == 3


def test_staff_outside_ops_arbitration_cannot_reach_arbitration(client, qa_staff, dispute):
    client.force_login(qa_staff)
    assert client.get(f"/admin/disputes/dispute/{dispute.pk}/arbitrate/").status_code == 403
    assert client.get(reverse("disputes:evidence_file", args=[dispute.pk, 2])).status_code == 404
    response = client.post(
        f"/api/v1/ops/disputes/{dispute.pk}/decision/",
        {"items": [], "notes": "x"},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client, dispute):
    for url in (reverse("disputes:list"), reverse("disputes:detail", args=[dispute.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(f"/api/v1/disputes/{dispute.pk}/").status_code == 401


def test_the_list_shows_an_empty_state(logged_in):
    response = logged_in.get(reverse("disputes:list"))
    assert response.status_code == 200
    assert "You have not disputed any leads." in response.content.decode()


def test_the_list_is_paginated_with_a_pinned_query_count(logged_in, client_user, django_assert_max_num_queries):
    order = delivered_order(client_user, leads=25)
    for lead in order.leads.all():
        dispute_open(user=client_user, order=order, items=[{"lead": lead, "reason": "duplicate"}], statement="x")
    with django_assert_max_num_queries(12):
        response = logged_in.get(reverse("disputes:list"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 20
    assert response.context["page"].paginator.num_pages == 2
    assert logged_in.get(reverse("disputes:list") + "?page=2").status_code == 200


def test_new_dispute_page_shows_the_deadline_and_leads(logged_in, order, leads):
    response = logged_in.get(reverse("disputes:new", args=[order.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "You can dispute delivered leads of this order until" in body
    assert leads[0].email in body
    response = logged_in.get(reverse("disputes:new", args=[order.pk]) + f"?q={leads[1].email}")
    assert [row["lead"].pk for row in response.context["rows"]] == [leads[1].pk]


def test_opening_a_dispute_from_the_page(logged_in, client_user, order, leads):
    response = logged_in.post(
        reverse("disputes:new", args=[order.pk]),
        {
            "lead": [leads[0].pk, leads[1].pk],
            f"reason_{leads[0].pk}": "invalid_email",
            f"reason_{leads[1].pk}": "other",
            f"note_{leads[1].pk}": "Is a generic info@ inbox.",
            "statement": "Two leads are unusable.",
            "files": [SimpleUploadedFile("shot.png", PNG)],
        },
    )
    dispute = Dispute.objects.get(user=client_user)
    assert response.status_code == 302
    assert response["Location"] == reverse("disputes:detail", args=[dispute.pk])
    assert dispute.items.count() == 2
    assert dispute.evidence.filter(kind="client_file").count() == 1


def test_the_page_explains_a_bad_submission_and_keeps_the_input(logged_in, client_user, order, leads):
    response = logged_in.post(
        reverse("disputes:new", args=[order.pk]),
        {"lead": [leads[0].pk], f"reason_{leads[0].pk}": "other", "statement": "Keep me"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "needs an explanation" in body
    assert "Keep me" in body
    assert not Dispute.objects.exists()


def test_a_closed_window_is_explained_without_a_form(logged_in, client_user):
    from datetime import timedelta

    from django.utils import timezone

    order = delivered_order(client_user, window_ends_at=timezone.now() - timedelta(seconds=1))
    response = logged_in.get(reverse("disputes:new", args=[order.pk]))
    assert response.status_code == 200
    assert "dispute window for this order closed" in response.content.decode()
    assert response.context["closed_reason"]
    response = logged_in.post(reverse("disputes:new", args=[order.pk]), {"statement": "late"})
    assert not Dispute.objects.exists()


def test_detail_shows_status_evidence_hashes_and_chain(logged_in, dispute):
    response = logged_in.get(reverse("disputes:detail", args=[dispute.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["chain_ok"] is True
    assert "The evidence chain verifies" in body
    assert dispute.evidence.get(seq=1).item_hash[:16] in body
    assert "bounce.png" in body
    assert "Withdraw" in body


def test_adding_evidence_and_withdrawing_from_the_page(logged_in, dispute):
    response = logged_in.post(reverse("disputes:evidence_add", args=[dispute.pk]), {"text": "One more bounce."})
    assert response.status_code == 302
    assert dispute.evidence.order_by("-seq").first().text == "One more bounce."
    response = logged_in.post(reverse("disputes:evidence_add", args=[dispute.pk]), {"text": ""})
    assert response.status_code == 400
    response = logged_in.post(reverse("disputes:withdraw", args=[dispute.pk]))
    assert response.status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).status == "withdrawn"
    response = logged_in.post(reverse("disputes:evidence_add", args=[dispute.pk]), {"text": "late"})
    assert response.status_code == 400
    assert "only while the dispute is open" in response.content.decode()


def test_evidence_files_are_served_as_attachments_to_the_owner_and_staff(client, logged_in, dispute, staff_user):
    url = reverse("disputes:evidence_file", args=[dispute.pk, 2])
    for who in (logged_in, None):
        if who is None:
            client.force_login(staff_user)
            who = client
        response = who.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert 'filename="bounce.png"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == PNG
    # an item without a file, and a missing item
    assert client.get(reverse("disputes:evidence_file", args=[dispute.pk, 1])).status_code == 404
    assert client.get(reverse("disputes:evidence_file", args=[dispute.pk, 99])).status_code == 404


def test_arbitration_page_shows_leads_beside_evidence_and_decides(client, staff_user, dispute, leads, order):
    dispute_add_evidence(dispute=dispute, user=dispute.user, text="Screenshot above.")
    client.force_login(staff_user)
    url = f"/admin/disputes/dispute/{dispute.pk}/arbitrate/"
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert leads[0].email in body
    assert "Provider record" in body and "Audit trail" in body and "bounce.png" in body
    response = client.post(url, {"action": "decide", f"decision_{leads[0].pk}": "accepted", "notes": ""})
    assert response.status_code == 400
    assert Dispute.objects.get(pk=dispute.pk).status == "open"
    response = client.post(
        url, {"action": "decide", f"decision_{leads[0].pk}": "accepted", "notes": "Bounce confirmed."}
    )
    assert response.status_code == 302
    decided = Dispute.objects.get(pk=dispute.pk)
    assert decided.status == "accepted" and decided.refund_credits == order.unit_price
    response = client.post(url, {"action": "note", "note_text": "Refund done."})
    assert response.status_code == 302
    assert decided.evidence.order_by("-seq").first().kind == "ops_note"


def test_approve_button_needs_a_different_staff_user(client, staff_user, second_staff, dispute, leads, settings):
    settings.DISPUTE_SECOND_APPROVER_ABOVE = 1
    url = f"/admin/disputes/dispute/{dispute.pk}/arbitrate/"
    client.force_login(staff_user)
    client.post(url, {"action": "decide", f"decision_{leads[0].pk}": "accepted", "notes": "ok"})
    assert Dispute.objects.get(pk=dispute.pk).awaiting_approval
    response = client.get(url)
    assert response.context["can_approve"] is False
    assert client.post(url, {"action": "approve"}).status_code == 400
    client.force_login(second_staff)
    assert client.get(url).context["can_approve"] is True
    assert client.post(url, {"action": "approve"}).status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).status == "accepted"


def test_evidence_and_log_admins_are_read_only(client, staff_user, dispute):
    client.force_login(staff_user)
    item = dispute.evidence.first()
    assert client.get("/admin/disputes/evidenceitem/").status_code == 200
    assert client.get(f"/admin/disputes/evidenceitem/{item.pk}/change/").status_code == 200
    assert client.get(f"/admin/disputes/evidenceitem/{item.pk}/delete/").status_code == 403
    assert client.get("/admin/disputes/evidenceitem/add/").status_code == 403
    assert client.get("/admin/disputes/arbitrationlog/").status_code == 200
    assert client.get("/admin/disputes/dispute/?q=" + str(dispute.pk)).status_code == 200
