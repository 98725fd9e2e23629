from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "tier", "is_active", "is_superuser")
    list_filter = ("tier", "is_active", "is_superuser")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Desk"), {"fields": ("tier", "display_name", "preferred_language")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Desk"), {"fields": ("tier", "display_name", "email")}),
    )
