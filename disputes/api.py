"""API v1 for disputes (client) and the ops decision endpoint (ops_arbitration)."""

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from disputes.downloads import evidence_file_response
from disputes.models import Decision, Dispute, DisputeItem, DisputeStatus, EvidenceItem, EvidenceKind, ReasonCode
from disputes.selectors import dispute_for, dispute_for_viewer, disputes_for
from disputes.services import (
    dispute_add_evidence,
    dispute_approve,
    dispute_decide,
    dispute_open,
    dispute_withdraw,
)
from solosales.core.errors import NotFound
from solosales.core.groups import OPS_ARBITRATION
from solosales.core.permissions import InStaffGroup

# --- serializers ---------------------------------------------------------------


class DisputeItemSerializer(serializers.ModelSerializer):
    lead = serializers.IntegerField(source="lead_id", read_only=True)
    reason = serializers.ChoiceField(choices=ReasonCode.choices, read_only=True)
    decision = serializers.SerializerMethodField()

    class Meta:
        model = DisputeItem
        fields = ["lead", "reason", "note", "decision", "decision_notes"]

    def get_decision(self, item) -> str:
        """``pending`` until the dispute is decided (a proposed decision is not final)."""
        return item.decision if item.dispute.is_decided else Decision.PENDING


class EvidenceFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    sha256 = serializers.CharField()
    url = serializers.CharField()


class EvidenceSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, read_only=True)
    submitted_by = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceItem
        fields = ["seq", "kind", "submitted_by", "created_at", "text", "references", "file", "prev_hash", "item_hash"]

    def get_submitted_by(self, item) -> str:
        """``client``, ``staff`` or ``system``."""
        if item.submitted_by_id is None:
            return "system"
        return "client" if item.submitted_by_id == item.dispute.user_id else "staff"

    @extend_schema_field(EvidenceFileSerializer(allow_null=True))
    def get_file(self, item):
        if not item.file_path:
            return None
        return {
            "name": item.file_name,
            "size": item.file_size,
            "content_type": item.file_content_type,
            "sha256": item.file_sha256,
            "url": evidence_file_url(item),
        }


class DisputeSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=DisputeStatus.choices, read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True)
    items = DisputeItemSerializer(many=True, read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    refund = serializers.SerializerMethodField()

    class Meta:
        model = Dispute
        fields = [
            "id",
            "order",
            "status",
            "status_label",
            "statement",
            "window_ends_at",
            "items",
            "evidence",
            "refund",
            "refund_transfer_id",
            "decision_notes",
            "awaiting_approval",
            "decided_at",
            "created_at",
        ]

    def get_refund(self, dispute) -> int:
        """Credits refunded to the client (0 until the refund is made)."""
        return dispute.refund_credits if dispute.refund_transfer_id else 0


class DisputeItemInputSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=ReasonCode.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DisputeCreateSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    items = DisputeItemInputSerializer(many=True, allow_empty=False)
    statement = serializers.CharField(max_length=20000)


class EvidenceCreateSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    file = serializers.FileField(required=False, allow_empty_file=True)


class DecisionItemSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=[Decision.ACCEPTED, Decision.REJECTED])
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DecisionSerializer(serializers.Serializer):
    items = DecisionItemSerializer(many=True, allow_empty=False)
    notes = serializers.CharField(max_length=20000)


def _with_relations(queryset):
    return queryset.select_related("order").prefetch_related("items__dispute", "evidence__dispute")


def _dispute_response(dispute_id: int, *, http_status=status.HTTP_200_OK, request=None) -> Response:
    dispute = _with_relations(Dispute.objects.filter(pk=dispute_id)).get()
    return Response(DisputeSerializer(dispute, context={"request": request}).data, status=http_status)


def _owned(request, pk: int) -> Dispute:
    dispute = dispute_for(user=request.user, pk=pk)
    if dispute is None:
        raise Http404
    return dispute


# Error answers, documented so that clients (and the schema checks) know them.
def _error(description: str) -> OpenApiResponse:
    from orders.serializers import OrderErrorSerializer  # the one {"error": {...}} shape of the API

    return OpenApiResponse(OrderErrorSerializer, description=description)


_E401 = {401: _error("Not signed in (no or a revoked token).")}
_E400 = {400: _error("Invalid body; `detail` says why.")}
_E404 = {404: _error("No such dispute (or not yours).")}
_E409 = {409: _error("The dispute's state forbids this.")}


