"""Arbitration in admin (group ops_arbitration): disputes with filters and search, a chain
indicator, and an arbitration page that shows each disputed lead beside its evidence and
the audit trail, with a decision per lead, mandatory notes and the second-approver step.
Evidence and log rows are read-only everywhere."""

import json

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from disputes.chain import verify_chain
from disputes.models import ArbitrationLog, Decision, Dispute, DisputeItem, DisputeStatus, EvidenceItem, EvidenceKind
from disputes.selectors import is_arbitrator
from disputes.services import (
    dispute_add_evidence,
    dispute_approve,
    dispute_decide,
    dispute_return,
    dispute_start_review,
    lead_snapshot,
)
from solosales.core.errors import ApplicationError


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DisputeItemInline(ReadOnlyMixin, admin.TabularInline):
    model = DisputeItem
    extra = 0
    fields = ["lead", "reason", "note", "decision", "decision_notes", "active"]
    readonly_fields = fields
    show_change_link = False


def _chain_badge(dispute) -> str:
    # The list checks hashes and links only; the change page also re-hashes stored files.
    ok, bad_seq, message = verify_chain(dispute, check_files=False)
    if ok:
        return format_html('<span style="color:#065f46" title="{}">✓</span>', message)
    return format_html('<strong style="color:#991b1b" title="{}">✗ {}</strong>', message, bad_seq or "")


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ["id", "order", "user", "status", "awaiting_approval", "refund_credits", "chain", "created_at"]
    list_filter = ["status", "awaiting_approval", "created_at", "order__type"]
    search_fields = ["=id", "=order__id", "user__email", "statement"]
    list_select_related = ["order", "user"]
    list_per_page = 50
    date_hierarchy = "created_at"
    inlines = [DisputeItemInline]
    change_form_template = "admin/disputes/dispute/change_form.html"
    readonly_fields = [
        "arbitrate_link",
        "chain_status",
        "order",
        "user",
        "status",
        "statement",
        "window_ends_at",
        "refund_credits",
        "refund_transfer_id",
        "refunded_at",
        "decision_notes",
        "decided_by",
        "awaiting_approval",
        "approved_by",
        "approved_at",
        "decided_at",
        "notified_at",
        "evidence_count",
        "evidence_head",
        "created_at",
    ]
    fields = readonly_fields

    @admin.display(description=gettext_lazy("chain"))
    def chain(self, obj):
        return _chain_badge(obj)

    @admin.display(description=gettext_lazy("evidence chain"))
    def chain_status(self, obj):
        ok, bad_seq, message = verify_chain(obj)
        mark = "✓" if ok else "✗"
        color = "#065f46" if ok else "#991b1b"
        return format_html('<strong style="color:{}">{} {}</strong>', color, mark, message)

    @admin.display(description=gettext_lazy("arbitration"))
    def arbitrate_link(self, obj):
        url = reverse("admin:disputes_dispute_arbitrate", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Open the arbitration page"))

    def get_urls(self):
        custom = [
            path(
                "<int:pk>/arbitrate/",
                self.admin_site.admin_view(self.arbitrate_view),
                name="disputes_dispute_arbitrate",
            )
        ]
        return custom + super().get_urls()

    # --- the arbitration page ---------------------------------------------------
    def arbitrate_view(self, request, pk: int):
        if not is_arbitrator(request.user):
            raise PermissionDenied
        dispute = Dispute.objects.select_related("order", "order__rules_version", "user").filter(pk=pk).first()
        if dispute is None:
            raise Http404
        if request.method == "POST":
            return self._arbitrate_post(request, dispute)
        return TemplateResponse(
            request, "admin/disputes/dispute/arbitrate.html", self._arbitrate_context(request, dispute)
        )

    def _arbitrate_post(self, request, dispute):
        action = request.POST.get("action")
        here = reverse("admin:disputes_dispute_arbitrate", args=[dispute.pk])
        try:
            if action == "start_review":
                dispute_start_review(dispute=dispute, actor=request.user)
                messages.success(request, _("Review started."))
            elif action == "decide":
                lead_ids = list(dispute.items.values_list("lead_id", flat=True))
                decisions = {i: request.POST.get(f"decision_{i}", "") for i in lead_ids}
                item_notes = {i: request.POST.get(f"note_{i}", "") for i in lead_ids}
                if any(v not in (Decision.ACCEPTED, Decision.REJECTED) for v in decisions.values()):
                    raise ApplicationError(_("Choose accept or reject for every lead."))
                decided = dispute_decide(
                    dispute=dispute,
                    actor=request.user,
                    decisions=decisions,
                    item_notes=item_notes,
                    notes=request.POST.get("notes", ""),
                )
                if decided.awaiting_approval:
                    messages.warning(
                        request,
                        _("Decision recorded. The refund of %(n)s credits needs a second approver.")
                        % {"n": decided.refund_credits},
                    )
                else:
                    messages.success(
                        request, _("Dispute decided: %(status)s.") % {"status": decided.get_status_display()}
                    )
            elif action == "approve":
                dispute_approve(dispute=dispute, actor=request.user)
                messages.success(request, _("Decision approved and refunded."))
            elif action == "return":
                dispute_return(dispute=dispute, actor=request.user, notes=request.POST.get("return_notes", ""))
                messages.success(request, _("The proposed decision was returned."))
            elif action == "note":
                dispute_add_evidence(
                    dispute=dispute,
                    user=request.user,
                    text=request.POST.get("note_text", ""),
                    file=request.FILES.get("note_file"),
                )
                messages.success(request, _("Ops note added to the evidence."))
            else:
                messages.error(request, _("Unknown action."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
            context = self._arbitrate_context(request, Dispute.objects.get(pk=dispute.pk))
            context["posted"] = request.POST
            return TemplateResponse(request, "admin/disputes/dispute/arbitrate.html", context, status=400)
        return HttpResponseRedirect(here)

    def _arbitrate_context(self, request, dispute):
        items = list(dispute.items.select_related("lead").order_by("id"))
        evidence = list(EvidenceItem.objects.filter(dispute=dispute).select_related("submitted_by").order_by("seq"))
        live, _refs = lead_snapshot(order=dispute.order, leads=[i.lead for i in items])
        live_by_lead = {entry["id"]: entry for entry in live["leads"]}
        opening = next((e for e in evidence if e.kind == EvidenceKind.SYSTEM_SNAPSHOT), None)
        opening_by_lead = {entry["id"]: entry for entry in (opening.snapshot.get("leads", []) if opening else [])}

        def pretty(value):
            return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder)

        rows = []
        for item in items:
            lead_id = item.lead_id
            related = [
                e
                for e in evidence
                if e.kind != EvidenceKind.SYSTEM_SNAPSHOT
                and (not e.references.get("leads") or lead_id in e.references.get("leads", []))
            ]
            entry = live_by_lead.get(lead_id, {})
            rows.append(
                {
                    "item": item,
                    "fields": entry.get("fields", {}),
                    "raw": pretty(entry.get("raw", {})),
                    "score": entry.get("score"),
                    "qualified": entry.get("qualified"),
                    "score_breakdown": pretty(entry.get("score_breakdown")) if "score_breakdown" in entry else "",
                    "email_events": entry.get("email_events"),
                    "opening": pretty(opening_by_lead.get(lead_id, {})),
                    "evidence": related,
                }
            )
        ok, bad_seq, message = verify_chain(dispute)
        from orders.models import OrderTransition

        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Arbitrate dispute #%(id)s") % {"id": dispute.pk},
            "dispute": dispute,
            "rows": rows,
            "evidence": evidence,
            "qa_decisions": live["qa_decisions"],
            "provider_calls": live["provider_calls"][:100],
            "log": dispute.log.select_related("actor").order_by("created_at", "id"),
            "history": dispute.history.select_related("history_user").order_by("-history_date")[:50],
            "order_timeline": OrderTransition.objects.filter(order=dispute.order).select_related("actor"),
            "chain_ok": ok,
            "chain_bad_seq": bad_seq,
            "chain_message": message,
            "can_decide": dispute.status in (DisputeStatus.OPEN, DisputeStatus.UNDER_REVIEW)
            and not dispute.awaiting_approval,
            "can_approve": dispute.awaiting_approval and dispute.decided_by_id != request.user.pk,
            "decisions": [(Decision.ACCEPTED, _("Accept")), (Decision.REJECTED, _("Reject"))],
            "threshold": settings.DISPUTE_SECOND_APPROVER_ABOVE,
        }


@admin.register(EvidenceItem)
class EvidenceItemAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["dispute", "seq", "kind", "submitted_by", "file_name", "short_hash", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=dispute__id", "item_hash", "file_sha256"]
    list_select_related = ["submitted_by"]
    readonly_fields = [
        "dispute",
        "seq",
        "kind",
        "submitted_by",
        "created_at",
        "text",
        "references",
        "snapshot",
        "file_name",
        "file_sha256",
        "file_size",
        "file_content_type",
        "prev_hash",
        "item_hash",
        "file_link",
    ]
    fields = readonly_fields

    @admin.display(description=gettext_lazy("hash"))
    def short_hash(self, obj):
        return obj.item_hash[:12] + "…"

    @admin.display(description=gettext_lazy("download"))
    def file_link(self, obj):
        if not obj.file_path:
            return "—"
        url = reverse("disputes:evidence_file", args=[obj.dispute_id, obj.seq])
        return format_html('<a href="{}">{}</a>', url, obj.file_name)


@admin.register(ArbitrationLog)
class ArbitrationLogAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "dispute", "action", "actor", "from_status", "to_status"]
    list_filter = ["action"]
    search_fields = ["=dispute__id", "actor__email", "notes"]
    list_select_related = ["actor"]
    readonly_fields = ["dispute", "action", "actor", "from_status", "to_status", "notes", "data", "created_at"]
    fields = readonly_fields
