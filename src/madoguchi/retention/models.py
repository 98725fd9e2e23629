"""How long the desk keeps what: rules per channel and lane, set by administrators, and a
record of every run that applied them (see policy.py, docs/privacy.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.clock import now
from madoguchi.inquiries.models import Channel, Lane


class RetentionRule(models.Model):
    """For solved or closed inquiries of a channel and lane (empty: any): anonymise them
    this many days after they were solved, and delete their files after that many days.
    The most specific rule wins (channel and lane, then one of them, then neither)."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    lane = models.CharField(_("lane"), max_length=16, choices=Lane.choices, blank=True)
    anonymise_after_days = models.PositiveIntegerField(
        _("anonymise after (days)"),
        null=True,
        blank=True,
        help_text=_("Days after the inquiry was solved. Empty: never."),
    )
    files_after_days = models.PositiveIntegerField(
        _("delete files after (days)"),
        null=True,
        blank=True,
        help_text=_("Days after the inquiry was solved. Empty: with the inquiry's anonymisation."),
    )

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        constraints = [
            models.UniqueConstraint(fields=["channel", "lane"], name="retention_rule_scope")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display() or '*'} / {self.get_lane_display() or '*'}"


class RetentionRun(models.Model):
    """One application of the rules: what it did (or, in a dry run, would do)."""

    started_at = models.DateTimeField(_("started"), default=now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    counts = models.JSONField(_("counts"), default=dict, blank=True)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        when = f"{self.started_at:%Y-%m-%d %H:%M}"
        return f"{when} ({_('dry run')})" if self.dry_run else when
