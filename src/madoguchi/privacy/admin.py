from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "verb", "actor", "actor_kind", "inquiry")
    list_filter = ("verb", "actor_kind")
    search_fields = ("verb", "inquiry__reference", "actor__username")
    raw_id_fields = ("actor", "inquiry")
    date_hierarchy = "at"

    def has_add_permission(self, request):  # the log is written by actions only
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
