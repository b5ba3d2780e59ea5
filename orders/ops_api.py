"""Ops API for QA gates (staff in ``ops_qa`` only; everyone else gets 404): the queue and
the decision, the same service the admin review page calls."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.models import Order, OrderStatus, QADecision, QAGate
from orders.selectors import QA_STATUSES, qa_queue
from orders.services import order_qa_decide
from solosales.core.errors import ValidationFailed
from solosales.core.permissions import InStaffGroup


class OpsOrderSerializer(serializers.ModelSerializer):
    client = serializers.EmailField(source="user.email", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    max_cost = serializers.IntegerField(read_only=True)
    checks = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "client",
            "type",
            "status",
            "status_label",
            "target_count",
            "found_count",
            "invalid_count",
            "accepted_count",
            "qualified_count",
            "unit_price",
            "max_cost",
            "charged_credits",
            "released_credits",
            "status_reason",
            "status_changed_at",
            "created_at",
            "checks",
        ]
        read_only_fields = fields

    def get_checks(self, obj) -> dict:
        steps = getattr(obj, "_prefetched_objects_cache", {}).get("steps")
        step = next((s for s in steps if s.name == "build"), None) if steps is not None else obj.steps.first()
        return ((step.state or {}).get("qa_checks") or {}).get("summary", {}) if step else {}


class QADecisionRequestSerializer(serializers.Serializer):
    gate = serializers.ChoiceField(choices=QAGate.choices)
    decision = serializers.ChoiceField(choices=QADecision.Decision.choices)
    accepted_count = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class OpsBase:
    permission_classes = [InStaffGroup]
    staff_group = "ops_qa"


@extend_schema(
    tags=["ops"],
    parameters=[
        OpenApiParameter(
            "status",
            OpenApiTypes.STR,
            enum=[OrderStatus.LIST_QA, OrderStatus.MQL_QA],
            description="Which QA gate's queue (default: both).",
        )
    ],
)
class OpsOrderList(OpsBase, generics.ListAPIView):
    """Orders waiting for a QA gate, oldest first."""

    serializer_class = OpsOrderSerializer

    def get_queryset(self):
        wanted = self.request.query_params.get("status")
        if wanted is None or wanted == "":
            statuses = QA_STATUSES
        elif wanted in QA_STATUSES:
            statuses = (wanted,)
        else:
            raise ValidationFailed(
                _("status must be list_qa or mql_qa."), extra={"fields": {"status": [_("Unknown queue.")]}}
            )
        return qa_queue(statuses=statuses).prefetch_related("steps")


class OpsOrderQA(OpsBase, APIView):
    """Pass or fail an order at a QA gate (notes are required to fail)."""

    @extend_schema(
        tags=["ops"],
        request=QADecisionRequestSerializer,
        responses={
            200: OpsOrderSerializer,
            400: inline_serializer("OpsError400", {"error": serializers.DictField()}),
            404: inline_serializer("OpsError404", {"error": serializers.DictField()}),
            409: inline_serializer("OpsError409", {"error": serializers.DictField()}),
        },
    )
    def post(self, request, pk: int):
        order = get_object_or_404(Order, pk=pk)
        body = QADecisionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        order = order_qa_decide(
            order=order,
            gate=data["gate"],
            decision=data["decision"],
            accepted_count=data.get("accepted_count"),
            notes=data.get("notes", ""),
            actor=request.user,
        )
        return Response(OpsOrderSerializer(order).data, status=status.HTTP_200_OK)
