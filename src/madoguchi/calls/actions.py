"""Every write of a call, in the shape of ``chat.actions``: each ``do_<verb>`` checks, locks
(inquiry first, then the call), writes through the public inquiry actions, audits, and
publishes after commit to an audience from the access module. Consumers run them on the
realtime pool (``core.realtime``)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from madoguchi.accounts.requester import RequesterIdentity
from madoguchi.core import ratelimit
from madoguchi.core.clock import now
from madoguchi.core.events import publish_on_commit
from madoguchi.inquiries import access
from madoguchi.inquiries import actions as inquiry_actions
from madoguchi.inquiries.models import (
    Attachment,
    Channel,
    Inquiry,
    Lane,
    Message,
    MessageKind,
    Priority,
    Status,
)
from madoguchi.kb import search
from madoguchi.privacy import audit
from madoguchi.sla import entitlements

from . import queries
from .models import Call, CallInvitation, CallState, Consent, ConsentKind, ShareState
from .validation import CallError, clean_code, clean_member_category, clean_share, clean_text


def _locked(pk: int) -> Call:
    """The call and its inquiry, locked inquiry first (the order every writer uses)."""
    inquiry = Inquiry.objects.select_for_update(of=("self",)).get(calls__pk=pk)
    call = (
        Call.objects.select_for_update(of=("self",))
        .select_related("operator", "terms", "invited_by")
        .get(pk=pk)
    )
    call.inquiry = inquiry
    return call


def _ended() -> CallError:
    return CallError(_("This call has ended."), "ended")


# --- publishing -----------------------------------------------------------------------------


def _to_requester(call: Call, event: dict[str, Any]) -> None:
    publish_on_commit(
        {"inquiry": call.inquiry.reference, **event}, audience=access.call_requester_audience(call)
    )


def _to_operator(call: Call, event: dict[str, Any]) -> None:
    publish_on_commit(
        {"inquiry": call.inquiry.reference, **event}, audience=access.call_operator_audience(call)
    )


def _publish_state(call: Call) -> None:
    event = {"kind": "call.state.changed"}
    _to_requester(call, event)
    _to_operator(call, event)


def _publish_queue(call: Call) -> None:
    """Staff who may admit calls learn that the call queue moved; waiting requesters ask
    their place again (a call queue is short: at most ``CALL_MAX_QUEUE``)."""
    publish_on_commit(
        {"kind": "call.queue"},
        audience=access.queue_audience(restricted=call.faculty_only)
        + access.call_waiting_audience(),
    )


def _publish_waiting(call: Call) -> None:
    """A call entered the waiting room: a notice on the console pages of those who may
    admit it (the consumer keeps it for the staff on duty), or of the one colleague it was
    passed to."""
    event = {"kind": "call.waiting", "inquiry": call.inquiry.reference}
    if call.invited_by is not None:
        publish_on_commit(
            {**event, "for_you": True}, audience=access.user_audience(call.invited_by)
        )
    else:
        publish_on_commit(event, audience=access.queue_audience(restricted=call.faculty_only))


def _event(call: Call, event: str, **values: Any) -> Message:
    """A line in the thread both sides see, in the call's language."""
    with translation.override(call.lang):
        texts = {
            "waiting": lambda: _("Waiting for an operator (online call)."),
            "admitted": lambda: _("%(name)s joined the call.") % values,
            "share_asked": lambda: _("The operator asked you to share one window."),
            "share_live": lambda: _("Screen sharing started (one window)."),
            "share_paused": lambda: _("Screen sharing paused."),
            "share_stopped": lambda: _("Screen sharing stopped."),
            "shot_asked": lambda: _("The operator asked to take a screenshot."),
            "shot_allowed": lambda: _("You allowed one screenshot."),
            "shot_denied": lambda: _("You did not allow the screenshot."),
            "shot_taken": lambda: _("A screenshot was stored (for the operator and faculty)."),
            "by_mail": lambda: _("This inquiry will be answered by email."),
            "ended": lambda: _("The call ended after %(minutes)s min.") % values,
            "time_limit": lambda: _("The call reached its time limit and ended."),
            "transferred": lambda: (
                _("The call was passed to %(name)s. Please wait a moment.") % values
            ),
            "to_faculty": lambda: _("The call was passed to faculty staff. Please wait a moment."),
            "left": lambda: _("You left the waiting room."),
        }
        text = texts[event]()
    message, _created = inquiry_actions.do_append_message(
        call.inquiry, kind=MessageKind.EVENT, body=text, meta={"event": event, "call": call.pk}
    )
    _to_requester(call, {"kind": "call.message", "message": queries.message_payload(message)})
    return message


