"""The credits ledger: accounts, immutable transfers, two-phase holds, top-ups, pricing.

Double-entry: every movement is a Transfer of a positive number of credits from one
Account (debit) to another (credit). Client accounts (`available`, `held`) can never go
negative (CHECK constraint); platform accounts (`stripe_clearing`, `revenue`) can.
Transfers are append-only (a PostgreSQL trigger refuses UPDATE, DELETE and TRUNCATE).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Account(models.Model):
    class Kind(models.TextChoices):
        AVAILABLE = "available", _("Available")
        HELD = "held", _("Held")
        STRIPE_CLEARING = "stripe_clearing", _("Stripe clearing")
        REVENUE = "revenue", _("Revenue")

    CLIENT_KINDS = (Kind.AVAILABLE, Kind.HELD)
    PLATFORM_KINDS = (Kind.STRIPE_CLEARING, Kind.REVENUE)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
        verbose_name=_("owner"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    balance = models.BigIntegerField(_("balance"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(fields=["owner", "kind"], name="wallet_account_owner_kind_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(owner__isnull=True), name="wallet_account_platform_kind_unique"
            ),
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(balance__gte=0), name="wallet_client_balance_non_negative"
            ),
            models.CheckConstraint(
                condition=(Q(owner__isnull=True) & Q(kind__in=["stripe_clearing", "revenue"]))
                | (Q(owner__isnull=False) & Q(kind__in=["available", "held"])),
                name="wallet_account_kind_matches_owner",
            ),
        ]

    def __str__(self):
        return f"{self.owner or 'platform'}:{self.kind}"


def default_currency() -> str:
    """A new pricing version's currency: CREDITS_CURRENCY (ISO 4217, lower case; cny)."""
    return str(getattr(settings, "CREDITS_CURRENCY", "cny")).lower()[:3]


