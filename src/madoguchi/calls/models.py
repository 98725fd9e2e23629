"""Online calls: a call is one live session of an inquiry (channel ``call``, or a chat or
mail inquiry an operator moved to a call).

Media never reaches the desk (peer to peer, or relayed by TURN); the desk holds what the
call needs around it: the requester's secret, the state (waiting, active, ended), the
queue and the operator, the time limit, whether a window is being shared, and the
inquiry's consent ledger (terms accepted, each screenshot allowed or denied). The text
chat of a call, its events and the operator's notes are the inquiry's thread.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.clock import now
from madoguchi.core.i18n import LANG_CHOICES
from madoguchi.inquiries.models import RESTRICTED_LANES


class CallTerms(models.Model):
    """The terms of use a requester accepts before a call connects; versioned: a changed
    text is a new version, and each acceptance names the version it accepted."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    text_ja = models.TextField(_("text (Japanese)"))
    text_en = models.TextField(_("text (English)"))
    published_at = models.DateTimeField(_("published"), default=now)

    class Meta:
        verbose_name = _("call terms of use")
        verbose_name_plural = _("call terms of use")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" else self.text_ja


class CallState(models.TextChoices):
    WAITING = "waiting", pgettext_lazy("call state", "In the waiting room")
    ACTIVE = "active", pgettext_lazy("call state", "In the call")
    ENDED = "ended", pgettext_lazy("call state", "Ended")
    EMAIL = "email", pgettext_lazy("call state", "Continued by mail")


LIVE_CALL_STATES = (CallState.WAITING, CallState.ACTIVE)


class ShareState(models.TextChoices):
    NONE = "none", pgettext_lazy("screen share", "Not sharing")
    ASKED = "asked", pgettext_lazy("screen share", "Asked to share a window")
    LIVE = "live", pgettext_lazy("screen share", "Sharing a window")
    PAUSED = "paused", pgettext_lazy("screen share", "Sharing paused")


class Call(models.Model):
    inquiry = models.ForeignKey("inquiries.Inquiry", on_delete=models.CASCADE, related_name="calls")
    # SHA-256 of the requester's secret (kept in the requester's browser only).
    secret_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(
        _("state"), max_length=10, choices=CallState.choices, default=CallState.WAITING
    )
    lang = models.CharField(_("language"), max_length=8, choices=LANG_CHOICES, default="ja")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        verbose_name=_("operator"),
    )
    # Joined with a connection code: this operator, no queue.
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    terms = models.ForeignKey(CallTerms, on_delete=models.PROTECT, related_name="calls")
    share = models.CharField(max_length=8, choices=ShareState.choices, default=ShareState.NONE)
    queued_at = models.DateTimeField(_("queued"), default=now, db_index=True)
    admitted_at = models.DateTimeField(_("admitted"), null=True, blank=True)
    deadline_at = models.DateTimeField(_("time limit"), null=True, blank=True)
    warned_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # requester / operator / time_limit / abandoned / email / closed_hours
    ended_by = models.CharField(max_length=12, blank=True)
    requester_left_at = models.DateTimeField(null=True, blank=True)
    # The inquiry's last thread entry before this call: the call's own text chat and
    # events are the entries after it (what a reopened call page shows again).
    thread_from = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("online call")
        verbose_name_plural = _("online calls")
        indexes = [models.Index(fields=["state", "queued_at"], name="call_queue")]

    def __str__(self) -> str:
        return f"{self.inquiry_id} {self.state}"

    @property
    def faculty_only(self) -> bool:
        """Only faculty staff may take it: the inquiry's lane says so."""
        return self.inquiry.lane in RESTRICTED_LANES

    @property
    def is_waiting(self) -> bool:
        return self.state == CallState.WAITING

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_CALL_STATES


class ConsentKind(models.TextChoices):
    TERMS = "terms", pgettext_lazy("consent", "Terms of use accepted")
    SCREENSHOT_ASKED = "shot_asked", pgettext_lazy("consent", "Screenshot asked for")
    SCREENSHOT_ALLOWED = "shot_allowed", pgettext_lazy("consent", "Screenshot allowed")
    SCREENSHOT_DENIED = "shot_denied", pgettext_lazy("consent", "Screenshot denied")
    SCREENSHOT_TAKEN = "shot_taken", pgettext_lazy("consent", "Screenshot stored")
    SCREENSHOT_DELETED = "shot_deleted", pgettext_lazy("consent", "Screenshot deleted")


class Consent(models.Model):
    """One line of an inquiry's consent ledger. A screenshot request is a row of kind
    ``shot_asked``; the requester's answer turns it into ``shot_allowed`` (with a
    single-use token, valid for a short time) or ``shot_denied``; storing the screenshot
    spends the token. Rows are never deleted while the inquiry exists."""

    inquiry = models.ForeignKey(
        "inquiries.Inquiry", on_delete=models.CASCADE, related_name="consents"
    )
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents"
    )
    kind = models.CharField(_("kind"), max_length=14, choices=ConsentKind.choices)
    detail = models.JSONField(default=dict, blank=True)
    token_hash = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consent ledger")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.inquiry_id} {self.kind}"


class CallInvitation(models.Model):
    """A one-time connection code an operator reads out on the phone: six digits, bound to
    one inquiry, single use, short-lived. Only its keyed hash is stored."""

    inquiry = models.ForeignKey(
        "inquiries.Inquiry", on_delete=models.CASCADE, related_name="call_invitations"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    code_hash = models.CharField(max_length=64, db_index=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("call invitation")
        verbose_name_plural = _("call invitations")

    def __str__(self) -> str:
        return f"{self.inquiry_id} until {self.expires_at:%H:%M}"