# --- the requester's side -------------------------------------------------------------------


@dataclass
class Started:
    call: Call
    secret: str


def _check_terms(version: Any) -> Any:
    terms = queries.current_terms()
    if version != terms.version:
        raise CallError(
            _("The terms of use have changed. Please read them again and accept."), "terms"
        )
    return terms


def _form_link(lang: str) -> str:
    return reverse("inquiry-form") + f"?lang={lang}"


def do_start(
    topic: Any,
    *,
    lang: str,
    terms_version: Any,
    name: str = "",
    requester: RequesterIdentity | None = None,
    member_category: Any = "",
) -> Started:
    """A requester accepted the terms and enters the waiting room with a short topic. A
    topic about examinations goes to the email form instead (as in chat); one that may
    be sensitive makes the call one for faculty staff only. Where the desk requires
    sign-in (``CALL_REQUIRE_SIGNIN``) only a signed-in requester may start, and the
    inquiry is theirs (their address, name and member category); where the channel is
    restricted to some requesters (entitlements), the member category decides."""
    lang = "en" if lang == "en" else "ja"
    with translation.override(lang):
        if settings.CALL_REQUIRE_SIGNIN and requester is None:
            raise CallError(_("Please sign in before starting a call."), "signin")
        category = (requester.member_category if requester else "") or clean_member_category(
            member_category
        )
        verdict = entitlements.check(category or None, "call", lang)
        if not verdict.allowed:
            raise CallError(
                verdict.note
                or _("Online calls are not available to you. Please use the email form."),
                "not_entitled",
            )
        topic = clean_text(topic, limit=500)
        terms = _check_terms(terms_version)
        rule = search.rules().match(topic)
        if rule is not None and rule.name == "exam":
            raise CallError(rule.message(lang), "exam")
        available = queries.availability(lang)
        if available.status == "closed_hours":
            raise CallError(
                _("Online calls are not available now; they are next available from %(when)s.")
                % {"when": available.next_open},
                "closed_hours",
            )
        if available.status == "busy":
            raise CallError(queries.busy_text(lang), "busy")
        visitor = name.strip()[:100] if isinstance(name, str) else ""
        if requester is not None and requester.name:
            visitor = requester.name[:100]
        with transaction.atomic():
            sensitive = rule is not None and rule.name == "sensitive"
            inquiry = Inquiry(
                channel=Channel.CALL,
                lane=Lane.FACULTY if sensitive else Lane.GENERAL,
                subject=(_("Online call (the topic is withheld)") if sensitive else topic[:80])
                or "—",
                lang=lang,
                requester_name=visitor or _("Call visitor"),
                requester_email=requester.email if requester else "",
                requester_key=requester.key if requester else "",
                priority=Priority.P3,
            )
            first = inquiry_actions.do_open_inquiry(inquiry, body=topic)
            if sensitive:
                inquiry_actions.do_withhold_message(first, reason="sensitive")
            inquiry_actions.do_open_for_staff(
                inquiry, verb="call.requested", member_category=category
            )
            started = _new_call(inquiry, lang=lang, terms=terms)
            _publish_queue(started.call)
            _publish_waiting(started.call)
    return started


def _new_call(inquiry: Inquiry, *, lang: str, terms: Any, invited_by: Any | None = None) -> Started:
    secret = secrets.token_urlsafe(32)
    last = inquiry.messages.order_by("-pk").values_list("pk", flat=True).first()
    call = Call.objects.create(
        inquiry=inquiry,
        thread_from=last or 0,
        secret_hash=queries.secret_hash(secret),
        lang=lang,
        terms=terms,
        invited_by=invited_by,
        queued_at=now(),
    )
    Consent.objects.create(
        inquiry=inquiry, call=call, kind=ConsentKind.TERMS, detail={"version": terms.version}
    )
    audit.record(
        "call.terms_accepted", inquiry=inquiry, actor_kind="requester", version=terms.version
    )
    if invited_by is None:
        _event(call, "waiting")
    return Started(call, secret)


