"""The inquiry (お問い合わせ): the one record every channel creates, and its thread."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from madoguchi.core.clock import now


class Channel(models.TextChoices):
    FORM = "form", pgettext_lazy("channel", "Email form")
    SENSITIVE_FORM = "sensitive_form", pgettext_lazy("channel", "Sensitive form")
    API = "api", pgettext_lazy("channel", "API")
    MAIL = "mail", pgettext_lazy("channel", "Mail")
    CHAT = "chat", pgettext_lazy("channel", "Chat")
    CALL = "call", pgettext_lazy("channel", "Online call")


class Lane(models.TextChoices):
    """Who may see the inquiry. Only ``general`` is visible to student staff."""

    GENERAL = "general", pgettext_lazy("lane", "General")
    SENSITIVE = "sensitive", pgettext_lazy("lane", "Sensitive")
    TRIAGE = "triage", pgettext_lazy("lane", "Faculty triage")
    # A chat (or any inquiry) passed to faculty staff: restricted like the sensitive lane,
    # but the requester asked for no confidentiality, so faculty may release it directly.
    FACULTY = "faculty", pgettext_lazy("lane", "Faculty only")


RESTRICTED_LANES = (Lane.SENSITIVE, Lane.TRIAGE, Lane.FACULTY)


class Status(models.TextChoices):
    NEW = "new", pgettext_lazy("inquiry status", "New")
    OPEN = "open", pgettext_lazy("inquiry status", "Open")
    PENDING = "pending", pgettext_lazy("inquiry status", "Pending requester")
    SOLVED = "solved", pgettext_lazy("inquiry status", "Solved")
    CLOSED = "closed", pgettext_lazy("inquiry status", "Closed")


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)

# What a requester reads for each status: their own words, not the staff's.
REQUESTER_STATUS: dict[str, Any] = {
    Status.NEW: pgettext_lazy("requester status", "Received"),
    Status.OPEN: pgettext_lazy("requester status", "Being handled"),
    Status.PENDING: pgettext_lazy("requester status", "Waiting for your reply"),
    Status.SOLVED: pgettext_lazy("requester status", "Solved"),
    Status.CLOSED: pgettext_lazy("requester status", "Closed"),
}


class Priority(models.IntegerChoices):
    P1 = 1, pgettext_lazy("priority", "P1 urgent")
    P2 = 2, pgettext_lazy("priority", "P2 high")
    P3 = 3, pgettext_lazy("priority", "P3 normal")
    P4 = 4, pgettext_lazy("priority", "P4 low")


class MemberCategory(models.TextChoices):
    STUDENT_NEW = "student_new", pgettext_lazy("member category", "Student (new)")
    STUDENT_CURRENT = "student_current", pgettext_lazy("member category", "Student (current)")
    FACULTY_FULLTIME = "faculty_fulltime", pgettext_lazy("member category", "Faculty (full-time)")
    FACULTY_PARTTIME = "faculty_parttime", pgettext_lazy("member category", "Faculty (part-time)")
    STAFF = "staff", pgettext_lazy("member category", "Staff")
    OTHER = "other", pgettext_lazy("member category", "Other")


class ExtraFields(models.TextChoices):
    CLASS = "class", _("Class details (date, period, subject, instructor)")
    ZOOM = "zoom", _("Zoom sign-in address")


class Category(models.Model):
    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    name_ja = models.CharField(_("name (Japanese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    description_ja = models.CharField(_("description (Japanese)"), max_length=300, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    extra_fields = models.JSONField(
        _("extra fields"), default=list, blank=True, help_text=_('Any of "class", "zoom".')
    )
    form_only = models.BooleanField(
        _("form only"),
        default=False,
        help_text=_("Accepted only through the email form (e.g. exams)."),
    )
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "slug"]

    def __str__(self) -> str:
        return self.label()

    def label(self, lang: str | None = None) -> str:
        lang = lang or get_language() or "ja"
        return self.name_en if lang.startswith("en") and self.name_en else self.name_ja

    def description(self, lang: str | None = None) -> str:
        lang = lang or get_language() or "ja"
        return self.description_en if lang.startswith("en") else self.description_ja


class Inquiry(models.Model):
    reference = models.CharField(_("reference"), max_length=16, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    lane = models.CharField(_("lane"), max_length=16, choices=Lane.choices, default=Lane.GENERAL)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.P3
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT
    )
    subject = models.CharField(_("subject"), max_length=200)
    lang = models.CharField(_("language"), max_length=8, default="ja")

    requester_name = models.CharField(_("name"), max_length=100)
    requester_email = models.EmailField(_("email address"), max_length=254, db_index=True)
    # The identity provider's stable key of a signed-in requester (accounts.requester):
    # their inquiries stay theirs when their mail address changes.
    requester_key = models.CharField(max_length=300, blank=True, db_index=True)
    common_id = models.CharField(_("common ID"), max_length=10, blank=True, db_index=True)
    affiliation = models.CharField(_("faculty / graduate school"), max_length=100, blank=True)
    member_category = models.CharField(
        _("member category"), max_length=20, choices=MemberCategory.choices, blank=True
    )
    member_category_other = models.CharField(
        _("member category (other)"), max_length=100, blank=True
    )
    year_or_title = models.CharField(_("year / job title"), max_length=100, blank=True)
    # Category-dependent intake fields: class_date, class_period, class_subject,
    # class_instructor, zoom_signin_email, zoom_signin_unknown.
    details = models.JSONField(_("details"), default=dict, blank=True)
    sensitive_part = models.TextField(_("which part is sensitive"), blank=True)
    sensitive_reason = models.TextField(_("why it is sensitive"), blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_inquiries",
    )
    escalated = models.BooleanField(_("escalated to faculty"), default=False)

    # Idempotency: a form carries a one-time key; the fingerprint catches re-submissions.
    submission_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    # Mail threading: the Message-ID of the confirmation, root of the requester's thread.
    root_message_id = models.CharField(max_length=250, blank=True)
    # Bumping this revokes every requester link mailed so far.
    link_version = models.PositiveIntegerField(default=1)
    # Retention (madoguchi.retention): an inquiry on legal hold is never anonymised nor
    # its files deleted; once anonymised, only what the statistics need is left.
    legal_hold = models.BooleanField(_("legal hold"), default=False)
    legal_hold_reason = models.CharField(_("reason for the hold"), max_length=300, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)
    # Warnings for staff, as slugs: "possible_hijack", "unverified_sender",
    # "requester_address_bounces", "automated", "exam_related".
    flags = models.JSONField(_("flags"), default=list, blank=True)

    created_at = models.DateTimeField(_("created"), default=now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=now)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True)

    # Service levels (see madoguchi.sla): the policy that applies, the due time of each
    # target still open, and when the clock was paused (waiting for the requester).
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy",
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    # The earliest of the open targets: what the "due soon" view sorts by.
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    sla_warned = models.BooleanField(default=False)
    sla_breached = models.BooleanField(default=False)
    # Outcomes for the attainment report: None while the target is open or when none applied.
    first_response_met = models.BooleanField(null=True, blank=True)
    resolution_met = models.BooleanField(null=True, blank=True)

    class Meta:
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        indexes = [
            models.Index(
                fields=["lane", "status", "-updated_at", "-id"], name="inq_lane_status_upd"
            ),
            models.Index(fields=["assignee", "status", "-updated_at"], name="inq_assignee_status"),
            models.Index(fields=["-updated_at", "-id"], name="inq_updated"),
            models.Index(fields=["status", "due_at"], name="inq_due"),
            models.Index(fields=["status", "-updated_at", "-id"], name="inq_status_upd"),
            # Reports: the backlog's "open when the period began" and "solved per day".
            models.Index(fields=["solved_at"], name="inq_solved"),
            models.Index(
                fields=["-updated_at", "-id"],
                name="inq_unassigned_open",
                condition=models.Q(assignee__isnull=True, status__in=["new", "open", "pending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def is_restricted(self) -> bool:
        return self.lane in RESTRICTED_LANES

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def requester_status(self) -> str:
        label = REQUESTER_STATUS.get(self.status)
        return str(label) if label is not None else self.get_status_display()


class MessageKind(models.TextChoices):
    REQUESTER = "requester", pgettext_lazy("message kind", "From the requester")
    REPLY = "reply", pgettext_lazy("message kind", "Reply")
    NOTE = "note", pgettext_lazy("message kind", "Internal note")
    SYSTEM = "system", pgettext_lazy("message kind", "System")
    AUTO = "auto", pgettext_lazy("message kind", "Automatic mail")
    BOT = "bot", pgettext_lazy("message kind", "Chatbot")
    EVENT = "event", pgettext_lazy("message kind", "Chat event")


# What a requester sees of a thread: never notes, system entries or automatic mail.
PUBLIC_KINDS = (MessageKind.REQUESTER, MessageKind.REPLY, MessageKind.BOT, MessageKind.EVENT)


class Message(models.Model):
    """One entry in an inquiry's thread. Notes are internal: never mailed or shown to requesters."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    author_name = models.CharField(max_length=150, blank=True)
    body = models.TextField()
    # Sanitised HTML of a mail, shown only on request in a sandboxed frame.
    body_html = models.TextField(blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    mail_message_id = models.CharField(max_length=250, blank=True, db_index=True)
    # Chat: the sender's own id for the message (a re-send after a reconnect is the same
    # message), and structured extras (the bot's article, a rule's link, an event's kind).
    client_id = models.CharField(max_length=64, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    # For faculty staff only, whatever the inquiry's lane later becomes: set at creation for
    # every entry written while the inquiry was restricted (except the requester's own), and
    # for a requester message the bot withheld. Student staff see how many there are.
    restricted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["inquiry", "created_at", "id"], name="msg_thread")]
        constraints = [
            models.UniqueConstraint(
                fields=["inquiry", "client_id"],
                condition=~models.Q(client_id=""),
                name="msg_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.inquiry_id}:{self.kind}"

    @property
    def is_public(self) -> bool:
        return self.kind in PUBLIC_KINDS


class Attachment(models.Model):
    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    original_name = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=64, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Set only for raster images referenced from an HTML mail (cid:), which the console
    # may show inline; everything else is only ever downloaded.
    content_id = models.CharField(max_length=250, blank=True)
    inline_type = models.CharField(max_length=32, blank=True)
    # A file of a restricted entry that one more person may open besides faculty staff:
    # the operator (of either tier) who stored a call's screenshot.
    also_visible_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Deleted by housekeeping after this time (screenshots are kept only briefly).
    delete_after = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.original_name


class HandbackStatus(models.TextChoices):
    PROPOSED = "proposed", pgettext_lazy("hand-back", "Waiting for the requester")
    CONSENTED = "consented", pgettext_lazy("hand-back", "Consented")
    DECLINED = "declined", pgettext_lazy("hand-back", "Declined")
    WITHDRAWN = "withdrawn", pgettext_lazy("hand-back", "Withdrawn")


class HandbackProposal(models.Model):
    """Faculty asks the requester whether a sensitive inquiry may go to student staff."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="handbacks")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    note = models.TextField(blank=True)
    token = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=16, choices=HandbackStatus.choices, default=HandbackStatus.PROPOSED
    )
    created_at = models.DateTimeField(default=now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.inquiry_id}:{self.status}"
