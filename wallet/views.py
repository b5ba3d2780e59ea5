import csv
import json
import logging
import secrets
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from solosales.core.decorators import portal_view
from solosales.core.errors import ApplicationError
from wallet import selectors, stripe_gateway
from wallet.forms import TopUpForm
from wallet.models import TopUp
from wallet.services import topup_start
from wallet.stripe_events import MAX_BODY_BYTES, WebhookRejected, stripe_event_receive

log = logging.getLogger(__name__)

STATEMENT_PAGE_SIZE = 25


def _index_context(request, form=None):
    summary = selectors.wallet_summary(user=request.user)
    page = Paginator(selectors.statement_for(user=request.user), STATEMENT_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "summary": summary,
        "form": form or TopUpForm(summary=summary),
        "page": page,
        "topups": selectors.topups_for(user=request.user)[:10],
        "holds": selectors.holds_for(user=request.user)[:10],
    }


@portal_view
@require_GET
def index(request):
    return render(request, "wallet/index.html", _index_context(request))


@portal_view
@require_POST
def topup_new(request):
    summary = selectors.wallet_summary(user=request.user)
    form = TopUpForm(request.POST, summary=summary)
    if form.is_valid():
        try:
            topup = topup_start(user=request.user, credits=form.cleaned_data["credits"])
        except ApplicationError as exc:
            form.add_error(None if exc.code != "invalid" else "credits", exc.message)
        else:
            return redirect(topup.checkout_url)
    return render(request, "wallet/index.html", _index_context(request, form=form), status=400)


@portal_view
@require_GET
def topup_detail(request, pk: int):
    topup = selectors.topup_for(user=request.user, pk=pk)
    return render(request, "wallet/topup_detail.html", {"topup": topup})


@portal_view
@require_GET
def topup_success(request, pk: int):
    """Where Stripe sends the client back. Never credits: only the verified webhook does."""
    topup = selectors.topup_for(user=request.user, pk=pk)
    return render(request, "wallet/topup_success.html", {"topup": topup})


@portal_view
@require_GET
def topup_cancel(request, pk: int):
    topup = selectors.topup_for(user=request.user, pk=pk)
    return render(request, "wallet/topup_cancel.html", {"topup": topup})


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """Spreadsheet formula injection: a cell that starts like a formula is made text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value):
        return value


def _reference(t) -> str:
    parts = []
    if t.order_id:
        parts.append(_("order #%(id)s") % {"id": t.order_id})
    if t.topup_id:
        parts.append(_("top-up #%(id)s") % {"id": t.topup_id})
    if t.dispute_id:
        parts.append(_("dispute #%(id)s") % {"id": t.dispute_id})
    return ", ".join(parts)


@portal_view
@require_GET
def statement_csv(request):
    """The whole statement as CSV, streamed (constant memory on long histories)."""
    rows = selectors.statement_for(user=request.user)
    tz = timezone.get_current_timezone()
    language = translation.get_language()
    writer = csv.writer(_Echo())

    def stream():
        # The response is iterated after the view returns: pin the reader's language and zone.
        with translation.override(language):
            yield writer.writerow(
                [
                    _("Date"),
                    _("Kind"),
                    _("Reference"),
                    _("Account"),
                    _("Direction"),
                    _("Credits"),
                    _("Balance after"),
                    _("Note"),
                ]
            )
            for t in rows.iterator(chunk_size=1000):
                yield writer.writerow(
                    [
                        csv_safe(cell)
                        for cell in (
                            timezone.localtime(t.created_at, tz).strftime("%Y-%m-%d %H:%M:%S"),
                            t.get_kind_display(),
                            _reference(t),
                            _("available") if t.account == "available" else _("held"),
                            _("in") if t.direction == "in" else _("out"),
                            t.amount,
                            t.balance_after,
                            t.memo,
                        )
                    ]
                )

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="solosales-statement.csv"'
    return response


# --- local test checkout (no STRIPE_SECRET_KEY) ------------------------------------------


def _test_checkout_topup(request, pk: int) -> TopUp:
    if stripe_gateway.stripe_enabled() or not settings.TEST_CHECKOUT:
        raise Http404  # real Stripe is configured, or no stand-in allowed (production)
    return selectors.topup_for(user=request.user, pk=pk)


def _deliver_local_event(topup: TopUp, event_type: str, session: dict) -> None:
    """Signs the event with the endpoint secret and hands the raw bytes to the same code path
    as /webhooks/stripe/, which verifies the signature like any other delivery."""
    event = {
        "id": f"evt_local_{event_type.rsplit('.', 1)[-1]}_{topup.pk}_{topup.stripe_session_id}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": session},
    }
    body = json.dumps(event, separators=(",", ":")).encode()
    stripe_event_receive(body=body, signature=stripe_gateway.sign_payload(body))


def _local_session(topup: TopUp, **extra) -> dict:
    return {
        "id": topup.stripe_session_id,
        "object": "checkout.session",
        "mode": "payment",
        "client_reference_id": str(topup.pk),
        "metadata": {"topup_id": str(topup.pk), "credits": str(topup.credits), "user_id": str(topup.user_id)},
        "amount_total": topup.amount_minor,
        "currency": topup.currency,
        **extra,
    }


@portal_view
def test_checkout(request, pk: int):
    topup = _test_checkout_topup(request, pk)
    if request.method == "POST":
        action = request.POST.get("action")
        if topup.status != TopUp.Status.PENDING:
            messages.info(request, _("This top-up is no longer waiting for payment."))
            return redirect("wallet:topup_detail", pk=topup.pk)
        if action == "pay":
            _deliver_local_event(
                topup,
                "checkout.session.completed",
                _local_session(
                    topup,
                    status="complete",
                    payment_status="paid",
                    payment_intent=f"pi_local_{topup.pk}_{secrets.token_hex(6)}",
                ),
            )
            success = reverse("wallet:topup_success", args=[topup.pk])
            return redirect(success + "?" + urlencode({"session_id": topup.stripe_session_id}))
        if action == "cancel":
            _deliver_local_event(
                topup, "checkout.session.expired", _local_session(topup, status="expired", payment_status="unpaid")
            )
            return redirect("wallet:topup_cancel", pk=topup.pk)
        return HttpResponseBadRequest(_("Unknown action."))
    return render(request, "wallet/test_checkout.html", {"topup": topup})


# --- Stripe webhook -------------------------------------------------------------------


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """/webhooks/stripe/: verify, store once, answer fast; processing runs in the queue."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > MAX_BODY_BYTES:
            raise WebhookRejected(_("Payload too large."))
        event, created = stripe_event_receive(body=request.body, signature=request.META.get("HTTP_STRIPE_SIGNATURE"))
    except WebhookRejected as exc:
        log.warning("Stripe webhook rejected: %s", exc.message)
        return JsonResponse({"error": {"code": exc.code, "message": str(exc.message), "detail": {}}}, status=400)
    return JsonResponse({"received": True, "id": event.event_id, "duplicate": not created})
