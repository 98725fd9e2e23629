"""Header parsing written for hostile input: linear time, no exceptions, first value wins.

The stdlib's header machinery is accurate for well-formed mail but has had quadratic
paths and exceptions on malformed input (folded encoded words, address lists, dates), so
the pieces a help desk acts on are parsed here with small, bounded, regex-driven code:

- ``split_header_block``: a header block is the lines up to the first empty line. A
  leading mbox ``From `` line and leading blank lines are skipped; one broken line (a
  1,000-character name, an unindented continuation, NUL bytes, garbage before the
  headers) does not end the block when real headers follow it; a line that is neither a
  header, a continuation nor empty otherwise ends the block (``header_no_blank_line``).
  The exact rules are in its docstring.
- ``decode_words``: RFC 2047 with adjacent encoded words of one charset joined at the
  byte level before decoding (a character split across words survives); unterminated
  words stay literal.
- ``parse_params``: RFC 2045 parameters with RFC 2231 continuations and charsets;
  duplicate parameters: first wins.
- ``parse_addresses``: a tokenizer for RFC 5322 address lists including comments, groups,
  source routes, quoted local parts and IDN; display names are never parsed for
  addresses.
- ``parse_date``: RFC 5322 and common broken forms; impossible dates are None.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import unquote_to_bytes

from ._parse_charset import decode_bytes, explain_guess, guess_decode

MAX_HEADER_VALUE_CHARS = 512 * 1024
MAX_HEADER_FIELDS = 2000
MAX_ADDRESS_INPUT = 64 * 1024

_HEADER_RE = re.compile(rb"([!-9;-~]{1,200})[ \t]*:")


def header_bytes_to_str(
    raw: bytes,
    notes: list[str] | None = None,
    where: str = "header",
    hint: str | None = None,
) -> str:
    """Raw header bytes (possibly 8-bit, RFC 6532 or a legacy charset) to str; with
    ``notes``, the charset chosen for 8-bit bytes is recorded there; ``hint`` is the
    legacy charset of the message's text (``_parse_charset.guess_explained``)."""
    if raw.isascii() and b"\x1b" not in raw:  # ESC: raw ISO-2022-JP, which is 7-bit
        return raw.decode("ascii")
    if notes is not None or hint is not None:
        return explain_guess(raw, notes=notes, where=where, last_resort="utf-8", hint=hint)
    return guess_decode(raw, last_resort="utf-8")


# Header names after which a broken header block is taken up again (see
# ``split_header_block``): what real mailers write, so that a body line that happens to
# contain a colon is not mistaken for one.
_RESUME_NAMES = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "reply-to",
        "sender",
        "return-path",
        "received",
        "mime-version",
        "delivered-to",
        "user-agent",
        "thread-topic",
        "thread-index",
        "auto-submitted",
        "precedence",
        "importance",
        "priority",
        "organization",
        "authentication-results",
        "received-spf",
        "dkim-signature",
        "domainkey-signature",
        "errors-to",
        "envelope-to",
        "comments",
        "keywords",
        "disposition-notification-to",
        "return-receipt-to",
    }
)
_RESUME_PREFIXES = ("content-", "x-", "list-", "arc-", "resent-")
# Unstructured fields: an unindented continuation line is taken as more of their text.
_UNSTRUCTURED = frozenset(
    {"subject", "comments", "content-description", "thread-topic", "keywords", "organization"}
)
MAX_BAD_HEADER_LINES = 3  # consecutive broken lines skipped when headers follow them


def _resumable(name: bytes, top_level: bool) -> bool:
    lower = name.decode("ascii").lower()
    if lower.startswith("content-") or lower == "mime-version":
        return True
    return top_level and (lower in _RESUME_NAMES or lower.startswith(_RESUME_PREFIXES))


def _next_line(buf: bytes, pos: int, end: int) -> tuple[bytes, int]:
    nl = buf.find(b"\n", pos, end)
    line = buf[pos : end if nl < 0 else nl]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line, (end if nl < 0 else nl + 1)


