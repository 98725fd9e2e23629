from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from . import actions
from .models import TOTPDevice


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    """Who has two-factor sign-in, and the audited way to reset it (no secret is shown,
    nothing is edited by hand)."""

    list_display = ("user", "confirmed_at", "last_used_at")
    search_fields = ("user__username", "user__display_name", "user__email")
    fields = ("user", "confirmed_at", "last_used_at")
    readonly_fields = fields
    actions = ["reset_two_factor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # through the audited action only

    @admin.action(
        description=gettext_lazy("Reset two-factor sign-in of the selected users"),
        permissions=["view"],
    )
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        if not request.user.is_superuser:
            self.message_user(request, gettext("Only administrators may do this."), messages.ERROR)
            return
        count = sum(
            actions.do_reset_totp(device.user, acting_user=request.user)
            for device in queryset.select_related("user")
        )
        self.message_user(
            request,
            gettext("Two-factor sign-in reset for users: %(count)d") % {"count": count},
            messages.SUCCESS,
        )
