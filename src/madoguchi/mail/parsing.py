"""Inbound mail parsing: raw bytes in, a ParsedMail out, never an exception.

This module is pure (no Django) so it can be tested in milliseconds and fuzzed. The
ingest action stores the raw bytes first and then calls ``parse_message``; whatever this
returns is data to be shown or acted on carefully, never trusted:

- Addresses are the addr-spec only; display names are decoded for display and never
  parsed for addresses. ``from_address`` is lower-case with an IDN domain in punycode.
- The first From/Subject/Message-ID/Content-Type/Date/Sender/Reply-To wins, and a
  duplicate is recorded as a defect (``duplicate_from`` ...); only a From without any
  valid address gives way to a later valid one, flagged ``unverified_sender`` (see
  ``_sender`` for that and the other judgement calls about the sender).
- The body is every body part in document order (``_render_body``): text as text,
  HTML as its text, an alternative as its text part unless that is empty or much
  shorter than its HTML. ``charset_notes`` says where a charset was not the declared one.
- Limits (``Limits``) bound depth, part count, attachment count and size, subject, text
  and HTML length; what a limit removes is recorded in ``defects`` or
  ``dropped_attachments``, never silently lost.
- HTML is sanitised with nh3 and rewritten so that nothing is fetched on display
  (``data-cid``/``data-remote-src``); see ``_parse_html``.
- Automatic mail (``auto``/``bounce``) is classified from headers and structure; see
  ``_parse_classify`` for the exact order. ``is_automatic`` is what the ingest action uses
  to decide never to answer.
- Control headers (X-Madoguchi-*, X-Helpdesk-*, X-Zammad-* ...) from outside are only
  reported as the ``internal_headers_present`` flag; nothing here acts on them.

Layout: ``_parse_headers`` (header block, RFC 2047/2231, addresses, dates, ids),
``_parse_charset`` (charset labels, ISO-2022-JP), ``_parse_mime`` (entity tree, transfer
encodings), ``_parse_html`` (sanitiser, HTML to text), ``_parse_classify`` (auto, bounce,
quotes, forwards), ``_parse_auth`` (Authentication-Results, RFC 8601).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from html import escape as html_escape

from ._parse_auth import SenderVerdict, parse_authentication_results, sender_verdict
from ._parse_charset import MAX_NOTES, decode_bytes, detector_budget, text_charset
from ._parse_classify import (
    classify_auto,
    find_forwarded_from,
    is_plain_bounce,
    message_ids_in_text,
    parse_delivery_status,
    plain_bounce_details,
    strip_quoted,
)
from ._parse_headers import (
    MAX_HEADER_VALUE_CHARS,
    Headers,
    clean_display,
    decode_words,
    header_bytes_to_str,
    normalise_addr_spec,
    parse_addresses,
    parse_date,
    parse_msgid,
    parse_msgid_list,
    parse_params,
    split_header_block,
)
from ._parse_html import clean_cid, has_hidden_text, html_to_text, sanitise_html
from ._parse_mime import (
    UU_ENCODINGS,
    UU_TYPES,
    Entity,
    build_tree,
    decode_transfer,
    estimated_size,
    recover_texts,
    uu_blocks,
    uu_filename,
)

__all__ = [
    "BounceInfo",
    "Limits",
    "ParsedAttachment",
    "ParsedMail",
    "is_automatic",
    "normalise_subject",
    "parse_message",
    "reference_tags",
    "SenderVerdict",
    "parse_authentication_results",
    "sender_verdict",
]


# Whatever Limits says, the tree is never deeper than this (the walk over it recurses).
HARD_MAX_DEPTH = 200


@dataclass(frozen=True)
class Limits:
    max_depth: int = (
        20  # MIME nesting beyond this: not split; text recovered by a flat scan, raw kept
    )
    max_parts: int = 500  # MIME entities expanded; later parts are listed in dropped_attachments
    max_attachments: int = 50  # beyond: dropped, names recorded in dropped_attachments
    max_attachment_bytes: int = 20 * 1024 * 1024  # larger: dropped and recorded
    max_total_bytes: int = 40 * 1024 * 1024  # sum of kept attachment bytes
    max_subject_chars: int = 200
    max_text_chars: int = 200_000
    max_html_bytes: int = 2_000_000  # characters of decoded HTML fed to the sanitiser
    max_recipients: int = 100  # per To/Cc/Reply-To header; the rest is dropped (defect)
    max_references: int = 100  # References kept: the root and the nearest ancestors
    max_dropped_listed: int = 1000  # names listed in dropped_attachments, then a summary


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    size: int
    sha256: str
    content_id: str | None
    inline: bool  # a raster image meant for display in the body (inline/cid); never HTML/SVG
    is_message: bool


@dataclass(frozen=True)
class BounceInfo:
    original_message_ids: tuple[str, ...]
    recipients: tuple[str, ...]
    permanent: bool


@dataclass(frozen=True)
class ParsedMail:
    raw_size: int
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    subject_truncated: bool
    from_address: str | None
    from_display: str
    sender: str | None
    reply_to: tuple[str, ...]
    return_path: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    text: str
    visible_text: str
    html: str | None
    attachments: tuple[ParsedAttachment, ...]
    dropped_attachments: tuple[str, ...]
    auto: str | None
    bounce: BounceInfo | None
    defects: tuple[str, ...]
    flags: frozenset[str]
    forwarded_from: str | None
    is_forward: bool = False
    # Authentication-Results values, top first; which of them to believe is the caller's
    # decision (``sender_verdict`` with our MTA's authserv-id).
    authentication_results: tuple[str, ...] = ()
    # Where text was not read in its declared charset (or had none): which charset was
    # used and why, e.g. "text part: iso-8859-1 read as utf-8 (valid UTF-8 under a
    # single-byte label)". Diagnostics for staff and tests, not shown to requesters.
    charset_notes: tuple[str, ...] = ()


_INTERNAL_PREFIXES = (
    "x-madoguchi-",
    "x-helpdesk-",
    "x-zammad-",
    "x-otrs-",
    "x-znuny-",
    "x-osticket-",
    "x-freshdesk-",
    "x-chatwoot-",
    "x-rt-",
)
_SAFE_INLINE = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/pjpeg", "image/gif", "image/webp", "image/bmp"}
)
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
}
_WINDOWS_RESERVED = re.compile(
    r"^(?:con|prn|aux|nul|clock\$|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$",
    re.IGNORECASE,
)
_FILENAME_BAD = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
_MBOX_QUOTED = re.compile(r"(?m)^>(>*From )")
_TEXT_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _sanitise_filename(name: str | None, fallback: str) -> str:
    if not name:
        return fallback
    name = unicodedata.normalize("NFC", name)
    name = _FILENAME_BAD.sub("", name)
    name = name.replace("\\", "/")
    name = name.rsplit("/", 1)[-1]
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = " ".join(name.split())
    name = name.strip(" .")
    if not name:
        return fallback
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    encoded = name.encode("utf-8")
    if len(encoded) > 200:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 16 else ""
        keep = 200 - len(ext.encode("utf-8")) - 1
        stem_b = (stem if dot else name).encode("utf-8")[:keep]
        name = stem_b.decode("utf-8", errors="ignore") + ("." + ext if ext else "")
    return name


def _clean_text(text: str, limit: int) -> tuple[str, bool]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TEXT_BAD.sub("", text)
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    if len(text) > limit:
        return text[:limit], True
    return text, False


def _first(headers: Headers, name: str, defects: list[str]) -> str | None:
    if headers.count(name) > 1:
        defects.append("duplicate_" + name.replace("-", "_"))
    return headers.get(name)


def _domain(addr: str | None) -> str | None:
    if not addr or "@" not in addr:
        return None
    return addr.rsplit("@", 1)[1]


def _org_domain(domain: str) -> str:
    """A rough organisational domain (last two labels, three for xx.jp/co.uk style)."""
    labels = domain.split(".")
    if (
        len(labels) >= 3
        and len(labels[-1]) == 2
        and labels[-2]
        in {"ac", "co", "go", "or", "ne", "ed", "gr", "lg", "com", "org", "net", "edu", "gov"}
    ):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


class _TextCharset:
    """The legacy charset of the message's first text part with 8-bit data, found only
    when a header needs it (raw 8-bit in Subject, From or a file name): the hint for
    ``_parse_charset.guess_explained``."""

    def __init__(self, buf: bytes, root: Entity) -> None:
        self.buf = buf
        self.root = root
        self.done = False
        self.value: str | None = None

    def get(self) -> str | None:
        if self.done:
            return self.value
        self.done = True
        queue = [self.root]
        looked = 0
        while queue and looked < 50:
            entity = queue.pop(0)
            looked += 1
            if entity.children:
                queue[:0] = entity.children
                continue
            if (
                entity.ctype in ("text/plain", "text/html")
                and entity.disposition != "attachment"
                and entity.filename() is None
                and not entity.skipped
            ):
                data, _ = decode_transfer(self.buf, entity)
                if not data[:65536].isascii():
                    self.value = text_charset(data[:65536], entity.params.get("charset"))
                    return self.value
        return None


def _plain_ascii(raw: bytes) -> bool:
    """ASCII without ESC (raw ISO-2022-JP is 7-bit too and needs decoding)."""
    return raw.isascii() and b"\x1b" not in raw


def _header_text(headers: Headers, name: str, notes: list[str], hint: _TextCharset) -> str | None:
    raw = headers.raw(name)
    if raw is None:
        return None
    raw = raw[:MAX_HEADER_VALUE_CHARS]
    if _plain_ascii(raw):
        return raw.decode("ascii")
    return header_bytes_to_str(raw, notes, name, hint.get())


MAX_AUTH_RESULTS_HEADERS = 20
MAX_AUTH_RESULTS_CHARS = 8192


class _Builder:
    """Walks the entity tree once, collecting body text, HTML and attachments in order."""

    def __init__(
        self, buf: bytes, limits: Limits, defects: list[str], hint: _TextCharset | None = None
    ) -> None:
        self.buf = buf
        self.hint = hint
        self.limits = limits
        self.defects = defects
        # Body parts in document order: (text, raw HTML); an alternative is one piece
        # with both, a text/plain part (text, None), a text/html part (None, html).
        self.pieces: list[tuple[str | None, str | None]] = []
        self.attachments: list[ParsedAttachment] = []
        self.dropped: list[str] = []
        self.dropped_extra = 0
        self.total_bytes = 0
        self.seq = 0
        self.report_type: str | None = None
        self.has_mdn = False
        self.dsn_texts: list[str] = []
        self.original_headers: list[Headers] = []
        self.hidden_html = False
        self.charset_notes: list[str] = []
        self.max_depth = min(limits.max_depth, HARD_MAX_DEPTH)

    # --- decoding --------------------------------------------------------------------

    def _decode_text(self, entity: Entity, *, html: bool) -> str:
        data, defect = decode_transfer(self.buf, entity)
        if defect:
            self.defects.append(defect)
        if defect == "not_base64":
            data = self.buf[entity.start : entity.end]
        limit = self.limits.max_html_bytes if html else self.limits.max_text_chars * 4
        if len(data) > limit:
            data = data[:limit]
            self.defects.append("html_truncated" if html else "text_truncated")
        return decode_bytes(
            data,
            entity.params.get("charset"),
            allow_utf7=not html,
            notes=self.charset_notes,
            where="html part" if html else "text part",
        )

    def _drop(self, name: str, reason: str) -> None:
        if len(self.dropped) < self.limits.max_dropped_listed:
            self.dropped.append(f"{name} ({reason})")
        else:
            self.dropped_extra += 1

    def _attach(
        self,
        entity: Entity,
        *,
        related: bool = False,
        data: bytes | None = None,
        name: str | None = None,
        ctype: str | None = None,
    ) -> None:
        self.seq += 1
        ctype = ctype or entity.ctype
        is_message = ctype == "message/rfc822"
        ext = _EXTENSIONS.get(ctype, ".bin")
        fallback = f"{'message' if is_message else 'attachment'}-{self.seq}{ext}"
        if name is None:
            name = self._filename(entity)
        filename = _sanitise_filename(name, fallback)
        if entity.skipped:
            reason = (
                "too many attachments"
                if len(self.attachments) >= self.limits.max_attachments
                else "part limit"
            )
            self._drop(filename, reason)
            return
        if len(self.attachments) >= self.limits.max_attachments:
            self._drop(filename, "too many attachments")
            return
        if data is None:
            estimate = estimated_size(entity)
            if estimate > self.limits.max_attachment_bytes + 4:
                self._drop(filename, "too large")
                return
            if self.total_bytes + estimate > self.limits.max_total_bytes + 4:
                self._drop(filename, "total size limit")
                return
            data, defect = decode_transfer(self.buf, entity)
            if defect and defect != "not_base64":
                self.defects.append(defect)
        if len(data) > self.limits.max_attachment_bytes:
            self._drop(filename, "too large")
            return
        if self.total_bytes + len(data) > self.limits.max_total_bytes:
            self._drop(filename, "total size limit")
            return
        self.total_bytes += len(data)
        cid_raw = entity.headers.get("content-id")
        content_id = clean_cid(cid_raw) if cid_raw else None
        disposition = entity.disposition
        inline = ctype in _SAFE_INLINE and (
            disposition == "inline" or (disposition is None and (content_id is not None or related))
        )
        self.attachments.append(
            ParsedAttachment(
                filename=filename,
                content_type=ctype,
                data=data,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content_id=content_id,
                inline=inline,
                is_message=is_message,
            )
        )

    def _uu_blocks_to_files(
        self, entity: Entity, text: str, blocks: list[tuple[int, int, str, bytes]]
    ) -> str:
        """uuencoded files inside a text body become attachments; the text keeps the
        rest (defect ``uuencode_in_text``)."""
        kept: list[str] = []
        pos = 0
        for start, end, name, data in blocks:
            kept.append(text[pos:start].strip("\n"))
            pos = end
            guessed = mimetypes.guess_type(name, strict=False)[0]
            self._attach(entity, data=data, name=name, ctype=guessed or "application/octet-stream")
        kept.append(text[pos:].strip("\n"))
        self.defects.append("uuencode_in_text")
        return "\n\n".join(k for k in kept if k)

    def _uu_is_text(self, entity: Entity) -> bool:
        """A uuencoded text/plain body part that names no file in its MIME headers, and
        whose ``begin`` line names none or a text file, is body text like any other."""
        if entity.ctype != "text/plain" or not self._is_body(entity):
            return False
        name = uu_filename(self.buf[entity.start : entity.end])
        guessed = mimetypes.guess_type(name, strict=False)[0] if name else None
        return name is None or (guessed or "").startswith("text/")

    def _attach_uu(self, entity: Entity) -> None:
        """A uuencoded part is a file: named by its ``begin`` line when the headers name
        none, typed by that name when the declared type says nothing more."""
        data, defect = decode_transfer(self.buf, entity)
        if defect:
            self.defects.append(defect)
        name = self._filename(entity) or uu_filename(self.buf[entity.start : entity.end])
        ctype = entity.ctype
        if ctype in UU_TYPES or ctype in ("text/plain", "application/octet-stream"):
            guessed = mimetypes.guess_type(name or "", strict=False)[0] if name else None
            ctype = guessed or (
                "text/plain" if ctype == "text/plain" else "application/octet-stream"
            )
        self._attach(entity, data=data, name=name, ctype=ctype)

    def _filename(self, entity: Entity) -> str | None:
        """The part's file name; raw 8-bit bytes in its header are read in the charset
        of the message's text when they decode in it (``_TextCharset``)."""
        name = entity.filename()
        if name is None:
            return None
        notes: list[str] = []
        for header, key, where in (
            ("content-disposition", "filename", "filename"),
            ("content-type", "name", "name"),
        ):
            raw = entity.headers.raw(header)
            if raw is None or raw.isascii() or self.hint is None or self.hint.get() is None:
                continue
            value = header_bytes_to_str(raw[:MAX_HEADER_VALUE_CHARS], notes, where, self.hint.get())
            hinted = parse_params(value, notes)[1].get(key)
            if hinted is not None and hinted.strip():
                name = hinted
                break
        else:
            notes = entity.charset_notes
        for note in notes:
            if note not in self.charset_notes and len(self.charset_notes) < MAX_NOTES:
                self.charset_notes.append(note)
        return name

    # --- walking ---------------------------------------------------------------------

    def _is_body(self, entity: Entity) -> bool:
        return (
            entity.disposition != "attachment" and entity.filename() is None and not entity.skipped
        )

    def walk(self, entity: Entity, *, top: bool = False, related: bool = False) -> None:
        if entity.maintype == "multipart":
            self._walk_multipart(entity)
            return
        ctype = entity.ctype
        if ctype == "message/delivery-status" or ctype == "message/global-delivery-status":
            text = self._decode_text(entity, html=False)
            self.dsn_texts.append(text)
            if top:
                self.pieces.append((text, None))
            else:
                self._attach(entity, data=text.encode("utf-8"), ctype="message/delivery-status")
            return
        if ctype == "message/disposition-notification":
            self.has_mdn = True
            if top:
                self.pieces.append((self._decode_text(entity, html=False), None))
            else:
                self._attach(entity)
            return
        if ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            data, _ = decode_transfer(self.buf, entity)
            fields, _ = split_header_block(data, 0, len(data), [])
            self.original_headers.append(Headers(fields))
            if top:
                self.pieces.append((self._decode_text(entity, html=False), None))
            else:
                self._attach(entity)
            return
        if ctype in ("message/rfc822", "message/global"):
            data, defect = decode_transfer(self.buf, entity)
            if defect and defect != "not_base64":
                self.defects.append(defect)
            fields, _ = split_header_block(data, 0, len(data), [])
            self.original_headers.append(Headers(fields))
            self._attach(entity, data=data if not entity.skipped else b"", ctype="message/rfc822")
            return
        if entity.cte in UU_ENCODINGS or ctype in UU_TYPES:
            if not self._uu_is_text(entity) or related:
                self._attach_uu(entity)
                return
        if ctype == "text/plain" and self._is_body(entity) and not related:
            text = self._decode_text(entity, html=False)
            blocks = uu_blocks(text.replace("\r\n", "\n")) if "begin " in text else []
            if blocks:
                text = self._uu_blocks_to_files(entity, text.replace("\r\n", "\n"), blocks)
            self.pieces.append((text, None))
            return
        if ctype == "text/html" and self._is_body(entity) and not related:
            raw_html = self._decode_text(entity, html=True)
            if has_hidden_text(raw_html):
                self.hidden_html = True
            self.pieces.append((None, raw_html))
            return
        self._attach(entity, related=related)

    def _walk_multipart(self, entity: Entity) -> None:
        if entity.depth_limited:
            for leaf in recover_texts(self.buf, entity.start, entity.end, self.defects):
                self.pieces.append((self._decode_text(leaf, html=False), None))
            self.seq += 1
            self._attach(
                entity,
                data=self.buf[entity.start : entity.end],
                name=f"nested-parts-{self.seq}.mime",
                ctype="application/octet-stream",
            )
            return
        children = entity.children or []
        if entity.depth > self.max_depth:
            return
        sub = entity.subtype
        if sub == "report":
            self.report_type = (entity.params.get("report-type") or "").lower() or self.report_type
        if sub == "alternative":
            # One piece: the first alternative with text, the last with HTML.
            chosen_plain: str | None = None
            chosen_html: str | None = None
            for child in children:
                saved = self.pieces
                self.pieces = []
                self.walk(child)
                got, self.pieces = self.pieces, saved
                plains = [t for t, _ in got if t is not None]
                htmls = [h for _, h in got if h is not None]
                if plains and chosen_plain is None:
                    chosen_plain = "\n\n".join(plains)
                if htmls:
                    chosen_html = "\n<hr>\n".join(htmls)
            if chosen_plain is not None or chosen_html is not None:
                self.pieces.append((chosen_plain, chosen_html))
            return
        if sub == "related" and children:
            start = clean_cid(entity.params.get("start", "") or "")
            root = children[0]
            if start:
                for child in children:
                    cid = child.headers.get("content-id")
                    if cid and clean_cid(cid) == start:
                        root = child
                        break
            self.walk(root)
            for child in children:
                if child is not root:
                    self.walk(child, related=True)
            return
        for child in children:
            self.walk(child)