def _headers_resume(
    buf: bytes, pos: int, end: int, top_level: bool, max_bad: int = MAX_BAD_HEADER_LINES
) -> bool:
    """Whether, after the broken line that ends at ``pos``, a header of a kind mailers
    write follows within ``max_bad`` broken lines (continuations of a broken line do not
    count). An empty line or the end of the entity first: no."""
    bad = 1
    while pos < end:
        line, pos = _next_line(buf, pos, end)
        line = line.replace(b"\x00", b"")
        if not line.strip(b" \t"):
            return False
        if line[:1] in (b" ", b"\t"):
            continue
        m = _HEADER_RE.match(line)
        if m:
            return _resumable(m.group(1), top_level)
        bad += 1
        if bad > max_bad:
            return False
    return False


def _note(defects: list[str], slug: str) -> None:
    if slug not in defects:
        defects.append(slug)


def split_header_block(
    buf: bytes, start: int, end: int, defects: list[str], *, top_level: bool = False
) -> tuple[list[tuple[str, bytes]], int]:
    """Parse the header block of the entity buf[start:end].

    Returns ([(lower-case name, raw unfolded value bytes)], body start offset).

    Recovery rules (each recorded as a defect), in order:

    - top level only: empty or whitespace-only lines before the first header are
      skipped when a header (or an mbox ``From `` line) follows them (``leading_blank_line``);
      otherwise the message has no headers and the body starts after the first one;
    - top level only, before any header: one mbox ``From sender date`` line (Postfix
      ``pipe`` with the F flag, procmail, mbox archives) is skipped (``mbox_from_line``);
    - NUL bytes in the header block are removed (``nul_in_headers``);
    - a line that is not a header, a continuation or empty is *broken*. When a header of
      a kind mailers write (``_RESUME_NAMES``; in a MIME part only ``Content-*`` and
      ``MIME-Version``) follows within ``MAX_BAD_HEADER_LINES`` lines, the block goes on:
      a line without a colon after an unstructured field (Subject ...) is taken as its
      unindented continuation (``unindented_continuation``), any other broken line is
      dropped (``malformed_header``; before the first header, where only one broken
      line is skipped, ``garbage_before_headers``).
      So a 1,000-character header name or one bad line no longer turns the rest of the
      headers, base64 attachments included, into body text;
    - a broken line with a colon in its first 100 bytes after a header is dropped as
      before (``malformed_header``);
    - otherwise the body starts at the broken line (``header_no_blank_line``): headers
      directly followed by text keep that text as the body.
    """
    headers: list[tuple[str, bytes]] = []
    pos = start
    current_name: str | None = None
    current_parts: list[bytes] = []
    seen_header = False
    skipped_mbox = False
    first_blank_next: int | None = None  # after the first leading empty line (top level)

    def finish() -> None:
        nonlocal current_name
        if current_name is not None:
            if len(headers) < MAX_HEADER_FIELDS:
                headers.append((current_name, b"".join(current_parts)))
            else:
                _note(defects, "too_many_headers")
        current_name = None
        current_parts.clear()

    while pos < end:
        line, next_pos = _next_line(buf, pos, end)
        if b"\x00" in line:
            line = line.replace(b"\x00", b"")
            _note(defects, "nul_in_headers")
            if (
                not line.strip(b" \t\r")
                and seen_header
                and _headers_resume(buf, next_pos, end, top_level)
            ):
                pos = next_pos  # a line of NUL bytes inside the headers: not their end
                continue
        if not line.strip(b" \t\r"):
            if not seen_header and not skipped_mbox and line:
                # A whitespace-only first line (seen in the wild): skip it.
                _note(defects, "leading_whitespace")
                pos = next_pos
                continue
            if top_level and not seen_header:
                # Leading empty lines: decided by the first non-empty line after them.
                if first_blank_next is None:
                    first_blank_next = next_pos
                pos = next_pos
                continue
            finish()
            return headers, next_pos
        if first_blank_next is not None:
            if _HEADER_RE.match(line) or (not skipped_mbox and line.startswith(b"From ")):
                _note(defects, "leading_blank_line")
                first_blank_next = None
            else:
                return headers, first_blank_next
        if (
            top_level
            and not seen_header
            and not skipped_mbox
            and line.startswith(b"From ")
            and not _HEADER_RE.match(line)  # "From : a@b" is obsolete syntax, a header
        ):
            skipped_mbox = True
            _note(defects, "mbox_from_line")
            pos = next_pos
            continue
        if line[:1] in (b" ", b"\t"):
            if current_name is not None:
                current_parts.append(b" " + line.strip(b" \t"))
            else:
                _note(defects, "continuation_without_header")
            pos = next_pos
            continue
        m = _HEADER_RE.match(line)
        if m:
            finish()
            current_name = m.group(1).decode("ascii").lower()
            current_parts.append(line[m.end() :].strip(b" \t"))
            seen_header = True
            pos = next_pos
            continue
        colon = line.find(b":", 0, 100)
        if colon >= 0 and seen_header:
            finish()
            _note(defects, "malformed_header")
            pos = next_pos
            continue
        if (seen_header or top_level) and _headers_resume(
            buf, next_pos, end, top_level, 1 if not seen_header else MAX_BAD_HEADER_LINES
        ):
            if current_name in _UNSTRUCTURED and colon < 0 and b":" not in line:
                current_parts.append(b" " + line.strip(b" \t"))
                _note(defects, "unindented_continuation")
            else:
                finish()
                _note(defects, "malformed_header" if seen_header else "garbage_before_headers")
            pos = next_pos
            continue
        # Not a header: the body starts here.
        finish()
        if seen_header or top_level:
            defects.append("header_no_blank_line")
        return headers, pos
    finish()
    if first_blank_next is not None:
        return headers, first_blank_next
    return headers, end


