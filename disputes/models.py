"""Disputes over delivered leads, their hash-chained evidence and the arbitration log.

A dispute covers one or more delivered leads of one order. Transitions (django-fsm) only
change fields; ``disputes.services`` locks the row, runs them, writes evidence and log rows
and moves money. Evidence items and log rows are append-only (a PostgreSQL trigger refuses
UPDATE and DELETE on both tables).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

GENESIS_HASH = "0" * 64


class DisputeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("dispute status", "Open")
    UNDER_REVIEW = "under_review", pgettext_lazy("dispute status", "Under review")
    ACCEPTED = "accepted", pgettext_lazy("dispute status", "Accepted")
    PARTIALLY_ACCEPTED = "partially_accepted", pgettext_lazy("dispute status", "Partially accepted")
    REJECTED = "rejected", pgettext_lazy("dispute status", "Rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("dispute status", "Withdrawn")


S = DisputeStatus
ACTIVE_STATUSES = (S.OPEN, S.UNDER_REVIEW)
DECIDED_STATUSES = (S.ACCEPTED, S.PARTIALLY_ACCEPTED, S.REJECTED)


class ReasonCode(models.TextChoices):
    INVALID_EMAIL = "invalid_email", _("Invalid email address")
    WRONG_PERSON = "wrong_person", _("Wrong person")
    LEFT_COMPANY = "left_company", _("Left the company")
    DUPLICATE = "duplicate", _("Duplicate")
    OUTSIDE_CRITERIA = "outside_criteria", _("Outside the order's criteria")
    NOT_QUALIFIED = "not_qualified", _("Not qualified (MQL orders)")
    OTHER = "other", _("Other (explain)")


class Dispute(ConcurrentTransitionMixin, models.Model):
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="disputes", verbose_name=_("order")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("client")
    )
    status = FSMField(_("status"), max_length=20, choices=DisputeStatus.choices, default=S.OPEN, protected=True)
    statement = models.TextField(_("statement"))
    window_ends_at = models.DateTimeField(_("dispute window ended"), help_text=_("Snapshot at opening."))
    refund_credits = models.PositiveIntegerField(
        _("refund (credits)"), default=0, help_text=_("Accepted leads × the order's unit price.")
    )
    refund_transfer_id = models.BigIntegerField(_("refund transfer"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)
    decision_notes = models.TextField(_("decision notes"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    awaiting_approval = models.BooleanField(
        _("awaiting second approval"),
        default=False,
        help_text=_("The refund exceeds the limit one person may grant; a second staff user must approve."),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("second approver"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    notified_at = models.DateTimeField(_("client notified"), null=True, blank=True)
    # The chain's head, written with each item appended: an item removed from the end of
    # the chain (which leaves the rest linked and verifying) no longer goes unnoticed.
    evidence_count = models.PositiveIntegerField(_("evidence items"), default=0)
    evidence_head = models.CharField(
        _("evidence chain head"), max_length=64, blank=True, help_text=_("The hash of the last evidence item.")
    )
    created_at = models.DateTimeField(_("opened"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        permissions = [("decide_dispute", _("Can arbitrate disputes"))]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="disputes_user_recent"),
            models.Index(fields=["order", "status"], name="disputes_order_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("decided_by")),
                name="disputes_second_approver_differs",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_decided(self) -> bool:
        return self.status in DECIDED_STATUSES

    @property
    def status_badge(self) -> str:
        return {
            S.OPEN: "info",
            S.UNDER_REVIEW: "warn",
            S.ACCEPTED: "ok",
            S.PARTIALLY_ACCEPTED: "ok",
            S.REJECTED: "bad",
            S.WITHDRAWN: "neutral",
        }.get(self.status, "neutral")

    # --- transitions (fields only; services do the rest) ------------------------------
    @transition(field=status, source=S.OPEN, target=S.UNDER_REVIEW)
    def start_review(self):
        pass

    @transition(field=status, source=S.OPEN, target=S.WITHDRAWN)
    def withdraw(self):
        pass

    @transition(field=status, source=S.UNDER_REVIEW, target=S.ACCEPTED)
    def accept(self):
        pass

    @transition(field=status, source=S.UNDER_REVIEW, target=S.PARTIALLY_ACCEPTED)
    def accept_partially(self):
        pass

    @transition(field=status, source=S.UNDER_REVIEW, target=S.REJECTED)
    def reject(self):
        pass


class Decision(models.TextChoices):
    PENDING = "pending", pgettext_lazy("dispute decision", "Pending")
    ACCEPTED = "accepted", pgettext_lazy("dispute decision", "Accepted")
    REJECTED = "rejected", pgettext_lazy("dispute decision", "Rejected")


class DisputeItem(models.Model):
    """One disputed lead. ``active`` is true while its dispute is open or under review; the
    partial unique index on ``lead`` where active makes "one open dispute per lead" hold
    under concurrency (the second insert fails)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="items", verbose_name=_("dispute"))
    lead = models.ForeignKey(
        "orders.Lead", on_delete=models.PROTECT, related_name="dispute_items", verbose_name=_("lead")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=ReasonCode.choices)
    note = models.TextField(_("note"), blank=True)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decision_notes = models.TextField(_("decision notes"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        verbose_name = _("disputed lead")
        verbose_name_plural = _("disputed leads")
        constraints = [
            models.UniqueConstraint(fields=["lead"], condition=Q(active=True), name="disputes_one_active_per_lead"),
            models.UniqueConstraint(fields=["dispute", "lead"], name="disputes_item_lead_once"),
            models.CheckConstraint(condition=~Q(reason="other") | ~Q(note=""), name="disputes_other_needs_note"),
        ]

    def __str__(self):
        return f"#{self.dispute_id} lead {self.lead_id} {self.reason}"

    @property
    def decision_badge(self) -> str:
        return {Decision.ACCEPTED: "ok", Decision.REJECTED: "bad"}.get(self.decision, "neutral")


class EvidenceKind(models.TextChoices):
    CLIENT_STATEMENT = "client_statement", _("Client statement")
    CLIENT_FILE = "client_file", _("Client file")
    SYSTEM_SNAPSHOT = "system_snapshot", _("System snapshot")
    OPS_NOTE = "ops_note", _("Ops note")


class EvidenceItem(models.Model):
    """An append-only, hash-chained evidence item (DESIGN.md section 7).

    ``item_hash`` = sha256 over the canonical JSON of the item's fields and ``prev_hash``
    (see ``disputes.chain``). Files live under PRIVATE_ROOT with a server-generated name;
    ``file_name`` is the client's name, sanitised, for display only.
    """

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("dispute"))
    seq = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=20, choices=EvidenceKind.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
        help_text=_("Empty: the system."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    text = models.TextField(_("text"), blank=True)
    references = models.JSONField(
        _("references"), default=dict, blank=True, help_text=_("Lead, provider-call and email-event ids.")
    )
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True)
    file_path = models.CharField(_("stored file"), max_length=300, blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    file_sha256 = models.CharField(_("file sha256"), max_length=64, blank=True)
    file_size = models.PositiveIntegerField(_("file size (bytes)"), null=True, blank=True)
    file_content_type = models.CharField(_("file type (sniffed)"), max_length=100, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    item_hash = models.CharField(_("item hash"), max_length=64, unique=True)

    class Meta:
        ordering = ["dispute", "seq"]
        verbose_name = _("evidence item")
        verbose_name_plural = _("evidence items")
        constraints = [
            models.UniqueConstraint(fields=["dispute", "seq"], name="disputes_evidence_seq_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="disputes_evidence_seq_positive"),
            models.CheckConstraint(
                condition=~Q(text="") | ~Q(file_path="") | ~Q(references={}),
                name="disputes_evidence_has_content",
            ),
            models.CheckConstraint(
                condition=Q(file_path="")
                | (Q(file_size__gt=0) & ~Q(file_content_type="") & Q(file_sha256__regex=r"^[0-9a-f]{64}$")),
                name="disputes_evidence_file_described",
            ),
        ]

    def __str__(self):
        return f"#{self.dispute_id}/{self.seq} {self.kind}"

    @property
    def has_file(self) -> bool:
        return bool(self.file_path)


class ArbitrationLog(models.Model):
    """Every step of a dispute's life with its actor (null = system). Append-only."""

    class Action(models.TextChoices):
        OPENED = "opened", _("Opened")
        EVIDENCE_ADDED = "evidence_added", _("Evidence added")
        REVIEW_STARTED = "review_started", _("Review started")
        DECISION_PROPOSED = "decision_proposed", _("Decision recorded, awaiting second approval")
        DECISION_RETURNED = "decision_returned", _("Proposed decision returned")
        APPROVED = "approved", _("Second approval given")
        DECIDED = "decided", _("Decided")
        REFUNDED = "refunded", _("Refunded")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        NOTIFIED = "notified", _("Client notified")

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="log", verbose_name=_("dispute"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    from_status = models.CharField(_("from"), max_length=20, choices=DisputeStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=DisputeStatus.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("arbitration log entry")
        verbose_name_plural = _("arbitration log")

    def __str__(self):
        return f"#{self.dispute_id} {self.action}"

    @property
    def actor_label(self) -> str:
        return self.actor.email if self.actor_id else "system"
