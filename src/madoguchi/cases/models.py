"""A case study: the public thread of a solved inquiry, redacted, reviewed and approved.

The unredacted source stays only while the case study is a draft (the reviewer sees each
original fragment beside its replacement); approval empties ``source_text`` and drops
the original fragments from ``redactions``, so what remains is what may be published.
The inquiry is linked only internally (the console), never in an export.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.clock import now


class CaseStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("case study", "Draft")
    APPROVED = "approved", pgettext_lazy("case study", "Approved")


class CaseStudy(models.Model):
    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("inquiry"),
        on_delete=models.CASCADE,
        related_name="case_studies",
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    lang = models.CharField(_("language"), max_length=8, default="ja")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The thread as built (requester and staff messages, unredacted): drafts only.
    source_text = models.TextField(blank=True)
    # The redactor's proposal with every redaction applied, and the reviewed text.
    proposed_text = models.TextField(_("proposed text"))
    text = models.TextField(_("text"))
    # [{"start", "end", "kind", "replacement", "rule", "original", "accepted"}]; spans are
    # in ``source_text``. After approval: without "original", "start" and "end".
    redactions = models.JSONField(_("redactions"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.DRAFT
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=now)
    updated_at = models.DateTimeField(_("updated"), default=now)

    class Meta:
        verbose_name = _("case study")
        verbose_name_plural = _("case studies")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-approved_at"], name="case_status_approved")]

    def __str__(self) -> str:
        return f"CS-{self.pk} {self.title}"

    @property
    def is_approved(self) -> bool:
        return self.status == CaseStatus.APPROVED