class Headers:
    """Header fields of one entity; lookups are case-insensitive, first value wins."""

    __slots__ = ("fields", "_index")

    def __init__(self, fields: list[tuple[str, bytes]]) -> None:
        self.fields = fields
        self._index: dict[str, list[int]] = {}
        for i, (name, _) in enumerate(fields):
            self._index.setdefault(name, []).append(i)

    def raw(self, name: str) -> bytes | None:
        idx = self._index.get(name)
        return self.fields[idx[0]][1] if idx else None

    def get(self, name: str) -> str | None:
        raw = self.raw(name)
        if raw is None:
            return None
        if len(raw) > MAX_HEADER_VALUE_CHARS:
            raw = raw[:MAX_HEADER_VALUE_CHARS]
        return header_bytes_to_str(raw)

    def count(self, name: str) -> int:
        return len(self._index.get(name, ()))

    def has(self, name: str) -> bool:
        return name in self._index

    def names(self) -> list[str]:
        return list(self._index)


# --- RFC 2047 --------------------------------------------------------------------------

# The encoded text may hold spaces: mailers write "=?us-ascii?Q?ABC / 123?=" and fold in
# the middle of a word (unfolding leaves a space there). It never holds "?", so every
# match attempt stops at the next "?" and the scan stays linear.
_EW_RE = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_B64_JUNK = re.compile(r"[^A-Za-z0-9+/]")


def _decode_b(text: str) -> bytes:
    data = _B64_JUNK.sub("", text)
    data = data[: len(data) - (len(data) % 4)] if len(data) % 4 == 1 else data
    data += "=" * (-len(data) % 4)
    try:
        return base64.b64decode(data)
    except (binascii.Error, ValueError):
        return b""


def _decode_q(text: str) -> bytes:
    raw = text.replace("_", " ").encode("latin-1", errors="replace")
    return _QP_HEX.sub(lambda m: bytes((int(m.group(1), 16),)), raw)


