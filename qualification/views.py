"""Client report pages, the SendCloud webhook and the public tracked-link pages."""

from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from orders.exports import csv_response
from qualification import links, reporting, services
from qualification.models import EmailMessage
from solosales.core.decorators import portal_view

PRINT_LIMIT = 5000


def _order_or_404(request, order_id: int):
    order = reporting.report_order_for(user=request.user, pk=order_id)
    if order is None:
        raise Http404
    return order


def _context(order, leads, **extra):
    return {
        "order": order,
        "summary": reporting.summary(order),
        "chart": reporting.distribution(order),
        "rows": reporting.lead_rows(leads),
        **extra,
    }


@portal_view
@require_GET
def report(request, order_id: int):
    """The owner's qualification report (404 for anyone else and for list orders)."""
    order = _order_or_404(request, order_id)
    page = Paginator(reporting.report_leads(order), 50).get_page(request.GET.get("page"))
    return render(request, "qualification/report.html", _context(order, page.object_list, page=page))


@portal_view
@require_GET
def report_print(request, order_id: int):
    order = _order_or_404(request, order_id)
    leads = reporting.report_leads(order)[:PRINT_LIMIT]
    total = reporting.report_leads(order).count()
    return render(
        request,
        "qualification/report_print.html",
        _context(order, leads, total=total, truncated=total > PRINT_LIMIT, limit=PRINT_LIMIT),
    )


@portal_view
@require_GET
def report_csv(request, order_id: int):
    order = _order_or_404(request, order_id)
    return csv_response(
        filename=f"solosales-order-{order.pk}-qualification.csv",
        header=reporting.CSV_HEADER,
        rows=reporting.csv_rows(order),
    )


# --- SendCloud webhook ---------------------------------------------------------------------


@csrf_exempt
@require_POST
def sendcloud_webhook(request):
    """SendCloud event webhook. Signed with HMAC-SHA256(APP_KEY, timestamp + token).

    Answers: 200 stored and queued (or a re-delivery of a stored event); 403 bad signature
    or reused token; 400 stale timestamp or malformed body; 413 body too large (not stored).
    Refused deliveries are stored with their outcome for ops, never processed. SendCloud
    retries non-200 answers, and a retry of a refused body gets the same answer.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > services.MAX_WEBHOOK_BODY:
        return JsonResponse({"status": "too_large"}, status=413)
    body = request.body
    if len(body) > services.MAX_WEBHOOK_BODY:
        return JsonResponse({"status": "too_large"}, status=413)
    answer = services.webhook_receive(raw_body=body, content_type=request.content_type or "")
    return JsonResponse({"status": answer.outcome}, status=answer.status)


# --- public tracked links (no login; a signed token names the email) -------------------------


def _link_view(request, token: str, *, kind: str, confirm_template: str, done_template: str):
    message_id = links.read_token(token)
    message = EmailMessage.objects.filter(message_id=message_id).first() if message_id else None
    if message is None:
        raise Http404
    with translation.override(message.language):
        if request.method == "POST":
            services.portal_link_used(message_id=message.message_id, kind=kind)
            return render(request, done_template, {"message": message, "lang": message.language})
        if request.method in ("GET", "HEAD"):
            # A page with a button, not an action on GET: mail scanners prefetch links.
            return render(request, confirm_template, {"message": message, "lang": message.language})
    return HttpResponseNotAllowed(["GET", "POST"])


@csrf_exempt  # the signed token is the credential; one-click unsubscribe posts without a form
def interested(request, token: str):
    return _link_view(
        request,
        token,
        kind="interest_confirmed",
        confirm_template="qualification/public/interested_confirm.html",
        done_template="qualification/public/interested_done.html",
    )


@csrf_exempt
def unsubscribe(request, token: str):
    return _link_view(
        request,
        token,
        kind="unsubscribe",
        confirm_template="qualification/public/unsubscribe_confirm.html",
        done_template="qualification/public/unsubscribe_done.html",
    )
