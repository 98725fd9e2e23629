"""What a call accepts from either side, checked at the edge. ``CallError`` carries a
message for people (in the request's language) and a code for the page."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.utils.translation import gettext as _

from madoguchi.chat.validation import ChatError
from madoguchi.chat.validation import clean_member_category as chat_clean_member_category
from madoguchi.chat.validation import clean_text as chat_clean_text


class CallError(Exception):
    """A requester or operator action that cannot be done now; ``str()`` is for people."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def clean_text(body: Any, *, limit: int | None = None) -> str:
    """A line of the call's text chat, or the topic given before waiting: checked as a
    chat line is (``chat.validation.clean_text``)."""
    try:
        return chat_clean_text(body, limit=limit)
    except ChatError as exc:
        raise CallError(str(exc), exc.code) from None


def clean_member_category(value: Any) -> str:
    """Who the requester said they are, where entitlements ask (as chat does)."""
    try:
        return chat_clean_member_category(value if value is not None else "")
    except ChatError as exc:
        raise CallError(str(exc), exc.code) from None


# WebRTC signalling: an SDP offer or answer, or one ICE candidate. The desk relays these
# between the two parties only; it checks their shape and size, never their content.
SDP_MAX = 20_000
CANDIDATE_MAX = 1_000
_SDP_TYPES = ("offer", "answer")


def clean_signal(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise CallError(_("Invalid message."), "invalid")
    if "sdp" in data:
        kind, sdp = data.get("type"), data.get("sdp")
        if kind not in _SDP_TYPES or not isinstance(sdp, str) or not 0 < len(sdp) <= SDP_MAX:
            raise CallError(_("Invalid message."), "invalid")
        return {"type": kind, "sdp": sdp, "restart": bool(data.get("restart"))}
    candidate = data.get("candidate")
    if isinstance(candidate, dict):
        text = candidate.get("candidate")
        mid = candidate.get("sdpMid")
        index = candidate.get("sdpMLineIndex")
        if (
            isinstance(text, str)
            and len(text) <= CANDIDATE_MAX
            and (mid is None or (isinstance(mid, str) and len(mid) <= 32))
            and (index is None or (isinstance(index, int) and 0 <= index < 64))
        ):
            return {"candidate": {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index}}
    raise CallError(_("Invalid message."), "invalid")


CODE_RE = re.compile(r"^[0-9]{6}$")


def clean_code(value: Any) -> str:
    """A connection code as read out on the phone: six digits (spaces and hyphens and
    full-width digits as typed are fine)."""
    if not isinstance(value, str):
        raise CallError(_("Enter the six-digit code."), "invalid")
    code = re.sub(r"[\s\-‐－]", "", unicodedata.normalize("NFKC", value))
    if not CODE_RE.match(code):
        raise CallError(_("Enter the six-digit code."), "invalid")
    return code


SHARE_SURFACES = ("window", "browser", "monitor", "application")


def clean_share(state: Any, surface: Any) -> tuple[str, str]:
    """A requester's report of the share: ``live`` (with the surface the browser says it
    got), ``paused`` or ``stopped``. A whole screen is never allowed, nor a tab when a
    window was asked for: the page stops those before sending anything."""
    if state not in ("live", "paused", "stopped"):
        raise CallError(_("Invalid message."), "invalid")
    surface = surface if surface in SHARE_SURFACES else ""
    if state == "live" and surface != "window":
        raise CallError(
            _("Share one window only, not the whole screen or a browser tab."), "surface"
        )
    return state, surface
