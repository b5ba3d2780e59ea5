"""The tracked links in every email: "yes, I'm interested" and unsubscribe (no login)."""

import pytest
from django.core import mail
from django.utils import translation

from orders.selectors import is_suppressed
from qualification import links
from qualification.models import EmailEvent
from tests.qualification.helpers import make_mql_order, process_pending, send_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""
    return send_step(make_mql_order(leads=1))[0]


def path(url):
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_get_shows_a_confirmation_page_and_records_nothing(client, message):
    response = client.get(path(links.interested_url(message.message_id)))
    assert response.status_code == 200
    assert '<form method="post">' in response.content.decode()
    assert not EmailEvent.objects.filter(source="portal").exists()


def test_confirming_interest_records_one_event_that_scores(client, message):
    url = path(links.interested_url(message.message_id))
    for _ in range(3):
        response = client.post(url)
        assert response.status_code == 200
        assert "Thank you" in response.content.decode()
    events = EmailEvent.objects.filter(source="portal")
    assert events.count() == 1 and events.get().repeat_count == 2
    assert process_pending() == ["accepted"]
    message.lead.refresh_from_db()
    assert message.lead.score == 40


def test_unsubscribing_suppresses_the_address(client, message):
    response = client.post(
        path(links.unsubscribe_url(message.message_id)),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    process_pending()
    assert is_suppressed(message.to_email)


def test_pages_are_in_the_recipients_language(client, settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""
    message = send_step(make_mql_order(leads=1, language="zh-hans"))[0]
    response = client.post(path(links.interested_url(message.message_id)))
    assert "谢谢" in response.content.decode()
    assert translation.get_language() == "en"  # the override ends with the response


@pytest.mark.parametrize("token", ["garbage", "x" * 300, links.make_token("12345678-1234-5678-1234-567812345678")])
def test_forged_or_unknown_tokens_are_404(client, message, token):
    assert client.post(f"/e/{token}/interested/").status_code == 404
    assert client.get(f"/e/{token}/unsubscribe/").status_code == 404
    assert not EmailEvent.objects.filter(source="portal").exists()


def test_a_token_for_one_email_cannot_be_edited_into_another(client, message):
    token = links.make_token(message.message_id)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/e/{tampered}/interested/").status_code == 404


def test_the_email_carries_both_links(message):
    body = mail.outbox[0].body
    assert path(links.interested_url(message.message_id)) in body
    assert path(links.unsubscribe_url(message.message_id)) in body
