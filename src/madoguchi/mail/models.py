from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.clock import now
from madoguchi.core.i18n import LANG_CHOICES


class OutboundStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("mail status", "Pending")
    SENT = "sent", pgettext_lazy("mail status", "Sent")
    FAILED = "failed", pgettext_lazy("mail status", "Failed")


class OutboundMail(models.Model):
    """The outbox: a mail is committed here with the write that caused it, then delivered
    by a task with retries. A row is sent at most once (row lock + status)."""

    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_mails",
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
    lang = models.CharField(_("language"), max_length=8, choices=LANG_CHOICES)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")
        constraints = [
            models.UniqueConstraint(fields=["key", "lang"], name="mailtemplate_key_lang")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.lang})"


class Mailbox(models.Model):
    """An address the desk receives mail at, and how mail reaches it."""

    class Transport(models.TextChoices):
        PUSH = "push", _("Delivered to the desk (LMTP/SMTP receiver or pipe)")
        IMAP = "imap", _("Fetched from an IMAP mailbox")

    class Security(models.TextChoices):
        SSL = "ssl", "IMAPS (TLS)"
        STARTTLS = "starttls", "STARTTLS"
        NONE = "none", _("None (loopback only)")

    class Auth(models.TextChoices):
        PASSWORD = "password", _("Password")
        OAUTH2 = "oauth2", _("OAuth2 (XOAUTH2)")

    address = models.EmailField(_("address"), unique=True)
    lang = models.CharField(_("language"), max_length=8, choices=LANG_CHOICES, default="ja")
    triage_first = models.BooleanField(
        _("faculty triage first"),
        default=False,
        help_text=_(
            "New inquiries from this address are seen by faculty staff first (the fallback address)."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    transport = models.CharField(
        _("transport"), max_length=8, choices=Transport.choices, default=Transport.PUSH
    )
    imap_host = models.CharField(_("IMAP host"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(
        _("IMAP security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    imap_username = models.CharField(_("IMAP user name"), max_length=200, blank=True)
    imap_auth = models.CharField(
        _("IMAP authentication"), max_length=10, choices=Auth.choices, default=Auth.PASSWORD
    )
    imap_secret_env = models.CharField(
        _("secret variable"),
        max_length=100,
        blank=True,
        help_text=_(
            "Name of the environment variable holding the password or OAuth2 client secret (never stored here)."
        ),
    )
    imap_folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    imap_processed_folder = models.CharField(
        _("move processed mail to"),
        max_length=200,
        blank=True,
        help_text=_("Empty: mark as seen and leave it."),
    )
    oauth2_token_url = models.URLField(_("OAuth2 token URL"), blank=True)
    oauth2_client_id = models.CharField(_("OAuth2 client ID"), max_length=200, blank=True)
    oauth2_scope = models.CharField(
        _("OAuth2 scope"),
        max_length=300,
        blank=True,
        default="https://outlook.office365.com/.default",
    )

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.address


class InboundStatus(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("inbound mail", "Received, not processed yet")
    PROCESSED = "processed", pgettext_lazy("inbound mail", "Processed")
    REVIEW = "review", pgettext_lazy("inbound mail", "Needs review")
    DEAD = "dead", pgettext_lazy("inbound mail", "Dead letter")


class InboundMessage(models.Model):
    """A received mail: raw bytes are on disk and this row committed before anything
    else happens, so a crash at any later step loses nothing (see inbound.ingest)."""

    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL)
    received_at = models.DateTimeField(default=now, db_index=True)
    raw_sha256 = models.CharField(max_length=64, unique=True)
    raw_size = models.PositiveBigIntegerField()
    # sha256(Message-ID + sender): the same mail re-delivered with other trace headers.
    dedupe_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    message_id = models.CharField(max_length=250, blank=True, db_index=True)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    action = models.CharField(max_length=16, blank=True)  # created / appended / ignored / rejected
    reason = models.CharField(max_length=200, blank=True)
    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_mails",
    )
    flags = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("incoming mail")
        verbose_name_plural = _("incoming mails")
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_status")]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.from_address} {self.action}"
