"""Qualification services: nurture sequences, email delivery, engagement events, the end of
the nurture window and QA#2.

Durable state, not the scheduler, is the source of truth: an order in ``nurturing`` has
``nurture_started_at``/``nurture_ends_at``; each (lead, step) email is one EmailMessage row
(unique), claimed with a conditional UPDATE before it is sent. RQ's scheduler runs each step
on time; ``nurture_tick`` (periodic) does whatever a lost schedule left undone. Every
function here is safe to run twice.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Lead, Order, OrderStatus, QADecision, QAGate, SuppressedAddress
from orders.selectors import is_suppressed
from orders.services import order_qa_decide, order_transition, suppression_add
from qualification import emails, jobs, links, sendcloud
from qualification.models import EmailEvent, EmailMessage, EventName, UsedWebhookToken
from qualification.scoring import DISQUALIFYING, RescoreSummary, rescore_lead, rescore_order
from solosales.core import flags
from solosales.core.db import server_cursor
from solosales.core.errors import IllegalTransition
from solosales.core.jobs import (
    debounce_linger,
    debounce_release,
    enqueue_debounced_on_commit,
    enqueue_on_commit,
    schedule_on_commit,
)

log = logging.getLogger(__name__)

E = EventName
O = EmailEvent.Outcome  # noqa: E741
M = EmailMessage.Status

MAX_SEND_ATTEMPTS = 5
SEND_CHUNK = 100
STALE_CLAIM = timedelta(minutes=15)
# Webhook freshness: how old (and how far in the future) a signed timestamp may be. SendCloud
# retries an unanswered delivery for up to about three hours (EXTERNAL_APIS.md: 1, 2, 4, 8,
# 16 min in one reading, six retries from 3 min in another), with the event's own timestamp;
# a retry after an outage of ours must still be accepted. Replays stay refused by the used
# tokens, which are kept two days (nurture_tick), far longer than this window.
WEBHOOK_MAX_AGE_SECONDS = 4 * 3600
WEBHOOK_MAX_SKEW_SECONDS = 120
MAX_WEBHOOK_BODY = 64 * 1024

SENDCLOUD_EVENTS = {
    "deliver": E.DELIVERED,
    "open": E.OPENED,
    "click": E.CLICKED,
    "unsubscribe": E.UNSUBSCRIBED,
    "report_spam": E.COMPLAINED,
    "invalid": E.BOUNCED_HARD,
    "bounce": E.BOUNCED_HARD,  # older documentation
    "soft_bounce": E.BOUNCED_SOFT,
}
# Recorded for the audit trail; they say nothing about the recipient's engagement.
SENDCLOUD_NO_EFFECT = ("request", "route")
PORTAL_EVENTS = {"interest_confirmed": E.INTEREST_CONFIRMED, "unsubscribe": E.UNSUBSCRIBED}
SYSTEM_EVENTS = {"deliver": E.DELIVERED}
# One per email; a second copy is a duplicate whatever its timestamp.
ONE_PER_EMAIL = (E.DELIVERED, E.UNSUBSCRIBED, E.COMPLAINED, E.BOUNCED_HARD, E.INTEREST_CONFIRMED)
SUPPRESSION_REASON = {
    E.UNSUBSCRIBED: SuppressedAddress.Reason.UNSUBSCRIBED,
    E.COMPLAINED: SuppressedAddress.Reason.COMPLAINED,
    E.BOUNCED_HARD: SuppressedAddress.Reason.BOUNCED_HARD,
}
# HTTP status answered for each outcome at receipt (a replayed body gets the same answer).
HTTP_STATUS = {
    O.REJECTED_SIGNATURE: 403,
    O.REJECTED_REUSED_TOKEN: 403,
    O.REJECTED_STALE: 400,
    O.REJECTED_MALFORMED: 400,
}


def _day() -> timedelta:
    return timedelta(seconds=max(1, int(settings.NURTURE_SECONDS_PER_DAY)))


def sequence(order) -> list[dict]:
    """The order's nurture steps ``[{"key", "day"}]`` in send order, malformed ones skipped."""
    steps = []
    seen = set()
    for raw in order.rules_version.nurture_sequence or []:
        if not isinstance(raw, dict):
            continue
        key = str(raw.get("key") or "").strip()[:40]
        try:
            day = float(raw.get("day", 0))
        except (TypeError, ValueError):
            continue
        if key and key not in seen and day >= 0:
            seen.add(key)
            steps.append({"key": key, "day": day})
    return sorted(steps, key=lambda s: (s["day"], s["key"]))


