"""Where the shared hostile mail fixtures live, and the exact recipes of the big ones
(GENERATORS.md). Nothing is copied into the repository; big messages are built in a
temporary directory by the test that needs them."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from tests.conftest import BAD_INPUT, require_shared

EMAILS = BAD_INPUT / "emails"

CRLF = b"\r\n"


def emails_dir() -> Path:
    return require_shared(EMAILS)


def fixture_names() -> list[str]:
    """File names for parametrisation (empty when the folder is absent: the tests that
    use them then skip through ``emails_dir``)."""
    if not EMAILS.is_dir():
        return ["<missing>"]
    return sorted(p.name for p in EMAILS.glob("*.eml"))


def read_eml(name: str) -> bytes:
    return (emails_dir() / name).read_bytes()


def expectations() -> dict[str, dict]:
    path = emails_dir() / "EXPECTATIONS.jsonl"
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        row = json.loads(line)
        rows[row["file"]] = row
    return rows


# --- GENERATORS.md recipes ---------------------------------------------------------------


def _header(subject: bytes, mid: bytes, ctype: bytes) -> bytes:
    return CRLF.join(
        [
            b"From: taro.todai@st.univ.example",
            b"To: support@helpdesk.univ.example",
            b"Subject: " + subject,
            b"Date: Tue, 01 Apr 2025 09:00:00 +0900",
            b"Message-ID: <" + mid + b"@st.univ.example>",
            b"MIME-Version: 1.0",
            b"Content-Type: " + ctype,
            b"",
            b"",
        ]
    )


def payload(size: int) -> bytes:
    """byte i has the value i mod 256"""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def big_attachment_message(
    subject: str, mid: str, size: int, *, single_line: bool = False
) -> bytes:
    encoded = base64.b64encode(payload(size))
    if single_line:
        body_b64 = encoded + CRLF
    else:
        body_b64 = b"".join(encoded[i : i + 76] + CRLF for i in range(0, len(encoded), 76))
    body = (
        b"--size-bnd\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + subject.encode()
        + b' test\r\n--size-bnd\r\nContent-Type: application/octet-stream; name="big.bin"\r\n'
        b'Content-Disposition: attachment; filename="big.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + body_b64
        + b"--size-bnd--\r\n"
    )
    return _header(subject.encode(), mid.encode(), b'multipart/mixed; boundary="size-bnd"') + body


def huge_subject_message() -> bytes:
    return (
        _header(b"A" * 1_048_576, b"hdr-1mb", b"text/plain; charset=utf-8")
        + b"1 MiB unfolded Subject line\r\n"
    )


def many_recipients_message() -> bytes:
    addresses = b",\r\n ".join(b"u%06d@st.univ.example" % i for i in range(100_000))
    return CRLF.join(
        [
            b"From: taro.todai@st.univ.example",
            b"To: " + addresses,
            b"Subject: 100000 recipients",
            b"Date: Tue, 01 Apr 2025 09:00:00 +0900",
            b"Message-ID: <hdr-100k-rcpt@st.univ.example>",
            b"MIME-Version: 1.0",
            b"Content-Type: text/plain; charset=utf-8",
            b"",
            b"100,000 recipients in To",
            b"",
        ]
    )


def deep_nesting_message() -> bytes:
    out = [_header(b"1000 nested multiparts", b"mime-1000-deep", b'multipart/mixed; boundary="b0"')]
    for i in range(1000):
        out.append(b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i, i + 1))
    out.append(
        b"--b1000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ninnermost\r\n--b1000--\r\n"
    )
    out.extend(b"--b%d--\r\n" % i for i in range(999, -1, -1))
    return b"".join(out)


# --- an independent check of sanitised HTML ------------------------------------------------

_ALLOWED_URL = re.compile(r"^(?:https?:|mailto:|tel:)", re.IGNORECASE)
_FORBIDDEN_TAGS = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "base",
    "meta",
    "link",
    "svg",
    "math",
    "template",
    "noscript",
    "input",
    "button",
    "textarea",
    "frame",
    "frameset",
}


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _FORBIDDEN_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"handler {name}")
            if name in (
                "src",
                "srcset",
                "background",
                "poster",
                "style",
                "action",
                "formaction",
                "xlink:href",
            ):
                self.problems.append(f"attribute {name}")
            if name in ("href", "data-remote-src") and not _ALLOWED_URL.match(value.strip()):
                self.problems.append(f"url {name}={value!r}")

    handle_startendtag = handle_starttag


def html_problems(html: str) -> list[str]:
    """What would be active or fetched if this HTML were shown (parsed like a browser
    would tokenise it, so text inside attribute values is not mistaken for markup)."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.problems
