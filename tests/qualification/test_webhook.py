"""/webhooks/sendcloud/: signatures, freshness, replay, storage once, mapping and effects."""

import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from orders.models import Lead, Order
from qualification import services
from qualification.models import EmailEvent, EmailMessage, UsedWebhookToken
from qualification.scoring import expand
from tests.qualification.helpers import (
    WEBHOOK,
    make_mql_order,
    post_form,
    post_json,
    process_pending,
    seconds_ago,
    send_step,
    signed,
)

pytestmark = pytest.mark.django_db
O = EmailEvent.Outcome  # noqa: E741


@pytest.fixture
def sent(settings):
    """A nurturing order with its first step sent through the outbox (4 leads)."""
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""
    order = make_mql_order(leads=4)
    messages = send_step(order)
    assert {m.status for m in messages} == {EmailMessage.Status.SENT}
    return order, messages


def score(lead_id):
    return Lead.objects.get(pk=lead_id).score


def last_event():
    return EmailEvent.objects.order_by("-id").first()


def test_a_signed_form_event_is_stored_queued_and_scored(client, sent, django_capture_on_commit_callbacks):
    _order, messages = sent
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_form(client, signed(messages[0], "open", ip="203.0.113.7"))
    assert response.status_code == 200
    assert response.json() == {"status": "pending"}
    assert len(callbacks) == 1  # the processing job, enqueued on commit
    event = last_event()
    assert (event.outcome, event.event_raw, event.source) == (O.PENDING, "open", "sendcloud")
    assert UsedWebhookToken.objects.filter(token=event.token).exists()
    assert process_pending() == [O.ACCEPTED]
    event.refresh_from_db()
    assert (event.event, event.message_id, event.lead_id) == ("opened", messages[0].pk, messages[0].lead_id)
    assert score(messages[0].lead_id) == 5


def test_a_json_body_is_accepted_too(client, sent):
    _order, messages = sent
    data = signed(messages[1], "click", url="https://acme.example/x")
    data["timestamp"] = int(data["timestamp"])  # JSON numbers, as some senders do
    data["userHeaders"] = {"SC-Custom-Message-Id": str(messages[1].message_id)}
    assert post_json(client, data).status_code == 200
    assert process_pending() == [O.ACCEPTED]
    assert score(messages[1].lead_id) == 15


def test_the_message_is_found_by_the_custom_header_when_the_email_id_is_unknown(client, sent):
    _order, messages = sent
    data = signed(
        messages[2],
        "open",
        email_id="never-seen$x",
        userHeaders=json.dumps({"SC-Custom-Message-Id": str(messages[2].message_id)}),
    )
    post_form(client, data)
    assert process_pending() == [O.ACCEPTED]
    assert last_event().message_id == messages[2].pk


def test_a_tampered_signature_is_refused_and_stored_as_rejected(client, sent):
    _order, messages = sent
    data = signed(messages[0], "click")
    data["signature"] = "0" * 64
    response = post_form(client, data)
    assert response.status_code == 403
    event = last_event()
    assert event.outcome == O.REJECTED_SIGNATURE
    assert process_pending() == []
    assert score(messages[0].lead_id) is None or score(messages[0].lead_id) == 0


def test_a_signature_made_with_another_key_is_refused(client, sent):
    _order, messages = sent
    assert post_form(client, signed(messages[0], "click", app_key="not-our-key")).status_code == 403


def test_with_no_app_key_configured_even_an_empty_key_signature_is_refused(client, sent, settings):
    _order, messages = sent
    settings.SENDCLOUD_APP_KEY = ""
    assert post_form(client, signed(messages[0], "click", app_key="")).status_code == 403
    assert last_event().outcome == O.REJECTED_SIGNATURE