def decode_words(value: str, notes: list[str] | None = None, where: str = "header") -> str:
    """Decode RFC 2047 encoded words in ``value``. Never raises.

    Adjacent words (only whitespace between them, which is dropped) of one charset are
    joined at the byte level before decoding, and a B word whose text is not a whole
    number of base64 quanta (no padding) is continued by the next one, so a character
    split across words, or a word split inside a base64 quantum, survives. The charset
    label is case-insensitive, an RFC 2231 language (``utf-8*ja``) is ignored, and an
    unknown label is decoded as undeclared 8-bit text (``decode_bytes``)."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    run_charset: str | None = None
    run_bytes = bytearray()
    pending_b64 = ""  # base64 text of the run not yet a multiple of 4 characters

    def flush_b64() -> None:
        nonlocal pending_b64
        if pending_b64:
            run_bytes.extend(_decode_b(pending_b64))
            pending_b64 = ""

    def flush_run() -> None:
        nonlocal run_charset
        flush_b64()
        if run_charset is not None:
            out.append(decode_bytes(bytes(run_bytes), run_charset, notes=notes, where=where))
        run_charset = None
        run_bytes.clear()

    for m in _EW_RE.finditer(value):
        between = value[pos : m.start()]
        charset = m.group(1).split("*", 1)[0].lower()
        if between and not (run_charset is not None and between.isspace()):
            flush_run()
            out.append(between)
        if run_charset is not None and charset != run_charset:
            flush_run()
        if run_charset is None:
            run_charset = charset
        if m.group(2) in "bB":
            text = m.group(3)
            if "=" in text:
                flush_b64()
                run_bytes.extend(_decode_b(text))
            else:
                pending_b64 += _B64_JUNK.sub("", text)
                if len(pending_b64) % 4 == 0:
                    flush_b64()
        else:
            flush_b64()
            run_bytes.extend(_decode_q(m.group(3)))
        pos = m.end()
    flush_run()
    out.append(value[pos:])
    return "".join(out)


# --- parameters (RFC 2045 / RFC 2231) ----------------------------------------------------

_PARAM_RE = re.compile(
    r"""\s*([^\s=;"]{1,100})\s*=\s*(?:"((?:[^"\\]|\\.){0,4096})"?|([^;]{0,4096}))\s*;?""",
    re.DOTALL,
)


def parse_params(value: str, notes: list[str] | None = None) -> tuple[str, dict[str, str]]:
    """Split "type/subtype; a=b; c*=utf-8''x" into ("type/subtype", {"a": "b", "c": "x"}).

    Names are lower-case; the first occurrence of a parameter wins; RFC 2231
    continuations and charsets are decoded (ISO-2022-JP included); RFC 2047 words inside
    values (which Outlook and Gmail send) are decoded too.
    """
    value = value[:65536]
    semi = value.find(";")
    main = (value if semi < 0 else value[:semi]).strip().lower()
    rest = "" if semi < 0 else value[semi + 1 :]
    simple: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[bool, str]]] = {}
    pos = 0
    guard = 0
    while pos < len(rest) and guard < 200:
        guard += 1
        m = _PARAM_RE.match(rest, pos)
        if not m or m.end() == pos:
            nxt = rest.find(";", pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        pos = m.end()
        name = m.group(1).lower()
        if m.group(2) is not None:
            val = re.sub(r"\\(.)", r"\1", m.group(2))
        else:
            val = (m.group(3) or "").strip()
        if "*" in name:
            base, _, tail = name.partition("*")
            is_ext = tail.endswith("*") or tail == ""
            num_s = tail.rstrip("*")
            if num_s == "":
                num = 0
            elif num_s.isdigit() and len(num_s) <= 3:
                num = int(num_s)
            else:
                continue
            slot = extended.setdefault(base, {})
            if num not in slot:
                slot[num] = (is_ext, val)
        elif name not in simple:
            simple[name] = val
    params = dict(simple)
    for base, pieces in extended.items():
        charset = None
        data = bytearray()
        for i, num in enumerate(sorted(pieces)):
            if i != num:
                break  # a gap in the numbering: keep what is contiguous
            is_ext, val = pieces[num]
            if is_ext:
                if i == 0:
                    parts = val.split("'", 2)
                    if len(parts) == 3:
                        charset, _lang, val = parts
                data.extend(unquote_to_bytes(val))
            else:
                data.extend(val.encode("utf-8", errors="replace"))
        decoded = decode_bytes(bytes(data), charset or "utf-8", notes=notes, where=base)
        params[base] = decoded  # RFC 2231 form beats the plain one
    for key, val in params.items():
        if "=?" in val:
            params[key] = decode_words(val, notes, where=key)
    return main, params


# --- Message-IDs -------------------------------------------------------------------------

_MSGID_TOKEN = re.compile(r"<([^<>\s]{1,250})>")
_MSGID_OK = re.compile(r"[\x21-\x7e]{1,250}")


def _valid_id(content: str) -> bool:
    if not _MSGID_OK.fullmatch(content) or any(c in content for c in '<>"\\'):
        return False
    if not any(c.isalnum() for c in content):
        return False
    if "@" in content:
        left, _, right = content.rpartition("@")
        return bool(left) and bool(right)
    return True


def parse_msgid(value: str | None) -> str | None:
    if not value:
        return None
    v = _strip_comments(value).strip()
    if v.startswith("<") and v.endswith(">") and _valid_id(v[1:-1]):
        return "<" + v[1:-1] + ">"
    for m in _MSGID_TOKEN.finditer(v[:4096]):
        content = m.group(1)
        if "@" in content and _valid_id(content):
            return "<" + content + ">"
    if v and "<" not in v and ">" not in v and " " not in v and "@" in v and _valid_id(v):
        return "<" + v + ">"  # a bare id without brackets
    return None


def parse_msgid_list(value: str | None, limit: int = 100) -> tuple[str, ...]:
    """Tolerant list of message ids: malformed tokens are skipped; at most ``limit`` kept
    (the first one, the thread root, and the last limit-1, the nearest ancestors)."""
    if not value:
        return ()
    ids: list[str] = []
    seen: set[str] = set()
    for m in _MSGID_TOKEN.finditer(value[: MAX_ADDRESS_INPUT * 4]):
        content = m.group(1)
        if _valid_id(content):
            mid = "<" + content + ">"
            if mid not in seen:
                seen.add(mid)
                ids.append(mid)
    if len(ids) > limit:
        ids = ids[:1] + ids[-(limit - 1) :]
    return tuple(ids)


# --- comments / addresses -------------------------------------------------------------

_CONTROL_OR_BIDI = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\ufeff\ufff9-\ufffb]"
)


def clean_display(text: str, limit: int = 200) -> str:
    """Display-safe one-line text: controls and bidi controls removed, spaces collapsed."""
    text = _CONTROL_OR_BIDI.sub(" ", text)
    text = " ".join(text.split())
    return text[:limit]


def _strip_comments(value: str) -> str:
    if "(" not in value:
        return value
    out = []
    depth = 0
    in_quote = False
    escape = False
    for ch in value[:MAX_ADDRESS_INPUT]:
        if escape:
            if depth == 0:
                out.append(ch)
            escape = False
            continue
        if ch == "\\":
            escape = True
            if depth == 0:
                out.append(ch)
            continue
        if in_quote:
            out.append(ch)
            if ch == '"':
                in_quote = False
            continue
        if ch == "(":
            depth += 1
            continue
        if ch == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(" ")
            continue
        if depth:
            continue
        if ch == '"':
            in_quote = True
        out.append(ch)
    return "".join(out)


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<quoted>"(?:[^"\\]|\\.)*"?)
  | (?P<comment>\()
  | (?P<angle><[^<>]*>?)
  | (?P<special>[,:;@])
  | (?P<atom>[^\s"(),:;<>@]+)
  | (?P<other>[)>])
    """,
    re.VERBOSE | re.DOTALL,
)

_LOCAL_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u00a0-\ufffc\U00010000-\U0010ffff]+")
_DOMAIN_OK = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)*"
)