def step_due_at(order, step: dict) -> datetime:
    return order.nurture_started_at + _day() * step["day"]


# --- nurture ---------------------------------------------------------------------------------


def nurture_start(*, order: Order, now: datetime | None = None) -> bool:
    """Starts the nurture of an MQL order that passed QA#1: fixes the window
    (``nurture_window_days`` × the demo day length) and schedules each step and the end of
    the window on commit. Returns False (and schedules nothing) if it already started or
    the order is not nurturing."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("rules_version").get(pk=order.pk)
        if locked.status != OrderStatus.NURTURING or locked.nurture_started_at is not None:
            return False
        ends = now + _day() * locked.rules_version.nurture_window_days
        Order.objects.filter(pk=locked.pk).update(nurture_started_at=now, nurture_ends_at=ends, updated_at=now)
        locked.nurture_started_at, locked.nurture_ends_at = now, ends
        for step in sequence(locked):
            delay = step_due_at(locked, step) - now
            if delay <= timedelta(0):
                enqueue_on_commit(jobs.nurture_step, locked.pk, step["key"], queue="email")
            else:
                schedule_on_commit(jobs.nurture_step, locked.pk, step["key"], delay=delay, queue="email")
        schedule_on_commit(jobs.nurture_finish, locked.pk, delay=ends - now + timedelta(seconds=1), queue="email")
    return True


def _eligible_leads(order):
    """Leads that passed QA#1 and have an address (suppression is checked at send time)."""
    return order.leads.filter(accepted=True, status=Lead.Status.VALID).exclude(email="")


def nurture_step_run(*, order: Order, step_key: str, now: datetime | None = None) -> int:
    """Renders the step's email for every eligible lead that has none yet and queues the
    sending. Does nothing before the step is due, after the window or outside nurturing.
    Returns the number of emails rendered now."""
    now = now or timezone.now()
    order = Order.objects.select_related("rules_version", "user").get(pk=order.pk)
    if order.status != OrderStatus.NURTURING or order.nurture_started_at is None:
        return 0
    step = next((s for s in sequence(order) if s["key"] == step_key), None)
    if step is None:
        return 0
    due = step_due_at(order, step)
    if due > now + timedelta(seconds=1) or (order.nurture_ends_at and due >= order.nurture_ends_at):
        return 0
    language = emails.language_for(order)
    created = 0
    pending = _eligible_leads(order).exclude(email_messages__step=step_key).order_by("id")
    batch: list[EmailMessage] = []
    for lead in pending.iterator(chunk_size=500):
        message_id = uuid.uuid4()
        rendered = emails.render(order=order, lead=lead, step=step_key, message_id=message_id, language=language)
        batch.append(
            EmailMessage(
                order=order,
                lead=lead,
                step=step_key,
                language=language,
                to_email=lead.email.strip(),
                subject=rendered.subject,
                body_html=rendered.html,
                body_text=rendered.text,
                message_id=message_id,
                scheduled_for=due,
            )
        )
        if len(batch) >= 500:
            created += _insert(batch)
            batch = []
    if batch:
        created += _insert(batch)
    _enqueue_due(order_id=order.pk, step=step_key, now=now)
    return created


def _insert(batch: list[EmailMessage]) -> int:
    # ignore_conflicts: a concurrent run of the same step already rendered some of them.
    before = EmailMessage.objects.filter(lead_id__in=[m.lead_id for m in batch], step=batch[0].step).count()
    EmailMessage.objects.bulk_create(batch, ignore_conflicts=True)
    after = EmailMessage.objects.filter(lead_id__in=[m.lead_id for m in batch], step=batch[0].step).count()
    return after - before


def _enqueue_due(*, now: datetime, order_id: int | None = None, step: str | None = None, older_than=None) -> int:
    due = EmailMessage.objects.filter(status=M.RENDERED, scheduled_for__lte=older_than or now)
    if order_id is not None:
        due = due.filter(order_id=order_id)
    if step is not None:
        due = due.filter(step=step)
    ids = list(due.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), SEND_CHUNK):
        enqueue_on_commit(jobs.messages_send, ids[start : start + SEND_CHUNK], queue="email")
    return len(ids)


