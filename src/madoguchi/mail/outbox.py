"""Queueing and delivering outgoing mail.

``queue_mail`` is called by actions inside their transaction: the row commits with the
write that caused it and a delivery task is enqueued on commit. ``deliver`` sends one
row under a row lock and marks it sent, so a mail goes out once even when the task runs
twice; when SMTP fails the row is rescheduled with back-off and ``sweep`` re-enqueues
rows whose task was lost (e.g. a crash between commit and enqueue).

Mail a requester can cause without being staff (``REQUESTER_TRIGGERED``: confirmations of
the form, the API, a mail, a chat continued by mail, a sign-in code; a staff password
reset, which anyone can ask for by address) is capped per recipient across every channel:
beyond ``MAIL_CONFIRMATIONS_PER_HOUR`` to one address in an hour ``queue_mail`` withholds
it and returns None (the caller records that). Staff replies are never capped.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from string import Template
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from madoguchi.core.clock import now

from .defang import defang
from .models import MailTemplate, OutboundMail, OutboundStatus
from .texts import DEFAULTS, DESK_NAME, SIGNATURE, SIGNATURE_STANDALONE, STANDALONE

if TYPE_CHECKING:
    from madoguchi.inquiries.models import Inquiry

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def header_safe(value: str, limit: int = 250) -> str:
    """One line, no control characters: nothing a requester typed can add a header."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def new_message_id(hint: str = "") -> str:
    local = f"{hint.lower()}." if hint else ""
    return f"<{local}{secrets.token_hex(8)}@{settings.MAIL_DOMAIN}>"


# Placeholders whose values a requester wrote, with the length each may take in our mail.
REQUESTER_VALUES = {"name": 50, "subject": 200}
# Kinds anyone can cause without being staff; capped per recipient. (A staff password
# reset is asked for by address, by anyone, so it is capped too.)
REQUESTER_TRIGGERED = frozenset(
    {"confirmation", "confirmation_sensitive", "signin_code", "password_reset"}
)


def render(key: str, lang: str, values: dict[str, str]) -> tuple[str, str]:
    """Subject and body of a built-in or overridden mail text. Requester-written values
    (``REQUESTER_VALUES``) are defanged: the desk never mails a link a requester chose."""
    lang = "en" if lang.startswith("en") else "ja"
    override = MailTemplate.objects.filter(key=key, lang=lang).first()
    subject_t, body_t = (override.subject, override.body) if override else DEFAULTS[key][lang]
    values = {
        "desk_name": DESK_NAME[lang],
        **values,
        **{k: defang(values[k], limit) for k, limit in REQUESTER_VALUES.items() if k in values},
    }
    subject = Template(subject_t).safe_substitute(values)
    signature = (SIGNATURE_STANDALONE if key in STANDALONE else SIGNATURE)[lang]
    body = Template(body_t).safe_substitute(values) + Template(signature).safe_substitute(values)
    return header_safe(subject, 300), body


BODY_MARK = "\ue000"


def reply_frame(lang: str, values: dict[str, str]) -> tuple[str, str, str]:
    """What a staff reply mail puts around the operator's text: (subject, before, after),
    rendered from the same template as the mail itself, so the editor can show exactly
    what will be sent."""
    subject, body = render("reply", lang, {**values, "body": BODY_MARK})
    before, _mark, after = body.partition(BODY_MARK)
    return subject, before, after


def queue_mail(
    *,
    kind: str,
    to: str,
    subject: str,
    body: str,
    inquiry: Inquiry | None = None,
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
) -> OutboundMail | None:
    """Queue one mail; None when it is requester-triggered and the recipient's hourly
    limit is reached (nothing is queued then)."""
    if kind in REQUESTER_TRIGGERED and not within_requester_limit(to):
        log.info("%s to %s withheld: hourly limit reached", kind, header_safe(to, 254))
        return None
    mail = OutboundMail.objects.create(
        inquiry=inquiry,
        kind=kind,
        to=header_safe(to, 254),
        subject=header_safe(subject, 300),
        body=body,
        message_id=message_id or new_message_id(kind),
        in_reply_to=header_safe(in_reply_to),
        references=header_safe(references, 2000),
    )
    # Enqueued in the same transaction: the task row commits (or rolls back) together with
    # the mail, so there is no window in which a committed mail has no task.
    enqueue_delivery(mail.pk)
    return mail


