"""manage.py simulate_engagement: signed events through the real webhook, deterministic."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.models import Lead
from qualification.models import EmailEvent
from tests.qualification.helpers import make_mql_order, process_pending, send_step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""


def run(order, seed):
    call_command("simulate_engagement", str(order.pk), "--seed", str(seed), "--in-process")
    process_pending()
    return dict(Lead.objects.filter(order=order).order_by("id").values_list("id", "score"))


def test_it_posts_signed_events_that_are_all_accepted_and_scored(capsys):
    order = make_mql_order(leads=10)
    send_step(order)
    scores = run(order, seed=7)
    out = capsys.readouterr().out
    assert "responses: 200=" in out and "403" not in out and "400" not in out
    refused = EmailEvent.objects.filter(outcome__startswith="rejected")
    assert not refused.exists()
    assert EmailEvent.objects.filter(source="sendcloud", outcome="accepted").exists()
    assert EmailEvent.objects.filter(source="sendcloud", event="unsubscribed").count() == 1
    assert any(scores.values())


def test_the_same_seed_picks_the_same_engagement():
    first = make_mql_order(leads=8)
    second = make_mql_order(leads=8)
    send_step(first)
    send_step(second)
    a = list(run(first, seed=3).values())
    b = list(run(second, seed=3).values())
    assert a == b


def test_an_order_without_sent_emails_is_refused():
    order = make_mql_order(leads=1)
    with pytest.raises(CommandError):
        call_command("simulate_engagement", str(order.pk), "--in-process")
