from django.contrib import admin

from solosales.core.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "subject"]
    search_fields = ["to", "subject"]
    readonly_fields = ["created_at", "to", "from_email", "subject", "body", "html", "headers"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
