"""The operators' side of chat in the console: availability, the queue, live chats."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.console.views import staff_required
from madoguchi.inquiries import access
from madoguchi.inquiries.models import Channel, MessageKind
from madoguchi.intake.forms import MultipleFileField, TextCheckedForm

from . import service
from .models import CannedReply, ChatState, Conversation
from .service import ChatError


def _queue_rows(user: Any) -> list[dict[str, Any]]:
    rows = []
    current = timezone.now()
    for position, conversation in enumerate(service.queue(for_user=user), start=1):
        rows.append(
            {
                "position": position,
                "conversation": conversation,
                "inquiry": conversation.inquiry,
                "waited": int((current - conversation.queued_at).total_seconds() // 60)
                if conversation.queued_at
                else 0,
            }
        )
    return rows


def _panel_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "status": service.status_of(user),
        "queue_rows": _queue_rows(user),
        "mine": service.active_chats(user),
        "routing": settings.CHAT_ROUTING,
        "open_now": service.chat_open_now(),
    }


@staff_required
def panel(request: HttpRequest) -> HttpResponse:
    return render(request, "console/chat_panel.html", _panel_context(request))


@staff_required
def panel_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_chat_queue.html", _panel_context(request))


@staff_required
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    available = request.POST.get("available") == "1"
    raw = request.POST.get("max_chats", "")
    try:
        limit = int(raw) if raw else None
        service.set_availability(request.user, available=available, max_chats=limit)
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
            service.accept(user, reference)
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
            cid = service.clean_client_id(form.cleaned_data["cid"])
            message = service.operator_say(
                user, reference, body or " ".join(f.name for f in files), client_id=cid, files=files
            )
            return _answer(request, "", reference, seq=message.pk)
        if action == "transfer":
            target = request.POST.get("to", "")
            if target == "faculty":
                service.transfer(user, reference, to_faculty=True)
            else:
                to_user = (
                    get_user_model()
                    .objects.filter(pk=int(target) if target.isdigit() else 0, is_active=True)
                    .first()
                )
                service.transfer(user, reference, to_user=to_user)
            if request.headers.get("X-Requested-With") == "fetch":
                return JsonResponse({"ok": True})
            messages.success(request, _("The chat was passed on."))
            return redirect("console:chat")
        if action == "mail":
            service.switch_to_mail(user, reference)
            return _answer(request, _("The chat now continues by mail. Reply below."), reference)
        service.close_by_operator(user, reference)
        return _answer(request, _("The chat was ended."), reference)
    except ChatError as exc:
        return _refuse(request, str(exc), reference)
    except PermissionDenied as exc:
        return _refuse(request, str(exc) or _("You cannot act on this inquiry."), reference)


def chat_context(user: Any, inquiry: Any) -> dict[str, Any]:
    """What the inquiry page shows for a chat (empty for other channels)."""
    if inquiry.channel != Channel.CHAT:
        return {}
    conversation = Conversation.objects.filter(inquiry=inquiry).select_related("operator").first()
    if conversation is None:
        return {}
    suggestions = []
    last = (
        access.visible_messages(user, inquiry)
        .filter(kind=MessageKind.REQUESTER)
        .order_by("-pk")
        .first()
    )
    if last is not None and conversation.state in (ChatState.QUEUED, ChatState.ACTIVE):
        from madoguchi.kb import search

        suggestions = search.public_matches(last.body, conversation.lang, limit=3)
    can_operate = access.can_operate_chat(user, conversation)
    staff = []
    if can_operate:
        User = get_user_model()
        staff = [
            u
            for u in User.objects.filter(is_active=True).exclude(pk=user.pk).order_by("username")
            if access.can_assign(user, inquiry, u)  # which checks that they can see it
        ]
    return {
        "chat": conversation,
        "chat_mine": conversation.operator_id == user.pk and conversation.state == ChatState.ACTIVE,
        "chat_can_operate": can_operate,
        "chat_can_accept": access.can_accept_chat(user, conversation),
        "chat_suggestions": suggestions,
        "chat_canned": [(c.title, c.body(conversation.lang)) for c in CannedReply.objects.all()],
        "chat_transfer_to": staff,
    }
