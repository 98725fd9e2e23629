"""Requester text in our mail carries nothing a mail client turns into a link."""

from __future__ import annotations

import re

import pytest

from madoguchi.mail.defang import defang

# What common clients autolink in plain text: a scheme, "www.", a bare host name with a
# path, an address, an IPv4 address.
LINKABLE = re.compile(
    r"(?i)(\b(https?|ftps?|file|ssh|wss?|javascript):/*|\bwww\.|\bmailto:|\b[\w-]+(\.[\w-]+)*\.[a-z]{2,}\b|"
    r"\b\d{1,3}(\.\d{1,3}){3}\b)"
)


@pytest.mark.parametrize(
    ("raw", "inert"),
    [
        ("https://evil.example/login", "hxxps://evil[.]example/login"),
        ("HTTP://EVIL.EXAMPLE", "HXXP://EVIL[.]EXAMPLE"),
        ("sign in at www.evil.example now", "sign in at www[.]evil[.]example now"),
        ("evil.example/login", "evil[.]example/login"),
        ("mailto:boss@evil.example", "mailto[:]boss@evil[.]example"),
        ("ftp://10.0.0.1/x", "fxp://10[.]0[.]0[.]1/x"),
        ("javascript:alert(1)", "javascript[:]alert(1)"),
        ("ssh://host.example", "ssh[:]//host[.]example"),
        ("evil．example/ログイン", "evil[.]example/ログイン"),
    ],
)
def test_links_are_defanged(raw: str, inert: str) -> None:
    assert defang(raw) == inert
    assert not LINKABLE.search(defang(raw))


def test_ordinary_text_is_left_alone() -> None:
    for text in (
        "山田 太郎",
        "Zoom ver.5.17 でサインインできません",
        "Wi-Fi 3.5 GHz",
        "A. N. Other",
    ):
        assert defang(text) == text


def test_invisible_characters_and_line_breaks_go() -> None:
    assert defang("evil\u200b.example") == "evil[.]example"
    assert defang("name\r\nBcc: x\u202e") == "name  Bcc: x"


def test_length_is_capped() -> None:
    assert defang("あ" * 80, limit=50) == "あ" * 49 + "…"
    assert len(defang("a" * 10, limit=50)) == 10