def message_send(*, message_id: int, now: datetime | None = None) -> str | None:
    """Sends one rendered email exactly once: claims it (rendered → queued), then records
    suppressed, not_sent (switch ``email_sending`` off), sent, or failed. A transient
    SendCloud failure puts it back with a backoff, up to MAX_SEND_ATTEMPTS. Returns the new
    status, or None when another run holds it or it is not due."""
    now = now or timezone.now()
    claimed = EmailMessage.objects.filter(pk=message_id, status=M.RENDERED, scheduled_for__lte=now).update(
        status=M.QUEUED, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    message = EmailMessage.objects.select_related("order", "order__user", "lead").get(pk=message_id)

    def finish(status, error="", **extra):
        EmailMessage.objects.filter(pk=message.pk, status=M.QUEUED).update(status=status, error=error[:2000], **extra)
        return status

    if message.order.status != OrderStatus.NURTURING:
        return finish(M.NOT_SENT, _("The nurture window had ended."))
    if is_suppressed(message.to_email):
        return finish(M.SUPPRESSED, _("The address is on the suppression list."))
    if not flags.is_on(flags.EMAIL_SENDING):
        return finish(M.NOT_SENT, _("Email sending is switched off."))
    headers = {
        "List-Unsubscribe": f"<{links.unsubscribe_url(message.message_id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if sendcloud.is_configured():
        try:
            result = sendcloud.send(
                to=message.to_email,
                subject=message.subject,
                html=message.body_html,
                plain=message.body_text,
                request_id=str(message.message_id),
                from_name=emails.sender_name(message.order),
                headers=headers,
            )
        except sendcloud.SendCloudError as exc:
            if exc.permanent or message.attempts >= MAX_SEND_ATTEMPTS:
                return finish(M.FAILED, str(exc))
            delay = timedelta(seconds=min(3600, 30 * 2 ** (message.attempts - 1)) + random.uniform(0, 10))
            EmailMessage.objects.filter(pk=message.pk, status=M.QUEUED).update(
                status=M.RENDERED, error=str(exc)[:2000], scheduled_for=now + delay, claimed_at=None
            )
            schedule_on_commit(jobs.message_send, message.pk, delay=delay, queue="email")
            return M.RENDERED
        email_id = result.email_ids[0] if result.email_ids else None
        return finish(M.SENT, sent_at=timezone.now(), sendcloud_email_id=email_id)
    # No SendCloud keys: Django's mail (the local outbox in the demo), and a synthetic
    # ``delivered`` event so the demo scores as it would with SendCloud's webhook.
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=f"{emails.sender_name(message.order)} <{settings.SENDCLOUD_FROM}>",
        to=[message.to_email],
        headers={**headers, "SC-Custom-Message-Id": str(message.message_id)},
    )
    mail.attach_alternative(message.body_html, "text/html")
    try:
        mail.send()
    except Exception as exc:  # any backend failure is recorded on the email, never lost
        log.exception("email %s could not be sent", message.pk)
        return finish(M.FAILED, f"{exc.__class__.__name__}: {exc}")
    email_id = f"{message.message_id.hex}0${message.to_email}"
    with transaction.atomic():
        status = finish(M.SENT, sent_at=timezone.now(), sendcloud_email_id=email_id)
        event_record_local(message=message, source=EmailEvent.Source.SYSTEM, raw_name="deliver")
    return status


def nurture_finish(*, order: Order, force: bool = False, now: datetime | None = None) -> Order:
    """End of the nurture window: every lead that passed QA#1 gets its final score and
    decision (Lead.qualified/score/score_breakdown, Order.qualified_count) and the order moves
    to ``mql_qa``. With the switch ``qa_gate_mql`` off, QA#2 passes at once as ``system``.
    Idempotent: an order no longer nurturing, or whose window is still open (unless
    ``force``), is returned as is."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("rules_version").get(pk=order.pk)
        if locked.status != OrderStatus.NURTURING:
            return locked
        if not force and (locked.nurture_ends_at is None or locked.nurture_ends_at > now):
            return locked
        summary = rescore_order(locked, set_qualified=True)
        # Leads rejected at QA#1 are not part of the qualification.
        Lead.objects.filter(order=locked, accepted=False, qualified__isnull=True).update(qualified=False)
        EmailMessage.objects.filter(order=locked, status=M.RENDERED).update(
            status=M.NOT_SENT, error=_("The nurture window had ended.")
        )
        result = order_transition_finish(locked, summary)
        if not flags.is_on(flags.QA_GATE_MQL):
            result = order_qa_decide(
                order=result, gate=QAGate.MQL, decision=QADecision.Decision.PASS, automatic=True, in_transaction=True
            )
    return result


def order_transition_finish(order: Order, summary: RescoreSummary) -> Order:
    return order_transition(
        order=order,
        name="finish_nurturing",
        reason=_("Nurture window ended: %(qualified)s of %(leads)s leads qualified.")
        % {"qualified": summary.qualified, "leads": summary.leads},
        fields={"qualified_count": summary.qualified},
    )


def qa2_decide(*, order: Order, decision: str, actor, notes: str = "") -> Order:
    """QA#2 by a person: pass captures qualified × unit price and releases the rest
    (delivered); fail releases everything (failed). Delegates to the orders service."""
    return order_qa_decide(order=order, gate=QAGate.MQL, decision=decision, actor=actor, notes=notes)


def nurture_tick(*, now: datetime | None = None) -> dict:
    """The periodic safety net (idempotent): starts nurtures whose hook was lost, renders
    steps that are due, re-queues emails whose job was lost, reclaims emails a dead worker
    held, re-queues unprocessed events, finishes windows that are over, prunes old tokens."""
    now = now or timezone.now()
    counts = {"started": 0, "rendered": 0, "requeued": 0, "events": 0, "finished": 0}
    nurturing = Order.objects.filter(status=OrderStatus.NURTURING).select_related("rules_version").order_by("id")
    for order in nurturing.filter(nurture_started_at__isnull=True):
        counts["started"] += int(nurture_start(order=order, now=now))
    for order in nurturing.filter(nurture_started_at__isnull=False):
        if order.nurture_ends_at and order.nurture_ends_at <= now:
            try:
                nurture_finish(order=order, now=now)
                counts["finished"] += 1
            except IllegalTransition:
                log.warning("order %s changed while its nurture was finishing", order.pk)
            continue
        eligible = _eligible_leads(order).count()
        for step in sequence(order):
            due = step_due_at(order, step)
            if due > now or (order.nurture_ends_at and due >= order.nurture_ends_at):
                continue
            if EmailMessage.objects.filter(order=order, step=step["key"]).count() < eligible:
                counts["rendered"] += nurture_step_run(order=order, step_key=step["key"], now=now)
    EmailMessage.objects.filter(status=M.QUEUED, claimed_at__lt=now - STALE_CLAIM).update(
        status=M.RENDERED, claimed_at=None
    )
    counts["requeued"] = _enqueue_due(now=now, older_than=now - timedelta(minutes=2))
    stuck = EmailEvent.objects.filter(outcome=O.PENDING, received_at__lt=now - timedelta(minutes=2))
    for event_id in stuck.order_by("id").values_list("id", flat=True)[:5000]:
        enqueue_on_commit(jobs.event_process, event_id, queue="webhooks")
        counts["events"] += 1
    UsedWebhookToken.objects.filter(created_at__lt=now - timedelta(days=2)).delete()
    return counts


# --- events: receipt -----------------------------------------------------------------------


@dataclass
class WebhookAnswer:
    status: int
    outcome: str
    event_id: int | None = None


def _no_nul(value: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL; the unique key still covers the original.
    return value.replace("\x00", "")


def _has_lone_surrogate(text: str) -> bool:
    try:
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except ValueError:
        return False
    return False


def _parse_body(raw: bytes, content_type: str) -> dict | None:
    """The webhook fields as a flat dict of strings (nested JSON values kept as JSON), or
    None when the body is neither a JSON object nor a form."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\\u" in text and _has_lone_surrogate(text):
        return None  # JSON escapes of lone surrogates: no text PostgreSQL or HMAC can take
    text = text.strip()
    if not text:
        return None
    if "json" in (content_type or "").lower() or text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        out = {}
        for key, value in data.items():
            if isinstance(value, dict | list):
                text_value = json.dumps(value, sort_keys=True, ensure_ascii=False)
            elif value is None:
                text_value = ""
            else:
                text_value = str(value).lower() if isinstance(value, bool) else str(value)
            out[_no_nul(str(key))] = _no_nul(text_value)
        return out
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    return {_no_nul(k): _no_nul(v) for k, v in pairs} or None


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _occurred(seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# Field types whose stored value is the attribute itself (no conversion, no pre_save hook).
_PLAIN_FIELDS = frozenset(
    {"CharField", "TextField", "BooleanField", "IntegerField", "BigIntegerField", "PositiveIntegerField",
     "ForeignKey", "SmallIntegerField", "PositiveSmallIntegerField"}
)  # fmt: skip


@functools.cache
def _insert_plan(model, unique: str) -> tuple[str, tuple]:
    """The SQL of ``_insert_sql`` and, per column, its field and whether the value needs the
    field's own preparation (built once per model)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    bound = tuple((f, f.get_internal_type() in _PLAIN_FIELDS and not getattr(f, "auto_now_add", False)) for f in fields)
    # Identifiers come from the model's metadata (quoted); every value is a bound parameter.
    sql = "INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({unique}) DO NOTHING RETURNING {pk}".format(  # noqa: S608
        table=quote(model._meta.db_table),
        columns=", ".join(quote(f.column) for f in fields),
        values=", ".join(["%s"] * len(fields)),
        unique=quote(model._meta.get_field(unique).column),
        pk=quote(model._meta.pk.column),
    )
    return sql, bound


def _insert_sql(obj, *, unique: str) -> tuple[str, list]:
    """``INSERT … ON CONFLICT (unique) DO NOTHING RETURNING id`` of ``obj``, and its parameters.

    Column values are prepared by the model's own fields (defaults, ``auto_now_add``, JSON),
    as ``create()`` would; plain columns are taken as they are."""
    sql, bound = _insert_plan(type(obj), unique)
    values = [
        getattr(obj, f.attname) if plain else f.get_db_prep_save(f.pre_save(obj, True), connection)
        for f, plain in bound
    ]
    return sql, values


def _saved(obj, pk: int | None) -> int | None:
    if pk is not None:
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    return pk


def _insert_new(obj, *, unique: str) -> int | None:
    """Inserts ``obj`` unless a row with the same ``unique`` column exists; returns its new
    primary key (also set on ``obj``), or None on that conflict.

    One ``INSERT … ON CONFLICT (unique) DO NOTHING RETURNING id``: no exists() pre-check and
    no savepoint (a conflict does not abort the surrounding transaction, unlike catching
    IntegrityError). No model signals are sent (none are connected to the event or token
    models)."""
    sql, values = _insert_sql(obj, unique=unique)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return _saved(obj, row[0] if row else None)


# The accepted delivery's row and its token, in one statement. Written out rather than built
# from the model: only the six values that differ per delivery are parameters (the constant
# columns are literals and both timestamps the database's now()), so each delivery dumps six
# values and sends one prepared statement. tests/qualification/test_webhook.py checks the row
# it stores against the model's own defaults.
_STORE_PENDING_SQL = """
WITH e AS (
    INSERT INTO qualification_emailevent
        (unique_key, source, event_raw, event, email_id, token, message_id, lead_id, order_id,
         occurred_at, received_at, payload, outcome, note, dedupe_key, repeat_count, processed_at)
    VALUES (%s, 'sendcloud', %s, '', %s, %s, NULL, NULL, NULL, %s, now(), %s::jsonb, 'pending', '', NULL, 0, NULL)
    ON CONFLICT (unique_key) DO NOTHING RETURNING id
), t AS (
    INSERT INTO qualification_usedwebhooktoken (token, event_id, created_at)
    SELECT %s, id, now() FROM e
    ON CONFLICT (token) DO NOTHING RETURNING id
)
SELECT (SELECT id FROM e), (SELECT id FROM t)
"""


def _store_with_token(*, fields: dict, payload_json: str) -> tuple[int | None, int | None]:
    """Stores a verified, pending SendCloud event (``fields`` as for EmailEvent, its payload
    already serialised as ``payload_json``) and its token in one statement, so together or
    not at all, in one round trip and, outside a transaction, without BEGIN/COMMIT of its
    own: ``(event id, token id)``; event id None when the body is already stored (a
    re-delivery), token id None when another event holds the token (a reused token)."""
    if connection.vendor != "postgresql":  # no data-modifying CTEs (SQLite: make run)
        with transaction.atomic():
            event = EmailEvent(**fields, outcome=O.PENDING)
            if _insert_new(event, unique="unique_key") is None:
                return None, None
            return event.pk, _insert_new(UsedWebhookToken(token=fields["token"], event=event), unique="token")
    params = [
        fields["unique_key"],
        fields["event_raw"],
        fields["email_id"],
        fields["token"],
        fields["occurred_at"],
        payload_json,
        fields["token"],
    ]
    # Parameters bound by the server and the statement prepared once per connection (the
    # same text every time): no quoting into SQL text here, no parse and plan there.
    with server_cursor(connection) as cursor:
        cursor.execute(_STORE_PENDING_SQL, params, prepare=True)
        return cursor.fetchone()


def _store(**fields) -> EmailEvent | None:
    """Inserts one event; None when its unique key is already stored (a re-delivery)."""
    event = EmailEvent(**fields)
    return event if _insert_new(event, unique="unique_key") is not None else None


def _repeat(unique_key: str) -> WebhookAnswer:
    """A re-delivery: the stored event's repeat count goes up and its first answer is repeated
    (one ``UPDATE … RETURNING``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE qualification_emailevent SET repeat_count = repeat_count + 1 WHERE unique_key = %s"
            " RETURNING id, outcome",
            [unique_key],
        )
        first = cursor.fetchone()
    if first is None:
        return WebhookAnswer(200, O.DUPLICATE)
    return WebhookAnswer(HTTP_STATUS.get(first[1], 200), O.DUPLICATE, first[0])


def webhook_receive(*, raw_body: bytes, content_type: str = "", now: float | None = None) -> WebhookAnswer:
    """A SendCloud webhook delivery: stored once, verified, and queued for processing.

    Order of checks: an identical body already stored is a re-delivery (its repeat count
    goes up, the first answer is repeated); then signature (403), freshness (400), token
    reuse (403). Every refused delivery is stored with its outcome and never processed.
    Accepted ones are processed by ``event_process`` in the ``webhooks`` queue after commit,
    drained by one debounced ``events_process_pending`` job per burst.
    """
    import time

    now = time.time() if now is None else now
    data = _parse_body(raw_body, content_type)
    if data is None:
        unique_key = _key("sendcloud-raw", hashlib.sha256(raw_body).hexdigest())
        event = _store(
            unique_key=unique_key,
            source=EmailEvent.Source.SENDCLOUD,
            payload={"raw": _no_nul(raw_body[:4000].decode("utf-8", "replace"))},
            outcome=O.REJECTED_MALFORMED,
            processed_at=timezone.now(),
        )
        if event is None:
            return _repeat(unique_key)
        return WebhookAnswer(400, O.REJECTED_MALFORMED, event.pk)

    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    unique_key = _key("sendcloud", canonical)
    # A re-delivery is found by the insert itself (its unique key conflicts), whatever the
    # checks below would say of it now: it gets the first answer, as if checked first.
    timestamp, token = data.get("timestamp", ""), data.get("token", "")
    seconds = sendcloud.timestamp_seconds(timestamp)
    fields = {
        "unique_key": unique_key,
        "source": EmailEvent.Source.SENDCLOUD,
        "event_raw": str(data.get("event", ""))[:60],
        "email_id": str(data.get("emailId", ""))[:400],
        "token": str(token)[:128],
        "occurred_at": _occurred(seconds),
        "payload": data,
    }
    outcome = None
    if not sendcloud.signature_valid(timestamp=timestamp, token=token, given=data.get("signature", "")):
        outcome = O.REJECTED_SIGNATURE
    elif seconds is None or seconds < now - WEBHOOK_MAX_AGE_SECONDS or seconds > now + WEBHOOK_MAX_SKEW_SECONDS:
        outcome = O.REJECTED_STALE
    if outcome is not None:
        event = _store(**fields, outcome=outcome, processed_at=timezone.now())
        if event is None:
            return _repeat(unique_key)
        log.warning("SendCloud webhook refused (%s), event %s", outcome, event.pk)
        return WebhookAnswer(HTTP_STATUS[outcome], outcome, event.pk)

    # The event and its token in one statement: stored together or not at all.
    event_id, token_id = _store_with_token(fields=fields, payload_json=canonical)
    if event_id is None:
        return _repeat(unique_key)
    if token_id is None:
        # Another event holds the token. Should this update be lost, the processor refuses
        # the event all the same (it checks that the token is the event's own).
        EmailEvent.objects.filter(pk=event_id).update(outcome=O.REJECTED_REUSED_TOKEN, processed_at=timezone.now())
        log.warning("SendCloud webhook refused (reused token), event %s", event_id)
        return WebhookAnswer(403, O.REJECTED_REUSED_TOKEN, event_id)
    # One drain job per burst of deliveries, not one job per event (see events_process_pending).
    enqueue_debounced_on_commit(jobs.events_process_pending, key=EVENTS_DRAIN, queue="webhooks")
    return WebhookAnswer(200, O.PENDING, event_id)


def event_record_local(*, message: EmailMessage, source: str, raw_name: str) -> tuple[EmailEvent, bool]:
    """An event the portal itself observed (a tracked link, an outbox delivery), stored and
    processed through the same path as a webhook. One per (email, kind): repeats only raise
    the repeat count. Returns (event, created)."""
    unique_key = _key(source, raw_name, str(message.message_id))
    now = timezone.now()
    event = _store(
        unique_key=unique_key,
        source=source,
        event_raw=raw_name,
        email_id=message.sendcloud_email_id or "",
        occurred_at=now,
        payload={"message_id": str(message.message_id), "event": raw_name},
        outcome=O.PENDING,
    )
    if event is None:
        EmailEvent.objects.filter(unique_key=unique_key).update(repeat_count=F("repeat_count") + 1)
        return EmailEvent.objects.get(unique_key=unique_key), False
    enqueue_on_commit(jobs.event_process, event.pk, queue="webhooks")
    return event, True


def portal_link_used(*, message_id: uuid.UUID, kind: str) -> EmailMessage | None:
    """The recipient used a tracked link: ``interest_confirmed`` or ``unsubscribe``."""
    if kind not in PORTAL_EVENTS:
        raise ValueError(kind)
    message = EmailMessage.objects.filter(message_id=message_id).first()
    if message is None:
        return None
    with transaction.atomic():
        event_record_local(message=message, source=EmailEvent.Source.PORTAL, raw_name=kind)
    return message


# --- events: processing ------------------------------------------------------------------


EVENTS_DRAIN = "qualification:events-drain"
DRAIN_PAGE = 500


def events_process_pending() -> int:
    """The webhook's processing job: applies every pending event once (``event_process``),
    oldest first; returns how many it took up.

    Enqueued debounced (``enqueue_debounced_on_commit``): it clears its flag before the
    first read, so an event committed before that read is drained here and one committed
    after it enqueues the next run. Pages by id, so an event that stays pending (its
    processing failed) is tried once per run, not in a loop; failures are logged, the other
    events still processed, and the job then fails so it is visible. What a lost or killed
    job leaves pending, the next run or ``nurture_tick`` (events pending over two minutes)
    takes up. Two runs at once are harmless: ``event_process`` locks the event and skips
    one that is no longer pending."""
    released = debounce_release(EVENTS_DRAIN, queue="webhooks")
    failed: set[int] = set()
    taken = _drain_pending(failed)
    if debounce_linger(released):
        # Deliveries that skipped Redis because they saw our flag have committed by now.
        # From the start again: ids are taken at INSERT, so one can commit after a higher id
        # was read.
        taken += _drain_pending(failed)
    if failed:
        raise RuntimeError(f"{len(failed)} of {taken} pending email events failed to process")
    return taken


def _drain_pending(failed: set[int]) -> int:
    """Processes every pending event, oldest first, a page at a time, except those in
    ``failed`` (to which the ones failing now are added); returns how many it took up."""
    taken = 0
    last_id = 0
    while True:
        ids = list(
            EmailEvent.objects.filter(outcome=O.PENDING, pk__gt=last_id)
            .order_by("id")
            .values_list("id", flat=True)[:DRAIN_PAGE]
        )
        if not ids:
            return taken
        for event_id in ids:
            if event_id in failed:
                continue
            taken += 1
            try:
                event_process(event_id=event_id)
            except Exception:
                failed.add(event_id)
                log.exception("processing of email event %s failed; it stays pending", event_id)
        last_id = ids[-1]


def _user_headers(payload: dict) -> dict:
    value = payload.get("userHeaders") or payload.get("userheaders") or ""
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if value else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _resolve_message(event: EmailEvent) -> EmailMessage | None:
    payload = event.payload or {}
    candidates = []
    if event.source != EmailEvent.Source.SENDCLOUD and payload.get("message_id"):
        candidates.append(payload["message_id"])
    headers = {str(k).lower(): v for k, v in _user_headers(payload).items()}
    if headers.get("sc-custom-message-id"):
        candidates.append(headers["sc-custom-message-id"])
    for value in candidates:
        try:
            message_id = uuid.UUID(str(value))
        except ValueError:
            continue
        message = EmailMessage.objects.filter(message_id=message_id).first()
        if message is not None:
            return message
    if event.email_id:
        return EmailMessage.objects.filter(sendcloud_email_id=event.email_id).first()
    return None


def _mapped(event: EmailEvent) -> str | None:
    table = {
        EmailEvent.Source.SENDCLOUD: SENDCLOUD_EVENTS,
        EmailEvent.Source.PORTAL: PORTAL_EVENTS,
        EmailEvent.Source.SYSTEM: SYSTEM_EVENTS,
    }[event.source]
    return table.get((event.event_raw or "").strip().lower())


def _dedupe_key(message: EmailMessage, name: str, event: EmailEvent) -> str:
    if name in ONE_PER_EMAIL:
        return f"{message.pk}:{name}"
    occurred = int(event.occurred_at.timestamp() * 1000) if event.occurred_at else 0
    url = hashlib.sha256(str((event.payload or {}).get("url", "")).encode()).hexdigest()[:16]
    return f"{message.pk}:{name}:{occurred}:{url}"


def _token_of_another_event(event: EmailEvent) -> bool:
    """A SendCloud event whose signed token was recorded for another event (a reused token
    whose refusal was not written): it is never applied."""
    if event.source != EmailEvent.Source.SENDCLOUD or not event.token:
        return False
    return UsedWebhookToken.objects.filter(token=event.token).exclude(event_id=event.pk).exists()


def event_process(*, event_id: int) -> str:
    """Applies one stored event once: maps it, links it to its email, lead and order,
    suppresses the address for unsubscribe/spam/hard bounce (even after the window), and
    accepts it for scoring unless it is unknown, a duplicate, or after the nurture window.
    Returns the outcome; an event already processed is left as it is."""
    suppress = None
    rescore = None
    with transaction.atomic():
        event = EmailEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.outcome != O.PENDING:
            return event.outcome if event else ""
        if _token_of_another_event(event):
            EmailEvent.objects.filter(pk=event.pk).update(
                outcome=O.REJECTED_REUSED_TOKEN, processed_at=timezone.now(), note="token held by another event"
            )
            return O.REJECTED_REUSED_TOKEN
        name = _mapped(event)
        raw = (event.event_raw or "").strip().lower()
        message = _resolve_message(event)
        update = {"processed_at": timezone.now()}
        if message is not None:
            update.update(message=message, lead_id=message.lead_id, order_id=message.order_id)
        if name is None:
            no_effect = event.source == EmailEvent.Source.SENDCLOUD and raw in SENDCLOUD_NO_EFFECT
            outcome = O.RECORDED if no_effect else O.UNKNOWN_EVENT
        elif message is None:
            outcome = O.UNKNOWN_EMAIL
        else:
            update["event"] = name
            if name in DISQUALIFYING:
                suppress = (message.to_email, SUPPRESSION_REASON[name])
                if raw == "invalid":
                    suppress = (message.to_email, SuppressedAddress.Reason.INVALID)
            # FOR SHARE: the end of the window (nurture_finish, FOR UPDATE) waits for this
            # event to commit, or this sees it finished; events do not wait for each other.
            order = Order.objects.raw(
                "SELECT id, status, nurture_ends_at FROM orders_order WHERE id = %s FOR SHARE"
                if connection.vendor == "postgresql"
                else "SELECT id, status, nurture_ends_at FROM orders_order WHERE id = %s",
                [message.order_id],
            )[0]
            if order.status != OrderStatus.NURTURING or (
                order.nurture_ends_at and event.occurred_at and event.occurred_at > order.nurture_ends_at
            ):
                outcome = O.AFTER_WINDOW
            else:
                outcome = O.ACCEPTED
                update["dedupe_key"] = _dedupe_key(message, name, event)
                if (
                    name != E.DELIVERED
                    and not EmailEvent.objects.filter(message=message, event=E.DELIVERED, outcome=O.ACCEPTED).exists()
                ):
                    update["note"] = "arrived before the deliver event"
        update["outcome"] = outcome
        try:
            with transaction.atomic():
                EmailEvent.objects.filter(pk=event.pk).update(**update)
        except IntegrityError:
            update.pop("dedupe_key")
            update.pop("note", None)
            update["outcome"] = outcome = O.DUPLICATE
            EmailEvent.objects.filter(pk=event.pk).update(**update)
        if suppress is not None:
            suppression_add(email=suppress[0], reason=suppress[1], source=f"email-event:{event.pk}")
        if outcome == O.ACCEPTED:
            rescore = message.lead
    if rescore is not None:
        rescore_lead(rescore)
    return outcome


def rescore(*, order: Order) -> RescoreSummary:
    """``manage.py rescore``: recompute every lead of the order from its stored events.

    While nurturing only scores are rewritten; in ``mql_qa`` (decision pending) the
    qualified flags too. Once QA#2 has decided (delivered, closed, failed) the stored
    decisions are what was charged, so nothing is written: the result is computed and
    compared (``mismatches``)."""
    if order.status == OrderStatus.NURTURING:
        return rescore_order(order, set_qualified=False)
    if order.status == OrderStatus.MQL_QA:
        return rescore_order(order, set_qualified=True)
    return rescore_order(order, write=False)
