"""What kind of mail this is: automatic, bounce, quoted history, inline forward.

Automatic kinds, first match wins (documented order, so the result is deterministic):

1. ``read_receipt``: multipart/report with report-type=disposition-notification, or a
   message/disposition-notification part.
2. ``out_of_office``: (a) Auto-Submitted/X-Autoreply/Precedence signals plus a subject
   that starts with an explicit absence word ("Vacation", "Out of Office", "不在", "休暇",
   "Abwesenheit", ...), or (b) Exchange's own markers (X-MS-Exchange-Inbox-Rules-Loop or
   X-Auto-Response-Suppress) without Auto-Submitted plus an absence or automatic-reply
   subject ("Automatic reply", "自動応答", ...).
3. ``auto_replied`` / ``auto_generated``: RFC 3834 Auto-Submitted (any value other than
   "no"; "auto-replied" -> auto_replied, everything else -> auto_generated). An
   "Automatic reply:" subject with Auto-Submitted: auto-replied stays auto_replied.
4. ``list``: Precedence: list, List-Id, List-Post.
5. ``bulk`` / ``junk``: Precedence: bulk / junk.
6. ``legacy_autoreply``: X-Autoreply, X-Autorespond, X-Autoresponder, Precedence:
   auto_reply, X-Loop, X-Auto-Response-Suppress, X-MS-Exchange-Inbox-Rules-Loop,
   X-MS-Exchange-Generated-Message-Source.
7. ``auto_generated`` for system senders (noreply, no-reply, donotreply, mailer-daemon,
   postmaster) without any header.

List-Unsubscribe alone is not enough (ordinary people send through services that add it).
"""

from __future__ import annotations

import re

from ._parse_headers import Headers, parse_addresses, parse_msgid

_ABSENCE_SUBJECT = re.compile(
    r"^\s*(?:out\s+of\s+(?:the\s+)?office|ooo\b|vacation|on\s+leave|away\s+from|abwesenheit|absence|"
    r"cong[ée]s?|ausente|不在|休暇|出張)",
    re.IGNORECASE,
)
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(?:automatic\s+reply|auto(?:matic)?[\s-]*reply|autoreply|auto[\s-]*response|"
    r"r[ée]ponse\s+automatique|respuesta\s+autom[aá]tica|automatische\s+antwort|自動応答|自動返信)",
    re.IGNORECASE,
)
_SYSTEM_LOCALS = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|bounces?)(?:[+-].*)?$"
)
_DAEMON_LOCALS = re.compile(
    r"^(?:mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|mail[-_.]?delivery[-_.]?(?:system|subsystem)?)$"
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery\s+(?:status\s+notification|failure|failed|has\s+failed|problem|report)|"
    r"returned\s+mail|return(?:ed)?\s+to\s+sender|failure\s+notice|mail\s+delivery\s+failed|could\s+not\s+be\s+delivered|"
    r"non[-\s]?delivery|delivery\s+notification|mail\s+system\s+error|"
    r"配信不能|配送不能|配信エラー|配送エラー|不達|送信エラー|エラーメール|未配達|配信失敗|配信できません|配送できません|宛先不明|"
    r"送信できませんでした|配信されませんでした",
    re.IGNORECASE,
)


