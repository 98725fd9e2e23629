from django.contrib import admin

from .models import CaseStudy


@admin.register(CaseStudy)
class CaseStudyAdmin(admin.ModelAdmin):
    """Read-only: case studies are written through the console's review (actions)."""

    list_display = ("pk", "title", "status", "approved_at", "inquiry")
    list_filter = ("status",)
    raw_id_fields = ("inquiry", "created_by", "approved_by")
    exclude = ("source_text",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
