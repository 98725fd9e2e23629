"""The MIME entity tree, built without recursion over offsets into the raw bytes.

Invariants:

- Entities hold (start, end) offsets into the one raw buffer; nothing is copied until a
  part is decoded, so a 35 MB message costs one copy of the part being decoded.
- The tree is built with an explicit work list; a multipart deeper than
  ``Limits.max_depth`` is not split (defect ``depth_limit``) and its text is recovered by
  a flat scan instead. At most ``Limits.max_parts`` entities are expanded; later parts
  are listed (header-parsed) but not decoded.
- Boundary search is ``bytes.find`` from left to right, so every level is linear; the
  number of levels is bounded, so the whole parse is O(depth limit x size).
- A delimiter line is ``--boundary`` plus optional whitespace, a close delimiter adds
  ``--``; boundaries that begin or end with dashes therefore work. Delimiters found after
  a close delimiter are still honoured (``boundary_after_close``): that is how a child
  that reuses its parent's boundary is recovered without losing the parts after it.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from ._parse_headers import (
    MAX_HEADER_VALUE_CHARS,
    Headers,
    header_bytes_to_str,
    parse_params,
    split_header_block,
)

HARD_PART_CAP = 10_000  # entities we even look at; beyond this parts are only counted

_B64_OK = re.compile(rb"[^A-Za-z0-9+/]")


@dataclass
class Entity:
    headers: Headers
    ctype: str
    params: dict[str, str]
    disposition: str | None
    dparams: dict[str, str]
    cte: str
    start: int  # body start
    end: int  # body end
    depth: int
    children: list[Entity] | None = None  # None for leaves and unexpanded multiparts
    depth_limited: bool = False
    skipped: bool = False  # beyond max_parts: listed, never decoded
    declared_ctype: str = ""
    # How 8-bit or mislabelled parameter values (file names) were read: _parse_charset.
    charset_notes: list[str] = field(default_factory=list)

    @property
    def maintype(self) -> str:
        return self.ctype.split("/", 1)[0]

    @property
    def subtype(self) -> str:
        return self.ctype.split("/", 1)[1] if "/" in self.ctype else ""

    def filename(self) -> str | None:
        for value in (self.dparams.get("filename"), self.params.get("name")):
            if value is not None and value.strip():
                return value
        return None


_CTYPE_OK = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


_MISSING_SEMICOLON = re.compile(
    r"([a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126})\s+[a-z0-9*_-]{1,64}\s*="
)


def _make_entity(
    buf: bytes,
    start: int,
    end: int,
    depth: int,
    defects: list[str],
    *,
    top_level: bool,
    default_ctype: str,
) -> Entity:
    fields, body_start = split_header_block(buf, start, end, defects, top_level=top_level)
    headers = Headers(fields)
    notes: list[str] = []
    ct_raw = headers.raw("content-type")
    ct_value = (
        None
        if ct_raw is None
        else header_bytes_to_str(ct_raw[:MAX_HEADER_VALUE_CHARS], notes, "name")
    )
    if ct_value is not None:
        ctype, params = parse_params(ct_value, notes)
        declared = ctype
        missing_semicolon = _MISSING_SEMICOLON.match(ctype)
        if missing_semicolon and not _CTYPE_OK.fullmatch(ctype):
            # "text/plain charset=utf-8": a parameter without its ";" (seen in the wild).
            main = missing_semicolon.group(1)
            at = ct_value.lower().find(main)
            rest = ct_value[at + len(main) :] if at >= 0 else ""
            ctype, params = parse_params(main + ";" + rest, notes)
            defects.append("content_type_missing_semicolon")
        if not _CTYPE_OK.fullmatch(ctype):
            if ctype in ("text", ""):
                ctype = "text/plain"
            else:
                defects.append("invalid_content_type")
                ctype = "application/octet-stream"
    else:
        ctype, params, declared = default_ctype, {}, ""
    cd_raw = headers.raw("content-disposition")
    cd_value = (
        None
        if cd_raw is None
        else header_bytes_to_str(cd_raw[:MAX_HEADER_VALUE_CHARS], notes, "filename")
    )
    disposition: str | None
    if cd_value is not None:
        disposition, dparams = parse_params(cd_value, notes)
        disposition = disposition or None
    else:
        disposition, dparams = None, {}
    cte_value = headers.get("content-transfer-encoding") or ""
    cte = cte_value.split(";", 1)[0].strip().strip('"').lower()
    return Entity(
        headers=headers,
        ctype=ctype,
        params=params,
        disposition=disposition,
        dparams=dparams,
        cte=cte,
        start=body_start,
        end=max(body_start, end),
        depth=depth,
        declared_ctype=declared,
        charset_notes=notes,
    )


def _line_break_before(buf: bytes, start: int, pos: int) -> int:
    """The end of a part's content: the line break before a delimiter belongs to it."""
    if pos > start and buf[pos - 1] == 0x0A:
        pos -= 1
        if pos > start and buf[pos - 1] == 0x0D:
            pos -= 1
    return pos