def test_a_body_changed_after_signing_is_refused_as_a_reused_token(client, sent):
    """Only timestamp+token are signed: replaying them with another event is refused."""
    _order, messages = sent
    data = signed(messages[0], "open")
    assert post_form(client, data).status_code == 200
    forged = {**data, "event": "click", "url": "https://evil.example"}
    response = post_form(client, forged)
    assert response.status_code == 403
    assert last_event().outcome == O.REJECTED_REUSED_TOKEN
    process_pending()
    assert score(messages[0].lead_id) == 5


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param(lambda: seconds_ago(services.WEBHOOK_MAX_AGE_SECONDS + 60), id="stale-ms"),
        pytest.param(lambda: str(int(time.time() - services.WEBHOOK_MAX_AGE_SECONDS - 60)), id="stale-s"),
        pytest.param(lambda: seconds_ago(-10 * 60), id="future-ms"),
        pytest.param(lambda: "yesterday", id="not-a-number"),
    ],
)
def test_stale_or_future_timestamps_are_refused(client, sent, timestamp):
    _order, messages = sent
    response = post_form(client, signed(messages[0], "click", ts=timestamp()))
    assert response.status_code == 400
    assert last_event().outcome == O.REJECTED_STALE
    assert process_pending() == []


def test_fresh_second_timestamps_are_accepted(client, sent):
    _order, messages = sent
    response = post_form(client, signed(messages[0], "open", ts=str(int(time.time()) - 30)))
    assert response.status_code == 200
    assert process_pending() == [O.ACCEPTED]


def test_ten_identical_deliveries_are_stored_once_and_scored_once(client, sent):
    _order, messages = sent
    data = signed(messages[0], "click", url="https://acme.example/pricing")
    statuses = [post_form(client, data).status_code for _ in range(10)]
    assert statuses == [200] * 10
    events = EmailEvent.objects.filter(source="sendcloud", event_raw="click")
    assert events.count() == 1
    assert events.get().repeat_count == 9
    process_pending()
    assert score(messages[0].lead_id) == 15


def test_the_same_event_resent_with_fresh_tokens_counts_once(client, sent):
    """A deliver is one per email: nine more copies are stored and reported as duplicates."""
    _order, messages = sent
    for _ in range(10):
        assert post_form(client, signed(messages[0], "deliver")).status_code == 200
    outcomes = process_pending()
    # The outbox already recorded a synthetic delivery, so every SendCloud copy duplicates it.
    assert outcomes == [O.DUPLICATE] * 10
    delivered = EmailEvent.objects.filter(message=messages[0], event="delivered", outcome=O.ACCEPTED)
    assert delivered.count() == 1


def test_an_identical_open_with_fresh_tokens_is_a_duplicate(client, sent):
    _order, messages = sent
    ts = seconds_ago(5)
    for _ in range(3):
        post_form(client, signed(messages[0], "open", ts=ts))
    assert process_pending() == [O.ACCEPTED, O.DUPLICATE, O.DUPLICATE]
    assert score(messages[0].lead_id) == 5


def test_out_of_order_events_score_like_in_order_ones(client, settings):
    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""
    order = make_mql_order(leads=2)
    services.nurture_step_run(order=order, step_key="intro")
    # Pretend SendCloud sent them (ids known), without the outbox's synthetic delivery.
    messages = list(EmailMessage.objects.filter(order=order).order_by("id"))
    for i, m in enumerate(messages):
        EmailMessage.objects.filter(pk=m.pk).update(status="sent", sendcloud_email_id=f"sc-{order.pk}-{i}$x")
        m.refresh_from_db()
    a, b = messages
    in_order = [("deliver", 1), ("open", 2), ("click", 3)]
    reverse = [("click", 3), ("open", 2), ("deliver", 1)]
    for message, plan in ((a, in_order), (b, reverse)):
        for kind, second in plan:
            post_form(client, signed(message, kind, ts=seconds_ago(60 - second), url="https://x.example"))
        process_pending()
    assert score(a.lead_id) == score(b.lead_id) == 20
    early = EmailEvent.objects.get(message=b, event="clicked")
    assert early.note == "arrived before the deliver event"
    assert early.outcome == O.ACCEPTED


def test_unknown_event_names_are_acknowledged_without_effect(client, sent):
    _order, messages = sent
    response = post_form(client, signed(messages[0], "teleport"))
    assert response.status_code == 200
    assert process_pending() == [O.UNKNOWN_EVENT]
    assert score(messages[0].lead_id) == 0