def _skip_comment(value: str, pos: int) -> tuple[int, str]:
    """From an opening "(" at pos: (position after the matching ")", comment text)."""
    depth = 0
    i = pos
    n = len(value)
    buf = []
    while i < n:
        ch = value[i]
        if ch == "\\":
            if i + 1 < n:
                buf.append(value[i + 1])
            i += 2
            continue
        if ch == "(":
            depth += 1
            if depth > 1:
                buf.append(ch)
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1, "".join(buf)
            buf.append(ch)
        else:
            buf.append(ch)
        i += 1
    return n, "".join(buf)


def normalise_domain(domain: str) -> str | None:
    domain = domain.strip().strip(".").lower()
    if not domain:
        return None
    if domain.startswith("[") and domain.endswith("]"):
        inner = domain[1:-1]
        if re.fullmatch(r"(?:ipv6:)?[0-9a-f:.]{1,64}", inner):
            return domain
        return None
    if not domain.isascii():
        labels = []
        for label in domain.split("."):
            if label.isascii():
                labels.append(label)
                continue
            try:
                labels.append(label.encode("idna").decode("ascii"))
            except (UnicodeError, ValueError):
                return None
        domain = ".".join(labels).lower()
    if len(domain) > 253 or not _DOMAIN_OK.fullmatch(domain):
        return None
    return domain


