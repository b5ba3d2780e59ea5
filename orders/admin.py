"""Ops' view of orders: read-only records, the QA queue and the QA review page.

Status and money never change here by editing a field: the review page and the actions call
the order services (``order_qa_decide``, ``order_cancel``), which record the timeline.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from orders.models import (
    Lead,
    Order,
    OrderStatus,
    OrderTransition,
    PipelineStep,
    QADecision,
    RulesVersion,
    SuppressedAddress,
)
from orders.selectors import QA_STATUSES, qa_queue, qa_review
from orders.services import (
    order_cancel,
    order_qa_decide,
    rules_version_activate,
    rules_version_create_from,
    suppression_add,
)
from providers.selectors import calls_for_order, cost_summary_for_order
from solosales.core.errors import ApplicationError

PROVIDER_CALLS_SHOWN = 100

LEAD_FIELDS = [
    "full_name",
    "title",
    "seniority",
    "department",
    "company",
    "company_domain",
    "industry",
    "company_size",
    "email",
    "email_status",
    "phone",
    "linkedin_url",
    "country",
    "region",
    "city",
]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TransitionInline(ReadOnlyInline):
    model = OrderTransition
    fields = ["created_at", "from_status", "to_status", "actor", "reason"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Timeline")


class QADecisionInline(ReadOnlyInline):
    model = QADecision
    fields = ["created_at", "gate", "decision", "accepted_count", "actor", "automatic", "notes"]
    readonly_fields = fields


class PipelineStepInline(ReadOnlyInline):
    model = PipelineStep
    fields = ["name", "status", "provider", "pages_done", "attempt", "not_before", "lease_until", "last_error"]
    readonly_fields = fields


class QAPassForm(forms.Form):
    accepted_count = forms.IntegerField(label=gettext_lazy("Accepted leads"), min_value=1)


class QAFailForm(forms.Form):
    notes = forms.CharField(
        label=gettext_lazy("Why does the order fail?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


@admin.register(Order)
class OrderAdmin(SimpleHistoryAdmin):
    list_display = [
        "id",
        "client_email",
        "type",
        "status",
        "target_count",
        "found_count",
        "accepted_count",
        "charged_credits",
        "created_at",
        "qa_link",
    ]
    list_filter = ["status", "type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    inlines = [TransitionInline, QADecisionInline, PipelineStepInline]
    actions = ["cancel_orders"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Order._meta.concrete_fields] + ["provider_costs", "provider_calls"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("provider cost vs credits charged"))
    def provider_costs(self, obj):
        """What the providers' calls are estimated to have cost (US cents, the audit rows' list
        prices) beside what the client was charged, both per lead."""
        if obj is None or obj.pk is None:
            return ""
        summary = cost_summary_for_order(obj.pk)
        if obj.delivered_count:
            leads, basis = obj.delivered_count, _("delivered")
        elif obj.accepted_count:
            leads, basis = obj.accepted_count, _("accepted")
        else:
            leads, basis = obj.found_count, _("found")
        cost = summary["cost"]
        pricing = obj.pricing_version
        currency = pricing.currency.upper()
        credit_value = obj.charged_credits * pricing.credit_price_minor / 100
        rows = [(_("Provider calls"), summary["calls"])]
        rows += [
            (
                name,
                _("%(calls)s calls, %(cost)s US cents") % {"calls": row["calls"], "cost": f"{row['cost']:.2f}"},
            )
            for name, row in summary["by_provider"].items()
        ]
        rows += [
            (_("Estimated provider cost (US cents)"), f"{cost:.2f}"),
            (_("Leads (%(basis)s)") % {"basis": basis}, leads),
            (_("Provider cost per lead (US cents)"), f"{cost / leads:.2f}" if leads else "–"),
            (_("Credits charged"), obj.charged_credits),
            (_("Credits charged per lead"), f"{obj.charged_credits / leads:.2f}" if leads else "–"),
            (_("Value of the credits charged (%(currency)s)") % {"currency": currency}, f"{credit_value:.2f}"),
            (
                _("Value of the credits charged per lead (%(currency)s)") % {"currency": currency},
                f"{credit_value / leads:.2f}" if leads else "–",
            ),
        ]
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="provider-costs">{}</table>', body)

    @admin.display(description=gettext_lazy("provider calls of this order"))
    def provider_calls(self, obj):
        if obj is None or obj.pk is None:
            return ""
        calls = list(calls_for_order(obj.pk)[:PROVIDER_CALLS_SHOWN])
        if not calls:
            return _("No provider calls were made for this order.")
        head = format_html_join(
            "",
            "<th>{}</th>",
            [
                (_("time"),),
                (_("provider"),),
                (_("operation"),),
                (_("outcome"),),
                (_("HTTP status"),),
                (_("attempt"),),
                (_("records"),),
                (_("cost (US cents)"),),
                (_("error"),),
            ],
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    formats.localize(timezone.localtime(c.created_at)),
                    c.provider,
                    c.get_operation_display(),
                    c.get_outcome_display(),
                    c.http_status or "",
                    c.attempt,
                    c.records_returned,
                    f"{c.estimated_cost:.2f}",
                    c.error_message[:200],
                )
                for c in calls
            ),
        )
        return format_html('<table class="provider-calls"><tr>{}</tr>{}</table>', head, rows)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if term and not term.isdigit():
            # "=id" on a non-number would be a database error; search emails only.
            return queryset.filter(user__email__icontains=term), False
        return super().get_search_results(request, queryset, term)

    @admin.display(description=gettext_lazy("client"), ordering="user__email")
    def client_email(self, obj):
        return obj.user.email

    @admin.display(description=gettext_lazy("QA"))
    def qa_link(self, obj):
        if obj.status not in QA_STATUSES:
            return ""
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_qa", args=[obj.pk]), _("Review"))

    @admin.action(description=gettext_lazy("Cancel the selected orders (releases their holds)"))
    def cancel_orders(self, request, queryset):
        if not request.user.has_perm("orders.add_qadecision"):
            raise PermissionDenied
        done = 0
        for order in queryset:
            try:
                order_cancel(order=order, actor=request.user, reason=_("Cancelled by ops"))
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"#{order.pk}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, _("%(n)s order(s) cancelled.") % {"n": done}, messages.SUCCESS)

    def get_urls(self):
        urls = [
            path("qa-queue/", self.admin_site.admin_view(self.qa_queue_view), name="orders_order_qa_queue"),
            path("<int:pk>/qa/", self.admin_site.admin_view(self.qa_review_view), name="orders_order_qa"),
        ]
        return urls + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "qa_queue_url": reverse("admin:orders_order_qa_queue")}
        return super().changelist_view(request, extra_context=extra_context)

    # --- QA queue and review ---------------------------------------------------------------

    def _check_qa_permission(self, request):
        if not request.user.has_perm("orders.add_qadecision"):
            raise PermissionDenied

    def qa_queue_view(self, request):
        self._check_qa_permission(request)
        context = {
            **self.admin_site.each_context(request),
            "title": _("QA queue"),
            "orders": qa_queue()[:500],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/qa_queue.html", context)

    def qa_review_view(self, request, pk):
        self._check_qa_permission(request)
        order = get_object_or_404(Order.objects.select_related("user", "rules_version"), pk=pk)
        review = qa_review(order=order)
        gate = "list" if order.status == OrderStatus.LIST_QA else "mql"
        pass_form = QAPassForm(initial={"accepted_count": review["default_accepted"]})
        fail_form = QAFailForm()
        if request.method == "POST" and order.status in QA_STATUSES:
            action = request.POST.get("action")
            form = QAPassForm(request.POST) if action == "pass" else QAFailForm(request.POST)
            if action == "pass":
                pass_form = form
            else:
                fail_form = form
            if action in ("pass", "fail") and form.is_valid():
                try:
                    order = order_qa_decide(
                        order=order,
                        gate=gate,
                        decision=action,
                        accepted_count=form.cleaned_data.get("accepted_count") if gate == "list" else None,
                        notes=form.cleaned_data.get("notes", ""),
                        actor=request.user,
                    )
                except ApplicationError as exc:
                    self.message_user(request, exc.message, messages.ERROR)
                else:
                    self.message_user(
                        request,
                        _("Order #%(id)s: %(status)s.") % {"id": order.pk, "status": order.get_status_display()},
                        messages.SUCCESS,
                    )
                    return redirect("admin:orders_order_qa_queue")
        sample_rows = [
            {
                "lead": lead,
                "fields": [(Lead._meta.get_field(name).verbose_name, getattr(lead, name)) for name in LEAD_FIELDS],
            }
            for lead in review["sample"]
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("QA review of order #%(id)s") % {"id": order.pk},
            "order": order,
            "gate": gate,
            "open": order.status in QA_STATUSES,
            "review": review,
            "checks": review["checks"].get("checks", []),
            "summary": review["checks"].get("summary", {}),
            "sample_rows": sample_rows,
            "pass_form": pass_form,
            "fail_form": fail_form,
            "decisions": order.qa_decisions.select_related("actor"),
            "opts": self.model._meta,
            "original": order,
        }
        return TemplateResponse(request, "admin/orders/qa_review.html", context)


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["id", "order_id", "full_name", "company", "email", "email_status", "status", "accepted"]
    list_filter = ["status", "email_status", "accepted", "delivered", "qualified", "qa_sampled", "provider"]
    search_fields = ["=order__id", "email", "full_name", "company", "company_domain"]
    list_select_related = ["order"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Lead._meta.concrete_fields]

    def get_search_results(self, request, queryset, search_term):
        if search_term.strip() and not search_term.strip().isdigit():
            queryset = queryset.filter(email__icontains=search_term.strip()) | queryset.filter(
                full_name__icontains=search_term.strip()
            )
            return queryset, False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = SuppressedAddress
        fields = ["email", "reason", "source"]


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin):
    list_display = ["email", "reason", "source", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email"]
    form = SuppressionForm

    def get_readonly_fields(self, request, obj=None):
        return ["email", "reason", "source", "created_at"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        saved = suppression_add(email=obj.email, reason=obj.reason, source=obj.source or f"admin:{request.user.email}")
        obj.pk = saved.pk

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RulesVersion)
class RulesVersionAdmin(SimpleHistoryAdmin):
    list_display = ["version", "active", "used", "qa_sample_size", "dispute_window_days", "threshold", "created_at"]
    list_filter = ["active", "used"]
    actions = ["create_new_version", "activate"]
    readonly_fields = ["active", "used", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.used:  # used versions are immutable: ops create a new one
            return [f.name for f in RulesVersion._meta.concrete_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.used and not obj.active and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The admin's change view runs in a transaction: the row lock serialises this edit
        # with a placement's first use of the version (orders.services._active_version).
        if change and RulesVersion.objects.select_for_update().filter(pk=obj.pk).values_list("used", flat=True).get():
            raise PermissionDenied  # used meanwhile: refuse rather than edit what an order locked
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Create a new version from the selected one"), permissions=["add"])
    def create_new_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to copy."), messages.ERROR)
            return
        new = rules_version_create_from(source=queryset.get())
        message = _("Created %(version)s (inactive); edit it, then activate it.") % {"version": new}
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Activate the selected version"), permissions=["change"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to activate."), messages.ERROR)
            return
        version = rules_version_activate(version=queryset.get())
        self.message_user(request, _("%(version)s is now active.") % {"version": version}, messages.SUCCESS)