MISSES = "call-code"  # wrong connection codes, per client address and for the whole desk
ALL = "all"


def do_join_by_code(code: Any, *, lang: str, terms_version: Any, address: str) -> Started:
    """A requester enters the code an operator read out: the call joins that operator
    directly, on the code's inquiry, without the queue. Misses are counted per address
    (locked out after ``CALL_CODE_MAX_MISSES``) and for the whole desk."""
    lang = "en" if lang == "en" else "ja"
    with translation.override(lang):
        terms = _check_terms(terms_version)
        locked = _(
            "Too many wrong codes. Please wait a few minutes, or ask the operator for a new code."
        )
        lockout = settings.CALL_CODE_LOCKOUT_MINUTES * 60
        if (
            ratelimit.misses(MISSES, address) >= settings.CALL_CODE_MAX_MISSES
            or ratelimit.misses(MISSES, ALL) >= settings.CALL_CODE_GLOBAL_MISSES_PER_HOUR
        ):
            raise CallError(locked, "locked")
        value = clean_code(code)
        with transaction.atomic():
            invitation = (
                CallInvitation.objects.select_for_update()
                .select_related("inquiry", "operator")
                .filter(code_hash=queries.code_hash(value), used_at__isnull=True)
                .filter(expires_at__gt=now())
                .first()
            )
            if invitation is None or not access.can_see(invitation.operator, invitation.inquiry):
                # The cache is outside the transaction: a miss stays counted.
                ratelimit.add_miss(MISSES, address, seconds=lockout)
                ratelimit.add_miss(MISSES, ALL, seconds=3600)
                raise CallError(
                    _("This code is not valid. Check it, or ask for a new one."), "code"
                )
            invitation.used_at = now()
            invitation.save(update_fields=["used_at"])
            inquiry = Inquiry.objects.select_for_update(of=("self",)).get(pk=invitation.inquiry_id)
            started = _new_call(inquiry, lang=lang, terms=terms, invited_by=invitation.operator)
            audit.record(
                "call.code_used", inquiry=inquiry, actor_kind="requester", invitation=invitation.pk
            )
            started.call.inquiry = inquiry
            _admit(started.call, invitation.operator)  # no queue: the operator is waiting
            publish_on_commit(
                {"kind": "call.invited_joined", "inquiry": inquiry.reference},
                audience=access.user_audience(invitation.operator),
            )
    return started


def do_mark_connected(pk: int, connected: bool) -> None:
    """The requester's socket came or went: a waiting requester who is away for longer
    than ``CALL_REJOIN_GRACE_SECONDS`` loses the place (housekeeping)."""
    Call.objects.filter(pk=pk, state__in=(CallState.WAITING, CallState.ACTIVE)).update(
        requester_left_at=None if connected else now()
    )


def do_leave(call: Call) -> None:
    """The requester leaves the waiting room or hangs up."""
    with transaction.atomic():
        call = _locked(call.pk)
        if not call.is_live:
            return
        waiting = call.state == CallState.WAITING
        _end(call, "requester")
        if waiting:
            _event(call, "left")


def do_requester_text(call: Call, body: Any, *, client_id: str) -> Message:
    """A line the requester types in the call's text chat (stored once per client id)."""
    body = clean_text(body)
    with transaction.atomic():
        call = _locked(call.pk)
        if not call.is_live:
            raise _ended()
        message, created = inquiry_actions.do_append_message(
            call.inquiry, kind=MessageKind.REQUESTER, body=body, client_id=client_id
        )
        if created:
            _to_requester(
                call, {"kind": "call.message", "message": queries.message_payload(message)}
            )
            _to_operator(
                call, {"kind": "call.message", "message": queries.message_payload(message)}
            )
    return message


