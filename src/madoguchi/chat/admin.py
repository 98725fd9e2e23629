from django.contrib import admin

from .models import CannedReply, Conversation, OperatorStatus


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "sort_order")
    search_fields = ("title", "body_ja", "body_en")


@admin.register(OperatorStatus)
class OperatorStatusAdmin(admin.ModelAdmin):
    list_display = ("user", "available", "max_chats", "updated_at")
    list_filter = ("available",)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Read-only: a chat changes only through the widget and the console (and their checks)."""

    list_display = ("inquiry", "state", "lang", "operator", "queued_at", "closed_at", "rating")
    list_filter = ("state", "lang", "inquiry__lane")
    readonly_fields = [f.name for f in Conversation._meta.fields if f.name != "id"]
    exclude = ("secret_hash",)

    def has_add_permission(self, request):  # noqa: ANN001, ANN201
        return False

    def has_delete_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False

    def get_queryset(self, request):  # noqa: ANN001, ANN201
        from madoguchi.inquiries.access import visible_inquiries

        return super().get_queryset(request).filter(inquiry__in=visible_inquiries(request.user))
