"""Client pages for orders: list, new order (with quote), detail with live progress,
cancel, and the lead downloads. Every order is fetched through ``_get_order_for_user``,
so anyone but the owner gets 404 and never learns the order exists."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orders import exports
from orders.criteria import criteria_display
from orders.forms import OrderForm
from orders.models import CLIENT_CANCELLABLE, Order, OrderStatus, OrderType
from orders.selectors_client import (
    DOWNLOADABLE_STATUSES,
    LIVE_STATUSES,
    delivered_leads,
    order_for_client,
    order_money,
    order_percent,
    order_timeline,
    orders_for_client,
)
from orders.services import order_cancel, order_place, order_quote
from orders.templatetags.order_ui import order_status
from solosales.core.decorators import portal_view
from solosales.core.errors import ApplicationError, IdempotencyConflict, InsufficientCredits, ValidationFailed
from wallet.services import pricing_active

LIST_PAGE_SIZE = 25
PREVIEW_PAGE_SIZE = 25


def _get_order_for_user(request: HttpRequest, pk: int) -> Order:
    order = order_for_client(user=request.user, pk=pk)
    if order is None:
        raise Http404
    return order


@portal_view
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    order_type = request.GET.get("type") or ""
    orders = orders_for_client(user=request.user, status=status, type=order_type)
    page = Paginator(orders, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {k: v for k, v in (("status", status), ("type", order_type)) if v}
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v in OrderStatus.values + OrderType.values)
    has_any = bool(filters) or bool(page.object_list)
    return render(
        request,
        "orders/list.html",
        {
            "page": page,
            "query": query,
            "status": status,
            "type": order_type,
            "statuses": OrderStatus.choices,
            "types": OrderType.choices,
            "has_any": has_any,
        },
    )


def _quote_or_none(*, user, data: dict) -> dict | None:
    try:
        return order_quote(user=user, data=data)
    except ApplicationError:
        return None


@portal_view
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    try:
        pricing = pricing_active()
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("orders:list")
    form = OrderForm(request.POST or None, pricing=pricing)
    quote = None
    shortfall = None
    if request.method == "POST" and form.is_valid():
        data = form.order_data()
        if request.POST.get("action") == "quote":
            # Without JavaScript, "Update quote" shows the server's quote and places nothing.
            try:
                quote = order_quote(user=request.user, data=data)
            except ValidationFailed as exc:
                form.add_service_errors(exc.extra.get("fields") or {None: [exc.message]})
        else:
            try:
                order = order_place(user=request.user, data=data, idempotency_key=form.cleaned_data["idempotency_key"])
            except ValidationFailed as exc:
                form.add_service_errors(exc.extra.get("fields") or {None: [exc.message]})
            except InsufficientCredits as exc:
                shortfall = exc.extra.get("shortfall")
                quote = _quote_or_none(user=request.user, data=data)
            except IdempotencyConflict:
                form.add_error(
                    None, _("This form was already submitted with other values. Please check and submit again.")
                )
            except ApplicationError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("Order #%(id)s placed. We are building your list.") % {"id": order.pk})
                return redirect("orders:detail", pk=order.pk)
        # A failed or previewed submit gets a fresh key, so the next submit is a new attempt.
        form.renew_key()
    elif request.method == "GET":
        initial = {"type": form.fields["type"].initial, "target_count": form.fields["target_count"].initial}
        quote = _quote_or_none(user=request.user, data={**initial, "criteria": {}})
    return render(
        request,
        "orders/new.html",
        {"form": form, "quote": quote, "shortfall": shortfall, "pricing": pricing},
    )


@portal_view
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order_for_user(request, pk)
    downloadable = order.status in DOWNLOADABLE_STATUSES
    leads_page = None
    if downloadable:
        leads_page = Paginator(delivered_leads(order=order), PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "timeline": order_timeline(order=order),
            "money": order_money(order),
            "percent": order_percent(order),
            "live": order.status in LIVE_STATUSES,
            "cancellable": order.status in CLIENT_CANCELLABLE,
            "downloadable": downloadable,
            "leads_page": leads_page,
            "criteria": criteria_display(order.criteria or {}),
            "is_mql": order.type == OrderType.MQL,
        },
    )


@never_cache
@portal_view
@require_GET
def order_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """For the detail page's data-poll-url: counters, the status badge and the timeline while
    the list builds, so the page updates in place. ``?status=`` is the status the page was
    rendered with; only when the order has become downloadable (new sections to show) does
    ``reload`` ask the page to refresh."""
    order = _get_order_for_user(request, pk)
    shown = request.GET.get("status") or order.status
    live = order.status in LIVE_STATUSES
    percent = order_percent(order)
    html = {
        "badge": render_to_string("orders/_status.html", order_status(order)),
        "timeline": render_to_string("orders/_timeline.html", {"timeline": order_timeline(order=order)}),
    }
    return JsonResponse(
        {
            "status": order.status,
            "fields": {
                "status": str(order.get_status_display()),
                "found": str(order.found_count),
                "target": str(order.target_count),
                "percent": f"{percent}%",
            },
            "percent": percent,
            "html": html,
            "active": live,
            "reload": order.status != shown and order.status in DOWNLOADABLE_STATUSES,
        }
    )


@portal_view
@require_POST
def order_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order_for_user(request, pk)
    if order.status not in CLIENT_CANCELLABLE:
        messages.error(request, _("This order can no longer be cancelled."))
        return redirect("orders:detail", pk=order.pk)
    try:
        order_cancel(order=order, actor=request.user, reason=_("Cancelled by the client"))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Order #%(id)s cancelled; the held credits are back in your wallet.") % {"id": order.pk}
        )
    return redirect("orders:detail", pk=order.pk)


@portal_view
@require_GET
def order_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    order = _get_order_for_user(request, pk)
    if fmt not in exports.FORMATS:
        raise Http404
    if order.status not in DOWNLOADABLE_STATUSES:
        return render(request, "orders/not_downloadable.html", {"order": order}, status=409)
    return exports.order_leads_response(order=order, user=request.user, fmt=fmt, via_api=False)