def _header_token(headers: Headers, name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return value.split(";", 1)[0].split("(", 1)[0].strip().lower()


def classify_auto(
    headers: Headers,
    subject: str,
    from_address: str | None,
    report_type: str | None,
    has_mdn_part: bool,
) -> str | None:
    if report_type == "disposition-notification" or has_mdn_part:
        return "read_receipt"
    auto_submitted = _header_token(headers, "auto-submitted")
    precedence = _header_token(headers, "precedence")
    legacy = any(
        headers.has(h)
        for h in (
            "x-autoreply",
            "x-autorespond",
            "x-autoresponder",
            "x-auto-response-suppress",
            "x-ms-exchange-inbox-rules-loop",
            "x-ms-exchange-generated-message-source",
            "x-loop",
        )
    ) or precedence in ("auto_reply", "auto-reply")
    is_auto = (
        (auto_submitted not in (None, "", "no"))
        or legacy
        or precedence in ("bulk", "junk", "auto_reply")
    )
    if is_auto and _ABSENCE_SUBJECT.match(subject):
        return "out_of_office"
    exchange = headers.has("x-ms-exchange-inbox-rules-loop") or headers.has(
        "x-auto-response-suppress"
    )
    if exchange and auto_submitted in (None, "") and _AUTOREPLY_SUBJECT.match(subject):
        return "out_of_office"
    if auto_submitted not in (None, "", "no"):
        return "auto_replied" if auto_submitted == "auto-replied" else "auto_generated"
    if precedence == "list" or headers.has("list-id") or headers.has("list-post"):
        return "list"
    if precedence == "bulk":
        return "bulk"
    if precedence == "junk":
        return "junk"
    if legacy:
        return "legacy_autoreply"
    if from_address:
        local = from_address.rsplit("@", 1)[0]
        if _SYSTEM_LOCALS.match(local):
            return "auto_generated"
    return None


# --- bounces ---------------------------------------------------------------------------

_STATUS_RE = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_ADDR_IN_TEXT = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+"
)
_MSGID_LINE = re.compile(r"(?im)^[ \t>]*message-id:[ \t]*(<[^<>\s]{1,250}>)")
_ORIGINAL_MARKER = re.compile(
    r"(?im)^[ \t>-]*(?:-+\s*)?(?:original\s+message|this\s+is\s+a\s+copy\s+of\s+the\s+message|"
    r"original\s+message\s+follows|the\s+original\s+message\s+was|headers\s+of\s+the\s+original|"
    r"元のメッセージ|元のメール|オリジナルメッセージ|以下.*(?:元|オリジナル)|Return-Path:|Received:|From:)"
)
_TEMPORARY_TEXT = re.compile(
    r"delayed|will\s+(?:be\s+)?retr|temporar|deferred|遅延|再送を試み", re.IGNORECASE
)


def parse_delivery_status(text: str) -> tuple[list[str], bool | None]:
    """Recipients (failed or delayed) and permanence from a message/delivery-status body."""
    recipients: list[str] = []
    permanent: bool | None = None
    any_failed = False
    any_delayed = False
    for group in re.split(r"\r?\n[ \t]*\r?\n", text[:200_000]):
        fields: dict[str, str] = {}
        for line in group.splitlines():
            if ":" in line and not line[:1].isspace():
                name, _, value = line.partition(":")
                fields.setdefault(name.strip().lower(), value.strip())
        action = fields.get("action", "").split("(", 1)[0].strip().lower()
        status = fields.get("status", "")
        m = _STATUS_RE.search(status)
        klass = m.group(1) if m else None
        if not (action or klass) or action in ("delivered", "relayed", "expanded") or klass == "2":
            continue
        rcpt = fields.get("final-recipient") or fields.get("original-recipient") or ""
        addr = rcpt.split(";", 1)[1] if ";" in rcpt else rcpt
        parsed, _ = parse_addresses(addr.strip(), limit=1)
        if parsed and parsed[0][1] not in recipients:
            recipients.append(parsed[0][1])
        if action == "failed" or klass == "5":
            any_failed = True
        elif action == "delayed" or klass == "4":
            any_delayed = True
    if any_failed:
        permanent = True
    elif any_delayed:
        permanent = False
    return recipients[:50], permanent


def message_ids_in_text(text: str) -> list[str]:
    out: list[str] = []
    for m in _MSGID_LINE.finditer(text[:500_000]):
        mid = parse_msgid(m.group(1))
        if mid and mid not in out:
            out.append(mid)
    return out[:20]


def is_plain_bounce(
    from_address: str | None, return_path: str | None, null_envelope: bool, subject: str
) -> bool:
    local = from_address.rsplit("@", 1)[0] if from_address else ""
    daemon = bool(_DAEMON_LOCALS.match(local))
    subject_hit = bool(_BOUNCE_SUBJECT.search(subject))
    null_sender = return_path == "" or null_envelope
    return (daemon and (null_sender or subject_hit)) or (null_sender and subject_hit)


