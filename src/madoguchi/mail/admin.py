from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import outbox
from .models import MailTemplate, OutboundMail


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
        count = outbox.retry_now()
        text = ngettext("%(count)d mail queued.", "%(count)d mails queued.", count) % {"count": count}
        self.message_user(request, text, messages.SUCCESS)
