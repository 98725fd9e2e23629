"""Generated damage (issue 16): header and MIME damage from hypothesis, and every mail of
the shared bad-input material. Each example must parse without an exception, within a
per-example deadline (hypothesis measures it, so the bound is on the work of one parse,
not on the test's wall clock), and nothing decodable may be dropped: an ASCII marker word
in a text part survives into the stored text whatever damage is done around it."""

from __future__ import annotations

import base64
import binascii
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from madoguchi.mail._parse_headers import clean_display
from madoguchi.mail.parsing import Limits, ParsedMail, parse_message
from tests.conftest import BAD_INPUT, require_shared

DAMAGE = settings(
    max_examples=200,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CHARSETS = [
    "us-ascii",
    "utf-8",
    "UTF-8",
    "iso-8859-1",
    "windows-1252",
    "windows-1250",
    "iso-2022-jp",
    "shift_jis",
    "euc-jp",
    "gb2312",
    "gbk",
    "gb18030",
    "big5",
    "euc-kr",
    "koi8-r",
    "x-unknown",
    "",
    "utf-7",
]
GOOD_HEADERS = [
    b"From: Taro <taro.todai@st.univ.example>",
    b"To: support@helpdesk.univ.example",
    b"Subject: help",
    b"Date: Fri, 04 Apr 2025 09:00:00 +0900",
    b"Message-ID: <gen@st.univ.example>",
    b"Received: from mx.univ.example by mx.univ.example; Fri, 4 Apr 2025 09:00:00 +0900",
    b"X-Mailer: generated",
    b"MIME-Version: 1.0",
]

# Garbage lines: printable text that does not start with whitespace or "-" (so that it is
# neither a continuation nor a boundary), NUL bytes, 8-bit bytes, very long names.
garbage_line = st.one_of(
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="-"),
        min_size=1,
        max_size=60,
    ).map(lambda s: s.encode()),
    st.binary(min_size=1, max_size=40).map(
        lambda b: b"G" + b.replace(b"\n", b"").replace(b"\r", b"")
    ),
    st.integers(min_value=100, max_value=1500).map(lambda n: b"X-" + b"A" * n + b": long"),
    st.just(b"\x00\x00"),
    st.just(b"From someone@example.net Thu Apr  3 10:15:02 2025"),
)

marker_word = st.from_regex(r"\AZQXMARK[a-z]{6}\Z")
_counter = itertools.count()


def _headers(lines: list[bytes], garbage: list[tuple[int, bytes]]) -> list[bytes]:
    out = list(lines)
    for position, line in sorted(garbage, reverse=True):
        out.insert(position % (len(out) + 1), line)
    return out


def _qp(data: bytes) -> bytes:
    return binascii.b2a_qp(data)


@st.composite
def marker_part(draw: st.DrawFn, marker: str, damaged: bool) -> bytes:
    charset = draw(st.sampled_from(CHARSETS))
    ctes = ["7bit", "8bit", "quoted-printable"] + ([] if damaged else ["base64"])
    cte = draw(st.sampled_from(ctes))
    filler = draw(st.sampled_from(["", "Hello, ", "こんにちは ", "你好 ", "Grüße "]))
    text = f"{filler}{marker} please help.\n"
    try:
        body = text.encode(charset or "utf-8") if charset not in ("x-unknown", "utf-7") else None
    except (LookupError, UnicodeEncodeError):
        body = None
    if body is None:
        body = text.encode("utf-8")
    if charset == "iso-2022-jp":
        body = text.encode("iso2022_jp", errors="replace")
    if cte == "base64":
        body = base64.encodebytes(body)
    elif cte == "quoted-printable":
        body = _qp(body)
    ctype = b"Content-Type: text/plain" + (f"; charset={charset}".encode() if charset else b"")
    headers = [ctype, b"Content-Transfer-Encoding: " + cte.encode()]
    if damaged:
        garbage = draw(st.lists(st.tuples(st.integers(0, 3), garbage_line), max_size=2))
        headers = _headers(headers, garbage)
    return b"\r\n".join([*headers, b"", body])


@st.composite
def other_part(draw: st.DrawFn, depth: int) -> bytes:
    kind = draw(st.sampled_from(["html", "binary", "text", "multipart", "empty"]))
    if kind == "multipart" and depth < 4:
        return draw(multipart(depth + 1, None, False))
    if kind == "html":
        html = draw(st.text(max_size=80)).replace("<", "&lt;")
        return b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>" + html.encode() + b"</p>"
    if kind == "binary":
        data = draw(st.binary(max_size=200))
        return (
            b'Content-Type: application/octet-stream; name="f.bin"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data)
        )
    if kind == "text":
        return b"Content-Type: text/plain\r\n\r\nother part"
    return b""


