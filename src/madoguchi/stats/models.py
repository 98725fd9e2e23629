"""A statistics release: the parameters of a table, and the table frozen at publication."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.clock import now


class StatisticsRelease(models.Model):
    """Built by faculty staff (a draft, previewed live), then published once: the
    suppressed table is frozen in ``table`` and never recomputed. Written by
    ``stats.actions`` only."""

    period_from = models.DateField(_("from"))
    period_to = models.DateField(_("to"))
    # One or two of stats.fields.FIELDS, in order (rows, then columns).
    breakdowns = models.JSONField(_("breakdowns"), default=list)
    threshold = models.PositiveIntegerField(_("minimum cell"))
    rounding = models.PositiveIntegerField(_("rounding"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The suppressed table (stats.tables.build_table) as published; None while a draft.
    table = models.JSONField(_("table"), null=True, blank=True)

    class Meta:
        verbose_name = _("statistics release")
        verbose_name_plural = _("statistics releases")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.period_from}–{self.period_to} {','.join(self.breakdowns)}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None