def _normalise_local(local: str) -> str | None:
    local = local.strip()
    if not local or len(local) > 128:
        return None
    if local.startswith('"') and local.endswith('"') and len(local) >= 2:
        inner = re.sub(r"\\(.)", r"\1", local[1:-1])
        if not inner or _CONTROL_OR_BIDI.search(inner):
            return None
        if (
            _LOCAL_ATOM.fullmatch(inner)
            and ".." not in inner
            and not inner.startswith(".")
            and not inner.endswith(".")
        ):
            return inner.lower()
        escaped = inner.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'.lower()
    if not _LOCAL_ATOM.fullmatch(local) or _CONTROL_OR_BIDI.search(local):
        return None
    return local.lower()


def normalise_addr_spec(spec: str) -> str | None:
    """ "Local@Domain" -> "local@domain" with the domain in punycode; None if invalid."""
    spec = spec.strip()
    if spec.startswith("@") and ":" in spec:  # obsolete source route
        spec = spec.rsplit(":", 1)[1]
    at = spec.rfind("@")
    if at <= 0:
        return None
    local = _normalise_local(spec[:at])
    domain = normalise_domain(spec[at + 1 :])
    if local is None or domain is None:
        return None
    return f"{local}@{domain}"


def _display_from(parts: list[tuple[bool, str, str]]) -> str:
    out: list[str] = []
    for ws, kind, text in parts:
        if kind == "quoted":
            inner = text[1:-1] if text.endswith('"') and len(text) > 1 else text[1:]
            text = re.sub(r"\\(.)", r"\1", inner)
        if out and ws:
            out.append(" ")
        out.append(text)
    return "".join(out)


def _spec_from(parts: list[tuple[bool, str, str]]) -> str | None:
    """Without angle brackets the addr-spec is the contiguous run around the last "@"."""
    texts = [t for _, _, t in parts]
    if "@" not in texts:
        return None
    at = len(texts) - 1 - texts[::-1].index("@")
    lo = at
    while lo > 0 and not parts[lo][0] and texts[lo - 1] != "@":
        lo -= 1
    hi = at + 1
    while hi < len(parts) and (hi == at + 1 or not parts[hi][0]) and texts[hi] != "@":
        hi += 1
    return "".join(texts[lo:hi])


def parse_addresses(value: str | None, limit: int = 1000) -> tuple[list[tuple[str, str]], bool]:
    """Parse an address list into [(display name, addr-spec)] (addr-spec normalised).

    Returns (addresses, had_invalid). Group names are dropped; a mailbox whose address is
    invalid is skipped. Stops after ``limit`` addresses. Display names are decoded
    (RFC 2047) but never consulted for the address.
    """
    if not value:
        return [], False
    value = value[:MAX_ADDRESS_INPUT]
    result: list[tuple[str, str]] = []
    had_invalid = False
    parts: list[tuple[bool, str, str]] = []  # (whitespace before, kind, text) outside <>
    comments: list[str] = []
    angle: str | None = None
    ws_before = False

    def finish() -> None:
        nonlocal angle, had_invalid, ws_before
        addr = None
        if angle is not None:
            addr = normalise_addr_spec(_strip_comments(angle))
            display = _display_from(parts) or " ".join(comments)
            if addr is None:
                had_invalid = True
        elif parts:
            spec = _spec_from(parts)
            addr = normalise_addr_spec(spec) if spec else None
            display = " ".join(comments)
            if addr is None:
                had_invalid = True
        if addr and len(result) < limit:
            result.append((decode_words(display), addr))
        parts.clear()
        comments.clear()
        angle = None
        ws_before = False

    pos = 0
    n = len(value)
    while pos < n and len(result) < limit:
        m = _TOKEN_RE.match(value, pos)
        if not m:
            pos += 1
            continue
        kind = m.lastgroup or "other"
        text = m.group(0)
        if kind == "comment":
            pos, ctext = _skip_comment(value, pos)
            comments.append(ctext.strip())
            ws_before = True
            continue
        pos = m.end()
        if kind == "ws":
            ws_before = True
            continue
        if kind == "special" and text in ",;":
            finish()
            continue
        if (
            kind == "special"
            and text == ":"
            and angle is None
            and not any(t == "@" for _, _, t in parts)
        ):
            # A group: "name: a, b;" (the phrase was the group name).
            parts.clear()
            comments.clear()
            ws_before = False
            continue
        if kind == "angle":
            if angle is None:
                angle = text[1:-1] if text.endswith(">") else text[1:]
            ws_before = False
            continue
        if kind in ("quoted", "atom", "special") and angle is None:
            parts.append((ws_before, kind, text))
        ws_before = False
    finish()
    return result, had_invalid