def do_set_share(call: Call, state: Any, surface: Any) -> Call:
    """The requester's page reports its share: live (one window: the page checked what the
    browser gave it), paused (no frames), or stopped."""
    state, surface = clean_share(state, surface)
    with transaction.atomic():
        call = _locked(call.pk)
        if call.state != CallState.ACTIVE:
            raise CallError(_("Sharing is possible only during the call."), "not_live")
        new = {"live": ShareState.LIVE, "paused": ShareState.PAUSED, "stopped": ShareState.NONE}[
            state
        ]
        if new == call.share:
            return call
        call.share = new
        call.save(update_fields=["share"])
        _event(
            call,
            {"live": "share_live", "paused": "share_paused", "stopped": "share_stopped"}[state],
        )
        audit.record("call.share", inquiry=call.inquiry, actor_kind="requester", state=state)
        _publish_state(call)
    return call


def do_answer_screenshot(call: Call, request: Any, allow: Any) -> Consent:
    """The requester answers a screenshot request. Only "allow" issues a consent: one use,
    valid ``CALL_SCREENSHOT_CONSENT_SECONDS``, told to the operator's call page alone."""
    if not isinstance(request, int) or not isinstance(allow, bool):
        raise CallError(_("Invalid message."), "invalid")
    with transaction.atomic():
        call = _locked(call.pk)
        consent = (
            Consent.objects.select_for_update()
            .filter(
                pk=request, call=call, kind=ConsentKind.SCREENSHOT_ASKED, answered_at__isnull=True
            )
            .first()
        )
        if consent is None or call.state != CallState.ACTIVE:
            raise CallError(_("This request is no longer open."), "stale")
        consent.answered_at = now()
        token = ""
        if allow and call.share == ShareState.LIVE:
            token = secrets.token_urlsafe(24)
            consent.kind = ConsentKind.SCREENSHOT_ALLOWED
            consent.token_hash = queries.secret_hash(token)
            consent.expires_at = now() + dt.timedelta(
                seconds=settings.CALL_SCREENSHOT_CONSENT_SECONDS
            )
        else:
            consent.kind = ConsentKind.SCREENSHOT_DENIED
        consent.save(update_fields=["answered_at", "kind", "token_hash", "expires_at"])
        allowed = consent.kind == ConsentKind.SCREENSHOT_ALLOWED
        audit.record(
            "call.screenshot_allowed" if allowed else "call.screenshot_denied",
            inquiry=call.inquiry,
            actor_kind="requester",
            consent=consent.pk,
        )
        _event(call, "shot_allowed" if allowed else "shot_denied")
        _to_operator(
            call,
            {"kind": "call.screenshot", "request": consent.pk, "allowed": allowed, "token": token},
        )
    return consent


def do_continue_by_mail(call: Call, email: Any, name: Any = "") -> None:
    """After the operator switched to an email answer, the requester leaves an address."""
    from madoguchi.chat.validation import ChatError, clean_address

    try:
        address, clean_name = clean_address(email, name)
    except ChatError as exc:
        raise CallError(str(exc), exc.code) from None
    with transaction.atomic():
        call = _locked(call.pk)
        if call.state not in (CallState.EMAIL, CallState.ACTIVE, CallState.WAITING):
            raise _ended()
        inquiry_actions.do_continue_by_mail(
            call.inquiry, email=address, name=clean_name, verb="call.continued_by_mail"
        )
        if call.is_live:
            _end(call, "email")
            call.state = CallState.EMAIL
            call.save(update_fields=["state"])
        _publish_state(call)


# --- the operator's side --------------------------------------------------------------------


def _call_for(user: Any, reference: str) -> Call:
    """The latest call of an inquiry the user may see, locked (404 otherwise)."""
    inquiry = access.access_inquiry(user, reference, for_update=True)
    call = (
        Call.objects.select_for_update(of=("self",))
        .select_related("operator", "terms", "invited_by")
        .filter(inquiry=inquiry)
        .order_by("-pk")
        .first()
    )
    if call is None:
        raise Http404
    call.inquiry = inquiry
    return call


def _operated_by(user: Any, reference: str) -> Call:
    call = _call_for(user, reference)
    if not access.is_call_operator(user, call):
        raise PermissionDenied(_("Only the operator of this call can do that."))
    return call


