"""API shapes for orders (DESIGN.md section 11). Output serializers read models; the order
body is validated by orders.criteria (one validator for the form and the API), so the
request serializers here document the body for the schema."""

from rest_framework import serializers

from orders.exports import LEAD_COLUMNS
from orders.models import Lead, Order, OrderStatus, OrderTransition, OrderType


class OrderCriteriaSerializer(serializers.Serializer):
    titles = serializers.ListField(child=serializers.CharField(), required=False)
    seniorities = serializers.ListField(child=serializers.CharField(), required=False, help_text="e.g. `director`")
    departments = serializers.ListField(child=serializers.CharField(), required=False, help_text="e.g. `sales`")
    industries = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="e.g. `computer_software`"
    )
    countries = serializers.ListField(child=serializers.CharField(), required=False, help_text="ISO-2, e.g. `DE`")
    regions = serializers.ListField(child=serializers.CharField(), required=False)
    company_sizes = serializers.ListField(child=serializers.CharField(), required=False, help_text='e.g. `"51-200"`')
    keywords = serializers.ListField(child=serializers.CharField(), required=False)
    exclude_companies = serializers.ListField(child=serializers.CharField(), required=False)
    exclude_domains = serializers.ListField(child=serializers.CharField(), required=False)


class OrderBodySerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=OrderType.choices,
        default=OrderType.LIST,
        help_text="`list` (charged per accepted lead) or `mql` (charged per qualified lead).",
    )
    target_count = serializers.IntegerField(help_text="Between the pricing version's minimum and maximum order size.")
    criteria = OrderCriteriaSerializer()


class OrderQuoteSerializer(serializers.Serializer):
    unit_price = serializers.IntegerField(help_text="Credits per lead.")
    max_cost = serializers.IntegerField(help_text="Credits held when the order is placed (target × unit price).")
    available = serializers.IntegerField(help_text="Your available credits.")
    shortfall = serializers.IntegerField(help_text="Credits missing to place the order (0 when affordable).")


class OrderTimelineEntrySerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(source="to_status", choices=OrderStatus.choices)
    at = serializers.DateTimeField(source="created_at")
    actor = serializers.CharField(source="actor_label", help_text="`system` or the email of the person.")

    class Meta:
        model = OrderTransition
        fields = ["status", "at", "actor", "reason"]


class OrderSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    found = serializers.IntegerField(source="found_count")
    accepted = serializers.IntegerField(source="accepted_count")
    qualified = serializers.IntegerField(source="qualified_count")
    delivered = serializers.IntegerField(source="delivered_count")
    held = serializers.SerializerMethodField(help_text="Credits still held for this order.")
    charged = serializers.IntegerField(source="charged_credits")
    released = serializers.IntegerField(source="released_credits")
    pricing_version = serializers.IntegerField(source="pricing_version.version")
    rules_version = serializers.IntegerField(source="rules_version.version")
    timeline = OrderTimelineEntrySerializer(source="transitions", many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "type",
            "status",
            "status_label",
            "target_count",
            "found",
            "accepted",
            "qualified",
            "delivered",
            "unit_price",
            "held",
            "charged",
            "released",
            "pricing_version",
            "rules_version",
            "timeline",
            "created_at",
        ]
        read_only_fields = fields

    def get_held(self, obj: Order) -> int:
        return obj.hold.remaining if obj.hold_id else 0

    def to_representation(self, order: Order) -> dict:
        """The fields declared above, written out. DRF builds a ModelSerializer's fields
        (and deep-copies them) for every serializer it instantiates, which was a millisecond
        of each placement's answer (README "Performance", B2). The declarations stay the
        schema's source; tests/orders/test_serializers.py checks this output against
        DRF's own field-by-field rendering for orders in every shape."""
        at = _DATETIME.to_representation
        return {
            "id": order.pk,
            "type": order.type,
            "status": order.status,
            "status_label": str(order.get_status_display()),
            "target_count": order.target_count,
            "found": order.found_count,
            "accepted": order.accepted_count,
            "qualified": order.qualified_count,
            "delivered": order.delivered_count,
            "unit_price": order.unit_price,
            "held": self.get_held(order),
            "charged": order.charged_credits,
            "released": order.released_credits,
            "pricing_version": order.pricing_version.version,
            "rules_version": order.rules_version.version,
            "timeline": [
                {
                    "status": entry.to_status,
                    "at": at(entry.created_at),
                    "actor": entry.actor_label,
                    "reason": entry.reason,
                }
                for entry in order.transitions.all()
            ],
            "created_at": at(order.created_at),
        }


# One instance for every representation (it keeps no per-call state; the timezone is the
# one active when it renders).
_DATETIME = serializers.DateTimeField()


class OrderLeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = list(LEAD_COLUMNS)
        read_only_fields = fields


class OrderErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.DictField(help_text="For validation errors: `fields` maps each field to its messages.")


class OrderErrorSerializer(serializers.Serializer):
    error = OrderErrorDetailSerializer()
