"""Admin: QA#2 review (ops_qa) and read-only views of nurture emails and email events."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orders.admin import LeadAdmin as OrdersLeadAdmin
from orders.models import Lead, OrderStatus, OrderType, QADecision
from qualification import reporting, services
from qualification.models import EmailEvent, EmailMessage, MQLReview
from solosales.core.admin import order_link_column
from solosales.core.errors import ApplicationError

REVIEW_LIMIT = 100


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EmailMessage)
class EmailMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "order_link",
        "step",
        "to_email",
        "language",
        "status",
        "attempts",
        "scheduled_for",
        "sent_at",
    )
    order_link = order_link_column()
    list_filter = ("status", "step", "language")
    search_fields = ("to_email", "=message_id", "=sendcloud_email_id", "=order__id")
    date_hierarchy = "scheduled_for"
    list_select_related = False
    raw_id_fields = ("order", "lead")


@admin.register(EmailEvent)
class EmailEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "received_at",
        "source",
        "event_raw",
        "event",
        "outcome",
        "email_id",
        "order_link",
        "repeat_count",
    )
    order_link = order_link_column()
    list_filter = ("outcome", "source", "event")
    search_fields = ("email_id", "=order_id", "=token", "=unique_key")
    date_hierarchy = "received_at"
    raw_id_fields = ("message", "lead")


class QA2DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=QADecision.Decision.choices, widget=forms.RadioSelect)
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to fail the order."),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == QADecision.Decision.FAIL and not (data.get("notes") or "").strip():
            self.add_error("notes", _("Say why the order fails QA#2."))
        return data


@admin.register(MQLReview)
class MQLReviewAdmin(admin.ModelAdmin):
    """QA#2: MQL orders whose nurture window ended, waiting for a decision."""

    list_display = ("id", "user", "accepted_count", "qualified_count", "unit_price", "nurture_ends_at")
    list_filter = ("nurture_ends_at", "rules_version")
    search_fields = ("=id", "user__email")
    ordering = ("status_changed_at", "id")

    def get_queryset(self, request):
        return (
            super().get_queryset(request).filter(type=OrderType.MQL, status=OrderStatus.MQL_QA).select_related("user")
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        order = self.get_object(request, object_id)
        if order is None:
            self.message_user(request, gettext("This order is not waiting for QA#2."), messages.WARNING)
            return HttpResponseRedirect(reverse("admin:qualification_mqlreview_changelist"))
        can_decide = self.has_change_permission(request, order)
        form = QA2DecisionForm(request.POST or None) if can_decide else None
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied
            if form.is_valid():
                try:
                    result = services.qa2_decide(
                        order=order,
                        decision=form.cleaned_data["decision"],
                        actor=request.user,
                        notes=form.cleaned_data["notes"],
                    )
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(
                        request,
                        gettext("Order #%(id)s: %(status)s. Charged %(charged)s credits, released %(released)s.")
                        % {
                            "id": result.pk,
                            "status": result.get_status_display(),
                            "charged": result.charged_credits,
                            "released": result.released_credits,
                        },
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:qualification_mqlreview_changelist"))
        leads = Lead.objects.filter(order=order, accepted=True)
        qualified = leads.filter(qualified=True).order_by("-score", "id")
        unqualified = leads.exclude(qualified=True).order_by("-score", "id")
        held = order.hold.amount if order.hold_id else 0
        capture = qualified.count() * order.unit_price
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("QA#2 — order #%(id)s") % {"id": order.pk},
            "order": order,
            "form": form,
            "summary": reporting.summary(order),
            "chart": reporting.distribution(order),
            "qualified_rows": reporting.lead_rows(qualified[:REVIEW_LIMIT], reveal=True),
            "unqualified_rows": reporting.lead_rows(unqualified[:REVIEW_LIMIT], reveal=True),
            "qualified_total": qualified.count(),
            "unqualified_total": unqualified.count(),
            "limit": REVIEW_LIMIT,
            "held": held,
            "capture": capture,
            "release": max(0, held - capture),
            "has_view_permission": True,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/qualification/mqlreview/review.html", context)


class LeadScoreAdmin(OrdersLeadAdmin):
    """The orders app's lead admin with the lead's score explained: the stored score inputs
    expanded with the order's rules version into rows, reasons and the lead's events, as in
    the QA#2 review (scoring lives in this app, above orders)."""

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "score_explained"]

    @admin.display(description=_("score explained"))
    def score_explained(self, lead: Lead):
        if not lead.score_breakdown:
            return gettext("Not scored yet.")
        rows = reporting.lead_rows([lead], reveal=True)
        return render_to_string("admin/qualification/mqlreview/_rows.html", {"rows": rows})


admin.site.unregister(Lead)
admin.site.register(Lead, LeadScoreAdmin)
