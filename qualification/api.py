"""API v1: ``GET /api/v1/orders/{id}/report/`` — the qualification report of one of the
caller's MQL orders, one lead per item (paginated). Other clients' orders answer 404."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from qualification import reporting
from solosales.core.errors import NotFound


class BreakdownRowSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="Event name in the scoring vocabulary, e.g. `clicked`.")
    count = serializers.IntegerField(help_text="Accepted events of this kind in the nurture window.")
    counted = serializers.IntegerField(help_text="Events that counted, after the per-event cap.")
    weight = serializers.IntegerField()
    points = serializers.IntegerField(help_text="counted × weight")
    cap = serializers.IntegerField(allow_null=True, help_text="Per-event cap; null = no cap.")


class ReportEventSerializer(serializers.Serializer):
    event = serializers.CharField(help_text="delivered, opened, clicked, unsubscribed, complained, …")
    occurred_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField()
    outcome = serializers.CharField(help_text="accepted (scored), duplicate, after_window or recorded.")
    counted = serializers.BooleanField(help_text="Whether the event entered the score.")
    step = serializers.CharField(help_text="The nurture step of the email it belongs to.")


class ReportLeadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField(allow_null=True, help_text="Shown for delivered leads only.")
    company = serializers.CharField(allow_null=True, help_text="Shown for delivered leads only.")
    email = serializers.CharField(allow_null=True, help_text="Shown for delivered leads only.")
    title = serializers.CharField()
    country = serializers.CharField()
    score = serializers.IntegerField()
    qualified = serializers.BooleanField(allow_null=True, help_text="null until the nurture window ends.")
    delivered = serializers.BooleanField()
    breakdown = BreakdownRowSerializer(many=True)
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="`qualified`, or why not: below_threshold, no_high_intent, unsubscribed, complained, "
        "bounced_hard, suppressed.",
    )
    events = ReportEventSerializer(many=True)


class ReportView(GenericAPIView):
    serializer_class = ReportLeadSerializer

    @extend_schema(
        tags=["orders"],
        summary="Qualification report of an MQL order",
        description="Per lead: score, qualified, the per-rule breakdown and the events timeline.",
        responses={
            200: ReportLeadSerializer(many=True),
            404: OpenApiResponse(
                inline_serializer(
                    "ReportError",
                    {
                        "error": inline_serializer(
                            "ReportErrorBody",
                            {
                                "code": serializers.CharField(),
                                "message": serializers.CharField(),
                                "detail": serializers.DictField(),
                            },
                        )
                    },
                ),
                description="No such MQL order (or not yours).",
            ),
        },
    )
    def get(self, request, order_id: int):
        order = reporting.report_order_for(user=request.user, pk=order_id)
        if order is None:
            raise NotFound(_("No such order."))
        page = self.paginate_queryset(reporting.report_leads(order))
        rows = reporting.lead_rows(page)
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def get_queryset(self):  # for the schema generator only; get() scopes to the caller
        from orders.models import Lead

        return Lead.objects.none()
