"""The widget's pages: the loader script, the framed chat, and file exchange.

The loader (``/widget.js``) runs on the host site; the chat itself runs in a frame served
here, so the host page never sees the conversation and the desk's strict CSP applies.
Which sites may frame the chat is ``MADOGUCHI_CHAT_WIDGET_ORIGINS`` (frame-ancestors).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from madoguchi.accounts import requester
from madoguchi.core.i18n import desk_lang
from madoguchi.core.middleware import content_security_policy
from madoguchi.core.ratelimit import client_address, hit
from madoguchi.inquiries import access
from madoguchi.inquiries.models import MemberCategory
from madoguchi.web.files import attachment_response

from . import actions, queries
from .validation import ChatError

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
KEY_HEADER = "HTTP_X_CHAT_TOKEN"


def _loader_source() -> bytes:
    path = finders.find("madoguchi/widget.js")
    return Path(path).read_bytes() if path else b""


@require_GET
def loader(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_loader_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def frame_ancestors() -> str:
    return " ".join(["'self'", *settings.CHAT_WIDGET_ORIGINS])


def _strings() -> dict[str, str]:
    return {
        "you": _("You"),
        "bot": _("Support bot"),
        "staff": _("Staff"),
        "sending": _("Sending…"),
        "failed": _("Not sent"),
        "retry": _("Send again"),
        "offline": _("Connection lost. Reconnecting… Your messages will be sent when it is back."),
        "online": _("Connected."),
        "open_article": _("Open the full article"),
        "helpful_q": _("Did this solve it?"),
        "yes": _("Yes"),
        "no": _("No"),
        "thanks": _("Thank you for your feedback."),
        "person": _("Talk to a person"),
        "form": _("Send by the email form"),
        "mail": _("Get the answer by mail"),
        "queued": _(
            "You are number %(position)s in the queue. Estimated wait: about %(minutes)s min."
        ),
        "active": _("You are chatting with %(name)s."),
        "typing": _("The operator is typing…"),
        "closed_hours": _(
            "Operators are not available now. They are next available from %(when)s."
        ),
        "ended": _("The chat has ended."),
        "by_mail": _("We will answer by mail."),
        "rate_q": _("How was this chat?"),
        "rated": _("Thank you for rating this chat."),
        "new_chat": _("Start a new chat"),
        "mail_sent": _("Thank you. We will reply to this address; a confirmation is on its way."),
        "file_too_big": _("The file is too large."),
        "download": _("Download"),
        "join_call": _("Join the online call"),
        "operators_now": _("Operators are available now."),
        "operators_later": _("Operators are not available now."),
        "signin": _("Sign in"),
        "busy": queries.busy_text(),
        "write_first": _(
            "Write your question first: it goes to the person who answers, so you need not "
            "repeat it."
        ),
    }


def _context(request: HttpRequest, *, embedded: bool) -> dict[str, Any]:
    from madoguchi.sla.models import Entitlement

    lang = desk_lang()
    color = request.GET.get("color", "")
    title = " ".join(request.GET.get("title", "").split())[:60] or _("Chat with the support desk")
    return {
        "embedded": embedded,
        "lang": lang,
        "color": color if _COLOR.match(color) else "",
        "title": title,
        "parents": settings.CHAT_WIDGET_ORIGINS,
        "strings": _strings(),
        "form_url": reverse("inquiry-form"),
        "member_categories": MemberCategory.choices,
        # Asked only where entitlements restrict some requesters and sign-in did not tell.
        "ask_category": Entitlement.objects.exists()
        and not getattr(requester.current(request), "member_category", ""),
        "max_chars": settings.CHAT_MAX_MESSAGE_CHARS,
        "max_file_bytes": settings.MAX_ATTACHMENT_BYTES,
    }


@xframe_options_exempt
@require_GET
def embed(request: HttpRequest) -> HttpResponse:
    response = render(request, "chat/widget.html", _context(request, embedded=True))
    response["Content-Security-Policy"] = content_security_policy(
        request, frame_ancestors=frame_ancestors()
    )
    return response


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    """The same chat as a page of the desk (linked from the portal)."""
    return render(request, "chat/page.html", _context(request, embedded=False))


def _conversation(request: HttpRequest):  # noqa: ANN202
    return queries.find(request.META.get(KEY_HEADER, ""))


def _error(message: str, status: int = 400, code: str = "invalid") -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


@csrf_exempt  # authorised by the conversation's secret in a header, never by a cookie
@require_POST
def upload(request: HttpRequest) -> JsonResponse:
    conversation = _conversation(request)
    if conversation is None:
        return _error(_("This chat was not found."), 404, "no_chat")
    if not hit("chat-upload", f"{client_address(request)}:{conversation.pk}", "20/3600"):
        return _error(_("Too many files. Please try again later."), 429, "rate")
    files = request.FILES.getlist("file")
    if len(files) != 1:
        return _error(_("Attach one file."))
    try:
        message = actions.do_send_file(
            conversation, files[0], client_id=request.POST.get("cid", "")
        )
    except ChatError as exc:
        return _error(str(exc), 409 if exc.code == "closed" else 400, exc.code)
    return JsonResponse({"seq": message.pk, "cid": message.client_id})


@require_GET
def download(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    conversation = _conversation(request)
    if conversation is None:
        return _error(_("This chat was not found."), 404, "no_chat")
    attachment = access.access_requester_attachment(conversation.inquiry, attachment_id)
    return attachment_response(attachment)
