"""The requester's call page (``/call/``): the notes and terms of use, the waiting room and
the call itself, driven by ``call.js`` over ``/ws/call/``. Everything the page does after
loading goes through the socket; nothing here writes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from madoguchi.accounts import requester
from madoguchi.core.i18n import desk_lang

from . import queries


def strings() -> dict[str, str]:
    """What call.js says, in the page's language."""
    return {
        "connecting": _("Connecting…"),
        "offline": _("Connection lost. Reconnecting…"),
        "waiting": _(
            "You are number %(position)s in the queue. Estimated wait: about %(minutes)s min."
        ),
        "invited": _("Connecting you to the operator who gave you the code…"),
        "active": _("You are talking with %(name)s."),
        "ended": _("The call has ended."),
        "by_mail": _("We will answer by email. Leave your address below if we do not have it."),
        "mail_sent": _("Thank you. We will reply to this address; a confirmation is on its way."),
        "mic_why": _(
            "To talk, the browser will ask to use your microphone. The desk does not record "
            "anything."
        ),
        "mic_denied": _(
            "The microphone is blocked. Allow it in the browser's site settings, or use the "
            "text chat below."
        ),
        "share_asked": _("The operator asks you to share one window. Choose the window only."),
        "share_start": _("Share a window"),
        "share_pause": _("Pause sharing"),
        "share_resume": _("Resume sharing"),
        "share_stop": _("Stop sharing"),
        "share_paused": _("Sharing is paused: the operator sees nothing."),
        "share_live": _("You are sharing one window."),
        "share_refused": _(
            "That was a whole screen or a browser tab, so it was not shared. Choose one window."
        ),
        "share_unsupported": _(
            "Screen sharing needs a computer with a current browser. Voice and text still work."
        ),
        "shot_q": _(
            "The operator asks to take one screenshot of the window you are sharing, as it "
            "is shown now. Allow it?"
        ),
        "allow": _("Allow"),
        "deny": _("Do not allow"),
        "warning": _("%(minutes)s min left in this call."),
        "time_up": _("The call reached its time limit."),
        "new_call": _("Start a new call"),
        "form": _("Send by the email form"),
        "hang_up": _("End the call"),
        "leave": _("Leave the waiting room"),
        "you": _("You"),
        "staff": _("Staff"),
        "send": _("Send"),
        "mute": _("Mute"),
        "unmute": _("Unmute"),
        "typing": _("The operator is typing…"),
        "sound": _("Turn on the sound"),
        "terms_needed": _("Please read the terms of use and tick the box to accept them."),
        "topic_needed": _("Please write in one line what it is about."),
        "code_needed": _("Enter the six-digit code."),
        "media_connected": _("Voice connected."),
        "media_lost": _("The voice connection was interrupted. Reconnecting…"),
        "sending": _("Sending…"),
        "failed": _("Not sent"),
        "reload": _("Reload the page"),
        "mail_needed": _("Enter your email address."),
        "by_mail_known": _("We will answer by email, to the address you signed in with."),
        "signin": _("Sign in"),
        "category_needed": _("Please choose who you are."),
    }


def _context(request: HttpRequest) -> dict[str, Any]:
    from madoguchi.inquiries.models import MemberCategory
    from madoguchi.sla.models import Entitlement

    lang = desk_lang()
    identity = requester.current(request)
    terms = queries.current_terms()
    availability = queries.availability(lang)
    return {
        "lang": lang,
        "terms": terms,
        "terms_text": terms.text(lang),
        "availability": availability,
        "busy_text": queries.busy_text(lang),
        "strings": strings(),
        "form_url": reverse("inquiry-form") + f"?lang={lang}",
        "max_minutes": settings.CALL_MAX_MINUTES,
        "max_chars": settings.CHAT_MAX_MESSAGE_CHARS,
        "code": request.GET.get("code", "")[:12] if request.GET.get("code", "").isdigit() else "",
        "identity": identity,
        "signin_required": settings.CALL_REQUIRE_SIGNIN and identity is None,
        "signin_url": reverse("requester-signin") + "?" + urlencode({"next": reverse("call-page")}),
        # Asked only where entitlements restrict some requesters and sign-in did not tell.
        "ask_category": Entitlement.objects.exists()
        and not (identity is not None and identity.member_category),
        "member_categories": MemberCategory.choices,
    }


# The desk's pages deny the microphone (core.middleware); a call's pages ask for it, and
# the requester's page for one window's capture. Nothing else: no camera, no location.
REQUESTER_MEDIA_POLICY = "camera=(), microphone=(self), display-capture=(self), geolocation=()"
OPERATOR_MEDIA_POLICY = "camera=(), microphone=(self), display-capture=(), geolocation=()"


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    response = render(request, "calls/page.html", _context(request))
    response["Permissions-Policy"] = REQUESTER_MEDIA_POLICY
    return response
