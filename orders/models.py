"""Orders: rules versions, orders with their status machine, leads, QA decisions,
pipeline checkpoints, the global suppression list and download records.

Transitions (django-fsm) only change fields; services call them, lock the row, record an
OrderTransition and move money.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords


def default_required_list():
    return ["full_name", "title", "company", "company_domain", "email", "country"]


def default_required_mql():
    return default_required_list()


def default_email_statuses():
    return ["valid", "accept_all"]


def default_reason_codes():
    return ["invalid_email", "wrong_person", "left_company", "duplicate", "outside_criteria", "not_qualified", "other"]


def default_event_weights():
    return {"delivered": 0, "opened": 5, "clicked": 15, "interest_confirmed": 40}


def default_event_caps():
    return {"opened": 3, "clicked": 3, "interest_confirmed": 1}


def default_high_intent():
    return ["clicked", "interest_confirmed"]


def default_nurture_sequence():
    return [
        {"key": "intro", "day": 0},
        {"key": "value", "day": 3},
        {"key": "last_call", "day": 7},
    ]


class RulesVersion(models.Model):
    """Qualification and QA rules. Immutable once an order uses it: ops create a new version.

    Lives in orders (the lowest layer that needs it at placement); qualification reads it.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    active = models.BooleanField(_("active"), default=False)
    used = models.BooleanField(_("used"), default=False)
    required_fields_list = models.JSONField(_("required fields (list orders)"), default=default_required_list)
    required_fields_mql = models.JSONField(_("required fields (MQL orders)"), default=default_required_mql)
    accepted_email_statuses = models.JSONField(_("accepted email statuses"), default=default_email_statuses)
    qa_sample_size = models.PositiveIntegerField(_("QA sample size"), default=20)
    dispute_window_days = models.PositiveIntegerField(_("dispute window (days)"), default=14)
    reason_codes = models.JSONField(_("dispute reason codes"), default=default_reason_codes)
    event_weights = models.JSONField(_("event weights"), default=default_event_weights)
    event_caps = models.JSONField(_("per-event caps"), default=default_event_caps)
    threshold = models.PositiveIntegerField(_("qualification threshold"), default=30)
    high_intent_events = models.JSONField(_("high-intent events"), default=default_high_intent)
    nurture_sequence = models.JSONField(_("nurture sequence"), default=default_nurture_sequence)
    nurture_window_days = models.PositiveIntegerField(_("nurture window (days)"), default=10)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("rules version")
        verbose_name_plural = _("rules versions")
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="orders_one_active_rules"),
        ]

    def __str__(self):
        return f"rules v{self.version}"


class OrderType(models.TextChoices):
    LIST = "list", _("Lead list")
    MQL = "mql", _("MQL (qualified leads)")


class OrderStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    BUILDING = "building", _("Building list")
    PAUSED = "paused", _("Paused — provider delay")
    LIST_QA = "list_qa", _("In quality review")
    NURTURING = "nurturing", _("Nurturing")
    MQL_QA = "mql_qa", _("Qualification review")
    DELIVERED = "delivered", _("Delivered")
    CLOSED = "closed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed — not charged")


S = OrderStatus
TERMINAL_STATUSES = (S.DELIVERED, S.CLOSED, S.CANCELLED, S.FAILED)
CLIENT_CANCELLABLE = (S.QUEUED, S.BUILDING, S.PAUSED)