def do_admit(user: Any, reference: str) -> Call:
    """An operator admits a waiting requester (a call invited by code: its operator only)."""
    with transaction.atomic():
        call = _call_for(user, reference)
        if call.state != CallState.WAITING:
            raise CallError(_("This call is no longer waiting."), "not_waiting")
        if not access.can_admit_call(user, call):
            raise CallError(_("This call is for someone else."), "taken")
        _admit(call, user)
    return call


def _admit(call: Call, user: Any) -> None:
    if call.inquiry.assignee_id != user.pk:
        inquiry_actions.do_assign(call.inquiry, user, acting_user=user)
    if call.inquiry.status in (Status.NEW, Status.SOLVED, Status.CLOSED):
        inquiry_actions.do_change_status(call.inquiry, Status.OPEN, acting_user=user)
    call.state = CallState.ACTIVE
    call.operator = user
    call.admitted_at = call.admitted_at or now()
    # A call passed on keeps its time limit; a new one gets the whole of it.
    call.deadline_at = call.deadline_at or now() + dt.timedelta(minutes=settings.CALL_MAX_MINUTES)
    call.save(update_fields=["state", "operator", "admitted_at", "deadline_at"])
    _schedule_clock(call)
    audit.record("call.admitted", actor=user, inquiry=call.inquiry, call=call.pk)
    _event(call, "admitted", name=str(user))
    _publish_state(call)
    _publish_queue(call)


def do_operator_text(user: Any, reference: Any, body: Any, *, client_id: Any) -> Message:
    """A line the operator types in the call's text chat (stored once per client id).
    Checked in this order: the inquiry (404 for one the user may not see), the operator,
    then what was sent."""
    with transaction.atomic():
        call = _operated_by(user, reference)
        body = clean_text(body)
        client_id = _client_id(client_id)
        if call.state != CallState.ACTIVE:
            raise CallError(_("This call is not live; reply by email instead."), "not_live")
        message, created = inquiry_actions.do_append_message(
            call.inquiry, kind=MessageKind.REPLY, body=body, client_id=client_id, author=user
        )
        if created:
            _to_requester(
                call, {"kind": "call.message", "message": queries.message_payload(message)}
            )
    return message


def _client_id(value: Any) -> str:
    from madoguchi.chat.validation import ChatError, clean_client_id

    try:
        return clean_client_id(value)
    except ChatError as exc:
        raise CallError(str(exc), exc.code) from None


def do_ask_share(user: Any, reference: str) -> Call:
    with transaction.atomic():
        call = _operated_by(user, reference)
        if call.state != CallState.ACTIVE:
            raise CallError(_("This call is not live."), "not_live")
        if call.share == ShareState.NONE:
            call.share = ShareState.ASKED
            call.save(update_fields=["share"])
        _event(call, "share_asked")
        _publish_state(call)
    return call


def do_ask_screenshot(user: Any, reference: str) -> Consent:
    """The operator asks for one screenshot of the shared window: the requester's page
    shows what would be captured and asks allow or deny."""
    with transaction.atomic():
        call = _operated_by(user, reference)
        if call.state != CallState.ACTIVE or call.share != ShareState.LIVE:
            raise CallError(_("A screenshot needs a live shared window."), "not_sharing")
        Consent.objects.filter(
            call=call, kind=ConsentKind.SCREENSHOT_ASKED, answered_at__isnull=True
        ).update(answered_at=now(), kind=ConsentKind.SCREENSHOT_DENIED, detail={"superseded": True})
        consent = Consent.objects.create(
            inquiry=call.inquiry, call=call, kind=ConsentKind.SCREENSHOT_ASKED
        )
        audit.record("call.screenshot_asked", actor=user, inquiry=call.inquiry, consent=consent.pk)
        _event(call, "shot_asked")
        _to_requester(call, {"kind": "call.screenshot_asked", "request": consent.pk})
    return consent


SCREENSHOT_TYPES = {
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}


def _image_type(head: bytes) -> tuple[str, str] | None:
    for magic, found in SCREENSHOT_TYPES.items():
        if head.startswith(magic):
            return found
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ("image/webp", "webp")
    return None