@st.composite
def multipart(draw: st.DrawFn, depth: int, marker: str | None, damaged: bool) -> bytes:
    """A multipart entity (headers and body). With a marker, one child (or a nested
    mixed multipart) carries it; the path to it is only mixed/parallel, where every body
    part is kept (an alternative keeps one of its text parts by design)."""
    subtype = "mixed" if marker else draw(st.sampled_from(["mixed", "alternative", "parallel"]))
    if marker:
        subtype = draw(st.sampled_from(["mixed", "parallel"]))
    suffix = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789'()+_,./:=?", max_size=30))
    boundary = f"=_{next(_counter)}_{suffix}".encode()
    children = draw(st.lists(other_part(depth), max_size=3))
    if marker:
        if depth < 4 and draw(st.booleans()):
            child = draw(multipart(depth + 1, marker, damaged))
        else:
            child = draw(marker_part(marker, damaged))
        children.insert(draw(st.integers(0, len(children))), child)
    preamble = draw(st.sampled_from([b"", b"This is a multi-part message in MIME format.\r\n"]))
    body = preamble + b"".join(b"\r\n--" + boundary + b"\r\n" + c for c in children)
    body += b"\r\n--" + boundary + b"--\r\n"
    quoted = draw(st.booleans())
    param = b'"' + boundary + b'"' if quoted or not boundary.isalnum() else boundary
    return (
        b"Content-Type: multipart/" + subtype.encode() + b"; boundary=" + param + b"\r\n\r\n" + body
    )


@st.composite
def damaged_message(draw: st.DrawFn) -> tuple[bytes, str]:
    marker = draw(marker_word)
    damaged = draw(st.booleans())
    top = list(GOOD_HEADERS)
    entity = draw(st.one_of(multipart(0, marker, damaged), marker_part(marker, damaged)))
    head, _, rest = (
        entity.partition(b"\r\n\r\n")
        if entity.startswith(b"Content-Type: multipart")
        else (b"", b"", b"")
    )
    if head:
        top.append(head)
        body = rest
    else:
        ct_end = entity.index(b"\r\n\r\n")
        top.extend(entity[:ct_end].split(b"\r\n"))
        body = entity[ct_end + 4 :]
    if damaged:
        # Garbage before Content-Type would end the header block (real text cannot be
        # told from it); it goes among the other headers, at most one in a row.
        ct_index = next(i for i, line in enumerate(top) if line.startswith(b"Content-Type"))
        positions = st.integers(0, ct_index)
        garbage = draw(
            st.lists(st.tuples(positions, garbage_line), max_size=3, unique_by=lambda g: g[0])
        )
        top = _headers(top[:ct_index], garbage) + top[ct_index:]
    lead = draw(st.sampled_from([b"", b"\r\n", b"From x@example.net Thu Apr  3 10:15:02 2025\r\n"]))
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    raw = lead + b"\r\n".join(top) + b"\r\n\r\n" + body
    if eol == b"\n":
        raw = raw.replace(b"\r\n", b"\n")
    return raw, marker


def _check_bounded(parsed: ParsedMail, raw: bytes, limits: Limits = Limits()) -> None:  # noqa: B008
    assert "parser_error" not in parsed.defects, parsed.defects
    assert len(parsed.subject) <= limits.max_subject_chars
    assert len(parsed.text) <= limits.max_text_chars
    assert len(parsed.attachments) <= limits.max_attachments
    assert sum(a.size for a in parsed.attachments) <= limits.max_total_bytes
    assert len(parsed.charset_notes) <= 20
    assert len(parsed.dropped_attachments) <= limits.max_dropped_listed + 1
    # Nothing grows out of proportion to the input.
    assert len(parsed.text) <= 4 * len(raw) + 1000
    assert len(parsed.html or "") <= 8 * len(raw) + 10_000


@DAMAGE
@given(damaged_message())
def test_marker_survives_header_and_mime_damage(case: tuple[bytes, str]) -> None:
    raw, marker = case
    parsed = parse_message(raw)
    _check_bounded(parsed, raw)
    assert marker in parsed.text, (parsed.text[:500], parsed.defects)


@DAMAGE
@given(damaged_message(), st.floats(min_value=0.0, max_value=1.0))
def test_random_truncation_never_raises(case: tuple[bytes, str], share: float) -> None:
    raw, marker = case
    cut = raw[: int(len(raw) * share)]
    parsed = parse_message(cut)
    _check_bounded(parsed, cut)
    if marker.encode() in cut and b"base64" not in cut:
        # A truncated message keeps the text it still has (no base64: its marker would
        # be encoded; the marker may be cut in half, so only whole markers count).
        assert marker in parsed.text or marker[:-1] in parsed.text


# --- random encoded words -------------------------------------------------------------------

