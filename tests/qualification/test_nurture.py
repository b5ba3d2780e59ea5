"""Nurture: start, steps, sending (outbox, SendCloud, switch off, suppression), the tick
that recovers lost schedules, and the end of the window."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.core import mail
from django.utils import timezone
from waffle.models import Switch
from werkzeug import Response

from orders.models import Lead, Order, OrderStatus, QADecision
from orders.services import suppression_add
from qualification import services
from qualification.models import EmailEvent, EmailMessage
from solosales.core.models import OutboxMessage
from tests.qualification.helpers import make_mql_order, process_pending, send_step

pytestmark = pytest.mark.django_db
M = EmailMessage.Status


def set_switch(name, active):
    Switch.objects.update_or_create(name=name, defaults={"active": active})


@pytest.fixture(autouse=True)
def _no_sendcloud(settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""
    settings.NURTURE_SECONDS_PER_DAY = 60


def test_start_fixes_the_window_and_schedules_each_step_on_commit(django_capture_on_commit_callbacks):
    order = make_mql_order(leads=2, start=False)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.nurture_start(order=order) is True
    order.refresh_from_db()
    assert order.nurture_ends_at - order.nurture_started_at == timedelta(seconds=60 * 10)
    # intro now, value and last_call later, and the end of the window
    assert len(callbacks) == 4
    with django_capture_on_commit_callbacks() as again:
        assert services.nurture_start(order=order) is False
    assert again == []


def test_passing_qa1_starts_the_nurture_through_the_orders_hook(django_capture_on_commit_callbacks, settings):
    settings.JOBS_INLINE = True
    with django_capture_on_commit_callbacks(execute=True):
        order = make_mql_order(leads=2, start=False)
    order.refresh_from_db()
    assert order.status == OrderStatus.NURTURING
    assert order.nurture_started_at is not None


def test_a_step_renders_one_email_per_accepted_lead_with_both_links():
    order = make_mql_order(leads=3)
    Lead.objects.create(order=order, provider="sandbox", dedupe_key="rejected", email="no@x.example", accepted=False)
    assert services.nurture_step_run(order=order, step_key="intro") == 3
    assert services.nurture_step_run(order=order, step_key="intro") == 0  # idempotent
    messages = EmailMessage.objects.filter(order=order)
    assert messages.count() == 3
    message = messages.first()
    assert message.language == "en"
    assert "Ada" in message.body_text and "Acme" in message.body_text
    assert "/e/" in message.body_html and "/interested/" in message.body_html and "/unsubscribe/" in message.body_html
    assert message.subject.startswith("SoloSales × Acme")


def test_steps_that_are_not_due_render_nothing():
    order = make_mql_order(leads=2)
    assert services.nurture_step_run(order=order, step_key="value") == 0  # day 3
    assert services.nurture_step_run(order=order, step_key="no-such-step") == 0


def test_emails_are_in_the_clients_language():
    order = make_mql_order(leads=1, language="zh-hans")
    message = send_step(order)[0]
    assert message.language == "zh-hans"
    assert "您好" in message.body_text
    assert "简短介绍" in message.subject
    assert "是的，我感兴趣" in mail.outbox[0].body


def test_without_sendcloud_the_email_goes_to_the_outbox_with_a_synthetic_delivery(settings):
    settings.EMAIL_BACKEND = "solosales.core.mail.OutboxEmailBackend"
    order = make_mql_order(leads=2)
    messages = send_step(order)
    assert [m.status for m in messages] == [M.SENT, M.SENT]
    assert OutboxMessage.objects.count() == 2
    outbox = OutboxMessage.objects.get(to=messages[0].to_email)
    assert outbox.headers["SC-Custom-Message-Id"] == str(messages[0].message_id)
    assert outbox.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert messages[0].sendcloud_email_id.endswith("$" + messages[0].to_email)
    delivered = EmailEvent.objects.filter(source="system", event="delivered", outcome="accepted")
    assert delivered.count() == 2


def test_switch_email_sending_off_renders_but_sends_nothing():
    set_switch("email_sending", False)
    order = make_mql_order(leads=3)
    messages = send_step(order)
    assert [m.status for m in messages] == [M.NOT_SENT] * 3
    assert all(m.body_html for m in messages)
    assert mail.outbox == []
    assert not EmailEvent.objects.exists()


def test_suppressed_addresses_are_not_sent_to():
    order = make_mql_order(leads=2)
    first = order.leads.order_by("id").first()
    suppression_add(email=first.email.upper(), reason="unsubscribed", source="test")
    statuses = {m.lead_id: m.status for m in send_step(order)}
    assert statuses[first.pk] == M.SUPPRESSED
    assert len(mail.outbox) == 1


def test_an_email_is_sent_once_even_if_its_job_runs_twice():
    order = make_mql_order(leads=1)
    services.nurture_step_run(order=order, step_key="intro")
    message = EmailMessage.objects.get(order=order)
    assert services.message_send(message_id=message.pk) == M.SENT
    assert services.message_send(message_id=message.pk) is None
    assert len(mail.outbox) == 1


@pytest.fixture
def sendcloud_server(settings, httpserver):
    settings.SENDCLOUD_API_USER, settings.SENDCLOUD_API_KEY = "user", "key"
    settings.SENDCLOUD_API_BASE = httpserver.url_for("/apiv2")
    return httpserver


def test_with_sendcloud_keys_the_api_is_used_and_the_email_id_kept(sendcloud_server):
    seen = []

    def handler(request):
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        seen.append(form)
        return Response(
            json.dumps({"result": True, "statusCode": 200, "info": {"emailIdList": [f"sc-1$0${form['to']}"]}}),
            content_type="application/json",
        )

    sendcloud_server.expect_request("/apiv2/mail/send").respond_with_handler(handler)
    order = make_mql_order(leads=1)
    message = send_step(order)[0]
    assert message.status == M.SENT
    assert message.sendcloud_email_id == f"sc-1$0${message.to_email}"
    assert seen[0]["sendRequestId"] == str(message.message_id)
    assert json.loads(seen[0]["headers"])["SC-Custom-Message-Id"] == str(message.message_id)
    assert mail.outbox == []
    assert not EmailEvent.objects.exists()  # delivery comes from SendCloud's webhook


def test_a_transient_failure_is_retried_later_and_an_auth_failure_is_final(
    sendcloud_server, django_capture_on_commit_callbacks
):
    sendcloud_server.expect_oneshot_request("/apiv2/mail/send").respond_with_data("down", status=503)
    order = make_mql_order(leads=1)
    services.nurture_step_run(order=order, step_key="intro")
    message = EmailMessage.objects.get(order=order)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.message_send(message_id=message.pk) == M.RENDERED
    assert len(callbacks) == 1  # the retry, scheduled with backoff
    message.refresh_from_db()
    assert message.attempts == 1 and "503" in message.error
    assert message.scheduled_for > timezone.now()
    sendcloud_server.expect_oneshot_request("/apiv2/mail/send").respond_with_json(
        {"result": False, "statusCode": 40005, "message": "auth"}
    )
    EmailMessage.objects.filter(pk=message.pk).update(scheduled_for=timezone.now())
    assert services.message_send(message_id=message.pk) == M.FAILED
    message.refresh_from_db()
    assert message.attempts == 2 and "40005" in message.error


def test_the_tick_recovers_a_lost_start_lost_steps_and_finishes_the_window():
    order = make_mql_order(leads=2, start=False)
    counts = services.nurture_tick()
    assert (counts["started"], counts["rendered"]) == (1, 2)  # the hook was lost; intro is due at once
    order.refresh_from_db()
    # The scheduled jobs were "lost": days pass, the tick renders what is due.
    later = order.nurture_started_at + timedelta(seconds=60 * 3 + 1)
    counts = services.nurture_tick(now=later)
    assert counts["rendered"] == 2  # value, for 2 leads
    assert set(EmailMessage.objects.values_list("step", flat=True)) == {"intro", "value"}
    for pk in EmailMessage.objects.values_list("pk", flat=True):
        services.message_send(message_id=pk, now=later)
    process_pending()
    assert services.nurture_tick(now=later)["rendered"] == 0
    done = order.nurture_ends_at + timedelta(seconds=1)
    assert services.nurture_tick(now=done)["finished"] == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.MQL_QA


def test_finishing_early_is_refused_and_late_decides_every_lead():
    order = make_mql_order(leads=3)
    assert services.nurture_finish(order=order).status == OrderStatus.NURTURING
    messages = send_step(order)
    from tests.qualification.helpers import post_form, seconds_ago, signed

    client = __import__("django.test", fromlist=["Client"]).Client()
    for i, kind in enumerate(["click", "click", "open"]):
        post_form(client, signed(messages[0], kind, ts=seconds_ago(30 - i), url="https://a.example"))
    process_pending()
    result = services.nurture_finish(order=order, force=True)
    assert result.status == OrderStatus.MQL_QA
    assert result.qualified_count == 1
    decisions = dict(order.leads.values_list("pk", "qualified"))
    assert decisions[messages[0].lead_id] is True
    assert list(decisions.values()).count(False) == 2
    assert result.transitions.last().reason.startswith("Nurture window ended: 1 of 3")
    assert services.nurture_finish(order=order, force=True).status == OrderStatus.MQL_QA  # idempotent


def test_with_the_mql_gate_off_qa2_passes_automatically():
    set_switch("qa_gate_mql", False)
    order = make_mql_order(leads=2)
    messages = send_step(order)
    for m in messages[:1]:
        services.portal_link_used(message_id=m.message_id, kind="interest_confirmed")
    process_pending()
    result = services.nurture_finish(order=order, force=True)
    assert result.status == OrderStatus.DELIVERED
    decision = QADecision.objects.get(order=order, gate="mql")
    assert decision.automatic is True and decision.actor is None
    assert result.charged_credits == 1 * order.unit_price
    assert result.released_credits == order.max_cost - order.unit_price


def test_emails_left_unsent_at_the_end_are_recorded_as_not_sent():
    order = make_mql_order(leads=2)
    services.nurture_step_run(order=order, step_key="intro")
    services.nurture_finish(order=order, force=True)
    assert set(EmailMessage.objects.filter(order=order).values_list("status", flat=True)) == {M.NOT_SENT}


def test_nothing_is_sent_for_an_order_that_left_nurturing():
    order = make_mql_order(leads=1)
    services.nurture_step_run(order=order, step_key="intro")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.MQL_QA)
    message = EmailMessage.objects.get(order=order)
    assert services.message_send(message_id=message.pk) == M.NOT_SENT
    assert mail.outbox == []


@pytest.mark.redis
def test_the_whole_nurture_runs_through_the_email_queue(django_capture_on_commit_callbacks, run_jobs, settings):
    import django_rq

    with django_capture_on_commit_callbacks(execute=True):
        order = make_mql_order(leads=2, start=False)
    assert django_rq.get_queue("email").count == 1  # nurture_start from the hook
    with django_capture_on_commit_callbacks(execute=True):
        run_jobs(["email"])
    with django_capture_on_commit_callbacks(execute=True):
        run_jobs(["email"])  # intro step → send jobs
    with django_capture_on_commit_callbacks(execute=True):
        run_jobs(["email", "webhooks"])
    assert EmailMessage.objects.filter(order=order, status=M.SENT).count() == 2
    assert len(mail.outbox) == 2
    scheduled = django_rq.get_queue("email").scheduled_job_registry
    assert len(scheduled.get_job_ids()) == 3  # value, last_call, end of the window
