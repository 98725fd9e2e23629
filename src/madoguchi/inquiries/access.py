"""Who may see what: the one definition.

Every read of an inquiry, its messages, attachments, hand-back proposals and audit
entries goes through this module: console lists, detail pages, search, counts,
notifications, downloads, exports, the API and WebSocket events.

- Faculty staff and administrators see every inquiry.
- Student staff see inquiries in the general lane only; restricted lanes (sensitive,
  faculty triage, passed to faculty) do not exist for them: not in lists, counts, search
  or events, and a direct request answers 404, not 403, so existence does not leak.
- Restricted stays restricted: a thread entry written while the inquiry was restricted
  (except the requester's own), a requester message the bot withheld, their files, and
  audit entries recorded while restricted stay for faculty staff after a hand-back or
  release (``Message.restricted``, ``AuditEvent.restricted``). Student staff learn only how
  many entries they cannot see. The questions the bot logged follow their message.
- Search matches only what the user may see (``searchable_messages``).
- Assignment (``can_assign``): student staff claim what is unassigned and pass on or
  release what is theirs; faculty staff and administrators assign anything to anyone who
  can see it.
- A chat is operated (send, pass on, continue by mail, end) by its operator or by faculty
  staff (``can_operate_chat``); a waiting chat is taken by anyone who may see it
  (``can_accept_chat``).
- Case studies (``can_write_case_study``, ``visible_case_studies``) are for faculty staff
  and administrators only, started from a solved or closed inquiry they may see; for
  student staff they do not exist (404).
- Reports (``report_inquiries``, ``report_related``): every figure counts what the user
  may see; student staff's figures are of the general lane only.
- Requesters have no account; they hold a signed link to one inquiry and see its public
  thread (never internal notes).
- Statistics releases (``madoguchi.stats``) are built, previewed and published by faculty
  staff and administrators only (``can_publish_statistics``; student staff get 404). A
  release counts what its builder may see (``statistics_inquiries``: every lane, since
  only faculty build one), and publishes counts only, suppressed; the command line
  ``madoguchi stats`` counts every lane too (``command_line_statistics_inquiries``).
  A published release is public: it holds no inquiry, only the frozen table.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Q, QuerySet
from django.http import Http404

from madoguchi.accounts.roles import FACULTY, STUDENT, is_desk_staff, role_of, sees_restricted
from madoguchi.core.events import (
    GROUP_CALL_WAITING,
    GROUP_FACULTY_STAFF,
    GROUP_STUDENT_STAFF,
    GROUP_WAITING,
    call_group,
    inquiry_group,
    requester_group,
    user_group,
)

from .models import PUBLIC_KINDS, Attachment, Inquiry, Lane, Message, Status

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
        qs = qs.filter(restricted=False)
    return qs


def hidden_message_count(user: Any, inquiry: Inquiry) -> int:
    """How many entries of a thread the user may see is there but cannot read (the line
    "N entries are visible to faculty staff only")."""
    if not can_see(user, inquiry) or sees_restricted(user):
        return 0
    return inquiry.messages.filter(restricted=True).count()


def searchable_messages(user: Any) -> QuerySet[Message]:
    """Every thread entry the user may read, in any inquiry: what search may match."""
    qs = Message.objects.filter(inquiry__in=visible_inquiries(user))
    if not sees_restricted(user):
        qs = qs.filter(restricted=False)
    return qs


def access_attachment(user: Any, attachment_id: int) -> Attachment:
    """A file follows its thread entry: hidden where the entry is."""
    try:
        found = Attachment.objects.select_related("inquiry", "message").get(
            pk=attachment_id, inquiry__in=visible_inquiries(user)
        )
        if (
            found.message is not None
            and found.message.restricted
            and not sees_restricted(user)
            and found.also_visible_to_id != getattr(user, "pk", None)
        ):
            raise Attachment.DoesNotExist
        return found
    except (Attachment.DoesNotExist, ValueError):
        raise Http404 from None


def can_manage_requester_data(user: Any) -> bool:
    """A requester's data (export everything, carry out an erasure): faculty staff and
    administrators, over every lane."""
    return sees_restricted(user)


def can_browse_audit(user: Any) -> bool:
    """The audit log's own pages (browse, export): faculty staff and administrators.
    Student staff see an inquiry's history on its page only (``visible_audit_events``)."""
    return sees_restricted(user)


def visible_audit_events(user: Any):  # noqa: ANN201 - a QuerySet of AuditEvent
    from madoguchi.privacy.models import AuditEvent

    if not is_desk_staff(user):
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.all()
    if not sees_restricted(user):
        qs = qs.filter(inquiry__lane=Lane.GENERAL, restricted=False)
    return qs


def sees_sensitive_fields(user: Any) -> bool:
    """The requester's "which part is sensitive / why" answers (page and API)."""
    return sees_restricted(user)


