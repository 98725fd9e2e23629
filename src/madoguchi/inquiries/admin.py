from django.contrib import admin

from .models import Category, Inquiry


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_ja", "name_en", "form_only", "active", "sort_order")
    list_editable = ("active", "sort_order")
    prepopulated_fields = {"slug": ("name_en",)}


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    """Read-only: inquiries change through the console's actions, which audit them."""

    list_display = ("reference", "subject", "lane", "status", "priority", "channel", "created_at")
    list_filter = ("lane", "status", "priority", "channel")
    search_fields = ("reference", "requester_email")
    readonly_fields = [f.name for f in Inquiry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
