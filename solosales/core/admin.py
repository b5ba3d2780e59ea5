from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from solosales.core.models import OutboxMessage


def order_admin_link(order_id):
    """A link to an order's admin page, for the lists of apps that record only the order's
    id (ledger transfers and holds, provider calls, emails): by URL name, no import."""
    if not order_id:
        return "—"
    try:
        url = reverse("admin:orders_order_change", args=[order_id])
    except NoReverseMatch:
        return f"#{order_id}"
    return format_html('<a href="{}">#{}</a>', url, order_id)


ORDER = gettext_lazy("order")


def order_link_column(description=ORDER):
    """An admin list column linking ``obj.order_id`` to its order."""

    @admin.display(description=description, ordering="order_id")
    def order_link(self, obj):
        return order_admin_link(obj.order_id)

    return order_link


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "subject"]
    list_filter = ["created_at"]
    search_fields = ["to", "subject"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "to", "from_email", "subject", "body", "html", "headers"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
