"""Properties and small cases of the parser's pure helpers."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.mail._parse_charset import decode_bytes, decode_iso2022jp
from madoguchi.mail._parse_headers import decode_words, parse_addresses, parse_date, parse_params
from madoguchi.mail._parse_html import sanitise_html
from madoguchi.mail.parsing import (
    ParsedMail,
    is_automatic,
    normalise_subject,
    parse_message,
    reference_tags,
)

from ._fixtures import html_problems

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- subjects ------------------------------------------------------------------------------


def test_normalise_subject_examples() -> None:
    cases = {
        "Re: Re: Fwd: hello": "hello",
        "RE: FW: Fw: AW: WG: SV: 返信: 転送: x": "x",
        "Re[2]: Re(3): x": "x",
        "ＲＥ：[#INQ-2025-000123] 件名": "件名",
        "Re: [#INQ-2025-000123] Re: [Q-7K3M9P2X]  two   spaces ": "two spaces",
        "[Q-7K3M9P2X] Re: x": "x",
        "Regarding: x": "Regarding: x",
        "Return policy": "Return policy",
        "": "",
    }
    for raw, expected in cases.items():
        assert normalise_subject(raw) == expected, raw


def test_reference_tags() -> None:
    assert reference_tags("Re: [#INQ-2025-000123] x [Q-7K3M9P2X]") == (
        "INQ-2025-000123",
        "Q-7K3M9P2X",
    )
    assert reference_tags("[#inq-2025-000123]") == ("INQ-2025-000123",)
    assert reference_tags("[it-news:0042] [#TOOLONGPREFIX-1234] [A-12]") == ()
    assert reference_tags("[#INQ-2025-000123][#INQ-2025-000123]") == ("INQ-2025-000123",)


@FAST
@given(st.text(max_size=300))
def test_normalise_subject_is_idempotent(subject: str) -> None:
    once = normalise_subject(subject)
    assert normalise_subject(once) == once
    assert "  " not in once and once == once.strip()


@FAST
@given(
    st.lists(
        st.sampled_from(
            ["Re:", "RE：", "Fwd:", "返信:", "[#INQ-2025-000123]", "Re[2]:", " ", "x", "件名"]
        ),
        max_size=30,
    )
)
def test_normalise_subject_idempotent_on_prefix_soup(parts: list[str]) -> None:
    subject = " ".join(parts)
    once = normalise_subject(subject)
    assert normalise_subject(once) == once
    assert not reference_tags(once)


# --- whole messages ------------------------------------------------------------------------


@FAST
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMail)
    assert "parser_error" not in parsed.defects
    assert "\x00" not in parsed.text and "\r" not in parsed.subject and "\n" not in parsed.subject


_header_line = st.sampled_from(
    [
        b"From: =?utf-8?b?44OG44K544OI?= <a@b.example>",
        b'From: "x" <@r:c@d.example>, (c) e@f.example',
        b"To: g: a@b.example, ;",
        b"Subject: =?iso-2022-jp?b?GyRCJUYlOSVIGyhC?= =?utf-8?q?=E3=81?=",
        b"Subject: Re: [#INQ-2025-000123] \xe4\xbb\xb6",
        b"Date: Tue, 01 Apr 2025 09:00:00 +0900",
        b"Date: 31 Feb 99 25:61 XYZ",
        b"Message-ID: <x@y>",
        b"References: <a@b> <c <d@e>",
        b"Content-Type: multipart/mixed; boundary=b",
        b'Content-Type: multipart/alternative; boundary="b"',
        b"Content-Type: text/html; charset=utf-7",
        b"Content-Type: text/plain; charset=shift_jis",
        b"Content-Type: message/rfc822",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b",
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b"Content-Disposition: attachment; filename*0*=utf-8''%E3%81; filename*1=x.pdf",
        b"Content-ID: <c@d>",
        b"Auto-Submitted: auto-replied",
        b" folded continuation",
        b"broken header line",
        b"",
    ]
)
_body_line = st.sampled_from(
    [
        b"--b",
        b"--b--",
        b"",
        b"text",
        b"<img src=cid:c@d onerror=alert(1)>",
        b"=E3=81=\x82",
        b"QUJD",
        b"\x1b$B$3\x1b(B",
        b"\x00\xff\xfe",
        b"Action: failed",
        b"Status: 5.1.1",
        b"> quoted",
        b"On x wrote:",
    ]
)


@FAST
@given(
    st.lists(_header_line, max_size=12),
    st.lists(st.one_of(_header_line, _body_line), max_size=60),
    st.sampled_from([b"\r\n", b"\n"]),
)
def test_mail_shaped_input_never_raises(
    headers: list[bytes], body: list[bytes], eol: bytes
) -> None:
    raw = eol.join(headers) + eol + eol + eol.join(body)
    parsed = parse_message(raw)
    assert "parser_error" not in parsed.defects
    if parsed.html is not None:
        assert html_problems(parsed.html) == []
        assert sanitise_html(parsed.html, 10**7)[0] == parsed.html


def test_non_bytes_input_does_not_raise() -> None:
    assert "empty" in parse_message(bytearray(b"")).flags
    assert parse_message(memoryview(b"Subject: x\r\n\r\nbody")).subject == "x"


def test_is_automatic() -> None:
    auto = parse_message(b"From: a@b.example\r\nAuto-Submitted: auto-generated\r\n\r\nx")
    human = parse_message(b"From: a@b.example\r\nAuto-Submitted: no\r\n\r\nx")
    assert is_automatic(auto) and auto.auto == "auto_generated"
    assert not is_automatic(human)


def test_visible_text_strips_quoted_history() -> None:
    raw = (
        "From: a@b.example\r\nSubject: Re: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "ありがとうございます。\r\n\r\n-----Original Message-----\r\nFrom: support@x.example\r\nold text\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert parsed.visible_text == "ありがとうございます。"
    raw2 = (
        "From: a@b.example\r\nSubject: Re: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "了解です。\r\n\r\n---- 元のメッセージ ----\r\n以前の本文\r\n"
    ).encode()
    assert parse_message(raw2).visible_text == "了解です。"
    raw3 = b"From: a@b.example\r\n\r\nOK.\r\n\r\nOn Tue, 1 Apr 2025 at 09:00, Support <s@x.example>\r\nwrote:\r\n> old\r\n"
    assert parse_message(raw3).visible_text == "OK."


# --- pieces ----------------------------------------------------------------------------------


def test_encoded_words_joined_before_decoding() -> None:
    assert decode_words("=?UTF-8?B?44OR44K544M=?= =?UTF-8?B?r+ODvA==?=") == "パスワー"
    assert decode_words("a =?utf-8?q?b?= c") == "a b c"
    assert decode_words("=?UTF-8?B?broken") == "=?UTF-8?B?broken"


def test_rfc2231_continuation_in_iso2022jp() -> None:
    _, params = parse_params(
        "attachment; filename*0*=ISO-2022-JP''%1B%24%42%4D%7A%3D%24%45%50%4F%3F%24%4E%39%35; filename*1*=%24%28%1B%28%42%2E%70%64%66"
    )
    assert params["filename"] == "履修登録の控え.pdf"


def test_iso2022jp_decoder_handles_nec_extensions_and_unterminated_lines() -> None:
    # ① is NEC row 13 (0x2D21), outside plain JIS X 0208.
    text, errors = decode_iso2022jp(b'\x1b$B-!\x1b(B ok\n\x1b$B$"\nplain')
    assert text == "① ok\nあ\nplain" and errors == 0


def test_charset_fallbacks() -> None:
    assert decode_bytes("髙橋".encode("cp932"), "shift_jis") == "髙橋"
    assert decode_bytes("日本語".encode(), "us-ascii") == "日本語"
    assert decode_bytes("未知の文字".encode("euc_jp"), "x-unknown") == "未知の文字"
    assert decode_bytes(b"+ADw-script+AD4-", "utf-7", allow_utf7=False) == "+ADw-script+AD4-"
    assert decode_bytes(b"caf\xe9", "iso-8859-1") == "café"


def test_addresses() -> None:
    parsed, invalid = parse_addresses(
        '"evil@x.example" <Real@Example.COM>, bad@, <@a,@b:c@d.example>'
    )
    assert [a for _, a in parsed] == ["real@example.com", "c@d.example"]
    assert invalid
    parsed, _ = parse_addresses("user@東大.example")
    assert parsed[0][1] == "user@xn--pss754a.example"


def test_dates() -> None:
    dt, defect = parse_date("Tue, 01 Apr 2025 09:00:00 +0900")
    assert dt is not None and dt.utcoffset() is not None and defect is None
    assert parse_date("Tue, 06 Jun 2017 27:39:33 +0600") == (None, "invalid_date")
    assert parse_date("garbage")[0] is None
    assert parse_date("Tue, 01 Apr 2025 09:00:00 +9900") == (None, "invalid_date")


def test_html_cid_and_remote_images() -> None:
    html, _ = sanitise_html(
        '<img src="cid:a%40b"><img src="https://t.example/p.gif"><img src="data:image/png;base64,AA"><a href="jav&#x09;ascript:x">l</a><a href="https://ok.example">ok</a>',
        10**6,
    )
    assert 'data-cid="a@b"' in html and 'data-remote-src="https://t.example/p.gif"' in html
    assert " src=" not in html and "javascript" not in html and "data:" not in html
    assert re.search(
        r'<a href="https://ok.example" rel="noopener noreferrer nofollow">ok</a>', html
    )
