"""The operators' side of chat in the console: availability, the queue, live chats."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.web.decorators import staff_required
from madoguchi.web.forms import MultipleFileField, TextCheckedForm, active_user

from . import actions, queries
from .validation import ChatError, clean_client_id


@staff_required
def panel_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_chat_queue.html", queries.panel_context(request.user))


@staff_required
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    available = request.POST.get("available") == "1"
    raw = request.POST.get("max_chats", "")
    try:
        limit = int(raw) if raw else None
        actions.do_set_availability(request.user, available=available, max_chats=limit)
    except (ValueError, ChatError) as exc:
        messages.error(
            request, str(exc) if isinstance(exc, ChatError) else _("The input was not accepted.")
        )
    return redirect("console:chat")


class SendForm(TextCheckedForm):
    body = forms.CharField(required=False, max_length=20000, strip=False)
    cid = forms.CharField(max_length=64)
    attachments = MultipleFileField()


def _answer(request: HttpRequest, ok_message: str, reference: str, **data: Any) -> HttpResponse:
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"ok": True, **data})
    if ok_message:
        messages.success(request, ok_message)
    return redirect("console:detail", reference=reference)


def _refuse(request: HttpRequest, error: str, reference: str) -> HttpResponse:
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"ok": False, "message": error}, status=409)
    messages.error(request, error)
    return redirect("console:detail", reference=reference)


CHAT_ACTIONS = {"accept", "send", "transfer", "mail", "close"}


@staff_required
@require_POST
def act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    if action not in CHAT_ACTIONS:
        raise PermissionDenied
    user = request.user
    try:
        if action == "accept":
            actions.do_accept(user, reference)
            return _answer(request, _("You have joined the chat."), reference)
        if action == "send":
            form = SendForm(request.POST, request.FILES)
            if not form.is_valid():
                return _refuse(
                    request,
                    " ".join(str(e) for errs in form.errors.values() for e in errs),
                    reference,
                )
            body = form.cleaned_data["body"].strip()
            files = form.cleaned_data["attachments"]
            if not body and not files:
                return _refuse(request, _("Write something first."), reference)
            cid = clean_client_id(form.cleaned_data["cid"])
            message = actions.do_operator_say(
                user, reference, body or " ".join(f.name for f in files), client_id=cid, files=files
            )
            return _answer(request, "", reference, seq=message.pk)
        if action == "transfer":
            target = request.POST.get("to", "")
            if target == "faculty":
                actions.do_transfer(user, reference, to_faculty=True)
            else:
                actions.do_transfer(user, reference, to_user=active_user(target))
            if request.headers.get("X-Requested-With") == "fetch":
                return JsonResponse({"ok": True})
            messages.success(request, _("The chat was passed on."))
            return redirect("console:chat")
        if action == "mail":
            actions.do_switch_to_mail(user, reference)
            return _answer(request, _("The chat now continues by mail. Reply below."), reference)
        actions.do_close_by_operator(user, reference)
        return _answer(request, _("The chat was ended."), reference)
    except ChatError as exc:
        return _refuse(request, str(exc), reference)
    except PermissionDenied as exc:
        return _refuse(request, str(exc) or _("You cannot act on this inquiry."), reference)
