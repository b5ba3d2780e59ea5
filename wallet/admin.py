"""Finance's view of the ledger: read-only, with adjustments only through a form that posts an
``adjustment`` transfer, and a re-process action for stored Stripe events."""

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from solosales.core.admin import order_link_column
from solosales.core.errors import ApplicationError
from wallet.forms import AdjustmentForm
from wallet.models import Account, Hold, PricingVersion, StripeEvent, TopUp, Transfer
from wallet.services import adjustment_post, pricing_activate
from wallet.stripe_events import stripe_event_process


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "owner", "kind", "balance", "created_at"]
    list_filter = ["kind"]
    search_fields = ["owner__email"]
    list_select_related = ["owner"]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "kind", "amount", "debit_account", "credit_account", "user", "order_link"]
    order_link = order_link_column()
    list_filter = ["kind", "created_at"]
    search_fields = ["idempotency_key", "user__email", "=order_id", "=dispute_id", "=topup__id", "memo"]
    list_select_related = ["debit_account__owner", "credit_account__owner", "user"]
    raw_id_fields = ["debit_account", "credit_account", "user", "hold", "topup", "actor"]
    date_hierarchy = "created_at"
    change_list_template = "admin/wallet/transfer/change_list.html"

    def get_urls(self):
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="wallet_transfer_adjust"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_adjust": request.user.has_perm("wallet.post_adjustment")}
        return super().changelist_view(request, extra_context=extra_context)

    def adjust_view(self, request):
        """The only way to change a balance by hand: a new ``adjustment`` transfer with a reason."""
        if not request.user.has_perm("wallet.post_adjustment"):
            raise PermissionDenied
        form = AdjustmentForm(request.POST or None, initial={"key": f"adjustment:{uuid.uuid4()}"})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                transfer = adjustment_post(
                    user=data["user"],
                    amount=data["amount"],
                    reason_code=data["reason_code"],
                    actor=request.user,
                    key=data["key"],
                    memo=data["memo"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("Adjustment #%(id)s posted: %(amount)s credits for %(email)s.")
                    % {"id": transfer.pk, "amount": data["amount"], "email": data["user"].email},
                )
                return redirect(reverse("admin:wallet_transfer_change", args=[transfer.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Post a ledger adjustment"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallet/adjustment_form.html", context)


@admin.register(Hold)
class HoldAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "user", "amount", "captured", "released", "status", "order_link", "created_at", "resolved_at"]
    order_link = order_link_column()
    list_filter = ["status"]
    search_fields = ["user__email", "=order_id", "idempotency_key"]
    list_select_related = ["user"]


class TransferInline(ReadOnlyMixin, admin.TabularInline):
    model = Transfer
    fields = ["id", "created_at", "kind", "amount", "idempotency_key"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = [
        "id",
        "user",
        "credits",
        "amount_minor",
        "currency",
        "status",
        "refunded_credits",
        "shortfall_credits",
        "flagged_for_finance",
        "created_at",
    ]
    list_filter = ["status", "flagged_for_finance", "currency", "created_at"]
    search_fields = ["user__email", "stripe_session_id", "payment_intent_id", "charge_id", "stripe_dispute_id"]
    list_select_related = ["user"]
    inlines = [TransferInline]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["event_id", "type", "status", "topup", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "type", "livemode"]
    search_fields = ["event_id", "payment_ref", "=topup__id"]
    actions = ["reprocess"]
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_reprocess_permission(self, request):
        return request.user.has_perm("wallet.reprocess_stripeevent")

    @admin.action(description=gettext_lazy("Re-process the selected events"), permissions=["reprocess"])
    def reprocess(self, request, queryset):
        outcomes = {}
        for pk in queryset.values_list("pk", flat=True):
            event = stripe_event_process(event_pk=pk, force=True)
            outcomes[event.get_status_display()] = outcomes.get(event.get_status_display(), 0) + 1
        summary = ", ".join(f"{label}: {n}" for label, n in outcomes.items())
        self.message_user(request, _("Re-processed. %(summary)s") % {"summary": summary}, messages.SUCCESS)


@admin.register(PricingVersion)
class PricingVersionAdmin(SimpleHistoryAdmin):
    list_display = ["version", "active", "used", "credit_price_minor", "currency", "list_lead_price", "mql_lead_price"]
    list_filter = ["active", "used", "currency"]
    search_fields = ["=version", "notes"]
    actions = ["activate"]
    readonly_fields = ["active", "used", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.used:  # used versions are immutable: ops create a new one
            return [f.name for f in PricingVersion._meta.fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The change view runs in a transaction: the row lock serialises this edit with a
        # placement's or top-up's first use of the version, which marks it used.
        if change and PricingVersion.objects.select_for_update().filter(pk=obj.pk).values_list("used", flat=True).get():
            raise PermissionDenied  # used meanwhile: refuse rather than edit what an order or top-up locked
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Activate the selected version"), permissions=["change"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to activate."), messages.ERROR)
            return
        version = pricing_activate(version=queryset.get())
        self.message_user(request, _("Pricing %(version)s is now active.") % {"version": version}, messages.SUCCESS)