def plain_bounce_details(text: str, own_addresses: set[str]) -> tuple[list[str], bool]:
    """Failed recipients and permanence from the human-readable part of a bounce."""
    m = _ORIGINAL_MARKER.search(text[:200_000])
    head = text[: m.start()] if m else text[:20_000]
    recipients: list[str] = []
    for am in _ADDR_IN_TEXT.finditer(head):
        addr = am.group(0).lower().rstrip(".")
        if addr not in recipients and addr not in own_addresses:
            recipients.append(addr)
    codes = {c.group(1) for c in _STATUS_RE.finditer(head)}
    if "5" in codes:
        permanent = True
    elif "4" in codes or _TEMPORARY_TEXT.search(head):
        permanent = False
    else:
        permanent = True
    return recipients[:50], permanent


# --- quoted history and forwards -------------------------------------------------------

_REPLY_HEADER_PATTERNS = [
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(
        r"^\s*-{2,}\s*(?:元のメッセージ|元のメール|オリジナルメッセージ|返信元メッセージ)\s*-{2,}\s*$"
    ),
    re.compile(r"^\s*On\s.{1,200}\swrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Le\s.{1,200}\sa\s+écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\s.{1,200}\sschrieb\s.{0,100}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,200}[:：]\s*$"),
    re.compile(
        r"^\s*\d{4}[/-]\d{1,2}[/-]\d{1,2}.{0,200}(?:wrote|書きました|のメッセージ)\s*[:：]\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^.{1,200}(?:さんは書きました|さんが書きました|wrote)\s*[:：]\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{20,}\s*$"),
]
_ON_START = re.compile(r"^\s*On\s.{1,200}$", re.IGNORECASE)
_FROM_BLOCK = re.compile(r"^\s*(?:From|差出人|送信者)\s*[:：]\s*\S")
_SENT_BLOCK = re.compile(r"^\s*(?:Sent|Date|送信日時|日時)\s*[:：]\s*\S")
_FORWARD_MARKERS = re.compile(
    r"^\s*(?:-{2,}\s*Forwarded message\s*-{2,}|Begin forwarded message\s*:|-{2,}\s*(?:転送メッセージ|転送されたメッセージ)\s*-{2,}|"
    r"-{2,}\s*Original Message\s*-{2,}|-{2,}\s*元のメッセージ\s*-{2,})\s*$",
    re.IGNORECASE,
)


def strip_quoted(text: str, *, is_forward: bool) -> str:
    """The part of ``text`` the sender wrote: quoted lines and reply history removed.
    A forward keeps its forwarded block (that block is the substance)."""
    lines = text.split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if len(line) > 400:
            continue
        hit = any(p.match(line) for p in _REPLY_HEADER_PATTERNS)
        if (
            not hit
            and _ON_START.match(line)
            and i + 1 < len(lines)
            and lines[i + 1].rstrip().endswith("wrote:")
        ):
            hit = True
        if (
            not hit
            and _FROM_BLOCK.match(line)
            and i + 1 < len(lines)
            and (
                _SENT_BLOCK.match(lines[i + 1])
                or (i + 2 < len(lines) and _SENT_BLOCK.match(lines[i + 2]))
            )
        ):
            # Outlook's header block ("From: ... / Sent: ...") without a separator line.
            hit = i > 0
        if hit:
            if is_forward and _FORWARD_MARKERS.match(line):
                break
            if is_forward:
                continue
            cut = i
            break
    kept = [ln for ln in lines[:cut] if not ln.lstrip().startswith((">", "＞"))]
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


_FWD_FROM = re.compile(
    r"^\s*(?:>\s*)*(?:From|差出人|送信者|Von|De)\s*[:：]\s*(.{1,500})$", re.IGNORECASE
)


def find_forwarded_from(text: str, subject_is_forward: bool) -> str | None:
    lines = text.split("\n")
    for i, line in enumerate(lines[:5000]):
        if not _FORWARD_MARKERS.match(line):
            continue
        if re.search(r"original|元のメッセージ", line, re.IGNORECASE) and not subject_is_forward:
            continue
        for follow in lines[i + 1 : i + 12]:
            m = _FWD_FROM.match(follow)
            if m:
                parsed, _ = parse_addresses(m.group(1), limit=1)
                if parsed:
                    return parsed[0][1]
        return None
    return None