def split_multipart(
    buf: bytes, start: int, end: int, boundary: bytes, defects: list[str]
) -> list[tuple[int, int]] | None:
    """Part ranges of a multipart body, or None when no delimiter line was found."""
    delim = b"--" + boundary
    markers: list[tuple[int, int, bool]] = []  # (line start, next line start, is close)
    i = buf.find(delim, start, end)
    while i >= 0:
        if i == start or buf[i - 1] == 0x0A:
            after = i + len(delim)
            nl = buf.find(b"\n", after, min(end, after + 1024))
            line_end = nl if nl >= 0 else end
            if line_end - after <= 1000:
                rest = buf[after:line_end]
                is_close = rest.startswith(b"--")
                tail = rest[2:] if is_close else rest
                if not tail.strip(b" \t\r"):
                    markers.append((i, line_end + 1 if nl >= 0 else end, is_close))
        i = buf.find(delim, i + 1, end)
    if not markers:
        return None
    parts: list[tuple[int, int]] = []
    open_start: int | None = None
    closed = False
    for line_start, next_line, is_close in markers:
        if open_start is not None:
            parts.append((open_start, _line_break_before(buf, open_start, line_start)))
        elif closed and not is_close:
            if "boundary_after_close" not in defects:
                defects.append("boundary_after_close")
        if is_close:
            open_start = None
            closed = True
        else:
            open_start = min(next_line, end)
            closed = False
    if open_start is not None:
        parts.append((open_start, end))
        defects.append("missing_final_boundary")
    return parts


def build_tree(
    buf: bytes, max_depth: int, max_parts: int, defects: list[str]
) -> tuple[Entity, int]:
    """Parse the whole message. Returns (root, number of parts only counted)."""
    root = _make_entity(buf, 0, len(buf), 0, defects, top_level=True, default_ctype="text/plain")
    work: list[tuple[Entity, tuple[bytes, ...]]] = [(root, ())]  # (entity, ancestor boundaries)
    expanded = 1
    seen = 1
    uncounted = 0
    while work:
        entity, ancestors = work.pop()
        if entity.maintype != "multipart":
            continue
        boundary = entity.params.get("boundary", "")
        boundary_b = boundary.encode("utf-8", errors="replace")[:200]
        if not boundary_b.strip():
            defects.append("missing_boundary")
            entity.ctype = "text/plain"
            continue
        if boundary_b in ancestors:
            if "boundary_reused" not in defects:
                defects.append("boundary_reused")
            entity.children = []
            continue
        if entity.depth >= max_depth:
            entity.depth_limited = True
            if "depth_limit" not in defects:
                defects.append("depth_limit")
            continue
        ranges = split_multipart(buf, entity.start, entity.end, boundary_b, defects)
        if ranges is None or not ranges:
            defects.append("missing_boundary")
            entity.ctype = "text/plain"
            continue
        default = "message/rfc822" if entity.subtype == "digest" else "text/plain"
        children: list[Entity] = []
        for s, e in ranges:
            if seen >= HARD_PART_CAP:
                uncounted += 1
                continue
            seen += 1
            child = _make_entity(
                buf, s, e, entity.depth + 1, defects, top_level=False, default_ctype=default
            )
            if expanded >= max_parts:
                child.skipped = True
                if "part_limit" not in defects:
                    defects.append("part_limit")
            else:
                expanded += 1
            children.append(child)
        entity.children = children
        # Push in reverse so that the work list handles parts in document order.
        for child in reversed(children):
            if child.maintype == "multipart" and not child.skipped:
                work.append((child, (*ancestors, boundary_b)))
    return root, uncounted


# --- transfer encodings ----------------------------------------------------------------


def estimated_size(entity: Entity) -> int:
    n = entity.end - entity.start
    if entity.cte == "base64":
        return n * 3 // 4
    return n


def _decode_base64(data: bytes | memoryview) -> tuple[bytes, str | None]:
    head = bytes(data[:4096])
    for line in head.splitlines()[:50]:
        if b" " in line.strip() and len(line.strip()) > 8:
            return bytes(data), "not_base64"
    try:
        return binascii.a2b_base64(data, strict_mode=False), None
    except (binascii.Error, ValueError):
        pass
    cleaned = _B64_OK.sub(b"", bytes(data))
    # Padding inside the data ends a base64 stream; anything after it is garbage.
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return binascii.a2b_base64(cleaned, strict_mode=False), "invalid_base64"
    except (binascii.Error, ValueError):
        return bytes(data), "invalid_base64"


UU_ENCODINGS = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})
UU_TYPES = frozenset({"application/x-uuencode", "text/x-uuencode", "application/uuencode"})
_UU_BEGIN = re.compile(rb"^begin(?:-base64)? +[0-7]{3,4} +([^\r\n]+?)\s*$", re.MULTILINE)
_UU_LINE = re.compile(rb"[ -`]+")