WORD_CHARSETS = ["utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "gb18030", "big5", "euc-kr"]
WORD_TEXT = st.text(
    alphabet=st.sampled_from(
        list("abcXYZ019 ?=_.,:;()<>@\"'")
        + list("あいうアイウ日本語漢字")
        + list("你好学生")
        + list("한국")
    ),
    min_size=1,
    max_size=40,
)


def _encode_words(data: bytes, charset: str, kind: str, cuts: list[int], fold: bytes) -> bytes:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    words = []
    for a, b in itertools.pairwise(points):
        chunk = data[a:b]
        if kind == "B":
            payload = base64.b64encode(chunk)
        else:
            payload = b"".join(
                bytes([c]) if chr(c).isalnum() and c < 0x80 else b"_" if c == 0x20 else b"=%02X" % c
                for c in chunk
            )
        words.append(b"=?" + charset.encode() + b"?" + kind.encode() + b"?" + payload + b"?=")
    return fold.join(words)


@DAMAGE
@given(
    WORD_TEXT,
    st.sampled_from(WORD_CHARSETS),
    st.sampled_from(["B", "Q", "b", "q"]),
    st.lists(st.integers(0, 200), max_size=4),
    st.sampled_from([b" ", b"\r\n ", b"\r\n\t", b"  "]),
)
def test_random_encoded_words_decode_to_their_text(
    text: str, charset: str, kind: str, cuts: list[int], fold: bytes
) -> None:
    codec = {"iso-2022-jp": "iso2022_jp", "shift_jis": "cp932"}.get(charset, charset)
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        assume(False)
        return
    if charset == "iso-2022-jp":
        cuts = []  # a word must not end inside an escape sequence's state (RFC 2047 6.3)
    words = _encode_words(data, charset, kind.upper(), cuts, fold)
    words = words.replace(b"?B?", b"?" + kind.encode() + b"?").replace(
        b"?Q?", b"?" + kind.encode() + b"?"
    )
    raw = b"From: a@st.univ.example\r\nSubject: " + words + b"\r\n\r\nx\r\n"
    parsed = parse_message(raw)
    assert parsed.subject == clean_display(text, limit=200)


# --- the shared bad-input material ----------------------------------------------------------


def _looks_like_mail(path: Path) -> bool:
    if path.suffix == ".eml":
        return True
    if path.suffix in (".md", ".txt", ".jsonl", ".json", ".gitattributes") or path.name.startswith(
        "."
    ):
        return False
    head = path.read_bytes()[:1024]
    return head.startswith(b"From ") or b"\nFrom:" in head or head.startswith(b"From:")


def _bad_input_mails() -> list[Path]:
    if not BAD_INPUT.is_dir():
        return []
    return sorted(p for p in BAD_INPUT.rglob("*") if p.is_file() and _looks_like_mail(p))


@pytest.mark.parametrize(
    "path",
    _bad_input_mails() or [BAD_INPUT / "<missing>"],
    ids=lambda p: p.relative_to(BAD_INPUT).as_posix() if p.is_relative_to(BAD_INPUT) else str(p),
)
def test_every_bad_input_mail_parses_bounded(path: Path) -> None:
    require_shared(path)
    raw = path.read_bytes()
    parsed = parse_message(raw)
    _check_bounded(parsed, raw)
    assert parsed.raw_size == len(raw)


def test_detector_runs_are_bounded_per_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import charset_normalizer

    from madoguchi.mail import _parse_charset

    calls = []
    real = charset_normalizer.from_bytes

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(charset_normalizer, "from_bytes", counting)
    name = "申请表".encode("gbk")
    parts = b"".join(
        b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="'
        + name
        + b'%d.pdf"\r\n\r\nx\r\n' % i
        for i in range(1000)
    )
    raw = b"From: a@st.univ.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    parsed = parse_message(raw + parts + b"--b--\r\n")
    assert len(parsed.attachments) == 50
    assert 0 < len(calls) <= _parse_charset.DETECTOR_CALLS_PER_MESSAGE


def test_hostile_strings_in_every_mail_field() -> None:
    """Each shared hostile string as a raw UTF-8 subject, as encoded words, as a display
    name, a file name and the body: parsed without an exception, bounded."""
    from tests.conftest import hostile_strings

    for row in hostile_strings():
        payload = str(row["payload"])[:100_000].encode("utf-8", errors="surrogatepass")
        word = b"=?utf-8?b?" + base64.b64encode(payload[:2000]) + b"?="
        raw = b"\r\n".join(
            [
                b"From: " + word + b" <a@st.univ.example>",
                b"Subject: " + payload[:5000].replace(b"\r", b" ").replace(b"\n", b" "),
                b"Comments: " + word,
                b"MIME-Version: 1.0",
                b'Content-Type: multipart/mixed; boundary="h"',
                b"",
                b"--h",
                b"Content-Type: text/plain; charset=utf-8",
                b"",
                payload,
                b"--h",
                b'Content-Type: application/octet-stream; name="' + word + b'"',
                b"",
                b"x",
                b"--h--",
                b"",
            ]
        )
        parsed = parse_message(raw)
        _check_bounded(parsed, raw)
        assert parsed.from_address == "a@st.univ.example", row["id"]
