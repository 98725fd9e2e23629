from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.clock import now


class AuditEvent(models.Model):
    """One recorded step. Written by actions only; never edited or deleted by the app."""

    at = models.DateTimeField(_("at"), default=now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    # "staff", "requester" or "system": who acted when there is no user account.
    actor_kind = models.CharField(_("actor kind"), max_length=16)
    verb = models.CharField(_("verb"), max_length=64, db_index=True)
    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("inquiry"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audit_events",
    )
    data = models.JSONField(_("data"), default=dict, blank=True)
    # Recorded while the inquiry was restricted (its data can carry a reason): for faculty
    # staff only, also after the inquiry returns to the general lane.
    restricted = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.verb}"
