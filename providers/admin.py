from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import LookupRecord, ProviderCall


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit rows are evidence: staff can look, nobody can add, change or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProviderCall)
class ProviderCallAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "provider",
        "operation",
        "outcome",
        "http_status",
        "order_id",
        "step",
        "attempt",
        "records_returned",
        "latency_ms",
        "estimated_cost",
    )
    list_filter = ("provider", "operation", "outcome", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=order_id", "provider_request_id", "step")
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("provider", "operation", "outcome", "http_status", "created_at")}),
        (_("Caller"), {"fields": ("order_id", "step", "attempt")}),
        (
            _("Result"),
            {
                "fields": (
                    "records_returned",
                    "latency_ms",
                    "retry_after",
                    "estimated_cost",
                    "provider_request_id",
                    "error_message",
                )
            },
        ),
        (_("Request"), {"fields": ("request_summary",)}),
    )

    def get_search_results(self, request, queryset, search_term):
        # "=order_id" would cast any text to a number and fail; only digits search the order.
        if search_term and not search_term.strip().isdigit():
            return queryset.filter(provider_request_id=search_term.strip()) | queryset.filter(
                step__icontains=search_term.strip()
            ), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(LookupRecord)
class LookupRecordAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "provider", "profile_id", "order_id", "status", "issue_count", "updated_at")
    list_filter = ("provider", "status")
    search_fields = ("=order_id", "profile_id")
