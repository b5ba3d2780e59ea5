"""The demo seeder takes one MQL order through the qualification and leaves it in QA#2."""

import pytest

from orders.models import OrderStatus
from qualification import demo
from qualification.models import EmailEvent, EmailMessage
from solosales.core.models import OutboxMessage
from tests.factories import make_client, make_staff

pytestmark = pytest.mark.django_db


def test_the_seeder_leaves_an_mql_order_in_qa2_and_is_idempotent(settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""
    settings.EMAIL_BACKEND = "solosales.core.mail.OutboxEmailBackend"
    client, staff = make_client(), make_staff()
    demo.seed(client=client, staff=staff)
    order = client.orders.get(idempotency_key=demo.DEMO_KEY)
    assert order.status == OrderStatus.MQL_QA
    sent = EmailMessage.objects.filter(order=order, status="sent").count()
    assert sent == order.accepted_count > 0
    assert OutboxMessage.objects.count() == sent
    assert not EmailEvent.objects.filter(outcome__startswith="rejected").exists()
    assert EmailEvent.objects.filter(order_id=order.pk, event="clicked", outcome="accepted").exists()
    assert 0 < order.qualified_count < order.accepted_count
    counts = (EmailMessage.objects.count(), EmailEvent.objects.count(), OutboxMessage.objects.count())
    demo.seed(client=client, staff=staff)
    assert (EmailMessage.objects.count(), EmailEvent.objects.count(), OutboxMessage.objects.count()) == counts
