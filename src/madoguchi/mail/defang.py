"""Requester text made inert for our outgoing mail (pure, no Django).

Whatever a requester typed as their name or subject is copied into the confirmation the
desk sends to an address the requester also chose. Mail clients turn ``https://…``,
``www.…``, ``evil.example/login`` and ``mailto:`` into links, so such a mail would carry a
phishing link under the desk's name. :func:`defang` rewrites anything linkable the way
security advisories do (``hxxps://evil[.]example/login``); the text stays readable.
"""

from __future__ import annotations

import re
import unicodedata

# Schemes written with "//": the common ones get the conventional spelling.
_SLASH_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30})\s*:\s*//")
_CONVENTIONAL = {"http": "hxxp", "https": "hxxps", "ftp": "fxp", "ftps": "fxps"}
# Schemes that clients link without "//".
_BARE_SCHEME = re.compile(
    r"(?i)\b(mailto|tel|sms|callto|sips?|xmpp|news|nntp|data|javascript|vbscript|skype|"
    r"webcal|facetime|magnet|geo|im)\s*:"
)
# Dotted names: host names, addresses, www.…; the dot may be a full-width or ideographic one.
_DOTTED = re.compile(r"[\w-]+(?:[.．｡。][\w-]+)+")
_DOT = re.compile(r"[.．｡。]")


def _inert_invisibles(text: str) -> str:
    # Zero-width and bidi format characters hide a link's real shape; line breaks and
    # other controls cannot add a header or a line of our own.
    return "".join(
        " " if unicodedata.category(c) == "Cc" else c
        for c in text
        if unicodedata.category(c) != "Cf"
    )


def _dotted(match: re.Match[str]) -> str:
    token = match.group(0)
    labels = _DOT.split(token)
    last = labels[-1]
    hostish = any(c.isalpha() for c in last) or (
        len(labels) == 4 and all(label.isdigit() for label in labels)
    )
    return _DOT.sub("[.]", token) if hostish else token


def _scheme(match: re.Match[str]) -> str:
    scheme = match.group(1)
    conventional = _CONVENTIONAL.get(scheme.lower())
    if conventional is not None:
        return (conventional.upper() if scheme.isupper() else conventional) + "://"
    return f"{scheme}[:]//"


def defang(text: str, limit: int | None = None) -> str:
    """``text`` with nothing a mail client would turn into a link; at most ``limit``
    characters (cut with "…")."""
    text = _inert_invisibles(text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _SLASH_SCHEME.sub(_scheme, text)
    text = _BARE_SCHEME.sub(lambda m: f"{m.group(1)}[:]", text)
    return _DOTTED.sub(_dotted, text)
