"""The operators' side of calls in the console: the call queue, admitting, the call page,
and the call's actions (ask to share, ask for a screenshot and store it, switch to an
email answer, end, create a connection code). Each view is a thin transport over
``calls.actions``; every rule is in the actions and the access module."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from madoguchi.inquiries import access
from madoguchi.web.decorators import staff_required

from . import actions, queries
from .models import Call
from .validation import CallError


def _queue_context(user: Any) -> dict[str, Any]:
    return {
        "calls": queries.queue(for_user=user),
        "mine": list(Call.objects.filter(operator=user, state="active").select_related("inquiry")),
    }


@staff_required
@require_GET
def queue_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_call_queue.html", _queue_context(request.user))


@staff_required
@require_GET
def call_page(request: HttpRequest, reference: str) -> HttpResponse:
    """The operator's call page: media, share, screenshots, the call's text chat."""
    inquiry = access.access_inquiry(request.user, reference)
    call = Call.objects.filter(inquiry=inquiry).order_by("-pk").first()
    if call is None:
        raise Http404
    call.inquiry = inquiry
    return render(
        request,
        "console/call.html",
        {
            "inquiry": inquiry,
            "call": call,
            "operator": access.is_call_operator(request.user, call),
        },
    )


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


CALL_ACTIONS = {"admit", "share", "screenshot", "mail", "end", "invite", "offer", "transfer"}


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
        if action == "mail":
            actions.do_switch_to_mail(user, reference)
            return _answer(request, _("The call ended; answer by email below."), reference)
        if action == "offer":  # in a live chat: "let's talk"
            actions.do_offer_call_in_chat(user, reference)
            return _answer(request, _("The requester was sent a link to a call."), reference)
        if action == "transfer":
            target = request.POST.get("to", "")
            if target == "faculty":
                actions.do_transfer(user, reference, to_faculty=True)
            else:
                to_user = (
                    get_user_model()
                    .objects.filter(pk=int(target) if target.isdigit() else 0, is_active=True)
                    .first()
                )
                actions.do_transfer(user, reference, to_user=to_user)
            if request.headers.get("X-Requested-With") == "fetch":
                return JsonResponse({"ok": True})
            messages.success(request, _("The call was passed on."))
            return redirect("console:detail", reference=reference)
        if action == "end":
            actions.do_end_by_operator(user, reference)
            return _answer(request, _("The call was ended."), reference)
        invitation, code = actions.do_create_invitation(user, reference)
        return _answer(
            request,
            _("Connection code %(code)s (valid for 10 minutes, once).") % {"code": code},
            reference,
            code=code,
            expires=invitation.expires_at.isoformat(),
        )
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