# --- client views ----------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="Your disputes", responses={200: DisputeSerializer(many=True), **_E401}),
    post=extend_schema(
        summary="Open a dispute on delivered leads of one of your orders",
        request=DisputeCreateSerializer,
        responses={201: DisputeSerializer, **_E400, **_E401, **_E404, **_E409},
    ),
)
class DisputeListCreate(generics.ListCreateAPIView):
    serializer_class = DisputeSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Dispute.objects.none()
        return _with_relations(disputes_for(user=self.request.user))

    def create(self, request, *args, **kwargs):
        from orders.models import Order  # disputes sits above orders

        body = DisputeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = Order.objects.select_related("rules_version").filter(pk=body.validated_data["order"]).first()
        if order is None or order.user_id != request.user.pk:
            raise NotFound(extra={"order": body.validated_data["order"]})
        dispute = dispute_open(
            user=request.user,
            order=order,
            items=[dict(item) for item in body.validated_data["items"]],
            statement=body.validated_data["statement"],
        )
        return _dispute_response(dispute.pk, http_status=status.HTTP_201_CREATED, request=request)


class DisputeDetail(APIView):
    @extend_schema(summary="One of your disputes", responses={200: DisputeSerializer, **_E401, **_E404})
    def get(self, request, pk: int):
        return _dispute_response(_owned(request, pk).pk, request=request)


class DisputeEvidenceCreate(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        summary="Add evidence (a file and/or a text) to your open dispute",
        request={"multipart/form-data": EvidenceCreateSerializer, "application/json": EvidenceCreateSerializer},
        responses={201: EvidenceSerializer, **_E400, **_E401, **_E404, **_E409},
    )
    def post(self, request, pk: int):
        dispute = _owned(request, pk)
        body = EvidenceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = dispute_add_evidence(
            dispute=dispute,
            user=request.user,
            text=body.validated_data.get("text"),
            file=body.validated_data.get("file"),
        )
        item = EvidenceItem.objects.select_related("dispute").get(pk=item.pk)
        return Response(EvidenceSerializer(item).data, status=status.HTTP_201_CREATED)


class DisputeWithdraw(APIView):
    @extend_schema(
        summary="Withdraw your open dispute",
        request=None,
        responses={200: DisputeSerializer, **_E401, **_E404, **_E409},
    )
    def post(self, request, pk: int):
        dispute = dispute_withdraw(dispute=_owned(request, pk), user=request.user)
        return _dispute_response(dispute.pk, request=request)


# --- ops ---------------------------------------------------------------------------


class OpsDisputeDecision(APIView):
    permission_classes = [InStaffGroup]
    staff_group = OPS_ARBITRATION

    @extend_schema(
        summary="Decide every lead of a dispute (ops_arbitration)",
        request=DecisionSerializer,
        responses={200: DisputeSerializer, **_E400, **_E401, **_E404, **_E409},
    )
    def post(self, request, pk: int):
        dispute = Dispute.objects.filter(pk=pk).first()
        if dispute is None:
            raise Http404
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        items = body.validated_data["items"]
        dispute_decide(
            dispute=dispute,
            actor=request.user,
            decisions={i["lead"]: i["decision"] for i in items},
            item_notes={i["lead"]: i.get("notes", "") for i in items},
            notes=body.validated_data["notes"],
        )
        return _dispute_response(dispute.pk, request=request)


class OpsDisputeApprove(APIView):
    permission_classes = [InStaffGroup]
    staff_group = OPS_ARBITRATION

    @extend_schema(
        summary="Approve a decision awaiting a second approver (a different ops_arbitration user)",
        request=None,
        responses={200: DisputeSerializer, **_E400, **_E401, **_E404, **_E409},
    )
    def post(self, request, pk: int):
        dispute = Dispute.objects.filter(pk=pk).first()
        if dispute is None:
            raise Http404
        dispute_approve(dispute=dispute, actor=request.user)
        return _dispute_response(dispute.pk, request=request)


def evidence_file_url(item) -> str:
    """The API's download of the item's file (token or session, owner or arbitrator)."""
    return reverse("api-dispute-evidence-file", args=[item.dispute_id, item.seq])


class DisputeEvidenceFile(APIView):
    @extend_schema(
        summary="Download the file of one evidence item of your dispute",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                description="The file as an attachment (its stored content type in Content-Type)."
            ),
            **_E401,
            **_E404,
        },
    )
    def get(self, request, pk: int, seq: int):
        dispute = dispute_for_viewer(user=request.user, pk=pk)
        if dispute is None:
            raise Http404
        return evidence_file_response(dispute=dispute, seq=seq)