# --- dates -----------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ZONES = {
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "est": -5,
    "edt": -4,
    "cst": -6,
    "cdt": -5,
    "mst": -7,
    "mdt": -6,
    "pst": -8,
    "pdt": -7,
    "jst": 9,
    "kst": 9,
    "hkt": 8,
    "sgt": 8,
    "cet": 1,
    "cest": 2,
    "met": 1,
    "mest": 2,
    "bst": 1,
    "eet": 2,
    "eest": 3,
    "wet": 0,
    "west": 1,
    "ist": 5.5,
    "aest": 10,
    "aedt": 11,
}
_RFC_DATE = re.compile(
    r"(?:[A-Za-z]{2,9}\.?,?\s*)?(\d{1,2})[\s-]+([A-Za-z]{3})[A-Za-z]*\.?[\s-]+(\d{2,4})\s+"
    r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?\s*(?:([+-]\d{4}|[+-]\d{2}:\d{2})|([A-Za-z]{1,5}))?"
)
_ASCTIME = re.compile(
    r"[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})"
)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def _offset(zone: str | None, name: str | None) -> tuple[timedelta | None, bool]:
    """(offset, known)."""
    hours: float | None
    if zone:
        z = zone.replace(":", "")
        sign = -1 if z[0] == "-" else 1
        hours, minutes = int(z[1:3]), int(z[3:5])
        if hours > 14 or minutes > 59:
            return None, True
        return sign * timedelta(hours=hours, minutes=minutes), True
    if name:
        hours = _ZONES.get(name.lower())
        if hours is not None:
            return timedelta(hours=hours), True
        return timedelta(0), False
    return timedelta(0), False


def _build(
    year: int, month: int, day: int, hour: int, minute: int, second: int, off: timedelta | None
) -> datetime | None:
    if off is None:
        return None
    if second == 60:
        second = 59
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone(off))
    except (ValueError, OverflowError):
        return None


def parse_date(value: str | None) -> tuple[datetime | None, str | None]:
    """(aware datetime or None, defect slug or None)."""
    if not value:
        return None, None
    v = " ".join(_strip_comments(value[:512]).split())
    m = _RFC_DATE.search(v)
    if m:
        day, mon, year = int(m.group(1)), _MONTHS.get(m.group(2).lower()), int(m.group(3))
        if mon is None:
            return None, "invalid_date"
        if len(m.group(3)) == 2:
            year += 2000 if year < 50 else 1900
        elif len(m.group(3)) == 3:
            year += 1900
        off, known = _offset(m.group(7), m.group(8))
        dt = _build(year, mon, day, int(m.group(4)), int(m.group(5)), int(m.group(6) or 0), off)
        if dt is None:
            return None, "invalid_date"
        return dt, None if known else "date_unknown_zone"
    m = _ISO.search(v)
    if m:
        zone = m.group(7)
        off, known = (timedelta(0), True) if zone == "Z" else _offset(zone if zone else None, None)
        if zone and zone != "Z" and ":" not in zone:
            off, known = _offset(zone, None)
        dt = _build(
            int(m.group(1)),
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            int(m.group(6) or 0),
            off,
        )
        return (dt, None if known else "date_unknown_zone") if dt else (None, "invalid_date")
    m = _ASCTIME.search(v)
    if m:
        mon = _MONTHS.get(m.group(1).lower())
        if mon is None:
            return None, "invalid_date"
        dt = _build(
            int(m.group(6)),
            mon,
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            timedelta(0),
        )
        return (dt, "date_unknown_zone") if dt else (None, "invalid_date")
    return None, "invalid_date"


def to_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)