class Order(ConcurrentTransitionMixin, models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", verbose_name=_("client")
    )
    type = models.CharField(_("type"), max_length=8, choices=OrderType.choices, default=OrderType.LIST)
    status = FSMField(_("status"), max_length=16, choices=OrderStatus.choices, default=S.QUEUED, protected=True)
    criteria = models.JSONField(_("criteria"), default=dict)
    target_count = models.PositiveIntegerField(_("target leads"))
    pricing_version = models.ForeignKey(
        "wallet.PricingVersion", on_delete=models.PROTECT, related_name="orders", verbose_name=_("pricing version")
    )
    rules_version = models.ForeignKey(
        RulesVersion, on_delete=models.PROTECT, related_name="orders", verbose_name=_("rules version")
    )
    unit_price = models.PositiveIntegerField(_("credits per lead"))
    hold = models.OneToOneField(
        "wallet.Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="order", verbose_name=_("hold")
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    provider = models.CharField(_("provider"), max_length=40, blank=True)
    found_count = models.PositiveIntegerField(_("found"), default=0)
    invalid_count = models.PositiveIntegerField(_("rejected by checks"), default=0)
    duplicate_count = models.PositiveIntegerField(_("duplicates skipped"), default=0)
    suppressed_count = models.PositiveIntegerField(_("suppressed skipped"), default=0)
    accepted_count = models.PositiveIntegerField(_("accepted"), default=0)
    qualified_count = models.PositiveIntegerField(_("qualified"), default=0)
    delivered_count = models.PositiveIntegerField(_("delivered"), default=0)
    charged_credits = models.PositiveBigIntegerField(_("charged credits"), default=0)
    released_credits = models.PositiveBigIntegerField(_("released credits"), default=0)
    status_reason = models.CharField(_("status reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    nurture_started_at = models.DateTimeField(_("nurture started"), null=True, blank=True)
    nurture_ends_at = models.DateTimeField(_("nurture ends"), null=True, blank=True)
    dispute_window_ends_at = models.DateTimeField(_("dispute window ends"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"], name="orders_order_idempotency_unique"),
            models.CheckConstraint(condition=Q(target_count__gt=0), name="orders_target_positive"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="orders_user_recent"),
            models.Index(fields=["status", "status_changed_at"], name="orders_status_age"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_type_display()} ×{self.target_count}"

    @property
    def max_cost(self) -> int:
        return self.target_count * self.unit_price

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    # --- transitions (fields only; services do the rest) ------------------------------
    @transition(field=status, source=S.QUEUED, target=S.BUILDING)
    def start(self):
        pass

    @transition(field=status, source=S.BUILDING, target=S.PAUSED)
    def pause(self):
        pass

    @transition(field=status, source=S.PAUSED, target=S.BUILDING)
    def resume(self):
        pass

    @transition(field=status, source=S.BUILDING, target=S.LIST_QA)
    def finish_building(self):
        pass

    @transition(field=status, source=S.LIST_QA, target=S.DELIVERED)
    def pass_list_qa(self):
        pass

    @transition(field=status, source=S.LIST_QA, target=S.NURTURING)
    def pass_list_qa_to_nurture(self):
        pass

    @transition(field=status, source=S.LIST_QA, target=S.FAILED)
    def fail_list_qa(self):
        pass

    @transition(field=status, source=[S.QUEUED, S.BUILDING, S.PAUSED, S.LIST_QA], target=S.CANCELLED)
    def cancel(self):
        pass

    @transition(field=status, source=S.NURTURING, target=S.MQL_QA)
    def finish_nurturing(self):
        pass

    @transition(field=status, source=S.MQL_QA, target=S.DELIVERED)
    def pass_mql_qa(self):
        pass

    @transition(field=status, source=S.MQL_QA, target=S.FAILED)
    def fail_mql_qa(self):
        pass

    @transition(field=status, source=S.DELIVERED, target=S.CLOSED)
    def close(self):
        pass

    @transition(field=status, source=[S.QUEUED, S.BUILDING, S.PAUSED], target=S.FAILED)
    def fail(self):
        pass


class OrderTransition(models.Model):
    """The order's timeline: every status change with its actor (null = system) and reason."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("order"))
    from_status = models.CharField(_("from"), max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    reason = models.CharField(_("reason"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order transition")
        verbose_name_plural = _("order transitions")

    def __str__(self):
        return f"#{self.order_id} {self.from_status}→{self.to_status}"

    @property
    def actor_label(self) -> str:
        return self.actor.email if self.actor_id else "system"


class EmailStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    ACCEPT_ALL = "accept_all", _("Accept-all")
    INVALID = "invalid", _("Invalid")
    UNKNOWN = "unknown", _("Unknown")


class Lead(models.Model):
    """One person found for an order: the provider's raw record beside normalised fields."""

    class Status(models.TextChoices):
        VALID = "valid", _("Passed checks")
        INVALID = "invalid", _("Rejected by checks")

    # Leads are read by order through the two composite indexes below (both start with
    # order_id), so the foreign key has no index of its own; nothing looks leads up by
    # email or by the delivered flag alone. Fewer indexes: cheaper inserts while a list
    # builds and cheaper updates at QA and scoring.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="leads", verbose_name=_("order"), db_index=False
    )
    provider = models.CharField(_("provider"), max_length=40)
    provider_id = models.CharField(_("provider id"), max_length=200, blank=True)
    dedupe_key = models.CharField(max_length=320)
    full_name = models.CharField(_("full name"), max_length=300, blank=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    title = models.CharField(_("job title"), max_length=300, blank=True)
    seniority = models.CharField(_("seniority"), max_length=60, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=300, blank=True)
    company_domain = models.CharField(_("company domain"), max_length=253, blank=True)
    industry = models.CharField(_("industry"), max_length=150, blank=True)
    company_size = models.CharField(_("company size"), max_length=30, blank=True)
    email = models.CharField(_("email"), max_length=320, blank=True)
    email_status = models.CharField(
        _("email status"), max_length=12, choices=EmailStatus.choices, default=EmailStatus.UNKNOWN
    )
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    linkedin_url = models.CharField(_("LinkedIn URL"), max_length=500, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    region = models.CharField(_("region"), max_length=150, blank=True)
    city = models.CharField(_("city"), max_length=150, blank=True)
    raw = models.JSONField(_("provider record"), default=dict, blank=True)
    status = models.CharField(_("check result"), max_length=8, choices=Status.choices, default=Status.VALID)
    invalid_reason = models.CharField(_("rejection reason"), max_length=500, blank=True)
    page_cursor = models.CharField(_("page"), max_length=200, blank=True)
    qa_sampled = models.BooleanField(_("in QA sample"), default=False)
    accepted = models.BooleanField(_("accepted"), default=False)
    delivered = models.BooleanField(_("delivered"), default=False)
    qualified = models.BooleanField(_("qualified"), null=True, blank=True)
    score = models.IntegerField(_("score"), null=True, blank=True)
    score_breakdown = models.JSONField(_("score breakdown"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            models.UniqueConstraint(fields=["order", "dedupe_key"], name="orders_lead_dedupe_unique"),
        ]
        indexes = [models.Index(fields=["order", "delivered", "id"], name="orders_lead_delivered")]

    def __str__(self):
        return f"{self.full_name} <{self.email}>"


class QAGate(models.TextChoices):
    LIST = "list", _("QA#1 (list)")
    MQL = "mql", _("QA#2 (qualification)")


class QADecision(models.Model):
    """A gate's decision, at most one per (order, gate): a second concurrent decision fails
    on the unique constraint."""

    class Decision(models.TextChoices):
        PASS = "pass", _("Pass")
        FAIL = "fail", _("Fail")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="qa_decisions", verbose_name=_("order"))
    gate = models.CharField(_("gate"), max_length=4, choices=QAGate.choices)
    decision = models.CharField(_("decision"), max_length=4, choices=Decision.choices)
    accepted_count = models.PositiveIntegerField(_("accepted leads"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    automatic = models.BooleanField(_("automatic (system)"), default=False)
    checks = models.JSONField(_("automated check results"), default=dict, blank=True)
    sample_lead_ids = models.JSONField(_("sample"), default=list, blank=True)
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("QA decision")
        verbose_name_plural = _("QA decisions")
        constraints = [models.UniqueConstraint(fields=["order", "gate"], name="orders_one_decision_per_gate")]

    def __str__(self):
        return f"#{self.order_id} {self.gate} {self.decision}"


class PipelineStep(models.Model):
    """Durable checkpoint of one restartable step of an order's pipeline (the source of truth
    for the sweeper). ``cursor`` is the provider's opaque position; a step is claimed with a
    conditional UPDATE on ``lease_until`` so it never runs twice at once."""

    class Name(models.TextChoices):
        BUILD = "build", _("Build list")
        VERIFY = "verify", _("Verify emails")
        NURTURE = "nurture", _("Nurture")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        WAITING = "waiting", _("Waiting (rate limit or outage)")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="steps", verbose_name=_("order"))
    name = models.CharField(_("step"), max_length=16, choices=Name.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    provider = models.CharField(_("provider"), max_length=40, blank=True)
    cursor = models.CharField(_("cursor"), max_length=500, blank=True)
    pages_done = models.PositiveIntegerField(_("pages done"), default=0)
    attempt = models.PositiveIntegerField(_("attempt"), default=0)
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    job_id = models.CharField(_("job id"), max_length=100, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    state = models.JSONField(_("state"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("pipeline step")
        verbose_name_plural = _("pipeline steps")
        constraints = [models.UniqueConstraint(fields=["order", "name"], name="orders_one_step_per_name")]

    def __str__(self):
        return f"#{self.order_id} {self.name} {self.status}"


class SuppressedAddress(models.Model):
    """The global suppression list: never built into a list, never emailed again."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        COMPLAINED = "complained", _("Spam complaint")
        INVALID = "invalid", _("Invalid address")
        BOUNCED_HARD = "bounced_hard", _("Hard bounce")
        MANUAL = "manual", _("Added by ops")

    email = models.CharField(_("email"), max_length=320, unique=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    source = models.CharField(_("source"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self):
        return self.email


class Download(models.Model):
    """Each download of an order's leads, for the audit trail."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="downloads", verbose_name=_("order"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    format = models.CharField(_("format"), max_length=8)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    via_api = models.BooleanField(_("via API"), default=False)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("download")
        verbose_name_plural = _("downloads")

    def __str__(self):
        return f"#{self.order_id} {self.format}"