class PricingVersion(models.Model):
    """Prices and bounds. Immutable once an order or top-up uses it: ops create a new version.

    Lives in the wallet (the lowest layer that needs it: top-ups use the credit price);
    orders lock a version at placement.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    active = models.BooleanField(_("active"), default=False)
    list_lead_price = models.PositiveIntegerField(_("credits per list lead"), default=1)
    mql_lead_price = models.PositiveIntegerField(_("credits per MQL"), default=5)
    credit_price_minor = models.PositiveIntegerField(_("price of one credit (minor currency units)"), default=100)
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    min_order_size = models.PositiveIntegerField(_("minimum order size"), default=10)
    max_order_size = models.PositiveIntegerField(_("maximum order size"), default=50000)
    min_topup_credits = models.PositiveIntegerField(_("minimum top-up (credits)"), default=50)
    max_topup_credits = models.PositiveIntegerField(_("maximum top-up (credits)"), default=100000)
    used = models.BooleanField(
        _("used"), default=False, help_text=_("Set when first used; used versions are immutable.")
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("pricing version")
        verbose_name_plural = _("pricing versions")
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="wallet_one_active_pricing"),
            models.CheckConstraint(condition=Q(min_order_size__lte=F("max_order_size")), name="wallet_order_bounds"),
            models.CheckConstraint(
                condition=Q(min_topup_credits__lte=F("max_topup_credits")), name="wallet_topup_bounds"
            ),
            models.CheckConstraint(condition=Q(credit_price_minor__gt=0), name="wallet_credit_price_positive"),
        ]

    def __str__(self):
        return f"v{self.version}"


class TopUp(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", _("Refunded")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topups", verbose_name=_("client")
    )
    pricing_version = models.ForeignKey(
        PricingVersion, on_delete=models.PROTECT, related_name="topups", verbose_name=_("pricing version")
    )
    credits = models.PositiveIntegerField(_("credits"))
    credit_price_minor = models.PositiveIntegerField(_("price per credit (minor units)"))
    amount_minor = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    stripe_session_id = models.CharField(_("Checkout Session id"), max_length=255, unique=True, null=True, blank=True)
    payment_intent_id = models.CharField(_("PaymentIntent id"), max_length=255, unique=True, null=True, blank=True)
    charge_id = models.CharField(_("charge id"), max_length=255, blank=True, db_index=True)
    checkout_url = models.URLField(_("checkout URL"), max_length=2000, blank=True)
    refunded_credits = models.PositiveIntegerField(_("refunded credits"), default=0)
    disputed_credits = models.PositiveIntegerField(_("disputed credits"), default=0)
    shortfall_credits = models.PositiveIntegerField(
        _("unrecovered credits"), default=0, help_text=_("Refunded or charged back after being spent; for finance.")
    )
    flagged_for_finance = models.BooleanField(_("flagged for finance"), default=False, db_index=True)
    finance_note = models.TextField(_("finance note"), blank=True)
    stripe_dispute_id = models.CharField(_("Stripe dispute id"), max_length=255, blank=True, db_index=True)
    dispute_status = models.CharField(_("dispute status"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("top-up")
        verbose_name_plural = _("top-ups")
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="wallet_topup_credits_positive"),
        ]

    def __str__(self):
        return f"top-up #{self.pk} {self.credits} credits ({self.status})"

    @property
    def checkout_idempotency_key(self) -> str:
        """Derived from the record (id and creation instant), so a retried session create is
        deduplicated by Stripe and a reused id after a rollback never collides."""
        return f"solosales-topup-{self.pk}-{int(self.created_at.timestamp() * 1_000_000)}"

    @property
    def status_badge(self) -> str:
        return {
            self.Status.PAID: "ok",
            self.Status.PENDING: "info",
            self.Status.EXPIRED: "neutral",
            self.Status.FAILED: "bad",
            self.Status.REFUNDED: "warn",
        }.get(self.status, "neutral")


class Hold(models.Model):
    """A two-phase reservation of credits: placed once, then resolved exactly once by a
    capture (part or all) with the remainder released."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="holds", verbose_name=_("client")
    )
    amount = models.PositiveBigIntegerField(_("held"))
    captured = models.PositiveBigIntegerField(_("captured"), default=0)
    released = models.PositiveBigIntegerField(_("released"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    order_id = models.BigIntegerField(_("order"), null=True, blank=True, db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    resolution_key = models.CharField(_("resolution key"), max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="wallet_hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured__gte=0) & Q(released__gte=0) & Q(amount__gte=F("captured") + F("released")),
                name="wallet_hold_not_overdrawn",
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(captured=0) & Q(released=0))
                | (Q(status="resolved") & Q(amount=F("captured") + F("released"))),
                name="wallet_hold_resolves_whole",
            ),
        ]

    def __str__(self):
        return f"hold #{self.pk} {self.amount} ({self.status})"

    @property
    def remaining(self) -> int:
        return self.amount - self.captured - self.released


class Transfer(models.Model):
    """An immutable movement of credits. Never edited: corrections are new transfers."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        HOLD = "hold", _("Hold")
        CAPTURE = "capture", _("Charge")
        RELEASE = "release", _("Release")
        DISPUTE_REFUND = "dispute_refund", _("Dispute refund")
        CARD_REFUND = "card_refund", _("Card refund")
        CHARGEBACK = "chargeback", _("Chargeback")
        CHARGEBACK_REVERSAL = "chargeback_reversal", _("Chargeback reversed")
        ADJUSTMENT = "adjustment", _("Adjustment")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices, db_index=True)
    debit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="debits", verbose_name=_("from account")
    )
    credit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credits", verbose_name=_("to account")
    )
    amount = models.PositiveBigIntegerField(_("credits"))
    debit_balance_after = models.BigIntegerField(_("from balance after"))
    credit_balance_after = models.BigIntegerField(_("to balance after"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    params_hash = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_transfers",
        verbose_name=_("client"),
    )
    hold = models.ForeignKey(
        Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("hold")
    )
    topup = models.ForeignKey(
        TopUp, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("top-up")
    )
    order_id = models.BigIntegerField(_("order"), null=True, blank=True, db_index=True)
    dispute_id = models.BigIntegerField(_("dispute"), null=True, blank=True, db_index=True)
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)
    memo = models.CharField(_("memo"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="wallet_transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")), name="wallet_transfer_distinct_accounts"
            ),
            # Invariant 6 in the schema: a top-up is credited by at most one transfer.
            models.UniqueConstraint(
                fields=["topup"], condition=Q(kind="topup"), name="wallet_transfer_one_credit_per_topup"
            ),
            # Invariant 8 in the schema: every transfer carries its key and parameters hash.
            models.CheckConstraint(condition=~Q(idempotency_key="") & ~Q(params_hash=""), name="wallet_transfer_keyed"),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="wallet_transfer_user_recent"),
            # Covers ledger_check's per-hold sums (invariant 5): an index-only scan in hold order.
            models.Index(
                fields=["hold"],
                include=["kind", "amount"],
                condition=Q(hold__isnull=False),
                name="wallet_transfer_hold_sums",
            ),
        ]
        permissions = [("post_adjustment", _("Can post ledger adjustments"))]

    def __str__(self):
        return f"#{self.pk} {self.kind} {self.amount}"


class StripeEvent(models.Model):
    """A verified Stripe webhook event, stored once under its event id before processing.

    Only events whose signature verified are stored here. Processing happens in the
    ``webhooks`` queue and is idempotent: the row is locked, and ``processed_at`` set in the
    same transaction as the ledger effects.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        DEFERRED = "deferred", _("Waiting for its payment")
        IGNORED = "ignored", _("Acknowledged (not handled)")
        FAILED = "failed", _("Failed")

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    stripe_created = models.DateTimeField(_("created at Stripe"), null=True, blank=True)
    raw_body = models.TextField(_("raw body"))
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    # The PaymentIntent (or session) the event is about, so deferred events can be found
    # when their payment arrives.
    payment_ref = models.CharField(_("payment reference"), max_length=255, blank=True, db_index=True)
    topup = models.ForeignKey(
        TopUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_events", verbose_name=_("top-up")
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        permissions = [("reprocess_stripeevent", _("Can re-process Stripe events"))]

    def __str__(self):
        return f"{self.event_id} {self.type} ({self.status})"
