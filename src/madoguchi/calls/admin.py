from django.contrib import admin
from django.db.models import Max
from django.http import HttpRequest

from .models import Call, CallTerms, Consent


@admin.register(CallTerms)
class CallTermsAdmin(admin.ModelAdmin):
    """Terms are versioned: a published version is never edited (acceptances name it);
    a change is a new version, numbered on save."""

    list_display = ("version", "published_at")
    readonly_fields = ("version", "published_at")

    def get_readonly_fields(self, request: HttpRequest, obj: CallTerms | None = None):  # noqa: ANN201
        if obj is not None:
            return ("version", "published_at", "text_ja", "text_en")
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: CallTerms, form, change: bool) -> None:  # noqa: ANN001
        if not change:
            latest = CallTerms.objects.aggregate(v=Max("version"))["v"] or 0
            obj.version = latest + 1
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: CallTerms | None = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ("inquiry", "state", "operator", "queued_at", "admitted_at", "ended_by")
    list_filter = ("state",)
    readonly_fields = [f.name for f in Call._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("inquiry", "kind", "created_at", "answered_at", "used_at")
    list_filter = ("kind",)
    readonly_fields = [f.name for f in Consent._meta.fields]
    exclude = ("token_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False