def uu_filename(data: bytes) -> str | None:
    """The file name of a ``begin 644 name`` line near the start of a uuencoded body."""
    m = _UU_BEGIN.search(data[:4096])
    if m is None:
        return None
    return m.group(1).decode("utf-8", errors="replace").strip() or None


def _uu_line(line: bytes) -> bytes | None:
    """One uuencoded line decoded, or None when it is not one. The first character
    gives the byte count; trailing spaces that mailers strip are restored."""
    if not line or not _UU_LINE.fullmatch(line):
        return None
    count = (line[0] - 32) & 63
    need = (count + 2) // 3 * 4 + 1
    if len(line) > need + 2:  # some encoders add a check character or two
        return None
    padded = line.ljust(need, b" ")
    try:
        return binascii.a2b_uu(padded)[:count]
    except (binascii.Error, ValueError):
        return None


def _decode_uu(data: bytes) -> tuple[bytes, str | None]:
    """uuencode with or without its ``begin`` line (``uuencode_without_begin``); stops at
    ``end``. Data that is not uuencode at all is returned as it is (``invalid_uuencode``)."""
    lines = data.splitlines()
    begin = next((i for i, line in enumerate(lines[:200]) if _UU_BEGIN.match(line.strip())), None)
    start = 0 if begin is None else begin + 1
    out = bytearray()
    decoded_lines = 0
    for line in lines[start:]:
        stripped = line.rstrip(b"\r")
        if stripped.strip() == b"end":
            break
        if not stripped.strip() or stripped == b"`":
            continue  # blank lines before the data; the zero-length last line
        chunk = _uu_line(stripped)
        if chunk is None:
            if begin is None or not decoded_lines:
                return data, "invalid_uuencode"
            break  # text after the data (a signature): the data ended before it
        out += chunk
        decoded_lines += 1
    if not decoded_lines and begin is None:
        return data, "invalid_uuencode"
    return bytes(out), None if begin is not None else "uuencode_without_begin"


_UU_BLOCK = re.compile(
    r"(?m)^begin [0-7]{3,4} ([^\r\n]{1,255})\n((?:[!-`][ -`]{0,80}\n){1,200000}?)(?:`\n)?end[ \t]*$"
)
MAX_UU_BLOCKS = 20


def uu_blocks(text: str) -> list[tuple[int, int, str, bytes]]:
    """uuencoded files inside a text body (``uuencode file | mail``, old clients):
    [(start, end, name, data)] for each ``begin``…``end`` block that decodes cleanly."""
    if "begin " not in text:
        return []
    found: list[tuple[int, int, str, bytes]] = []
    for m in _UU_BLOCK.finditer(text):
        if len(found) >= MAX_UU_BLOCKS:
            break
        data, defect = _decode_uu(m.group(0).encode("latin-1", errors="replace"))
        if defect is None and data:
            found.append((m.start(), m.end(), m.group(1).strip(), data))
    return found


def decode_transfer(buf: bytes, entity: Entity) -> tuple[bytes, str | None]:
    cte = entity.cte
    if cte == "base64":
        # A view, not a copy: a 14 MB base64 part costs only its decoded size.
        data, defect = _decode_base64(memoryview(buf)[entity.start : entity.end])
        return (bytes(data) if isinstance(data, memoryview) else data), defect
    data = buf[entity.start : entity.end]
    if cte == "quoted-printable":
        try:
            return binascii.a2b_qp(data), None
        except (binascii.Error, ValueError):
            return data, "invalid_quoted_printable"
    if cte in UU_ENCODINGS or (entity.ctype in UU_TYPES and _UU_BEGIN.search(data[:4096])):
        return _decode_uu(data)
    if cte and cte not in ("7bit", "8bit", "binary", "7-bit", "8-bit"):
        return data, "unknown_transfer_encoding"
    return data, None


# --- flat recovery beyond the depth limit ----------------------------------------------

_TEXT_PLAIN_HDR = re.compile(rb"(?mi)^content-type:[ \t]*text/plain")


def recover_texts(
    buf: bytes, start: int, end: int, defects: list[str], limit: int = 50
) -> list[Entity]:
    """text/plain leaves found by a flat scan of buf[start:end] (no tree): each found
    Content-Type line starts a header block that ends at the next empty line; the body
    ends at the next line that starts with "--"."""
    found: list[Entity] = []
    for m in _TEXT_PLAIN_HDR.finditer(buf, start, end):
        if len(found) >= limit:
            break
        block_start = buf.rfind(b"\n--", start, m.start())
        block_start = start if block_start < 0 else buf.find(b"\n", block_start + 1, end) + 1
        if block_start <= 0 or block_start > m.start():
            block_start = m.start()
        entity = _make_entity(
            buf, block_start, end, 0, [], top_level=False, default_ctype="text/plain"
        )
        stop = buf.find(b"\n--", entity.start, end)
        entity.end = end if stop < 0 else _line_break_before(buf, entity.start, stop + 1)
        if entity.end < entity.start:
            entity.end = entity.start
        found.append(entity)
    return found


@dataclass
class Collected:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Entity] = field(default_factory=list)