def do_store_screenshot(user: Any, reference: str, token: Any, upload: Any) -> Attachment:
    """Store a screenshot the requester allowed: the token must be this call's, unused and
    unexpired, whatever the client sends. The image is an entry for faculty staff, which
    the operator who took it may also open, deleted after ``SCREENSHOT_RETENTION_DAYS``."""
    with translation.override(translation.get_language() or "ja"):
        refused = _("A screenshot needs the requester's permission, asked for this one.")
    with transaction.atomic():
        call = _operated_by(user, reference)  # first: 404 for what the user may not see
        if not isinstance(token, str) or not 8 <= len(token) <= 100:
            raise PermissionDenied(refused)
        if upload is None or upload.size > settings.SCREENSHOT_MAX_BYTES:
            raise CallError(_("The screenshot is missing or too large."), "invalid")
        head = upload.read(16)
        upload.seek(0)
        kind = _image_type(head)
        if kind is None:
            raise CallError(_("A screenshot must be a PNG, JPEG or WebP image."), "invalid")
        consent = (
            Consent.objects.select_for_update()
            .filter(
                call=call,
                kind=ConsentKind.SCREENSHOT_ALLOWED,
                token_hash=queries.secret_hash(token),
                used_at__isnull=True,
                expires_at__gt=now(),
            )
            .first()
        )
        if consent is None or call.state != CallState.ACTIVE:
            audit.record("call.screenshot_refused", actor=user, inquiry=call.inquiry)
            raise PermissionDenied(refused)
        consent.used_at = now()
        consent.save(update_fields=["used_at"])
        upload.name = f"screenshot-{call.inquiry.reference}-{consent.pk}.{kind[1]}"
        upload.content_type = kind[0]
        with translation.override(call.lang):
            body = _("Screenshot of the shared window (with the requester's permission).")
        message, _created = inquiry_actions.do_append_message(
            call.inquiry,
            kind=MessageKind.NOTE,
            body=body,
            author=user,
            meta={"screenshot": consent.pk, "call": call.pk},
            files=[upload],
        )
        inquiry_actions.do_withhold_message(message, reason="screenshot")
        attachment = message.attachments.get()
        attachment.also_visible_to = user
        attachment.delete_after = now() + dt.timedelta(days=settings.SCREENSHOT_RETENTION_DAYS)
        attachment.save(update_fields=["also_visible_to", "delete_after"])
        Consent.objects.create(
            inquiry=call.inquiry,
            call=call,
            kind=ConsentKind.SCREENSHOT_TAKEN,
            detail={"attachment": attachment.pk, "consent": consent.pk},
        )
        audit.record(
            "call.screenshot_stored",
            actor=user,
            inquiry=call.inquiry,
            attachment=attachment.pk,
            consent=consent.pk,
        )
        _event(call, "shot_taken")
    return attachment


NOTE_MAX_CHARS = 10_000


def do_note(user: Any, reference: str, body: Any) -> Message:
    """An internal note on the call's inquiry, written on the call page (the call goes
    on): never shown to the requester; anyone who may see the inquiry may write one."""
    with transaction.atomic():
        inquiry = access.access_inquiry(user, reference, for_update=True)
        text = clean_text(body, limit=NOTE_MAX_CHARS)
        return inquiry_actions.do_add_note(inquiry, text, acting_user=user)


def do_switch_to_mail(user: Any, reference: str) -> Call:
    """The operator will answer by email: the call ends, the inquiry stays open; a
    requester without an address on file is asked for one."""
    with transaction.atomic():
        call = _operated_by(user, reference)
        if not call.is_live:
            raise _ended()
        _end(call, "email")
        call.state = CallState.EMAIL
        call.save(update_fields=["state"])
        _event(call, "by_mail")
        audit.record("call.switched_to_mail", actor=user, inquiry=call.inquiry)
    return call


