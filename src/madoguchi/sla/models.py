"""Business-hours schedules bound to channels, and service-level policies.

The arithmetic lives in the pure ``madoguchi.hours`` package; a schedule is stored here
as the JSON of ``hours.Schedule.to_dict()`` and validated with ``Schedule.from_dict``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from madoguchi.core.clock import now


class BusinessSchedule(models.Model):
    name = models.SlugField(
        _("name"), max_length=40, unique=True, help_text=_("e.g. operators, always, faculty")
    )
    label_ja = models.CharField(_("label (Japanese)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    definition = models.JSONField(
        _("definition"),
        help_text=_(
            'JSON: {"tz": "Asia/Tokyo", "weekly": {"mon": ["08:25-18:30"], ...}, '
            '"holidays": {"country": "JP"}, "closures": [{"from": "12-29", "to": "01-03"}], '
            '"exceptions": [{"date": "2024-05-03", "kind": "open", "hours": [], "label": "..."}]}'
        ),
    )
    updated_at = models.DateTimeField(_("updated"), default=now)

    class Meta:
        verbose_name = _("business-hours schedule")
        verbose_name_plural = _("business-hours schedules")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label()

    def label(self, lang: str | None = None) -> str:
        lang = lang or get_language() or "ja"
        return self.label_en if lang.startswith("en") else self.label_ja

    def clean(self) -> None:
        from madoguchi.hours import Schedule, ScheduleError

        try:
            Schedule.from_dict(self.definition)
        except ScheduleError as exc:
            raise ValidationError({"definition": str(exc)}) from exc


class HoursChannel(models.TextChoices):
    BOT = "bot", pgettext_lazy("hours channel", "Chatbot")
    FORM = "form", pgettext_lazy("hours channel", "Email form")
    CHAT = "chat", pgettext_lazy("hours channel", "Chat operators")
    CALL = "call", pgettext_lazy("hours channel", "Online calls")
    FACULTY = "faculty", pgettext_lazy("hours channel", "Faculty lane")


class ChannelHours(models.Model):
    """Which schedule a channel keeps (the bot and the form 24 h, operators weekdays...)."""

    channel = models.CharField(
        _("channel"), max_length=16, choices=HoursChannel.choices, unique=True
    )
    schedule = models.ForeignKey(
        BusinessSchedule, verbose_name=_("schedule"), on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("channel hours")
        verbose_name_plural = _("channel hours")

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.schedule}"


class SlaPolicy(models.Model):
    """Targets per priority; the first active policy (by order) whose conditions all match
    an inquiry applies to it. Empty conditions match everything."""

    name = models.CharField(_("name (Japanese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    schedule = models.ForeignKey(
        BusinessSchedule,
        verbose_name=_("business hours"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Empty: targets run in calendar time (24/7)."),
    )
    channels = models.JSONField(
        _("channels"), default=list, blank=True, help_text=_('e.g. ["form", "mail"]')
    )
    categories = models.JSONField(
        _("categories"), default=list, blank=True, help_text=_("category slugs")
    )
    member_categories = models.JSONField(_("member categories"), default=list, blank=True)
    lanes = models.JSONField(
        _("lanes"), default=list, blank=True, help_text=_('e.g. ["sensitive"]')
    )
    warn_at_fraction = models.FloatField(
        _("warn when this fraction is left"),
        default=0.25,
        help_text=_("0.25: warn when a quarter of the target time is left."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.label()

    def label(self, lang: str | None = None) -> str:
        lang = lang or get_language() or "ja"
        return self.name_en if lang.startswith("en") and self.name_en else self.name


class SlaTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=[(1, "P1"), (2, "P2"), (3, "P3"), (4, "P4")]
    )
    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"))
    next_response_minutes = models.PositiveIntegerField(
        _("next response (minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (minutes)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="slatarget_policy_priority")
        ]

    def __str__(self) -> str:
        return f"{self.policy} P{self.priority}"


class EntitledChannel(models.TextChoices):
    FORM = "form", pgettext_lazy("entitled channel", "Email form")
    SENSITIVE_FORM = "sensitive_form", pgettext_lazy("entitled channel", "Sensitive form")
    MAIL = "mail", pgettext_lazy("entitled channel", "Mail")
    CHAT = "chat", pgettext_lazy("entitled channel", "Chat with an operator")
    CALL = "call", pgettext_lazy("entitled channel", "Online call")


class Entitlement(models.Model):
    """Which channels a kind of requester may use. A requester kind without a row may use
    every channel; with a row, only the channels listed, and the note says why."""

    audience = models.CharField(
        _("who"),
        max_length=40,
        unique=True,
        help_text=_(
            "A member category (student_new, student_current, faculty_fulltime, faculty_parttime, staff, "
            'other) or a plan ("plan:free", "plan:pro", ...).'
        ),
    )
    channels = models.JSONField(
        _("channels allowed"),
        default=list,
        blank=True,
        help_text=_('Any of "form", "sensitive_form", "mail", "chat", "call".'),
    )
    note_ja = models.CharField(_("explanation (Japanese)"), max_length=300, blank=True)
    note_en = models.CharField(_("explanation (English)"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")

    def __str__(self) -> str:
        return self.audience

    def note(self, lang: str | None = None) -> str:
        lang = lang or get_language() or "ja"
        return self.note_en if lang.startswith("en") else self.note_ja