# --- the body ------------------------------------------------------------------------

# In an alternative, the HTML's text replaces the text part when the text part is
# shorter than this share of it (and by more than TEXT_SHORTER_BY characters): an empty
# or "view this in HTML" text part under a mail written in HTML.
TEXT_SHARE_OF_HTML = 0.5
TEXT_SHORTER_BY = 40


def _norm(text: str) -> str:
    return " ".join(text.split())


def _merge_flattened_alternatives(
    pieces: list[tuple[str | None, str | None]],
) -> list[tuple[str | None, str | None]]:
    """A text part directly followed by an HTML part that says the same (an alternative
    flattened by a broken boundary, or sent without one) is one alternative piece."""
    if len(pieces) < 2:
        return pieces
    out: list[tuple[str | None, str | None]] = []
    i = 0
    while i < len(pieces):
        plain, raw_html = pieces[i]
        if (
            i + 1 < len(pieces)
            and plain is not None
            and raw_html is None
            and pieces[i + 1][0] is None
            and pieces[i + 1][1] is not None
        ):
            nxt = pieces[i + 1][1] or ""
            if len(nxt) <= 20 * len(plain) + 2000 and _norm(plain) == _norm(
                html_to_text(sanitise_html(nxt, 200_000)[0])
            ):
                out.append((plain, nxt))
                i += 2
                continue
        out.append((plain, raw_html))
        i += 1
    return out