def within_requester_limit(address: str) -> bool:
    """Fewer than MAIL_CONFIRMATIONS_PER_HOUR requester-triggered mails to ``address`` in
    the last hour, whichever channel caused them."""
    since = now() - dt.timedelta(hours=1)
    sent = OutboundMail.objects.filter(
        to__iexact=header_safe(address, 254), kind__in=REQUESTER_TRIGGERED, created_at__gte=since
    ).count()
    return sent < settings.MAIL_CONFIRMATIONS_PER_HOUR


def enqueue_delivery(mail_id: int, run_after: dt.datetime | None = None) -> None:
    from .tasks import deliver_outbound_mail

    task = deliver_outbound_mail.using(run_after=run_after) if run_after else deliver_outbound_mail
    task.enqueue(mail_id)


def _build(mail: OutboundMail) -> EmailMessage:
    headers = {
        "Message-ID": mail.message_id,
        "Reply-To": settings.DESK_ADDRESS,
        "Auto-Submitted": "auto-generated",
    }
    if mail.kind == "reply":
        # A person wrote this one (RFC 3834: only automatic mail is "auto-generated").
        headers.pop("Auto-Submitted")
    if mail.in_reply_to:
        headers["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        headers["References"] = mail.references
    message = EmailMessage(
        subject=mail.subject,
        body=mail.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
        headers=headers,
    )
    message.encoding = "utf-8"
    return message


CLAIM_SECONDS = 300


def deliver(mail_id: int) -> str:
    """Send one outbox row. Returns its status afterwards.

    The row is claimed in one short transaction, sent with no transaction open (SMTP may
    be slow; SQLite must not stay locked meanwhile), then marked in a second one.
    """
    with transaction.atomic():
        mail = OutboundMail.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None or mail.status != OutboundStatus.PENDING:
            return mail.status if mail else "missing"
        current = now()
        if mail.next_attempt_at > current + dt.timedelta(seconds=1):
            return mail.status  # a retry is scheduled later; a stray early task does nothing
        if mail.claimed_until and mail.claimed_until > current:
            return mail.status  # another worker is sending it right now
        mail.attempts += 1
        mail.claimed_until = current + dt.timedelta(seconds=CLAIM_SECONDS)
        mail.save(update_fields=["attempts", "claimed_until"])
    error = ""
    try:
        connection = get_connection(fail_silently=False)
        connection.send_messages([_build(mail)])
    except Exception as exc:  # SMTP down, refused, timed out: keep it and retry
        error = f"{type(exc).__name__}: {exc}"[:2000] or type(exc).__name__
    with transaction.atomic():
        mail = OutboundMail.objects.select_for_update().get(pk=mail_id)
        mail.claimed_until = None
        if not error:
            mail.status = OutboundStatus.SENT
            mail.sent_at = now()
            mail.last_error = ""
        else:
            delays = settings.MAIL_RETRY_DELAYS
            mail.last_error = error
            if mail.attempts > len(delays):
                mail.status = OutboundStatus.FAILED
                log.error("mail %s failed for good: %s", mail.pk, error)
            else:
                retry_at = now() + dt.timedelta(seconds=delays[mail.attempts - 1])
                mail.next_attempt_at = retry_at
                transaction.on_commit(
                    lambda: enqueue_delivery(mail_id, run_after=retry_at), robust=True
                )
                log.warning("mail %s not sent (attempt %s): %s", mail.pk, mail.attempts, error)
        mail.save(
            update_fields=["status", "sent_at", "last_error", "next_attempt_at", "claimed_until"]
        )
        return mail.status


def sweep(older_than_seconds: int = 120) -> int:
    """Re-enqueue pending mails that are due but whose task went missing."""
    cutoff = now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(
        OutboundMail.objects.filter(status=OutboundStatus.PENDING, next_attempt_at__lte=cutoff)
        .exclude(claimed_until__gt=now())
        .values_list("pk", flat=True)[:500]
    )
    for mail_id in ids:
        enqueue_delivery(mail_id)
    return len(ids)


def retry_now(ids: list[int] | None = None) -> int:
    """Make pending mail due now (all of it, or the given rows): the admin's "SMTP is
    back" action and `madoguchi mail retry`."""
    pending = OutboundMail.objects.filter(status=OutboundStatus.PENDING)
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    ids = list(pending.values_list("pk", flat=True))
    OutboundMail.objects.filter(pk__in=ids).update(next_attempt_at=now(), claimed_until=None)
    for mail_id in ids:
        enqueue_delivery(mail_id)
    return len(ids)
