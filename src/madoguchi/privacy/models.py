from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.clock import now


class AppendOnly(Exception):
    """The audit log is appended to, never changed: a bug, not a user error."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("the audit log is append-only: no update")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("the audit log is append-only: no delete")


class AuditEvent(models.Model):
    """One recorded step. Written by actions only (``privacy.audit.record``); the
    application has no path that changes or removes one: the model and its querysets
    refuse, the admin offers nothing, the people and inquiries it names cannot be deleted
    (PROTECT: accounts are deactivated, inquiries anonymised), and on PostgreSQL a trigger
    refuses UPDATE and DELETE on the table."""

    at = models.DateTimeField(_("at"), default=now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    # "staff", "requester" or "system": who acted when there is no user account.
    actor_kind = models.CharField(_("actor kind"), max_length=16)
    verb = models.CharField(_("verb"), max_length=64, db_index=True)
    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("inquiry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    data = models.JSONField(_("data"), default=dict, blank=True)
    # Recorded while the inquiry was restricted (its data can carry a reason): for faculty
    # staff only, also after the inquiry returns to the general lane.
    restricted = models.BooleanField(default=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.verb}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("the audit log is append-only: no update")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("the audit log is append-only: no delete")
