"""Public API v1 for orders (DESIGN.md section 11): quote, place (idempotent), list, detail,
cancel, delivered leads and downloads. Other clients' orders answer 404."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import exports
from orders.models import CLIENT_CANCELLABLE, Order, OrderStatus
from orders.selectors_client import (
    DOWNLOADABLE_STATUSES,
    delivered_leads,
    orders_for_client_with_timeline,
)
from orders.serializers import (
    OrderBodySerializer,
    OrderErrorSerializer,
    OrderLeadSerializer,
    OrderQuoteSerializer,
    OrderSerializer,
)
from orders.services import order_cancel, order_place_result, order_quote
from solosales.core.errors import IllegalTransition, NotFound, ValidationFailed

TAG = ["orders"]
_ERRORS = {
    401: OpenApiResponse(OrderErrorSerializer, description="Not signed in (no or a revoked token)."),
    404: OpenApiResponse(OrderErrorSerializer, description="No such order (or not yours)."),
}
_INVALID = {400: OpenApiResponse(OrderErrorSerializer, description="Invalid body; `detail.fields` says why.")}
_STATE = {409: OpenApiResponse(OrderErrorSerializer, description="The order's state forbids this.")}
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Any unique string up to 200 characters; replaying it returns the first order.",
)


def _order_or_404(request, pk) -> Order:
    order = orders_for_client_with_timeline(user=request.user).filter(pk=pk).first()
    if order is None:
        raise NotFound(_("No such order."))
    return order


class OrderQuoteView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        tags=TAG,
        summary="Price an order body without placing it",
        request=OrderBodySerializer,
        responses={200: OrderQuoteSerializer, **_INVALID, 401: _ERRORS[401]},
    )
    def post(self, request):
        quote = order_quote(user=request.user, data=request.data)
        return Response(OrderQuoteSerializer(quote).data)


class OrderListCreateView(GenericAPIView):
    serializer_class = OrderSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        return orders_for_client_with_timeline(user=self.request.user, status=self.request.query_params.get("status"))

    @extend_schema(
        tags=TAG,
        summary="Your orders, newest first",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=OrderStatus.values, required=False)],
        responses={200: OrderSerializer(many=True), **_INVALID, 401: _ERRORS[401]},
    )
    def get(self, request):
        status = request.query_params.get("status")
        if status and status not in OrderStatus.values:
            raise ValidationFailed(
                _("Unknown status."),
                extra={
                    "fields": {"status": [_("Choose one of: %(values)s.") % {"values": ", ".join(OrderStatus.values)}]}
                },
            )
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Place an order (holds target × unit price credits)",
        parameters=[IDEMPOTENCY_HEADER],
        request=OrderBodySerializer,
        responses={
            201: OpenApiResponse(OrderSerializer, description="Placed."),
            200: OpenApiResponse(OrderSerializer, description="Replay of an earlier Idempotency-Key: that order."),
            **_INVALID,
            401: _ERRORS[401],
            409: OpenApiResponse(OrderErrorSerializer, description="Idempotency-Key reused with another body."),
        },
    )
    def post(self, request):
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key or len(key) > 200:
            raise ValidationFailed(
                _("Send an Idempotency-Key header (1 to 200 characters) so a retry cannot place a second order."),
                extra={"fields": {"Idempotency-Key": [_("Required, at most 200 characters.")]}},
            )
        order, created = order_place_result(user=request.user, data=request.data, idempotency_key=key)
        if not created:
            # A replay: the first order as it is now.
            return Response(OrderSerializer(_order_or_404(request, order.pk)).data, status=http.HTTP_200_OK)
        # A new order comes back with its versions, hold and timeline loaded: no re-read.
        return Response(OrderSerializer(order).data, status=http.HTTP_201_CREATED)


class OrderDetailView(APIView):
    @extend_schema(tags=TAG, summary="One of your orders", responses={200: OrderSerializer, **_ERRORS})
    def get(self, request, pk: int):
        return Response(OrderSerializer(_order_or_404(request, pk)).data)


class OrderCancelView(APIView):
    @extend_schema(
        tags=TAG,
        summary="Cancel an order (while queued, building or paused); the hold is released",
        request=None,
        responses={200: OrderSerializer, **_ERRORS, **_STATE},
    )
    def post(self, request, pk: int):
        order = _order_or_404(request, pk)
        if order.status not in CLIENT_CANCELLABLE:
            raise IllegalTransition(
                _("An order in “%(status)s” cannot be cancelled.") % {"status": order.get_status_display()},
                extra={"status": order.status},
            )
        order_cancel(order=order, actor=request.user, reason=_("Cancelled by the client (API)"))
        return Response(OrderSerializer(_order_or_404(request, pk)).data)


class OrderLeadsView(GenericAPIView):
    serializer_class = OrderLeadSerializer

    def get_queryset(self):
        return delivered_leads(order=self.order)

    @extend_schema(
        tags=TAG,
        summary="The delivered leads of an order",
        responses={200: OrderLeadSerializer(many=True), **_ERRORS},
    )
    def get(self, request, pk: int):
        self.order = _order_or_404(request, pk)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(OrderLeadSerializer(page, many=True).data)


class _IgnoreFormatParam(BaseContentNegotiation):
    """``?format=`` here names the file format, not a DRF renderer: errors stay JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OrderDownloadView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _IgnoreFormatParam

    @extend_schema(
        tags=TAG,
        summary="Download the delivered leads as CSV or XLSX",
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=list(exports.FORMATS), default="csv")],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV file (attachment)."),
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                OpenApiTypes.BINARY, description="XLSX file (attachment)."
            ),
            (400, "application/json"): OpenApiResponse(OrderErrorSerializer, description="Unknown format."),
            (401, "application/json"): _ERRORS[401],
            (404, "application/json"): _ERRORS[404],
            (409, "application/json"): OpenApiResponse(OrderErrorSerializer, description="Not delivered yet."),
        },
    )
    def get(self, request, pk: int):
        order = _order_or_404(request, pk)
        fmt = request.query_params.get("format") or "csv"
        if fmt not in exports.FORMATS:
            raise ValidationFailed(_("Unknown format."), extra={"fields": {"format": [_("Choose csv or xlsx.")]}})
        if order.status not in DOWNLOADABLE_STATUSES:
            raise IllegalTransition(
                _("The leads can be downloaded once the order is delivered (it is “%(status)s”).")
                % {"status": order.get_status_display()},
                extra={"status": order.status},
            )
        return exports.order_leads_response(order=order, user=request.user, fmt=fmt, via_api=True)
