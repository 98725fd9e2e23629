"""The operators' side of calls in the console: the call queue, admitting, the call page,
and the call's actions (ask to share, ask for a screenshot and store it, switch to an
email answer, end, create a connection code). Each view is a thin transport over
``calls.actions``; every rule is in the actions and the access module."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from madoguchi.inquiries import access
from madoguchi.web.decorators import staff_required
from madoguchi.web.forms import active_user

from . import actions, queries
from .models import Call, CallState, ShareState
from .validation import CallError
from .views import OPERATOR_MEDIA_POLICY


@staff_required
@require_GET
def queue_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_call_queue.html", queries.console_queue(request.user))


def operator_strings() -> dict[str, str]:
    """What console-call.js says, in the operator's language."""
    return {
        "connecting": _("Connecting…"),
        "offline": _("Connection lost. Reconnecting…"),
        "waiting": str(CallState.WAITING.label),
        "active": _("You are talking with %(name)s."),
        "ended": _("The call has ended."),
        "time_up": _("The call reached its time limit."),
        "by_mail": _("The call ended. Answer the requester by email on the inquiry's page."),
        "warning": _("%(minutes)s min left in this call."),
        "media_connected": _("Voice connected."),
        "media_lost": _("The voice connection was interrupted. Reconnecting…"),
        "mic_denied": _(
            "Your microphone is blocked, so the requester cannot hear you. Allow it in the "
            "browser's site settings, or use the text chat."
        ),
        "mute": _("Mute"),
        "unmute": _("Unmute"),
        "sound": _("Turn on the sound"),
        "send": _("Send"),
        "share_none": str(ShareState.NONE.label),
        "share_asked": str(ShareState.ASKED.label),
        "share_live": str(ShareState.LIVE.label),
        "share_paused": str(ShareState.PAUSED.label),
        "shot_waiting": _("Asked. Waiting for the requester’s answer…"),
        "shot_denied": _("The requester did not allow the screenshot."),
        "shot_saving": _("Allowed. Storing the screenshot…"),
        "shot_stored": _("Screenshot stored. Only you and faculty staff can open it."),
        "shot_failed": _("The screenshot could not be stored."),
        "shot_open": _("Open the stored screenshot"),
        "shot_alt": _("The stored screenshot of the shared window"),
        "failed": _("Not sent"),
        "note_added": _("Note added."),
    }


@staff_required
@require_GET
def call_page(request: HttpRequest, reference: str) -> HttpResponse:
    """The operator's call page: media, share, screenshots, the call's text chat."""
    inquiry = access.access_inquiry(request.user, reference)
    call = Call.objects.filter(inquiry=inquiry).order_by("-pk").first()
    if call is None:
        raise Http404
    call.inquiry = inquiry
    response = render(
        request,
        "console/call.html",
        {
            "inquiry": inquiry,
            "call": call,
            "operator": access.is_call_operator(request.user, call),
            "transfer_to": queries.transfer_targets(request.user, call),
            # The call's text chat is the inquiry's thread (kept live by console.js).
            "thread": access.visible_messages(request.user, inquiry),
            "hidden_count": access.hidden_message_count(request.user, inquiry),
            "strings": operator_strings(),
            "max_chars": settings.CHAT_MAX_MESSAGE_CHARS,
        },
    )
    response["Permissions-Policy"] = OPERATOR_MEDIA_POLICY
    return response


def _answer(request: HttpRequest, ok: str, reference: str, **data: Any) -> HttpResponse:
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"ok": True, **data})
    if ok:
        messages.success(request, ok)
    return redirect("console:call", reference=reference)


def _refuse(request: HttpRequest, error: str, reference: str, status: int = 409) -> HttpResponse:
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"ok": False, "message": error}, status=status)
    messages.error(request, error)
    return redirect("console:detail", reference=reference)


CALL_ACTIONS = {
    "admit",
    "share",
    "screenshot",
    "say",
    "mail",
    "end",
    "invite",
    "offer",
    "transfer",
    "note",
}


@staff_required
@require_POST
def act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    if action not in CALL_ACTIONS:
        raise Http404
    user = request.user
    try:
        if action == "admit":
            actions.do_admit(user, reference)
            return _answer(request, _("You have admitted the caller."), reference)
        if action == "share":
            actions.do_ask_share(user, reference)
            return _answer(request, "", reference)
        if action == "screenshot":
            consent = actions.do_ask_screenshot(user, reference)
            return _answer(request, "", reference, consent=consent.pk)
        if action == "say":
            # A line of the call's text chat; one client id per line, so a retry after a
            # failed request is stored once.
            message = actions.do_operator_text(
                user, reference, request.POST.get("body"), client_id=request.POST.get("cid")
            )
            return _answer(request, "", reference, seq=message.pk)
        if action == "mail":
            actions.do_switch_to_mail(user, reference)
            return _answer(request, _("The call ended; answer by email below."), reference)
        if action == "offer":  # in a live chat: "let's talk"
            actions.do_offer_call_in_chat(user, reference)
            if request.headers.get("X-Requested-With") == "fetch":
                return JsonResponse({"ok": True})
            messages.success(request, _("The requester was sent a link to a call."))
            return redirect("console:detail", reference=reference)  # no call yet: the chat
        if action == "transfer":
            target = request.POST.get("to", "")
            if target == "faculty":
                actions.do_transfer(user, reference, to_faculty=True)
            else:
                actions.do_transfer(user, reference, to_user=active_user(target))
            if request.headers.get("X-Requested-With") == "fetch":
                return JsonResponse({"ok": True})
            messages.success(request, _("The call was passed on."))
            return redirect("console:detail", reference=reference)
        if action == "note":
            actions.do_note(user, reference, request.POST.get("body"))
            return _answer(request, _("Note added."), reference)
        if action == "end":
            actions.do_end_by_operator(user, reference)
            return _answer(request, _("The call was ended."), reference)
        invitation, code = actions.do_create_invitation(user, reference)
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse(
                {"ok": True, "code": code, "expires": invitation.expires_at.isoformat()}
            )
        # Without the page's script: the code as a message on the inquiry's page (the
        # call page does not exist before the requester joins).
        messages.success(
            request,
            _("Connection code %(code)s (valid for 10 minutes, once).") % {"code": code},
        )
        return redirect("console:detail", reference=reference)
    except CallError as exc:
        return _refuse(request, str(exc), reference)
    except PermissionDenied as exc:
        return _refuse(request, str(exc) or _("You cannot act on this inquiry."), reference, 403)


@staff_required
@require_POST
def store_screenshot(request: HttpRequest, reference: str) -> HttpResponse:
    """The operator's page uploads one captured frame with the requester's consent token;
    the action refuses it without a valid, unused consent for this call."""
    files = request.FILES.getlist("image")
    try:
        attachment = actions.do_store_screenshot(
            request.user,
            reference,
            request.POST.get("token"),
            files[0] if len(files) == 1 else None,
        )
    except CallError as exc:
        return JsonResponse({"ok": False, "message": str(exc)}, status=400)
    except PermissionDenied as exc:
        return JsonResponse({"ok": False, "message": str(exc)}, status=403)
    return JsonResponse({"ok": True, "attachment": attachment.pk})