def _render_body(
    pieces: list[tuple[str | None, str | None]], limits: Limits, defects: list[str]
) -> tuple[str, str | None, bool]:
    """(text, sanitised HTML or None, text truncated) from the body pieces in order.

    The rule (docs/mail.md, "Text and HTML"): the stored text is every body piece in
    order — a text part as it is, an HTML part as its text, an alternative as its text
    part unless that is empty or much shorter than its HTML's text (then the HTML's
    text, followed by the text part if it says something the HTML does not). The HTML
    (when any piece has HTML) is every piece in order too, text parts as preformatted
    text, so the formatted view loses no part either."""
    pieces = _merge_flattened_alternatives(pieces)
    overflow = False
    texts: list[str] = []
    html_parts: list[str] = []
    any_html = any(h is not None for _, h in pieces)
    single_html = len(pieces) == 1 and pieces[0][0] is None
    for plain, raw_html in pieces:
        if raw_html is not None:
            html_parts.append(raw_html)
        elif plain is not None and any_html:
            html_parts.append("<pre>" + html_escape(plain.strip("\r\n")) + "</pre>")
        if plain is not None and raw_html is None:
            texts.append(plain)
            continue
        if raw_html is None or single_html:
            continue  # a lone HTML part: its text is taken from the final HTML below
        if sum(len(t) for t in texts) > limits.max_text_chars:
            texts.append(" ")  # the text is full: converting more HTML would be cut anyway
            overflow = True
            continue
        plain_norm = _norm(plain or "")
        if plain is not None and len(plain_norm) * 2 >= len(raw_html):
            texts.append(plain)  # the HTML's text cannot be much longer than this
            continue
        sanitised, _ = sanitise_html(raw_html, limits.max_html_bytes)
        html_text = html_to_text(sanitised)
        html_norm = _norm(html_text)
        if plain is not None and not (
            len(plain_norm) < len(html_norm) * TEXT_SHARE_OF_HTML
            and len(html_norm) - len(plain_norm) > TEXT_SHORTER_BY
        ):
            texts.append(plain)
            continue
        if plain is not None and plain_norm:
            if "text_part_shorter_than_html" not in defects:
                defects.append("text_part_shorter_than_html")
        texts.append(html_text)
        if plain is not None and plain_norm and plain_norm not in html_norm:
            texts.append(plain)
    text, truncated = _clean_text(
        "\n\n".join(p.strip("\r\n") for p in texts if p.strip()), limits.max_text_chars
    )
    truncated = truncated or overflow
    html: str | None = None
    if html_parts:
        html, html_truncated = sanitise_html("\n<hr>\n".join(html_parts), limits.max_html_bytes)
        if html_truncated:
            defects.append("html_truncated")
        if not html.strip():
            html = None
        if single_html and html and not text.strip():
            text, truncated = _clean_text(html_to_text(html), limits.max_text_chars)
    return text, html, truncated


