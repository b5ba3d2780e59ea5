"""Qualification: the nurture emails sent per lead, the raw engagement events received for
them (SendCloud webhooks, the portal's own tracked links, synthetic outbox deliveries), the
webhook tokens already used, and the QA#2 review proxy shown in admin.

``EmailEvent`` is append-only. On PostgreSQL a trigger (migration 0002) refuses DELETE and
any UPDATE that changes what was received (``IDENTITY_FIELDS``); only the processing
columns (outcome, mapped event, message/lead/order links, dedupe key, note, repeat count,
processed_at) may be filled in after the fact, by the processing job. TRUNCATE is left to
the database owner (test flushes use it).

Neither model is editable by staff (admin is read-only), so they carry no history table;
the order's own history and timeline record every QA#2 decision.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orders.models import Order


class EmailMessage(models.Model):
    """One nurture email for one lead and one step of the order's sequence. Unique per
    (lead, step), so a step is never sent twice to the same lead, whatever runs twice."""

    class Status(models.TextChoices):
        RENDERED = "rendered", _("Rendered, waiting to be sent")
        QUEUED = "queued", _("Being sent")
        SENT = "sent", _("Sent")
        NOT_SENT = "not_sent", _("Not sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Not sent (address suppressed)")

    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="email_messages", verbose_name=_("order")
    )
    lead = models.ForeignKey(
        "orders.Lead", on_delete=models.PROTECT, related_name="email_messages", verbose_name=_("lead")
    )
    step = models.CharField(_("step"), max_length=40)
    language = models.CharField(_("language"), max_length=10)
    to_email = models.CharField(_("to"), max_length=320)
    subject = models.CharField(_("subject"), max_length=300)
    body_html = models.TextField(_("HTML body"))
    body_text = models.TextField(_("text body"))
    message_id = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    sendcloud_email_id = models.CharField(_("SendCloud emailId"), max_length=400, null=True, blank=True, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RENDERED)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    scheduled_for = models.DateTimeField(_("scheduled for"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("nurture email")
        verbose_name_plural = _("nurture emails")
        constraints = [models.UniqueConstraint(fields=["lead", "step"], name="qualification_one_email_per_step")]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="qualification_msg_due"),
            models.Index(fields=["order", "step"], name="qualification_msg_order_step"),
        ]

    def __str__(self):
        return f"#{self.order_id} {self.step} → {self.to_email}"


class EventName(models.TextChoices):
    """The one vocabulary every source is mapped to (DESIGN.md section 6)."""

    DELIVERED = "delivered", pgettext_lazy("email event", "Delivered")
    OPENED = "opened", pgettext_lazy("email event", "Opened")
    CLICKED = "clicked", pgettext_lazy("email event", "Clicked")
    UNSUBSCRIBED = "unsubscribed", pgettext_lazy("email event", "Unsubscribed")
    COMPLAINED = "complained", pgettext_lazy("email event", "Reported as spam")
    BOUNCED_HARD = "bounced_hard", pgettext_lazy("email event", "Hard bounce")
    BOUNCED_SOFT = "bounced_soft", pgettext_lazy("email event", "Soft bounce")
    INTEREST_CONFIRMED = "interest_confirmed", pgettext_lazy("email event", "Confirmed interest")


class EmailEvent(models.Model):
    """One raw engagement event, stored once under ``unique_key`` and never deleted."""

    class Source(models.TextChoices):
        SENDCLOUD = "sendcloud", _("SendCloud webhook")
        PORTAL = "portal", _("Portal link")
        SYSTEM = "system", _("System (outbox delivery)")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting to be processed")
        ACCEPTED = "accepted", _("Accepted")
        RECORDED = "recorded", _("Recorded, no effect")
        DUPLICATE = "duplicate", _("Duplicate (counted once)")
        AFTER_WINDOW = "after_window", _("After the nurture window")
        UNKNOWN_EVENT = "unknown_event", _("Unknown event name")
        UNKNOWN_EMAIL = "unknown_email", _("Unknown email")
        REJECTED_SIGNATURE = "rejected_signature", _("Rejected: bad signature")
        REJECTED_STALE = "rejected_stale", _("Rejected: stale timestamp")
        REJECTED_REUSED_TOKEN = "rejected_reused_token", _("Rejected: reused token")
        REJECTED_MALFORMED = "rejected_malformed", _("Rejected: malformed body")

    IDENTITY_FIELDS = (
        "unique_key",
        "source",
        "event_raw",
        "email_id",
        "token",
        "occurred_at",
        "received_at",
        "payload",
    )

    unique_key = models.CharField(_("unique key"), max_length=64)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.SENDCLOUD)
    event_raw = models.CharField(_("event (as received)"), max_length=60, blank=True)
    event = models.CharField(_("event"), max_length=20, choices=EventName.choices, blank=True)
    email_id = models.CharField(_("emailId"), max_length=400, blank=True)
    token = models.CharField(_("token"), max_length=128, blank=True)
    message = models.ForeignKey(
        EmailMessage,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("email"),
        db_index=False,  # qualification_evt_message (partial)
    )
    lead = models.ForeignKey(
        "orders.Lead",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="email_events",
        verbose_name=_("lead"),
        db_index=False,  # qualification_evt_lead starts with lead_id
    )
    order_id = models.BigIntegerField(_("order"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, default=Outcome.PENDING)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # Set only on accepted events: one per (email, event[, time, url]); a second copy of the
    # same fact fails this unique index and is recorded as a duplicate.
    dedupe_key = models.CharField(max_length=500, null=True, blank=True)
    repeat_count = models.PositiveIntegerField(_("identical re-deliveries"), default=0)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("email event")
        verbose_name_plural = _("email events")
        # Every webhook delivery inserts a row and every processing updates it, so the table
        # carries only the indexes something reads, and those that only processed events need
        # are partial: a delivery (pending, no email, lead or order resolved yet) enters just
        # the primary key, the unique key, received_at (the admin list's order) and the
        # pending index the drain reads. The rest is indexed once the processor links the
        # event. Unique keys are constraints, without the LIKE-pattern twins unique=True
        # adds; email_id and event are searched in admin with icontains, which no btree serves.
        constraints = [
            models.UniqueConstraint(fields=["unique_key"], name="qualification_evt_unique_key"),
            models.UniqueConstraint(
                fields=["dedupe_key"], name="qualification_evt_dedupe_key", condition=Q(dedupe_key__isnull=False)
            ),
        ]
        indexes = [
            # Covers the rescore's GROUP BY (lead, event) of one order's accepted events.
            models.Index(
                fields=["order_id", "lead", "event"], name="qualification_evt_score", condition=Q(outcome="accepted")
            ),
            models.Index(
                fields=["lead", "occurred_at"], name="qualification_evt_lead", condition=Q(lead__isnull=False)
            ),
            models.Index(fields=["message"], name="qualification_evt_message", condition=Q(message__isnull=False)),
            models.Index(
                fields=["outcome", "received_at"], name="qualification_evt_pending", condition=Q(outcome="pending")
            ),
        ]

    def __str__(self):
        return f"{self.event or self.event_raw or '?'} {self.email_id} ({self.outcome})"


class UsedWebhookToken(models.Model):
    """Replay protection: each signed webhook token is accepted once. Tokens older than the
    freshness window can be pruned (a replay of one is refused as stale anyway)."""

    token = models.CharField(_("token"), max_length=128)
    # Never looked up by event (events are never deleted): no index of its own.
    event = models.ForeignKey(
        EmailEvent, on_delete=models.CASCADE, related_name="+", verbose_name=_("event"), db_index=False
    )
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("used webhook token")
        verbose_name_plural = _("used webhook tokens")
        constraints = [models.UniqueConstraint(fields=["token"], name="qualification_token_unique")]

    def __str__(self):
        return self.token


class MQLReview(Order):
    """QA#2 in admin: orders waiting in ``mql_qa`` (the admin filters the queryset)."""

    class Meta:
        proxy = True
        verbose_name = _("QA#2 review")
        verbose_name_plural = _("QA#2 reviews")
