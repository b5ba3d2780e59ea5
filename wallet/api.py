"""Wallet API v1: balances, statement, top-ups. Errors in the core format."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from wallet import selectors
from wallet.models import TopUp, Transfer
from wallet.services import topup_start


# Inline enums: a shared component named after the field ("status", "kind") would collide
# with other apps' choice sets of the same name (drf-spectacular W001).
@extend_schema_field({"type": "string", "enum": list(TopUp.Status.values)})
class TopUpStatusField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": list(Transfer.Kind.values)})
class TransferKindField(serializers.CharField):
    pass


class WalletSerializer(serializers.Serializer):
    available = serializers.IntegerField(help_text="Credits that can be spent.")
    held = serializers.IntegerField(help_text="Credits reserved for orders in progress.")
    currency = serializers.CharField(help_text="ISO 4217 currency of top-ups, lower case.")
    credit_price_minor = serializers.IntegerField(help_text="Price of one credit in minor units.")


class TransferSerializer(serializers.ModelSerializer):
    kind = TransferKindField(read_only=True)
    account = serializers.ChoiceField(
        choices=["available", "held"],
        help_text="The client's account the row is about: available, or held for a charge (capture) of held credits.",
    )
    direction = serializers.ChoiceField(choices=["in", "out"], help_text="Into or out of that account.")
    balance_after = serializers.IntegerField(help_text="That account's balance after this transfer.")
    order = serializers.IntegerField(source="order_id", allow_null=True)
    topup = serializers.IntegerField(source="topup_id", allow_null=True)
    dispute = serializers.IntegerField(source="dispute_id", allow_null=True)

    class Meta:
        model = Transfer
        fields = [
            "id",
            "kind",
            "amount",
            "account",
            "direction",
            "balance_after",
            "order",
            "topup",
            "dispute",
            "created_at",
        ]


class TopUpSerializer(serializers.ModelSerializer):
    status = TopUpStatusField(read_only=True, help_text="pending → paid / expired / failed / refunded")
    checkout_url = serializers.SerializerMethodField()

    class Meta:
        model = TopUp
        fields = ["id", "status", "credits", "amount_minor", "currency", "checkout_url", "created_at", "paid_at"]

    def get_checkout_url(self, topup) -> str:
        url = topup.checkout_url
        request = self.context.get("request")
        if url and url.startswith("/") and request is not None:
            return request.build_absolute_uri(url)
        return url


class TopUpCreateSerializer(serializers.Serializer):
    credits = serializers.IntegerField(help_text="Whole number of credits, within the active pricing bounds.")


class WalletView(APIView):
    @extend_schema(responses=WalletSerializer, summary="Balances and the price of a credit")
    def get(self, request):
        summary = selectors.wallet_summary(user=request.user)
        return Response(WalletSerializer(summary).data)


@extend_schema(summary="Statement: transfers that moved the available balance, newest first")
class TransferListView(generics.ListAPIView):
    serializer_class = TransferSerializer
    queryset = Transfer.objects.none()

    def get_queryset(self):
        return selectors.statement_for(user=self.request.user)


class TopUpListCreateView(generics.ListCreateAPIView):
    serializer_class = TopUpSerializer
    queryset = TopUp.objects.none()

    def get_queryset(self):
        return selectors.topups_for(user=self.request.user)

    @extend_schema(summary="The client's top-ups, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=TopUpCreateSerializer,
        responses={
            201: TopUpSerializer,
            400: OpenApiResponse(description="Not a whole number or out of bounds."),
            403: OpenApiResponse(description="Top-ups are switched off."),
            502: OpenApiResponse(description="The payment provider could not start the checkout."),
        },
        summary="Start a top-up; send the client to checkout_url",
    )
    def post(self, request, *args, **kwargs):
        body = TopUpCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        topup = topup_start(user=request.user, credits=body.validated_data["credits"])
        return Response(TopUpSerializer(topup, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema(summary="One top-up with its current status")
class TopUpDetailView(generics.RetrieveAPIView):
    serializer_class = TopUpSerializer
    queryset = TopUp.objects.none()

    def get_queryset(self):
        return selectors.topups_for(user=self.request.user)
