"""The lead admin page explains a scored lead's score (rows, reasons, events), expanded
from its stored inputs with the order's rules version; an unscored lead says so."""

import pytest

from orders.models import Lead
from qualification import services
from qualification.reporting import rule_label
from tests.factories import make_staff
from tests.qualification.helpers import make_mql_order, process_pending, send_step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""


def test_a_scored_lead_shows_its_breakdown_and_an_unscored_one_says_so(client):
    order = make_mql_order(leads=2)
    messages = send_step(order)
    services.portal_link_used(message_id=messages[0].message_id, kind="interest_confirmed")
    process_pending()
    scored = Lead.objects.get(pk=messages[0].lead_id)
    unscored = Lead.objects.filter(order=order).exclude(pk=scored.pk).first()
    Lead.objects.filter(pk=unscored.pk).update(score_breakdown={})
    assert "counts" in scored.score_breakdown  # stored as inputs, not as rows
    client.force_login(make_staff(superuser=True))

    page = client.get(f"/admin/orders/lead/{scored.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Score explained" in html
    assert f"{rule_label('interest_confirmed')} 1/1" in html  # the breakdown row of the counted event
    assert f"<td>{scored.score}</td>" in html

    assert "Not scored yet." in client.get(f"/admin/orders/lead/{unscored.pk}/change/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    page = client.get(f"/admin/orders/lead/{scored.pk}/change/")
    assert "Score explained" not in page.content.decode()
    assert "得分说明" in page.content.decode()
