"""Who may see what: the one definition.

Every read of an inquiry, its messages, attachments, hand-back proposals and audit
entries goes through this module: console lists, detail pages, search, counts,
notifications, downloads, exports, the API and WebSocket events.

- Faculty staff and administrators see every inquiry.
- Student staff see inquiries in the general lane only; restricted lanes (sensitive,
  faculty triage) do not exist for them: not in lists, counts, search or events, and a
  direct request answers 404, not 403, so existence does not leak.
- Requesters have no account; they hold a signed link to one inquiry and see its public
  thread (never internal notes).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Q, QuerySet
from django.http import Http404

from madoguchi.accounts.roles import is_desk_staff, sees_restricted
from madoguchi.core.events import GROUP_FACULTY_STAFF, GROUP_STUDENT_STAFF, requester_group

from .models import PUBLIC_KINDS, Attachment, Inquiry, Lane, Message

LINK_SALT = "madoguchi.requester-link"


def visible_inquiries(user: Any) -> QuerySet[Inquiry]:
    if not is_desk_staff(user):
        return Inquiry.objects.none()
    qs = Inquiry.objects.all()
    if not sees_restricted(user):
        qs = qs.filter(lane=Lane.GENERAL)
    return qs


def can_see(user: Any, inquiry: Inquiry) -> bool:
    if not is_desk_staff(user):
        return False
    return inquiry.lane == Lane.GENERAL or sees_restricted(user)


def access_inquiry(user: Any, reference: str, *, for_update: bool = False) -> Inquiry:
    qs = visible_inquiries(user).select_related("category", "assignee")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(reference=reference)
    except Inquiry.DoesNotExist:
        raise Http404 from None


def visible_messages(user: Any, inquiry: Inquiry) -> QuerySet[Message]:
    """Thread entries of an inquiry already obtained through access."""
    if not can_see(user, inquiry):
        return Message.objects.none()
    qs = inquiry.messages.select_related("author").prefetch_related("attachments")
    if not sees_restricted(user):
        # A chat message the bot recognised as sensitive (grades, ...) is for faculty only.
        qs = qs.filter(Q(meta__withheld__isnull=True) | Q(meta__withheld=False))
    return qs


def access_attachment(user: Any, attachment_id: int) -> Attachment:
    try:
        found = Attachment.objects.select_related("inquiry", "message").get(
            pk=attachment_id, inquiry__in=visible_inquiries(user)
        )
        if (
            found.message is not None
            and found.message.meta.get("withheld")
            and not sees_restricted(user)
        ):
            raise Attachment.DoesNotExist
        return found
    except (Attachment.DoesNotExist, ValueError):
        raise Http404 from None


def visible_audit_events(user: Any):  # noqa: ANN201 - a QuerySet of AuditEvent
    from madoguchi.privacy.models import AuditEvent

    if not is_desk_staff(user):
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.all()
    if not sees_restricted(user):
        qs = qs.filter(inquiry__lane=Lane.GENERAL)
    return qs


def visible_unrouted_mail(user: Any):  # noqa: ANN201 - a QuerySet of InboundMessage
    """Mail that became no inquiry and needs a person (no sender, unreadable, dead letters):
    it may contain anything, so only faculty staff and administrators see it."""
    from madoguchi.mail.models import InboundMessage, InboundStatus

    if not sees_restricted(user):
        return InboundMessage.objects.none()
    return InboundMessage.objects.filter(status__in=(InboundStatus.REVIEW, InboundStatus.DEAD))


# --- requesters ----------------------------------------------------------------------------


def requester_token(inquiry: Inquiry) -> str:
    return signing.dumps({"r": inquiry.reference, "v": inquiry.link_version}, salt=LINK_SALT)


def requester_url(inquiry: Inquiry) -> str:
    from django.urls import reverse

    return settings.SITE_URL + reverse("requester-thread", args=[requester_token(inquiry)])


def access_inquiry_by_token(token: str, *, for_update: bool = False) -> Inquiry:
    """The inquiry a requester's signed link points to, or 404."""
    try:
        data = signing.loads(
            token, salt=LINK_SALT, max_age=settings.REQUESTER_LINK_MAX_AGE_DAYS * 86400
        )
        reference, version = str(data["r"]), int(data["v"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Http404 from None
    qs = Inquiry.objects.select_related("category")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    inquiry = qs.filter(reference=reference, link_version=version).first()
    if inquiry is None:
        raise Http404
    return inquiry


def requester_messages(inquiry: Inquiry) -> QuerySet[Message]:
    return inquiry.messages.filter(kind__in=PUBLIC_KINDS).prefetch_related("attachments")


def access_requester_attachment(inquiry: Inquiry, attachment_id: int) -> Attachment:
    try:
        return Attachment.objects.get(
            pk=attachment_id,
            inquiry=inquiry,
            message__kind__in=PUBLIC_KINDS,
        )
    except (Attachment.DoesNotExist, ValueError):
        raise Http404 from None


# --- realtime audiences -------------------------------------------------------------------


def inquiry_audience(inquiry: Inquiry) -> list[str]:
    """The staff groups that may learn that this inquiry changed."""
    if inquiry.lane == Lane.GENERAL:
        return [GROUP_STUDENT_STAFF, GROUP_FACULTY_STAFF]
    return [GROUP_FACULTY_STAFF]


def requester_audience(inquiry: Inquiry) -> list[str]:
    return [requester_group(inquiry.pk)]