def visible_bot_questions(user: Any, questions: Any):  # noqa: ANN201 - a QuerySet of BotQuestion
    """The questions the bot logged, of ``questions`` (a ``kb.BotQuestion`` QuerySet: kb
    passes it, being above inquiries), that ``user`` may see: one from a chat only where
    its message may be read (a chat made restricted later, or a message the bot withheld,
    hides it from students)."""
    if not is_desk_staff(user):
        return questions.none()
    if sees_restricted(user):
        return questions
    return questions.filter(
        Q(inquiry__isnull=True, message__isnull=True)
        | Q(inquiry__lane=Lane.GENERAL, message__restricted=False)
    )


def can_publish_statistics(user: Any) -> bool:
    """Build, preview and publish statistics releases: faculty staff and administrators."""
    return is_desk_staff(user) and sees_restricted(user)


def statistics_inquiries(user: Any) -> QuerySet[Inquiry]:
    """The inquiries a statistics release built by ``user`` counts: what they may see,
    and nothing for anyone who may not build one (so a student's release, were there a
    path to one, could never count the restricted lanes)."""
    if not can_publish_statistics(user):
        return Inquiry.objects.none()
    return visible_inquiries(user)


def command_line_statistics_inquiries() -> QuerySet[Inquiry]:
    """What ``madoguchi stats`` counts: every lane. Whoever can run the command can read
    the database itself; the output is the same suppressed counts a release publishes."""
    return Inquiry.objects.all()


def can_view_reports(user: Any) -> bool:
    """The console's Reports (figures, charts, their CSV and JSON): every member of desk
    staff; what each one's figures count is ``report_inquiries``."""
    return is_desk_staff(user)


def report_inquiries(user: Any) -> QuerySet[Inquiry]:
    """The inquiries every figure of the Reports counts: those the user may see. Faculty
    staff and administrators count every lane; student staff the general lane only, so
    sensitive, triage and faculty-only inquiries are counted for faculty only, and a
    student's totals differ from a faculty member's by exactly those."""
    return visible_inquiries(user)


def report_related(user: Any, rows: Any, *, via: str = "inquiry"):  # noqa: ANN201 - a QuerySet
    """Rows of another model that belong to an inquiry (``via``: the path to it), for the
    Reports: a chat or a call counts where its inquiry does (``report_inquiries``). A
    join on the lane, not ``inquiry__in``, so that faculty figures need no subquery."""
    if not is_desk_staff(user):
        return rows.none()
    if sees_restricted(user):
        return rows
    return rows.filter(**{f"{via}__lane": Lane.GENERAL})


# --- who may do what ----------------------------------------------------------------------


def can_assign(user: Any, inquiry: Inquiry, assignee: Any | None) -> bool:
    """May ``user`` make ``assignee`` (None: nobody) the inquiry's assignee?

    Student staff claim an unassigned inquiry, and pass on or release only what is
    assigned to them; they never unassign or take over what is someone else's. Faculty
    staff and administrators assign anything to anyone who can see it."""
    if not can_see(user, inquiry):
        return False
    if assignee is not None and not can_see(assignee, inquiry):
        return False
    if sees_restricted(user):
        return True
    if inquiry.assignee_id is None:
        return assignee is not None and assignee.pk == user.pk
    return inquiry.assignee_id == user.pk


def can_operate_chat(user: Any, conversation: Any) -> bool:
    """Send, pass on, continue by mail, end: the chat's operator, or faculty staff. A chat
    for faculty only is in a restricted lane, so student staff cannot see it at all."""
    if not can_see(user, conversation.inquiry):
        return False
    if sees_restricted(user):
        return True
    return conversation.operator_id is not None and conversation.operator_id == user.pk


def can_accept_chat(user: Any, conversation: Any) -> bool:
    """Take a waiting chat: anyone who may see it (a faculty-only chat is restricted) and may
    take its inquiry (student staff never take over one someone else has claimed)."""
    return (
        conversation.is_waiting
        and can_see(user, conversation.inquiry)
        and can_assign(user, conversation.inquiry, user)
    )


def can_admit_call(user: Any, call: Any) -> bool:
    """Admit a waiting call: like taking a waiting chat; a call joined with a connection
    code waits for the operator who gave the code, no one else."""
    if call.invited_by_id is not None and call.invited_by_id != getattr(user, "pk", None):
        return False
    return can_accept_chat(user, call)


def is_call_operator(user: Any, call: Any) -> bool:
    """A party to the call: its operator, while they may still see the inquiry (a call
    marked sensitive drops a student operator at once). Faculty supervising do not join
    the media or the signalling."""
    return (
        call.operator_id is not None
        and call.operator_id == getattr(user, "pk", None)
        and can_see(user, call.inquiry)
    )


CASE_STUDY_STATUSES = (Status.SOLVED, Status.CLOSED)


def sees_case_studies(user: Any) -> bool:
    """The case-study pages exist at all (faculty staff and administrators)."""
    return sees_restricted(user)


