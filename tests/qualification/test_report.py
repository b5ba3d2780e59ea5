"""The client's qualification report: page, CSV, printable page and API."""

import csv
import io

import pytest
from django.urls import reverse

from orders.models import Lead
from qualification import services
from tests.qualification.helpers import make_mql_order, process_pending, send_step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""


@pytest.fixture
def decided(client_user):
    """An MQL order after QA#2 passed: 1 of 3 leads qualified (interest) and delivered."""
    order = make_mql_order(client_user, leads=3)
    messages = send_step(order)
    services.portal_link_used(message_id=messages[0].message_id, kind="interest_confirmed")
    process_pending()
    order = services.nurture_finish(order=order, force=True)
    from orders.services import order_qa_decide

    order_qa_decide(order=order, gate="mql", decision="pass", notes="ok")
    return order, messages


def test_the_owner_sees_scores_breakdowns_timeline_and_chart(client, client_user, decided):
    order, messages = decided
    client.force_login(client_user)
    response = client.get(reverse("qualification:report", args=[order.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "<script" not in html.split("</main>")[0]
    assert "Confirmed interest: 1 of 1 × 40 = 40" in html
    qualified = Lead.objects.get(pk=messages[0].lead_id)
    assert qualified.full_name in html  # delivered: contact details shown
    other = Lead.objects.get(pk=messages[1].lead_id)
    assert other.full_name not in html and other.email not in html  # not delivered: withheld
    assert f"Lead #{other.pk}" in html
    assert "No high-intent event" in html
    assert "Delivered" in html  # the timeline shows the delivery event


def test_outsiders_and_list_orders_get_404(client, other_client, client_user, decided):
    order, _ = decided
    client.force_login(other_client)
    for name in ("qualification:report", "qualification:report-csv", "qualification:report-print"):
        assert client.get(reverse(name, args=[order.pk])).status_code == 404
    client.force_login(client_user)
    assert client.get(reverse("qualification:report", args=[999999])).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, decided):
    order, _ = decided
    response = client.get(reverse("qualification:report", args=[order.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_csv_download_has_every_lead_and_neutralises_formulas(client, client_user, decided):
    order, messages = decided
    Lead.objects.filter(pk=messages[0].lead_id).update(full_name='=HYPERLINK("http://evil")')
    client.force_login(client_user)
    response = client.get(reverse("qualification:report-csv", args=[order.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:8] == ["lead_id", "full_name", "company", "email", "title", "country", "score", "qualified"]
    assert len(rows) == 4
    first = rows[1]
    assert first[1].startswith("'=HYPERLINK")
    assert first[6] == "40" and first[7] == "true"
    assert "interest_confirmed 1x40=40" in first[9]


def test_the_printable_page_lists_every_lead(client, client_user, decided):
    order, _ = decided
    client.force_login(client_user)
    response = client.get(reverse("qualification:report-print", args=[order.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("badge-bad") + response.content.decode().count("badge-ok") == 3


def test_the_report_during_nurturing_shows_live_scores_without_decisions(client, client_user):
    order = make_mql_order(client_user, leads=2)
    messages = send_step(order)
    services.portal_link_used(message_id=messages[1].message_id, kind="interest_confirmed")
    process_pending()
    client.force_login(client_user)
    html = client.get(reverse("qualification:report", args=[order.pk])).content.decode()
    assert "Nurturing is in progress" in html
    assert "Pending" in html
    assert "Confirmed interest: 1 of 1 × 40 = 40" in html


def test_the_report_page_query_count_is_bounded(client, client_user, decided, django_assert_max_num_queries):
    order, _ = decided
    client.force_login(client_user)
    with django_assert_max_num_queries(25):
        client.get(reverse("qualification:report", args=[order.pk]))


def test_the_api_report_is_paginated_per_lead(client, client_user, decided):
    order, messages = decided
    client.force_login(client_user)
    response = client.get(f"/api/v1/orders/{order.pk}/report/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 3
    first = data["results"][0]
    assert first["id"] == messages[0].lead_id
    assert (first["score"], first["qualified"], first["reasons"]) == (40, True, ["qualified"])
    assert {b["rule"]: b["points"] for b in first["breakdown"]}["interest_confirmed"] == 40
    assert [e["event"] for e in first["events"]] == ["delivered", "interest_confirmed"]
    hidden = data["results"][1]
    assert hidden["full_name"] is None and hidden["email"] is None
    paged = client.get(f"/api/v1/orders/{order.pk}/report/?page_size=1&page=2").json()
    assert len(paged["results"]) == 1 and paged["previous"]


def test_the_api_report_is_404_for_others_and_401_for_anonymous(client, other_client, decided):
    order, _ = decided
    assert client.get(f"/api/v1/orders/{order.pk}/report/").status_code == 401
    client.force_login(other_client)
    response = client.get(f"/api/v1/orders/{order.pk}/report/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_schema_documents_the_report_without_warnings(capsys):
    from django.core.management import call_command

    call_command("spectacular", "--file", "/dev/null", "--validate")
    err = capsys.readouterr().err
    assert "qualification" not in err.lower()
    assert "ReportView" not in err and "report" not in err.lower()
