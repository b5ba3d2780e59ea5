"""Provider call audit and RocketReach lookup bookkeeping.

``ProviderCall`` is append-only: one row per HTTP attempt (and per sandbox page), never
changed afterwards; on PostgreSQL a trigger refuses UPDATE and DELETE. Order references
are plain integers because providers sit below orders in the layering.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Operation(models.TextChoices):
    SEARCH = "search", _("search")
    LOOKUP = "lookup", _("lookup")
    CHECK_STATUS = "check_status", _("check status")
    ACCOUNT = "account", _("account")
    EMAIL_VERIFY = "email_verify", _("email verification")
    DOMAIN_SEARCH = "domain_search", _("domain search")


class Outcome(models.TextChoices):
    OK = "ok", _("ok")
    RATE_LIMITED = "rate_limited", _("rate limited")
    ERROR = "error", _("error")
    TIMEOUT = "timeout", _("timeout")
    CIRCUIT_OPEN = "circuit_open", _("circuit open")


class ProviderCall(models.Model):
    provider = models.CharField(_("provider"), max_length=32, db_index=True)
    operation = models.CharField(_("operation"), max_length=20, choices=Operation.choices)
    order_id = models.BigIntegerField(_("order id"), null=True, blank=True, db_index=True)
    step = models.CharField(_("step"), max_length=64, blank=True)
    request_summary = models.JSONField(_("request summary"), default=dict, blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    retry_after = models.FloatField(_("retry after (s)"), null=True, blank=True)
    records_returned = models.PositiveIntegerField(_("records returned"), default=0)
    provider_request_id = models.CharField(_("provider request id"), max_length=128, blank=True, db_index=True)
    estimated_cost = models.DecimalField(
        _("estimated cost (US cents)"),
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text=_("Estimated from the provider's list prices, in US cents."),
    )
    error_message = models.TextField(_("error message"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("provider call")
        verbose_name_plural = _("provider calls")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order_id", "created_at"], name="providercall_order_created")]

    def __str__(self):
        return f"{self.provider} {self.operation} {self.outcome} #{self.pk}"


class LookupStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    PROGRESS = "progress", _("in progress")
    SEARCHING = "searching", _("searching")
    NOT_QUEUED = "not queued", _("not queued")
    COMPLETE = "complete", _("complete")
    FAILED = "failed", _("failed")


class LookupRecord(models.Model):
    """A RocketReach lookup issued for a profile within an order (a lookup costs a credit).

    ``key`` ("<order id or ->:<profile id>") is unique, so two workers cannot both issue the
    same lookup; whoever finds the row polls checkStatus instead.
    """

    provider = models.CharField(_("provider"), max_length=32, default="rocketreach")
    key = models.CharField(_("key"), max_length=160, unique=True)
    order_id = models.BigIntegerField(_("order id"), null=True, blank=True, db_index=True)
    profile_id = models.CharField(_("profile id"), max_length=64)
    status = models.CharField(_("status"), max_length=20, choices=LookupStatus.choices, default=LookupStatus.REQUESTED)
    issue_count = models.PositiveSmallIntegerField(_("lookups issued"), default=0)
    profile = models.JSONField(_("profile"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("provider lookup")
        verbose_name_plural = _("provider lookups")

    def __str__(self):
        return f"{self.provider} lookup {self.profile_id} ({self.status})"

    @staticmethod
    def key_for(order_id: int | None, profile_id: str) -> str:
        return f"{order_id if order_id is not None else '-'}:{profile_id}"
