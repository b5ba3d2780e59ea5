"""Client pages for disputes: list, open a dispute on an order, detail (with evidence,
chain status and the add-evidence form), withdraw, and evidence file downloads. Every
dispute is fetched through ``_get_dispute_for_user``: anyone but the owner gets 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from disputes import files as evidence_files
from disputes.chain import verify_chain
from disputes.downloads import evidence_file_response
from disputes.forms import EvidenceForm
from disputes.models import Dispute, EvidenceItem, ReasonCode
from disputes.selectors import (
    disputable_leads,
    dispute_for,
    dispute_for_viewer,
    dispute_window_ends_at,
    disputes_for,
)
from disputes.services import (
    allowed_reasons,
    dispute_add_evidence,
    dispute_open,
    dispute_open_check,
    dispute_withdraw,
)
from solosales.core.decorators import portal_view
from solosales.core.errors import ApplicationError

LIST_PAGE_SIZE = 20
LEADS_PAGE_SIZE = 50


def _get_dispute_for_user(request: HttpRequest, pk: int) -> Dispute:
    dispute = dispute_for(user=request.user, pk=pk)
    if dispute is None:
        raise Http404
    return dispute


def _get_order_for_user(request: HttpRequest, order_id: int):
    from orders.models import Order  # disputes sits above orders

    order = Order.objects.select_related("rules_version").filter(pk=order_id, user=request.user).first()
    if order is None:
        raise Http404
    return order


@portal_view
@require_GET
def dispute_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(disputes_for(user=request.user), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "disputes/list.html", {"page": page})


@portal_view
@require_http_methods(["GET", "POST"])
def dispute_new(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _get_order_for_user(request, order_id)
    closed_reason = None
    try:
        dispute_open_check(user=request.user, order=order)
    except ApplicationError as exc:
        closed_reason = exc.message
    q = (request.GET.get("q") or "").strip()
    page = Paginator(disputable_leads(order=order, q=q), LEADS_PAGE_SIZE).get_page(request.GET.get("page"))
    errors: list[str] = []
    selected: dict[int, dict] = {}
    statement = ""
    if request.method == "POST" and closed_reason is None:
        statement = request.POST.get("statement", "")
        for raw in request.POST.getlist("lead"):
            try:
                lead_id = int(raw)
            except ValueError:
                continue
            selected[lead_id] = {
                "lead": lead_id,
                "reason": request.POST.get(f"reason_{lead_id}", ""),
                "note": request.POST.get(f"note_{lead_id}", ""),
            }
        try:
            dispute = dispute_open(
                user=request.user,
                order=order,
                items=list(selected.values()),
                statement=statement,
                files=request.FILES.getlist("files"),
            )
        except ApplicationError as exc:
            errors.append(str(exc.message))
        else:
            messages.success(request, _("Dispute #%(id)s opened. We will review it shortly.") % {"id": dispute.pk})
            return redirect("disputes:detail", pk=dispute.pk)
    rows = [
        {
            "lead": lead,
            "checked": lead.pk in selected,
            "reason": selected.get(lead.pk, {}).get("reason", ""),
            "note": selected.get(lead.pk, {}).get("note", ""),
        }
        for lead in page
    ]
    return render(
        request,
        "disputes/new.html",
        {
            "order": order,
            "deadline": dispute_window_ends_at(order),
            "closed_reason": closed_reason,
            "page": page,
            "rows": rows,
            "q": q,
            "query": urlencode({"q": q}) if q else "",
            "reasons": allowed_reasons(order),
            "other": ReasonCode.OTHER,
            "statement": statement,
            "errors": errors,
            "max_files": evidence_files.MAX_FILES_PER_SUBMISSION,
        },
        status=400 if errors else 200,
    )


def _detail_context(request, dispute: Dispute, form: EvidenceForm) -> dict:
    ok, bad_seq, message = verify_chain(dispute)
    return {
        "dispute": dispute,
        "items": dispute.items.select_related("lead").order_by("id"),
        "evidence": EvidenceItem.objects.filter(dispute=dispute).select_related("submitted_by").order_by("seq"),
        "chain_ok": ok,
        "chain_bad_seq": bad_seq,
        "chain_message": message,
        "form": form,
        "now": timezone.now(),
    }


@portal_view
@require_GET
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _get_dispute_for_user(request, pk)
    return render(request, "disputes/detail.html", _detail_context(request, dispute, EvidenceForm()))


@portal_view
@require_POST
def dispute_evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _get_dispute_for_user(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            item = dispute_add_evidence(
                dispute=dispute, user=request.user, text=form.cleaned_data["text"], file=form.cleaned_data["file"]
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Evidence #%(seq)s added.") % {"seq": item.seq})
            return redirect("disputes:detail", pk=dispute.pk)
    return render(request, "disputes/detail.html", _detail_context(request, dispute, form), status=400)


@portal_view
@require_POST
def dispute_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _get_dispute_for_user(request, pk)
    try:
        dispute_withdraw(dispute=dispute, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Dispute withdrawn."))
    return redirect("disputes:detail", pk=dispute.pk)


@login_required
@require_GET
def evidence_file(request: HttpRequest, pk: int, seq: int) -> HttpResponse:
    """The stored file of one evidence item, as an attachment, to the owner or an arbitrator."""
    dispute = dispute_for_viewer(user=request.user, pk=pk)
    if dispute is None:
        raise Http404
    return evidence_file_response(dispute=dispute, seq=seq)