def do_transfer(
    user: Any, reference: str, *, to_user: Any | None = None, to_faculty: bool = False
) -> Call:
    """Pass a live call to a colleague (only they may admit it again) or to faculty (the
    inquiry moves to the faculty lane: restricted at once). The requester waits again;
    the media starts afresh with the next operator. The time limit stays the call's."""
    with transaction.atomic():
        call = _operated_by(user, reference)
        if call.state != CallState.ACTIVE:
            raise CallError(_("Only a live call can be passed on."), "not_live")
        if not to_faculty and (
            to_user is None or to_user.pk == user.pk or not access.can_see(to_user, call.inquiry)
        ):
            raise CallError(_("Choose a member of staff who can see this inquiry."), "invalid")
        audit.record(
            "call.transferred",
            actor=user,
            inquiry=call.inquiry,
            to=getattr(to_user, "pk", None) if not to_faculty else None,
            to_faculty=to_faculty,
        )
        call.state = CallState.WAITING
        call.operator = None
        call.invited_by = None if to_faculty else to_user
        call.share = ShareState.NONE
        call.queued_at = now()
        call.save(update_fields=["state", "operator", "invited_by", "share", "queued_at"])
        if to_faculty:
            if call.inquiry.assignee_id == user.pk:
                inquiry_actions.do_assign(call.inquiry, None, acting_user=user)
            _event(call, "to_faculty")
            # Last: a student passing it on cannot see it afterwards.
            inquiry_actions.do_pass_to_faculty(call.inquiry, acting_user=user)
        elif to_user is not None:
            if call.inquiry.assignee_id == user.pk:  # the case goes with the call
                inquiry_actions.do_assign(call.inquiry, to_user, acting_user=user)
            _event(call, "transferred", name=str(to_user))
            publish_on_commit(
                {"kind": "call.invited_joined", "inquiry": call.inquiry.reference},
                audience=access.user_audience(to_user),
            )
        _publish_state(call)
        _publish_queue(call)
        _publish_waiting(call)
    return call


def do_end_by_operator(user: Any, reference: str) -> Call:
    with transaction.atomic():
        call = _operated_by(user, reference)
        if not call.is_live:
            raise _ended()
        _end(call, "operator")
    return call


def do_create_invitation(user: Any, reference: str) -> tuple[CallInvitation, str]:
    """A connection code for an inquiry the operator can see, to read out on the phone."""
    with transaction.atomic():
        inquiry = access.access_inquiry(user, reference, for_update=True)
        return _invitation(user, inquiry)


def _invitation(user: Any, inquiry: Inquiry) -> tuple[CallInvitation, str]:
    # A code is unique among live ones; six digits leave room for that.
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        digest = queries.code_hash(code)
        if not CallInvitation.objects.filter(
            code_hash=digest, used_at__isnull=True, expires_at__gt=now()
        ).exists():
            break
    invitation = CallInvitation.objects.create(
        inquiry=inquiry,
        operator=user,
        code_hash=digest,
        expires_at=now() + dt.timedelta(minutes=settings.CALL_CODE_MINUTES),
    )
    audit.record("call.invitation_created", actor=user, inquiry=inquiry, invitation=invitation.pk)
    return invitation, code


def do_offer_call_in_chat(user: Any, reference: str) -> str:
    """ "Let's talk": the operator of a live chat offers a call on the same inquiry. The
    requester gets a line with a link that carries a connection code for this operator;
    the call, when joined, is one more session of the same case."""
    from madoguchi.chat import actions as chat_actions
    from madoguchi.chat.models import ChatState
    from madoguchi.chat.validation import ChatError

    with transaction.atomic():
        try:
            conversation = chat_actions.conversation_operated_by(user, reference)
        except ChatError as exc:
            raise CallError(str(exc), exc.code) from None
        if conversation.state != ChatState.ACTIVE:
            raise CallError(_("A call can be offered only in a live chat."), "not_live")
        _invitation_row, code = _invitation(user, conversation.inquiry)
        lang = conversation.lang
        with translation.override(lang):
            text = _(
                "The operator invites you to an online call. Open the link to join (valid "
                "for %(minutes)s minutes)."
            ) % {"minutes": settings.CALL_CODE_MINUTES}
        chat_actions.do_add_entry(
            conversation,
            kind=MessageKind.EVENT,
            body=text,
            meta={
                "event": "call_offered",
                "link": reverse("call-page") + f"?code={code}&lang={lang}",
            },
        )
    return code


# --- ending, housekeeping -------------------------------------------------------------------


