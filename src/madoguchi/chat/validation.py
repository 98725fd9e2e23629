"""What a chat accepts from either side, checked at the edge: ``ChatError`` carries a
message for people (in the request's language) and a code for the widget."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from madoguchi.core.validation import normalise_email, single_line, valid_text
from madoguchi.inquiries.models import MemberCategory


class ChatError(Exception):
    """A requester or operator action that cannot be done now; ``str()`` is for people."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def clean_text(body: Any, *, limit: int | None = None) -> str:
    """A line of a live channel's text (at most ``limit`` characters, by default
    ``CHAT_MAX_MESSAGE_CHARS``); calls check their text chat with it too."""
    limit = limit or settings.CHAT_MAX_MESSAGE_CHARS
    if not isinstance(body, str):
        raise ChatError(_("A message must be text."), "invalid")
    body = body.replace("\r\n", "\n").strip()
    if "\x00" in body:
        raise ChatError(_("This text contains characters that are not valid."), "invalid")
    try:
        valid_text(body)
    except ValidationError as exc:
        raise ChatError(str(exc.messages[0]), "invalid") from None
    if not body:
        raise ChatError(_("The message is empty."), "empty")
    if len(body) > limit:
        raise ChatError(
            _("The message is too long (at most %(n)d characters).") % {"n": limit}, "too_long"
        )
    return body


def clean_client_id(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not (8 <= len(value) <= 64)
        or not value.isascii()
        or not all(c.isalnum() or c in "-_" for c in value)
    ):
        raise ChatError(_("The message has no valid id."), "invalid")
    return value


def clean_address(email: Any, name: Any) -> tuple[str, str]:
    """A requester's mail address (and optional name) to continue by mail."""
    if not isinstance(email, str) or not isinstance(name, str):
        raise ChatError(_("Enter a valid email address."), "invalid")
    try:
        return normalise_email(email.strip()), single_line(name.strip())[:100]
    except ValidationError as exc:
        raise ChatError(str(exc.messages[0]), "invalid") from None


def clean_rating(score: Any, comment: Any) -> tuple[int, str]:
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ChatError(_("Choose a rating from 1 to 5."), "invalid")
    if not isinstance(comment, str) or len(comment) > 1000:
        raise ChatError(
            _("The comment is too long (at most %(n)d characters).") % {"n": 1000}, "invalid"
        )
    comment = comment.strip()
    return score, clean_text(comment) if comment else ""


def clean_member_category(value: Any) -> str:
    if not isinstance(value, str) or (value and value not in MemberCategory.values):
        raise ChatError(_("Choose one of the listed options."), "invalid")
    return value


def clean_file_name(name: str) -> str:
    try:
        return valid_text(name)
    except ValidationError:
        return "file"