def test_request_and_route_events_are_recorded_without_effect(client, sent):
    _order, messages = sent
    post_form(client, signed(messages[0], "request", messageId="abc", emailIds="x"))
    post_form(client, signed(messages[0], "route"))
    assert process_pending() == [O.RECORDED, O.RECORDED]
    assert score(messages[0].lead_id) == 0


def test_an_unknown_email_id_is_acknowledged_without_effect(client, sent):
    _order, messages = sent
    before = list(Lead.objects.order_by("id").values_list("score", flat=True))
    response = post_form(client, signed(None, "click", email_id="no-such-email$x@y.z"))
    assert response.status_code == 200
    assert process_pending() == [O.UNKNOWN_EMAIL]
    assert list(Lead.objects.order_by("id").values_list("score", flat=True)) == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"", "application/x-www-form-urlencoded"),
        (b"a=%zz&&==", "application/x-www-form-urlencoded"),
        # JSON escapes of lone surrogates: valid JSON, but no UTF-8 text (HMAC, jsonb).
        (b'{"event":"open","token":"\\ud800","timestamp":"1","signature":"x"}', "application/json"),
        (b'{"event":"open","emailId":"a\\udfff$b@c.d"}', "application/json"),
    ],
)
def test_malformed_bodies_get_a_400_never_a_500(client, sent, body, content_type):
    response = client.post(WEBHOOK, data=body, content_type=content_type)
    assert response.status_code == 400
    assert last_event().outcome == O.REJECTED_MALFORMED
    assert process_pending() == []