def can_write_case_study(user: Any, inquiry: Inquiry) -> bool:
    """Start a case study of ``inquiry``: faculty staff or an administrator who may see it,
    once it is solved or closed (an open inquiry's thread is not finished)."""
    return (
        sees_case_studies(user) and can_see(user, inquiry) and inquiry.status in CASE_STUDY_STATUSES
    )


def can_review_case_study(user: Any, case_study: Any) -> bool:
    """Edit and approve a draft: faculty staff or an administrator who may see its inquiry."""
    return (
        sees_case_studies(user)
        and can_see(user, case_study.inquiry)
        and case_study.status == "draft"
    )


def visible_case_studies(user: Any, case_studies: Any):  # noqa: ANN201 - a QuerySet of CaseStudy
    """The case studies of ``case_studies`` (a ``cases.CaseStudy`` QuerySet: cases passes
    it, being above inquiries) that ``user`` may see: none for student staff, and only
    those of inquiries the user may see."""
    if not sees_case_studies(user):
        return case_studies.none()
    return case_studies.filter(inquiry__in=visible_inquiries(user))


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


def requester_inquiries(identity: Any) -> QuerySet[Inquiry]:
    """A signed-in requester's own inquiries, from every channel ("my inquiries"): those
    made under their identity-provider key, or sent from the address they proved. Only
    what they sent themselves: an inquiry without an address (a chat before it was taken
    over, say) is theirs only by its key."""
    if identity is None or not identity.email:
        return Inquiry.objects.none()
    mine = Q(requester_email__iexact=identity.email)
    if identity.key:
        mine |= Q(requester_key=identity.key)
    return Inquiry.objects.filter(mine).order_by("-updated_at")


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
# Staff sockets join their tier's group and their own (``staff_groups``); a console page
# showing one inquiry joins that inquiry's group too (``watch_group``). Events
# say only that something changed (the page re-fetches through the checks above).


def staff_groups(user: Any) -> list[str]:
    """The groups a staff member's console socket joins (none: not staff)."""
    role = role_of(user)
    if role == STUDENT:
        return [GROUP_STUDENT_STAFF, user_group(user.pk)]
    if role in (FACULTY, "admin"):
        return [GROUP_FACULTY_STAFF, user_group(user.pk)]
    return []


def watch_group(user: Any, inquiry: Inquiry) -> str | None:
    """The group a console page showing ``inquiry`` joins (its live thread, typing), or
    None when ``user`` may not see it. Events for a restricted inquiry go to the faculty
    group only (``thread_audience``); a student socket leaves when told it was restricted
    (``revoked_audience``)."""
    if not can_see(user, inquiry):
        return None
    return inquiry_group(inquiry.pk, "faculty" if sees_restricted(user) else "student")


def inquiry_audience(inquiry: Inquiry) -> list[str]:
    """The staff groups that may learn that this inquiry changed (lists, counts, pages)."""
    if inquiry.lane == Lane.GENERAL:
        return [GROUP_STUDENT_STAFF, GROUP_FACULTY_STAFF]
    return [GROUP_FACULTY_STAFF]


def thread_audience(inquiry: Inquiry) -> list[str]:
    """Who learns of each new entry of a live thread (a chat message, typing): the staff
    with the inquiry open and its assignee, never every staff socket."""
    groups = [inquiry_group(inquiry.pk, "faculty")]
    if inquiry.lane == Lane.GENERAL:
        groups.append(inquiry_group(inquiry.pk, "student"))
    if inquiry.assignee_id is not None:
        groups.append(user_group(inquiry.assignee_id))
    return groups


def revoked_audience(inquiry: Inquiry) -> list[str]:
    """Who is told that student staff lost the inquiry (it was restricted): the student
    group and the student sockets watching it (they leave its group)."""
    return [GROUP_STUDENT_STAFF, inquiry_group(inquiry.pk, "student")]


def queue_audience(*, restricted: bool) -> list[str]:
    """Staff who may take a waiting conversation from a queue (its lane restricted or not)."""
    return [GROUP_FACULTY_STAFF] if restricted else [GROUP_STUDENT_STAFF, GROUP_FACULTY_STAFF]


def waiting_audience() -> list[str]:
    """Requesters waiting in a queue: they learn only that it moved (and ask their place)."""
    return [GROUP_WAITING]


def requester_audience(inquiry: Inquiry) -> list[str]:
    return [requester_group(inquiry.pk)]


def call_requester_audience(call: Any) -> list[str]:
    """The requester's call page (its own group, joined with the call's secret)."""
    return [call_group(call.pk, "requester")]


def call_operator_audience(call: Any) -> list[str]:
    """The operator's call page, joined after ``is_call_operator``; also where the
    single-use screenshot consent goes, so it never reaches a staff group."""
    return [call_group(call.pk, "operator")]


def call_waiting_audience() -> list[str]:
    """Requesters in the call waiting room: they learn that the queue moved."""
    return [GROUP_CALL_WAITING]


def user_audience(user: Any) -> list[str]:
    """One staff member's own sockets (a call invited by their code has joined)."""
    return [user_group(user.pk)]
