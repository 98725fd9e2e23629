from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import outbox
from .models import InboundMessage, Mailbox, MailTemplate, OutboundMail


@admin.register(MailTemplate)
class MailTemplateAdmin(admin.ModelAdmin):
    list_display = ("key", "lang", "subject")
    list_filter = ("key", "lang")


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "to", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to", "subject", "inquiry__reference")
    readonly_fields = [f.name for f in OutboundMail._meta.fields]
    actions = ["retry_pending"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Retry pending mail now"))
    def retry_pending(self, request, queryset):
        count = outbox.retry_now(list(queryset.values_list("pk", flat=True)))
        text = ngettext("%(count)d mail queued.", "%(count)d mails queued.", count) % {
            "count": count
        }
        self.message_user(request, text, messages.SUCCESS)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("address", "transport", "triage_first", "lang", "active")
    list_filter = ("transport", "triage_first", "active")
    fieldsets = (
        (None, {"fields": ("address", "lang", "triage_first", "active", "transport")}),
        (
            _("IMAP"),
            {
                "fields": (
                    "imap_host",
                    "imap_port",
                    "imap_security",
                    "imap_username",
                    "imap_auth",
                    "imap_secret_env",
                    "imap_folder",
                    "imap_processed_folder",
                )
            },
        ),
        (
            _("OAuth2 (Microsoft 365 and others)"),
            {"fields": ("oauth2_token_url", "oauth2_client_id", "oauth2_scope")},
        ),
    )


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "from_address",
        "subject",
        "status",
        "action",
        "reason",
        "inquiry",
    )
    list_filter = ("status", "action")
    search_fields = ("from_address", "subject", "message_id", "inquiry__reference")
    readonly_fields = [f.name for f in InboundMessage._meta.fields]

    def has_add_permission(self, request):
        return False