def test_a_huge_body_is_refused_before_storage(client, sent):
    response = client.post(WEBHOOK, data="event=" + "x" * 70000, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert not EmailEvent.objects.filter(source="sendcloud").exists()


def test_get_is_not_allowed(client):
    assert client.get(WEBHOOK).status_code == 405


def test_a_form_missing_the_signature_fields_is_refused(client, sent):
    response = client.post(
        WEBHOOK, data=urlencode({"event": "click"}), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 403


def test_events_after_the_window_are_reported_and_not_scored(client, sent):
    order, messages = sent
    Order.objects.filter(pk=order.pk).update(nurture_ends_at=timezone.now() - timedelta(minutes=1))
    post_form(client, signed(messages[0], "click"))
    assert process_pending() == [O.AFTER_WINDOW]
    assert score(messages[0].lead_id) == 0


def test_an_unsubscribe_suppresses_the_address_for_future_sends_and_orders(client, sent):
    from orders.selectors import is_suppressed

    order, messages = sent
    target = messages[0]
    post_form(client, signed(target, "unsubscribe"))
    assert process_pending() == [O.ACCEPTED]
    assert is_suppressed(target.to_email)
    assert is_suppressed(target.to_email.upper())
    # Future sends of this order skip the address.
    Order.objects.filter(pk=order.pk).update(nurture_started_at=timezone.now() - timedelta(days=30))
    order.refresh_from_db()
    Order.objects.filter(pk=order.pk).update(nurture_ends_at=timezone.now() + timedelta(days=1))
    later = send_step(Order.objects.get(pk=order.pk), "value")
    statuses = {m.lead_id: m.status for m in later}
    assert statuses[target.lead_id] == EmailMessage.Status.SUPPRESSED
    assert sorted(set(statuses.values())) == ["sent", "suppressed"]
    # It does not count as engagement and disqualifies.
    lead = Lead.objects.get(pk=target.lead_id)
    assert lead.score == 0
    assert "unsubscribed" in expand(lead.score_breakdown, lead.order.rules_version)["reasons"]


@pytest.mark.parametrize(
    ("event", "reason"), [("report_spam", "complained"), ("invalid", "invalid"), ("bounce", "bounced_hard")]
)
def test_spam_reports_and_hard_bounces_suppress_globally(client, sent, event, reason):
    from orders.models import SuppressedAddress

    _order, messages = sent
    post_form(client, signed(messages[1], event, substat="406"))
    process_pending()
    assert SuppressedAddress.objects.get(email=messages[1].to_email.lower()).reason == reason


def test_a_soft_bounce_does_not_suppress(client, sent):
    from orders.selectors import is_suppressed

    _order, messages = sent
    post_form(client, signed(messages[1], "soft_bounce", substat="501"))
    process_pending()
    assert not is_suppressed(messages[1].to_email)
    assert last_event().event == "bounced_soft"


def test_a_replayed_rejected_body_gets_the_same_answer(client, sent):
    _order, messages = sent
    data = signed(messages[0], "click", ts=seconds_ago(services.WEBHOOK_MAX_AGE_SECONDS + 3600))
    assert post_form(client, data).status_code == 400
    assert post_form(client, data).status_code == 400
    assert EmailEvent.objects.filter(outcome=O.REJECTED_STALE).get().repeat_count == 1


@pytest.mark.redis
def test_processing_runs_in_the_webhooks_queue(client, sent, django_capture_on_commit_callbacks, run_jobs):
    import django_rq

    _order, messages = sent
    with django_capture_on_commit_callbacks(execute=True):
        assert post_form(client, signed(messages[3], "click", url="https://x.example")).status_code == 200
    assert django_rq.get_queue("webhooks").count == 1
    run_jobs(["webhooks"])
    assert last_event().outcome == O.ACCEPTED
    assert score(messages[3].lead_id) == 15


def test_nul_characters_in_a_signed_form_are_stored_without_them(client, sent):
    _order, messages = sent
    data = signed(messages[0], "open", explorerName="Chro\x00me")
    assert post_form(client, data).status_code == 200
    assert last_event().payload["explorerName"] == "Chrome"


@pytest.mark.redis
def test_a_burst_of_deliveries_enqueues_one_drain_job_that_processes_them_all(
    client, sent, django_capture_on_commit_callbacks, run_jobs
):
    import django_rq

    _order, messages = sent
    queue = django_rq.get_queue("webhooks")
    with django_capture_on_commit_callbacks(execute=True):
        for message in messages:
            assert post_form(client, signed(message, "open")).status_code == 200
    assert queue.count == 1  # one drain job for the four deliveries
    run_jobs(["webhooks"])
    assert set(EmailEvent.objects.values_list("outcome", flat=True)) == {O.ACCEPTED}
    assert [score(m.lead_id) for m in messages] == [5, 5, 5, 5]
    # The job released its flag before draining: the next delivery enqueues a new run.
    with django_capture_on_commit_callbacks(execute=True):
        assert post_form(client, signed(messages[0], "click", url="https://x.example")).status_code == 200
    assert queue.count == 1
    run_jobs(["webhooks"])
    assert last_event().outcome == O.ACCEPTED
    assert score(messages[0].lead_id) == 20


@pytest.mark.redis
def test_a_delivery_committed_while_the_flag_is_set_is_drained_by_the_running_job(client, sent, monkeypatch):
    """The flag is cleared before the drain reads: an event committed after the release but
    before the read is drained by this run, and enqueued its own run too (harmless)."""
    _order, messages = sent
    post_form(client, signed(messages[0], "open"))  # pending; its job's flag is set
    release = services.debounce_release

    def release_then_deliver(key, *, queue):
        released = release(key, queue=queue)
        post_form(client, signed(messages[1], "open"))
        return released

    monkeypatch.setattr(services, "debounce_release", release_then_deliver)
    assert services.events_process_pending() == 2
    assert not EmailEvent.objects.filter(outcome=O.PENDING).exists()


def test_the_drain_goes_on_past_an_event_that_fails_and_then_fails_itself(client, sent, monkeypatch):
    _order, messages = sent
    for message in messages[:3]:
        post_form(client, signed(message, "open"))
    pending = EmailEvent.objects.filter(outcome=O.PENDING).order_by("id")
    first = pending.first()
    ids = list(pending.values_list("id", flat=True))
    real = services.event_process

    def flaky(*, event_id):
        if event_id == first.pk:
            raise RuntimeError("boom")
        return real(event_id=event_id)

    monkeypatch.setattr(services, "event_process", flaky)
    with pytest.raises(RuntimeError, match="1 of 3 pending email events failed"):
        services.events_process_pending()
    outcomes = dict(EmailEvent.objects.filter(id__in=ids).values_list("id", "outcome"))
    assert [outcomes[i] for i in ids] == [O.PENDING, O.ACCEPTED, O.ACCEPTED]
    monkeypatch.setattr(services, "event_process", real)
    assert services.events_process_pending() == 1  # the next run takes it up
    assert not EmailEvent.objects.filter(outcome=O.PENDING).exists()


def test_a_reused_token_whose_refusal_was_lost_is_refused_by_the_processor(client, sent, monkeypatch):
    """The token's owner is checked again when the event is processed: a reused-token event
    left pending (its refusal update lost) is never applied."""
    _order, messages = sent
    first = signed(messages[0], "open")
    assert post_form(client, first).status_code == 200
    real_update = services.EmailEvent.objects.filter

    lost = []

    def lose_the_refusal(*args, **kwargs):
        qs = real_update(*args, **kwargs)
        if "pk" in kwargs and not lost:
            lost.append(kwargs["pk"])
            return qs.none()  # the refusal's UPDATE matches nothing, as if it never ran
        return qs

    monkeypatch.setattr(services.EmailEvent.objects, "filter", lose_the_refusal)
    again = signed(messages[1], "click", token=first["token"], url="https://x.example")
    assert post_form(client, again).status_code == 403
    monkeypatch.undo()
    event = EmailEvent.objects.get(pk=lost[0])
    assert event.outcome == O.PENDING  # the refusal was lost
    assert services.event_process(event_id=event.pk) == O.REJECTED_REUSED_TOKEN
    event.refresh_from_db()
    assert event.lead_id is None and score(messages[1].lead_id) == 0
    assert process_pending() == [O.ACCEPTED]  # the first delivery still counts
    assert score(messages[0].lead_id) == 5


@pytest.mark.redis
def test_deliveries_that_skip_redis_in_the_local_window_are_drained_by_the_lingering_job(
    client, sent, settings, django_capture_on_commit_callbacks, monkeypatch, run_jobs
):
    """A process that saw the flag a moment ago asks Redis nothing; the job that owns the
    flag waits out that window after its release and drains once more, so a delivery that
    committed after its first read is not left pending."""
    import django_rq

    from solosales.core import jobs as core_jobs

    settings.DEBOUNCE_LOCAL_WINDOW = 1.0
    core_jobs._flag_seen.clear()
    _order, messages = sent
    queue = django_rq.get_queue("webhooks")
    redis_sets = []
    real_set = type(queue.connection).set

    def counting_set(self, name, *args, **kwargs):
        if str(name).startswith("solosales:debounce:"):
            redis_sets.append(name)
        return real_set(self, name, *args, **kwargs)

    monkeypatch.setattr(type(queue.connection), "set", counting_set)
    with django_capture_on_commit_callbacks(execute=True):
        post_form(client, signed(messages[0], "open"))
        post_form(client, signed(messages[1], "open"))  # within the window: no round trip
    assert len(redis_sets) == 1 and queue.count == 1

    real_drain = services._drain_pending
    drains = []

    def drain_then_deliver(failed):
        taken = real_drain(failed)
        if not drains:  # after the first read: a delivery commits and skips Redis
            with django_capture_on_commit_callbacks(execute=True):
                post_form(client, signed(messages[2], "open"))
        drains.append(taken)
        return taken

    monkeypatch.setattr(services, "_drain_pending", drain_then_deliver)
    slept = []
    real_sleep = core_jobs.time.sleep
    monkeypatch.setattr(core_jobs.time, "sleep", lambda s: slept.append(s) or real_sleep(s))
    run_jobs(["webhooks"])
    assert len(slept) == 1 and 0 < slept[0] <= 1.0 + core_jobs._LINGER_MARGIN  # it lingered
    assert drains == [2, 1]  # the second pass took up the late delivery
    assert len(redis_sets) == 1 and queue.count == 0  # which enqueued nothing
    assert not EmailEvent.objects.filter(outcome=O.PENDING).exists()
    assert [score(m.lead_id) for m in messages[:3]] == [5, 5, 5]


@pytest.mark.redis
def test_without_a_local_window_every_delivery_asks_redis_and_the_job_does_not_linger(
    client, sent, settings, django_capture_on_commit_callbacks, run_jobs, monkeypatch
):
    import django_rq

    from solosales.core import jobs as core_jobs

    settings.DEBOUNCE_LOCAL_WINDOW = 0
    core_jobs._flag_seen.clear()
    _order, messages = sent
    queue = django_rq.get_queue("webhooks")
    with django_capture_on_commit_callbacks(execute=True):
        post_form(client, signed(messages[0], "open"))
    run_jobs(["webhooks"])
    with django_capture_on_commit_callbacks(execute=True):
        post_form(client, signed(messages[1], "open"))  # the flag was released: a new job
    assert queue.count == 1
    slept = []
    monkeypatch.setattr(core_jobs.time, "sleep", slept.append)
    run_jobs(["webhooks"])
    assert slept == []  # no window, no linger
    assert core_jobs.debounce_linger(time.monotonic()) is False
    assert not EmailEvent.objects.filter(outcome=O.PENDING).exists()


def test_an_event_processed_after_the_window_closed_does_not_rewrite_the_decision(client, sent):
    """nurture_finish decided the order; an event stored before but processed after is
    recorded after the window, and the lead's decided score and inputs stay as decided."""
    order, messages = sent
    assert post_form(client, signed(messages[0], "click", url="https://x.example")).status_code == 200
    Order.objects.filter(pk=order.pk).update(nurture_ends_at=timezone.now() - timedelta(seconds=1))
    finished = services.nurture_finish(order=Order.objects.get(pk=order.pk))
    assert finished.status == "mql_qa"
    decided = Lead.objects.get(pk=messages[0].lead_id)
    assert process_pending() == [O.AFTER_WINDOW]
    lead = Lead.objects.get(pk=messages[0].lead_id)
    assert (lead.score, lead.qualified, lead.score_breakdown) == (
        decided.score,
        decided.qualified,
        decided.score_breakdown,
    )


def test_a_late_rescore_of_one_lead_leaves_a_decided_order_alone(sent):
    from qualification.scoring import rescore_lead

    order, messages = sent
    Order.objects.filter(pk=order.pk).update(status="mql_qa")
    Lead.objects.filter(pk=messages[0].lead_id).update(score=77, score_breakdown={"kept": True})
    rescore_lead(Lead.objects.select_related("order__rules_version").get(pk=messages[0].lead_id))
    lead = Lead.objects.get(pk=messages[0].lead_id)
    assert (lead.score, lead.score_breakdown) == (77, {"kept": True})


def test_a_retry_after_our_outage_is_still_accepted(client, sent):
    """SendCloud retries for about three hours with the event's own timestamp: a first
    successful delivery 40 minutes (and 3 hours) after the event counts."""
    _order, messages = sent
    for message, age in ((messages[0], 40 * 60), (messages[1], 3 * 3600)):
        assert post_form(client, signed(message, "open", ts=seconds_ago(age))).status_code == 200
    assert process_pending() == [O.ACCEPTED, O.ACCEPTED]


@pytest.mark.postgres
def test_the_written_out_store_statement_stores_what_the_model_would(client, sent):
    """The accepted delivery's row is written by a hand-written statement: every column is
    what the model's own defaults and the webhook's fields give, and its token points at it."""
    from django.db import models as dj_models

    _order, messages = sent
    data = signed(messages[0], "open", ip="203.0.113.7")
    assert post_form(client, data).status_code == 200
    event = last_event()
    expected = {
        "source": EmailEvent.Source.SENDCLOUD,
        "event_raw": "open",
        "event": "",
        "email_id": data["emailId"],
        "token": data["token"],
        "message_id": None,
        "lead_id": None,
        "order_id": None,
        "outcome": O.PENDING,
        "note": "",
        "dedupe_key": None,
        "repeat_count": 0,
        "processed_at": None,
    }
    assert {k: getattr(event, k) for k in expected} == expected
    assert event.payload == {k: str(v) for k, v in data.items()}
    assert event.occurred_at is not None and abs((event.received_at - timezone.now()).total_seconds()) < 60
    # Every other column of the model has a value the statement sets (no column forgotten).
    stored = {f.attname for f in EmailEvent._meta.concrete_fields if not isinstance(f, dj_models.AutoField)}
    assert stored == set(expected) | {"unique_key", "payload", "occurred_at", "received_at"}
    token = UsedWebhookToken.objects.get(token=data["token"])
    assert token.event_id == event.pk and token.created_at is not None