# --- subjects --------------------------------------------------------------------------


def _fw(chars: str) -> str:
    """A character class matching ASCII letters and their full-width forms."""
    out = []
    for ch in chars:
        if ch.isalpha():
            up, low = ch.upper(), ch.lower()
            out.append(f"[{up}{low}{chr(ord(up) + 0xFEE0)}{chr(ord(low) + 0xFEE0)}]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


_PREFIX_WORDS = [
    "re",
    "fwd",
    "fw",
    "aw",
    "wg",
    "sv",
    "vs",
    "antw",
    "antwort",
    "tr",
    "rv",
    "rif",
    "odp",
    "enc",
    "res",
    "ynt",
    "fs",
]
_PREFIX_RE = (
    "(?:"
    + "|".join(_fw(w) for w in sorted(_PREFIX_WORDS, key=len, reverse=True))
    + "|返信|転送|返|回复|回覆|答复|转发|轉寄)"
)
_TAG_CORE = r"[#＃]?([A-Za-z]{1,5}-[0-9A-Za-z-]{4,20})"
_TAG_RE = re.compile(r"[\[［]" + _TAG_CORE + r"[\]］]")
_LEAD_RE = re.compile(
    r"^(?:\s*(?:"
    + _PREFIX_RE
    + r"\s*(?:[\[［(（][0-9０-９]{1,4}[\]］)）])?\s*[:：]"
    + r"|[\[［]"
    + _TAG_CORE
    + r"[\]］]))+"
)


def normalise_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and reference tags, spaces collapsed.
    Idempotent: the result is a fixed point of the same transformation."""
    s = " ".join(str(subject).split())
    for _ in range(50):
        before = s
        s = _LEAD_RE.sub("", s)
        s = _TAG_RE.sub(" ", s)
        s = " ".join(s.split())
        if s == before:
            break
    return s


def reference_tags(subject: str) -> tuple[str, ...]:
    out: list[str] = []
    for m in _TAG_RE.finditer(str(subject)[:10_000]):
        tag = m.group(1).upper()
        if tag not in out and re.fullmatch(r"[A-Z]{1,5}-[0-9A-Z-]{4,20}", tag):
            out.append(tag)
    return tuple(out)


_FORWARD_SUBJECT = re.compile(
    r"^\s*(?:(?:"
    + _PREFIX_RE
    + r")\s*[:：]\s*)*?(?:"
    + _fw("fwd")
    + "|"
    + _fw("fw")
    + "|"
    + _fw("wg")
    + "|"
    + _fw("tr")
    + r"|転送|转发|轉寄)\s*[:：]"
)


def _subject(
    headers: Headers, limits: Limits, defects: list[str], notes: list[str], hint: _TextCharset
) -> tuple[str, bool]:
    if headers.count("subject") > 1:
        defects.append("duplicate_subject")
    raw_bytes = headers.raw("subject")
    if raw_bytes is None:
        return "", False
    # Decoding is linear, but the result is cut early: more than this is never shown.
    cut = max(limits.max_subject_chars * 64, 4096)
    raw_bytes = raw_bytes[: cut * 4]
    if _plain_ascii(raw_bytes):
        raw = raw_bytes.decode("ascii")[:cut]
    else:
        raw = header_bytes_to_str(raw_bytes, notes, "subject", hint.get())[:cut]
    decoded = decode_words(raw, notes, "subject")
    decoded = clean_display(decoded, limit=len(decoded) + 1)
    if len(decoded) > limits.max_subject_chars:
        defects.append("subject_truncated")
        return decoded[: limits.max_subject_chars], True
    return decoded, False


# --- the sender ------------------------------------------------------------------------

MAX_FROM_HEADERS = 5
_UNQUALIFIED = re.compile(r"\s*<?\s*([A-Za-z0-9][A-Za-z0-9._+-]{0,63})\s*>?\s*")


def _sender(
    h: Headers, defects: list[str], flags: set[str], notes: list[str], hint: _TextCharset
) -> tuple[str | None, str, str | None]:
    """(from_address, from_display, unqualified local part) — the judgement calls of
    docs/mail.md, "Who sent it":

    - the first From with a valid address wins; when the first has none (garbage) and a
      later one has, the later one is used (``from_later_header``), and the mail is
      flagged ``unverified_sender``: our MTA's sender checks may have read the other one;
    - an unqualified sender (``MAILER-DAEMON``, ``root``) is no address: nothing can be
      sent to it or matched with a requester (``unqualified_from``); its name is the
      display name and it counts for bounce classification;
    - raw 8-bit in a local part is accepted only as UTF-8 (RFC 6532); bytes in another
      charset would make a guessed address (``non_utf8_address``).
    """
    count = h.count("from")
    if count == 0:
        defects.append("no_from")
        return None, "", None
    if count > 1:
        defects.append("duplicate_from")
    unqualified: str | None = None
    first_display = ""
    for index, (name, value) in enumerate(
        [f for f in h.fields if f[0] == "from"][:MAX_FROM_HEADERS]
    ):
        raw = value[:MAX_HEADER_VALUE_CHARS]
        text = (
            raw.decode("ascii")
            if _plain_ascii(raw)
            else header_bytes_to_str(raw, notes, name, hint.get())
        )
        found, _ = parse_addresses(text, limit=2)
        if found and not found[0][1].rsplit("@", 1)[0].isascii() and not _is_utf8(raw):
            defects.append("non_utf8_address")
            if index == 0:
                first_display = clean_display(found[0][0])
            found = []
        if not found:
            if index == 0 and "non_utf8_address" not in defects:
                defects.append("invalid_from")
                bare = _UNQUALIFIED.fullmatch(_strip_comments_simple(text))
                if bare and "@" not in text:
                    unqualified = bare.group(1).lower()
                    defects.append("unqualified_from")
                    comment = re.search(r"\(([^()]{1,200})\)", text)
                    first_display = clean_display(comment.group(1) if comment else bare.group(1))
            continue
        if len(found) > 1:
            defects.append("multiple_from")
        if index > 0:
            defects.append("from_later_header")
            flags.add("unverified_sender")
        return found[0][1], clean_display(found[0][0]), unqualified
    return None, first_display, unqualified


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _strip_comments_simple(text: str) -> str:
    return re.sub(r"\([^()]*\)", " ", text[:1024])


# --- public entry points -------------------------------------------------------------


def is_automatic(parsed: ParsedMail) -> bool:
    """Auto-replies, list/bulk mail, bounces and read receipts: never answer them."""
    return parsed.auto is not None or parsed.bounce is not None


def _empty(raw_size: int, defects: list[str]) -> ParsedMail:
    return ParsedMail(
        raw_size=raw_size,
        message_id=None,
        in_reply_to=(),
        references=(),
        subject="",
        subject_truncated=False,
        from_address=None,
        from_display="",
        sender=None,
        reply_to=(),
        return_path=None,
        to=(),
        cc=(),
        date=None,
        text="",
        visible_text="",
        html=None,
        attachments=(),
        dropped_attachments=(),
        auto=None,
        bounce=None,
        defects=tuple(dict.fromkeys(defects)),
        flags=frozenset({"empty"}),
        forwarded_from=None,
    )


def parse_message(raw: bytes, limits: Limits = Limits()) -> ParsedMail:  # noqa: B008 - frozen dataclass
    """Parse raw RFC 5322 bytes. Never raises; bounded in time and memory by ``limits``."""
    try:
        raw = bytes(raw) if not isinstance(raw, bytes) else raw
    except Exception:  # noqa: BLE001 - not bytes-like at all
        return _empty(0, ["not_bytes"])
    if re.search(rb"[^\s\x00]", raw) is None:  # no copy of a large message
        return _empty(len(raw), ["empty"])
    try:
        with detector_budget():
            return _parse(raw, limits)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the mail
        return _empty(len(raw), ["parser_error", "parser_error_" + type(exc).__name__.lower()])


def _parse(raw: bytes, limits: Limits) -> ParsedMail:
    defects: list[str] = []
    flags: set[str] = set()
    root, uncounted = build_tree(
        raw, min(limits.max_depth, HARD_MAX_DEPTH), limits.max_parts, defects
    )
    h = root.headers
    if h.count("content-type") > 1:
        defects.append("duplicate_content_type")

    # Identity and threading.
    message_id_raw = _first(h, "message-id", defects)
    message_id = parse_msgid(message_id_raw)
    if message_id_raw is None:
        defects.append("no_message_id")
    elif message_id is None:
        defects.append("invalid_message_id")
    in_reply_to = parse_msgid_list(h.get("in-reply-to"), limit=10)
    references = parse_msgid_list(h.get("references"), limit=limits.max_references)

    charset_notes: list[str] = []
    hint = _TextCharset(raw, root)
    subject, subject_truncated = _subject(h, limits, defects, charset_notes, hint)

    from_address, from_display, unqualified = _sender(h, defects, flags, charset_notes, hint)
    sender_list, _ = parse_addresses(_first(h, "sender", defects), limit=1)
    sender = sender_list[0][1] if sender_list else None

    def addr_list(name: str) -> tuple[str, ...]:
        value = h.get(name)
        if value is None:
            return ()
        found, invalid = parse_addresses(value, limit=limits.max_recipients + 1)
        if invalid:
            defects.append(f"invalid_{name.replace('-', '_')}_address")
        if len(found) > limits.max_recipients:
            defects.append(f"too_many_{name.replace('-', '_')}")
            found = found[: limits.max_recipients]
        return tuple(dict.fromkeys(a for _, a in found))

    reply_to = addr_list("reply-to")
    to = addr_list("to")
    cc = addr_list("cc")
    return_path: str | None = None
    rp = h.get("return-path")
    if rp is not None:
        rp_clean = rp.strip()
        if re.fullmatch(r"<\s*>", rp_clean) or rp_clean == "":
            return_path = ""
        else:
            found, _ = parse_addresses(rp_clean, limit=1)
            return_path = found[0][1] if found else None
    null_envelope = any(
        re.fullmatch(r"\s*<\s*>\s*", h.get(n) or "x") for n in ("x-envelope-from", "x-return-path")
    )

    date_raw = _first(h, "date", defects)
    date, date_defect = parse_date(date_raw)
    if date_raw is None:
        defects.append("no_date")
    elif date_defect:
        defects.append(date_defect)

    # Body.
    builder = _Builder(raw, limits, defects, hint)
    builder.walk(root, top=True)
    if uncounted:
        builder._drop(f"{uncounted} further parts", "part limit")

    text, html, text_truncated = _render_body(builder.pieces, limits, defects)
    if text_truncated:
        defects.append("text_truncated")
    if "mbox_from_line" in defects:
        # Out of an mbox: body lines starting "From " were quoted ">From " (mboxrd adds
        # one ">" to every ">*From " line, so taking one away is exact there).
        text = _MBOX_QUOTED.sub(r"\1", text)
    if builder.hidden_html:
        flags.add("html_hidden_text")

    is_forward = bool(_FORWARD_SUBJECT.match(subject))
    visible = strip_quoted(text, is_forward=is_forward) if text else ""
    if not visible.strip():
        visible = text.strip()
    forwarded_from = find_forwarded_from(text, is_forward) if text else None

    # Automatic mail and bounces.
    # An unqualified "MAILER-DAEMON" counts as one for classification (never as a sender).
    classify_from = from_address or unqualified
    auto = classify_auto(h, subject, classify_from, builder.report_type, builder.has_mdn)
    bounce: BounceInfo | None = None
    if auto != "read_receipt":
        original_ids: list[str] = []
        for oh in builder.original_headers:
            mid = parse_msgid(oh.get("message-id"))
            if mid and mid not in original_ids:
                original_ids.append(mid)
        own = {a for a in (*to, *cc) if a}
        if builder.dsn_texts or builder.report_type == "delivery-status":
            recipients: list[str] = []
            permanent: bool | None = None
            for dsn in builder.dsn_texts:
                r, p = parse_delivery_status(dsn)
                recipients.extend(x for x in r if x not in recipients)
                permanent = p if permanent is None else (permanent or bool(p))
            if permanent is None or not recipients:
                r2, p2 = plain_bounce_details(text, own)
                if not recipients:
                    recipients = r2
                if permanent is None:
                    permanent = p2
            for mid in message_ids_in_text(text):
                if mid not in original_ids:
                    original_ids.append(mid)
            bounce = BounceInfo(tuple(original_ids[:20]), tuple(recipients[:50]), bool(permanent))
        elif is_plain_bounce(classify_from, return_path, null_envelope, subject):
            recipients, permanent = plain_bounce_details(
                text, own | ({from_address} if from_address else set())
            )
            for mid in message_ids_in_text(text):
                if mid not in original_ids:
                    original_ids.append(mid)
            bounce = BounceInfo(tuple(original_ids[:20]), tuple(recipients), permanent)

    # Flags.
    if any(name.startswith(_INTERNAL_PREFIXES) for name in h.names()):
        flags.add("internal_headers_present")
    from_domain = _domain(from_address)
    if from_domain:
        others = [d for d in [_domain(sender), *(_domain(a) for a in reply_to)] if d]
        if any(_org_domain(d) != _org_domain(from_domain) for d in others):
            flags.add("unverified_sender")
    # SPF/DMARC/DKIM verdicts are only worth what the header's writer is: the topmost
    # Received-SPF is our MTA's; Authentication-Results go to the caller (_parse_auth).
    authentication_results = tuple(
        value[:MAX_AUTH_RESULTS_CHARS].decode("latin-1")
        for name, value in h.fields
        if name == "authentication-results"
    )[:MAX_AUTH_RESULTS_HEADERS]
    received_spf = h.raw("received-spf")
    if received_spf is not None and received_spf[:100].decode("latin-1").strip().lower().startswith(
        ("fail", "softfail")
    ):
        flags.add("unverified_sender")
    if from_display and from_address:
        for found in re.findall(r"[^\s<>\"'()@]+@[^\s<>\"'()@]+\.[^\s<>\"'()@]+", from_display):
            addr = normalise_addr_spec(found)
            if addr and addr != from_address:
                flags.add("display_name_address_mismatch")
                break
    prefix_count = len(re.findall(r"(?i)\b(?:re|fwd?|aw|sv)\s*[:：]", subject))
    if prefix_count >= 5 or len(references) >= 25:
        flags.add("long_reply_chain")
    if not text.strip() and not html and not builder.attachments:
        flags.add("empty")
    if from_address is None:
        flags.add("no_sender_address")

    dropped = builder.dropped
    if builder.dropped_extra:
        dropped = [*dropped, f"{builder.dropped_extra} more (not listed)"]

    return ParsedMail(
        raw_size=len(raw),
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        subject_truncated=subject_truncated,
        from_address=from_address,
        from_display=from_display,
        sender=sender,
        reply_to=reply_to,
        return_path=return_path,
        to=to,
        cc=cc,
        date=date,
        text=text,
        visible_text=visible,
        html=html,
        attachments=tuple(builder.attachments),
        dropped_attachments=tuple(dropped),
        auto=auto,
        bounce=bounce,
        defects=tuple(dict.fromkeys(defects)),
        flags=frozenset(flags),
        forwarded_from=forwarded_from,
        is_forward=is_forward,
        authentication_results=authentication_results,
        charset_notes=tuple((charset_notes + builder.charset_notes)[:MAX_NOTES]),
    )
