"""Field rules shared by the web forms and the JSON API (pure functions)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_ASCII_SPACE = " \t\r\n\u3000"


def normalise_common_id(value: str) -> str:
    """The 10-digit common ID: ASCII or full-width digits, surrounding blanks dropped.

    Only these two digit sets count: other Unicode digits (Arabic-Indic, mathematical,
    superscript, circled) are rejected rather than silently converted.
    """
    value = (value or "").strip(_ASCII_SPACE)
    if not value:
        return ""
    value = value.translate(_FULLWIDTH_DIGITS)
    if not re.fullmatch(r"[0-9]{10}", value, flags=re.ASCII):
        raise ValidationError(_("The common ID is 10 digits (e.g. 0123456789)."), code="common_id")
    return value


_LOCAL_ATOM = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.ASCII
)
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)


def normalise_email(value: str) -> str:
    """A deliverable address in one canonical form (lower case, punycode domain).

    Rejected: quoted or non-ASCII local parts, IP literals, local parts over 64 octets,
    anything with blanks or control characters inside.
    """
    value = (value or "").strip(_ASCII_SPACE)
    error = ValidationError(_("Enter a valid email address."), code="email")
    if not value or len(value) > 254 or value.count("@") != 1:
        raise error
    local, domain = value.split("@")
    if len(local.encode("utf-8")) > 64 or not _LOCAL_ATOM.fullmatch(local):
        raise error
    domain = domain.rstrip(".").lower()
    if domain.startswith("["):
        raise error
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise error from None
    labels = domain.split(".")
    if (
        len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise error
    return f"{local.lower()}@{domain}"


def single_line(value: str) -> str:
    """Reject line breaks in one-line fields (names, subjects)."""
    if any(ch in value for ch in "\r\n\u2028\u2029\x85\x0b\x0c"):
        raise ValidationError(_("This field must be on one line."), code="single_line")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(value: str) -> str:
    """Reject lone UTF-16 surrogates (possible through JSON escapes): they are not text
    and no database or mail can carry them."""
    if isinstance(value, str) and _SURROGATE.search(value):
        raise ValidationError(
            _("This text contains characters that are not valid."), code="invalid_text"
        )
    return value
