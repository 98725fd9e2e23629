from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.clock import now


class OutboundStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("mail status", "Pending")
    SENT = "sent", pgettext_lazy("mail status", "Sent")
    FAILED = "failed", pgettext_lazy("mail status", "Failed")


class OutboundMail(models.Model):
    """The outbox: a mail is committed here with the write that caused it, then delivered
    by a task with retries. A row is sent at most once (row lock + status)."""

    inquiry = models.ForeignKey(
        "inquiries.Inquiry", null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_mails"
    )
    kind = models.CharField(_("kind"), max_length=32)
    to = models.EmailField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    message_id = models.CharField(max_length=250, unique=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.TextField(blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(default=now)
    # Set while a worker sends the mail outside any transaction; a crashed worker's
    # claim expires and the mail is tried again (same Message-ID, so clients dedupe).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing mail")
        verbose_name_plural = _("outgoing mails")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to} ({self.status})"


class MailTemplate(models.Model):
    """An administrator's override of a built-in mail text.

    Placeholders use ``$name`` (Python's string.Template): values are inserted once and
    never evaluated, so nothing a requester typed can run as template code.
    """

    key = models.CharField(_("key"), max_length=32)
    lang = models.CharField(_("language"), max_length=8, choices=[("ja", "日本語"), ("en", "English")])
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")
        constraints = [models.UniqueConstraint(fields=["key", "lang"], name="mailtemplate_key_lang")]

    def __str__(self) -> str:
        return f"{self.key} ({self.lang})"
