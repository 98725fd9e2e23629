"""Live chat: a conversation is the live side of one inquiry (channel ``chat``).

The transcript is the inquiry's thread (``inquiries.Message``); this model holds only
what the live channel needs: the requester's secret, the state (bot, queued, active,
closed), the queue and the operator, and the rating.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.clock import now
from madoguchi.core.i18n import LANG_CHOICES
from madoguchi.inquiries.models import RESTRICTED_LANES


class ChatState(models.TextChoices):
    BOT = "bot", pgettext_lazy("chat state", "With the bot")
    QUEUED = "queued", pgettext_lazy("chat state", "Waiting for an operator")
    ACTIVE = "active", pgettext_lazy("chat state", "With an operator")
    EMAIL = "email", pgettext_lazy("chat state", "Continued by mail")
    CLOSED = "closed", pgettext_lazy("chat state", "Closed")


LIVE_STATES = (ChatState.BOT, ChatState.QUEUED, ChatState.ACTIVE)


class Conversation(models.Model):
    inquiry = models.OneToOneField(
        "inquiries.Inquiry", on_delete=models.CASCADE, related_name="chat"
    )
    # SHA-256 of the requester's secret; the secret itself lives only in the requester's
    # browser (a first-party cookie on the host site, or local storage on the desk's page).
    secret_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(
        _("state"), max_length=10, choices=ChatState.choices, default=ChatState.BOT
    )
    lang = models.CharField(_("language"), max_length=8, choices=LANG_CHOICES, default="ja")
    page_url = models.CharField(_("page"), max_length=300, blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chats",
        verbose_name=_("operator"),
    )
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True, db_index=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.CharField(
        max_length=12, blank=True
    )  # requester / operator / idle / abandoned
    requester_left_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=now)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=1000, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("chat conversation")
        verbose_name_plural = _("chat conversations")
        indexes = [
            models.Index(fields=["state", "queued_at"], name="chat_queue"),
            # Reports: the chats of a period.
            models.Index(fields=["created_at"], name="chat_created"),
        ]

    def __str__(self) -> str:
        return f"{self.inquiry_id} {self.state}"

    @property
    def faculty_only(self) -> bool:
        """Only faculty staff may take it: derived from the inquiry's lane (a chat passed
        to faculty is in the ``faculty`` lane), never stored twice."""
        return self.inquiry.lane in RESTRICTED_LANES

    @property
    def is_waiting(self) -> bool:
        """In the queue for an operator (what ``access.can_accept_chat`` asks)."""
        return self.state == ChatState.QUEUED


class OperatorStatus(models.Model):
    """Whether a staff member takes chats now, and how many at once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_status"
    )
    available = models.BooleanField(_("available"), default=False)
    max_chats = models.PositiveSmallIntegerField(_("concurrent chats"), default=3)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("operator status")
        verbose_name_plural = _("operator statuses")

    def __str__(self) -> str:
        return f"{self.user} {'available' if self.available else 'away'}"


class CannedReply(models.Model):
    title = models.CharField(_("title"), max_length=100)
    body_ja = models.TextField(_("text (Japanese)"))
    body_en = models.TextField(_("text (English)"))
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["sort_order", "title"]

    def __str__(self) -> str:
        return self.title

    def body(self, lang: str) -> str:
        return self.body_en if lang == "en" else self.body_ja