def _end(call: Call, by: str) -> None:
    """End a live call (the caller holds the locks)."""
    was_active = call.state == CallState.ACTIVE
    call.state = CallState.ENDED
    call.ended_at = now()
    call.ended_by = by
    call.share = ShareState.NONE
    call.save(update_fields=["state", "ended_at", "ended_by", "share"])
    Consent.objects.filter(
        call=call, kind=ConsentKind.SCREENSHOT_ALLOWED, used_at__isnull=True
    ).update(expires_at=now())
    if was_active:
        minutes = max(
            1, round((call.ended_at - (call.admitted_at or call.ended_at)).total_seconds() / 60)
        )
        _event(call, "time_limit" if by == "time_limit" else "ended", minutes=minutes)
    audit.record("call.ended", inquiry=call.inquiry, actor_kind="system", by=by, call=call.pk)
    _publish_state(call)
    _publish_queue(call)


def _schedule_clock(call: Call) -> None:
    """Tasks at the moments the call's clock needs: each warning and the time limit. They
    commit with the admission (the task row is in the same transaction); housekeeping
    (``do_sweep``) does the same every minute in case a worker was down."""
    from .tasks import call_clock

    assert call.deadline_at is not None
    moments = [call.deadline_at - dt.timedelta(minutes=m) for m in settings.CALL_WARN_MINUTES]
    for at in [*moments, call.deadline_at]:
        if at > now():
            call_clock.using(run_after=at).enqueue(call.pk)


def do_check_clock(pk: int | None = None) -> dict[str, int]:
    """Warnings ``CALL_WARN_MINUTES`` before the time limit and the end at it, for one
    call or every live one. Idempotent: each warning is sent once, a call ends once."""
    done = {"warned": 0, "ended": 0}
    t = now()
    live = Call.objects.filter(state=CallState.ACTIVE)
    if pk is not None:
        live = live.filter(pk=pk)
    for due in live.filter(deadline_at__lte=t).values_list("pk", flat=True):
        with transaction.atomic():
            call = _locked(due)
            if call.state == CallState.ACTIVE:
                _end(call, "time_limit")
                done["ended"] += 1
    for minutes in settings.CALL_WARN_MINUTES:
        soon = t + dt.timedelta(minutes=minutes)
        rows = live.filter(deadline_at__lte=soon).exclude(warned_minutes__lte=minutes)
        for due in rows.values_list("pk", flat=True):
            with transaction.atomic():
                call = _locked(due)
                if call.state == CallState.ACTIVE and (
                    call.warned_minutes is None or call.warned_minutes > minutes
                ):
                    call.warned_minutes = minutes
                    call.save(update_fields=["warned_minutes"])
                    event = {"kind": "call.warning", "minutes": minutes}
                    _to_requester(call, event)
                    _to_operator(call, event)
                    done["warned"] += 1
    return done


def do_sweep() -> dict[str, int]:
    """Housekeeping: the calls' clocks (a fallback for the tasks ``_schedule_clock``
    sets), waiting requesters gone longer than the grace period, and screenshots past
    their retention."""
    done = {**do_check_clock(), "abandoned": 0, "screenshots_deleted": 0}
    t = now()
    gone = t - dt.timedelta(seconds=settings.CALL_REJOIN_GRACE_SECONDS)
    for pk in Call.objects.filter(state=CallState.WAITING, requester_left_at__lte=gone).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            call = _locked(pk)
            if call.state == CallState.WAITING and call.requester_left_at is not None:
                _end(call, "abandoned")
                done["abandoned"] += 1
    done["screenshots_deleted"] = delete_expired_screenshots()
    return done


def delete_expired_screenshots() -> int:
    from madoguchi.inquiries import storage

    count = 0
    for attachment in Attachment.objects.filter(delete_after__lte=now()).select_related("inquiry"):
        with transaction.atomic():
            storage.delete_stored(attachment.stored_name)
            Consent.objects.create(
                inquiry=attachment.inquiry,
                kind=ConsentKind.SCREENSHOT_DELETED,
                detail={"attachment": attachment.pk},
            )
            audit.record(
                "attachment.expired",
                inquiry=attachment.inquiry,
                actor_kind="system",
                attachment=attachment.pk,
            )
            attachment.delete()
            count += 1
    return count
