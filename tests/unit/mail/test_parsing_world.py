"""Mail as real servers deliver it (issue 16): our own fixtures in ``world/``, one or
more per class of failure, each written from the description of the class."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from madoguchi.mail.parsing import ParsedMail, parse_message

WORLD = Path(__file__).parent / "world"
PDF = base64.b64decode(
    b"JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290"
    b"IDEgMCBSPj4KJSVFT0YK"
)


def world(name: str) -> ParsedMail:
    return parse_message((WORLD / name).read_bytes())


# --- 1. a leading mbox "From " line ---------------------------------------------------------


def test_mbox_from_line_is_skipped_and_from_quoting_undone() -> None:
    parsed = world("c1-mbox-from-line-postfix-pipe.eml")
    assert parsed.from_address == "hanako.shiba@st.univ.example"
    assert parsed.subject == "Printer on floor 3"
    assert parsed.message_id == "<mbox-1@st.univ.example>"
    assert parsed.return_path == "hanako.shiba@st.univ.example"
    assert "mbox_from_line" in parsed.defects
    assert parsed.text.splitlines() == [
        "The printer on floor 3 says offline.",
        "From the log it stopped yesterday.",
        ">From here on it is quoted twice.",
    ]


def test_mbox_from_line_after_a_blank_line_with_crlf() -> None:
    parsed = world("c1-mbox-from-line-crlf-leading-blank.eml")
    assert parsed.from_address == "jiro.ueno@st.univ.example"
    assert parsed.subject == "パスワード"
    assert parsed.text == "I forgot my password."
    assert {"leading_blank_line", "mbox_from_line"} <= set(parsed.defects)


@pytest.mark.parametrize("lead", [b"", b"\r\n", b"\n\n", b" \r\n"])
@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_mbox_line_variants(lead: bytes, eol: bytes) -> None:
    raw = lead + eol.join(
        [
            b"From x@st.univ.example Thu Apr  3 10:15:02 2025",
            b"From: x@st.univ.example",
            b"Subject: hello",
            b"",
            b"body",
        ]
    )
    parsed = parse_message(raw)
    assert (parsed.from_address, parsed.subject, parsed.text) == (
        "x@st.univ.example",
        "hello",
        "body",
    )


def test_a_message_that_starts_with_a_blank_line_and_text_has_no_headers() -> None:
    parsed = parse_message(b"\r\nDear desk,\r\nFrom: is not a header here\r\n")
    assert parsed.from_address is None
    assert parsed.text.startswith("Dear desk,")


def test_two_from_lines_the_second_is_garbage_before_the_headers() -> None:
    parsed = parse_message(b"From a Thu\nFrom b Thu\nFrom: x@st.univ.example\n\nbody\n")
    assert parsed.from_address == "x@st.univ.example"
    assert {"mbox_from_line", "garbage_before_headers"} <= set(parsed.defects)


# --- 5. header blocks broken by one bad line ------------------------------------------------


@pytest.mark.parametrize(
    "name, defect",
    [
        ("c5-header-name-1000-chars.eml", "garbage_before_headers"),
        ("c5-unindented-continuation.eml", "unindented_continuation"),
        ("c5-garbage-before-headers.eml", "garbage_before_headers"),
        ("c5-nul-byte-in-headers.eml", "nul_in_headers"),
        ("c5-line-without-colon-mid-headers.eml", "malformed_header"),
    ],
)
def test_one_bad_header_line_does_not_end_the_headers(name: str, defect: str) -> None:
    parsed = world(name)
    assert parsed.from_address == "saburo.kita@st.univ.example"
    assert parsed.message_id == "<hdr-5@st.univ.example>"
    assert parsed.text == "Please see the attached report."
    (att,) = parsed.attachments
    assert (att.filename, att.content_type, att.data) == ("report.pdf", "application/pdf", PDF)
    assert defect in parsed.defects or (
        name == "c5-header-name-1000-chars.eml" and "malformed_header" in parsed.defects
    )


def test_unindented_continuation_of_the_subject_is_kept() -> None:
    assert world("c5-unindented-continuation.eml").subject == (
        "Report attached for the seminar of Thursday"
    )
    assert world("c5-nul-byte-in-headers.eml").subject == "Report attached"


def test_headers_directly_followed_by_text_keep_the_text() -> None:
    raw = b"From: a@st.univ.example\nSubject: s\nno blank line here\nNote: 3 pm\n"
    parsed = parse_message(raw)
    assert parsed.subject == "s"
    assert parsed.text == "no blank line here\nNote: 3 pm"


def test_a_part_without_headers_keeps_a_forwarded_header_block_as_text() -> None:
    raw = (
        b"From: a@st.univ.example\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="q"\n\n--q\n'
        b"---------- Forwarded message ---------\nFrom: b@fac.univ.example\n"
        b"Subject: original\n\nforwarded text\n--q--\n"
    )
    parsed = parse_message(raw)
    assert "From: b@fac.univ.example" in parsed.text
    assert "forwarded text" in parsed.text


def test_broken_lines_in_a_row_beyond_the_limit_end_the_headers() -> None:
    raw = b"From: a@st.univ.example\nbad 1\nbad 2\nbad 3\nbad 4\nSubject: late\n\nx\n"
    parsed = parse_message(raw)
    assert parsed.subject == ""
    assert parsed.text.startswith("bad 1")


# --- 2. encoded words with spaces, folded oddly ---------------------------------------------


def test_encoded_words_with_spaces_and_odd_folds() -> None:
    raw = (WORLD / "c2-encoded-words-spaces-and-folds.eml").read_bytes()
    parsed = parse_message(raw)
    assert parsed.from_display == "Personaländerung"
    assert parsed.from_address == "personal@adm.univ.example"
    # "Room ABC / 123" + a B word split inside a base64 quantum (no padding) across a fold.
    assert parsed.subject == "Room ABC / 123日本語のテスト"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=?us-ascii?Q?ABC / 123?=", "ABC / 123"),
        ("=?UTF-8?Q? Personal=C3=A4nderung?=", "Personaländerung"),
        # one character split across two words (folded between them)
        ("=?UTF-8?Q?Personal=C3?=\r\n =?UTF-8?Q?=A4nderung?=", "Personaländerung"),
        # whitespace between adjacent words is dropped, also between charsets
        ("=?iso-8859-1?q?caf=E9?= =?utf-8?q?_au_lait?=", "café au lait"),
        ("=?utf-8?q?a?=   =?utf-8?q?b?= c", "ab c"),
        # lower-case b/q, a language tag
        ("=?utf-8?b?44OR44K544Ov44O844OJ?=", "パスワード"),
        ("=?UTF-8*ja?B?44OR44K544Ov44O844OJ?=", "パスワード"),
        # a fold inside one B word
        ("=?UTF-8?B?44OR44K5\r\n 44Ov44O844OJ?=", "パスワード"),
        # unknown charsets: read as undeclared 8-bit text
        ("=?x-no-such-charset?Q?caf=E9?=", "café"),
        ("=?unknown-8bit?B?44OR44K544Ov44O844OJ?=", "パスワード"),
        # not an encoded word: stays literal
        ("=?utf-8?q?never closed", "=?utf-8?q?never closed"),
    ],
)
def test_encoded_word_forms(value: str, expected: str) -> None:
    raw = ("From: a@st.univ.example\r\nSubject: " + value + "\r\n\r\nx\r\n").encode()
    assert parse_message(raw).subject == expected


# --- 3. undeclared and mislabelled 8-bit charsets -------------------------------------------


@pytest.mark.parametrize(
    "name, subject, text_start, codec",
    [
        (
            "c3-gbk-undeclared-subject-body-filename.eml",
            "关于学生证补办的咨询",
            "老师您好，我是中国来的留学生。",
            "gb18030",
        ),
        (
            "c3-big5-undeclared.eml",
            "宿舍申請的問題",
            "老師您好，我想詢問關於宿舍申請的問題",
            "big5",
        ),
        (
            "c3-euc-kr-undeclared.eml",
            "기숙사 신청 문의",
            "안녕하세요, 저는 교환학생입니다.",
            "cp949",
        ),
        (
            "c3-windows-1252-raw-subject-and-body.eml",
            "Problème de connexion à mon compte",
            "Bonjour, je n'arrive pas à me connecter à mon compte élève",
            "cp1252",
        ),
        ("c3-windows-1250-undeclared.eml", "Přihlášení nefunguje", "Dobrý den, nemohu", "cp1250"),
    ],
)
def test_undeclared_8bit_is_detected_and_explained(
    name: str, subject: str, text_start: str, codec: str
) -> None:
    parsed = world(name)
    assert parsed.subject == subject
    assert parsed.text.startswith(text_start)
    assert f"text part: no charset read as {codec} (no charset; detector (charset-normalizer))" in (
        parsed.charset_notes
    )
    # The subject says too little on its own: it is read in the charset of the text.
    assert f"subject: no charset read as {codec} (the charset of the message's text)" in (
        parsed.charset_notes
    )


def test_undeclared_gbk_file_name_and_latin_display_name() -> None:
    parsed = world("c3-gbk-undeclared-subject-body-filename.eml")
    assert [a.filename for a in parsed.attachments] == ["申请表.pdf"]
    assert any(n.startswith("filename: no charset read as gb18030") for n in parsed.charset_notes)
    assert world("c3-windows-1252-raw-subject-and-body.eml").from_display == "Hélène Lefèvre"


@pytest.mark.parametrize(
    "name, subject, text, note",
    [
        (
            "c3-declared-iso-8859-1-is-utf-8.eml",
            "Personaländerung für März",
            "Grüße, die Änderung für März ist fertig. 日本語も少し。",
            "subject: iso-8859-1 read as utf-8 (valid UTF-8 under a single-byte label)",
        ),
        (
            "c3-declared-us-ascii-is-shift_jis.eml",
            "履修登録について",
            "履修登録の締め切りを過ぎてしまいました。どうすればよいでしょうか。",
            "text part: us-ascii read as cp932 (declared charset failed; Japanese (kana))",
        ),
        (
            "c3-declared-iso-8859-1-is-shift_jis.eml",
            "Shift_JIS under latin-1",
            "パスワードを忘れてしまいました。再設定をお願いします。",
            "text part: iso-8859-1 read as cp932 (declared charset failed; Japanese (kana))",
        ),
        (
            "c3-declared-gb2312-is-gbk.eml",
            "朱镕基的问题",
            "老师好，啰嗦一下：我的名字里有“镕”字，系统里显示不出来。",
            None,  # gb2312 is read as its superset GB18030: no note, nothing was wrong
        ),
    ],
)
def test_mislabelled_charsets(name: str, subject: str, text: str, note: str | None) -> None:
    parsed = world(name)
    assert (parsed.subject, parsed.text) == (subject, text)
    if note:
        assert note in parsed.charset_notes
    else:
        assert parsed.charset_notes == ()


def test_single_byte_label_on_shift_jis_without_undefined_bytes() -> None:
    # No byte of this text is undefined in windows-1252, so the label decodes "cleanly".
    body = "ありがとうございます".encode("cp932")
    raw = b"From: a@st.univ.example\nContent-Type: text/plain; charset=iso-8859-1\n\n" + body
    parsed = parse_message(raw)
    assert parsed.text == "ありがとうございます"
    assert parsed.charset_notes == (
        "text part: iso-8859-1 read as cp932 (Japanese (kana) under a single-byte label)",
    )


@pytest.mark.parametrize(
    "text, codec",
    [
        ("パスワードを忘れてしまいました。", "cp932"),
        ("パスワードを忘れてしまいました。", "euc_jp"),
        ("髙橋①㈱～", "cp932"),
        ("東京大学", "euc_jp"),  # kanji only: Japanese wins the tie
        ("山田太郎", "cp932"),
    ],
)
def test_undeclared_japanese_still_wins(text: str, codec: str) -> None:
    raw = b"From: a@st.univ.example\nSubject: x\n\n" + text.encode(codec)
    assert parse_message(raw).text == text


def test_declared_charset_that_reads_cleanly_has_no_note() -> None:
    raw = b"From: a@st.univ.example\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9"
    parsed = parse_message(raw)
    assert parsed.text == "café" and parsed.charset_notes == ()


@pytest.mark.parametrize(
    "text, codec",
    [("奖学金申请", "gbk"), ("기숙사 신청", "euc-kr"), ("Přihlášení", "cp1250")],
)
def test_short_undeclared_text_without_context(text: str, codec: str) -> None:
    # Short text alone: Japanese unless the detector finds the Japanese reading clearly
    # worse (here it does). Short Big5 stays ambiguous with Japanese and is not promised.
    raw = b"From: a@st.univ.example\nSubject: x\n\n" + text.encode(codec)
    assert parse_message(raw).text == text


# --- 4. separate text and HTML body parts ---------------------------------------------------

VPN_HTML_TEXT = (
    "The VPN client stops at Connecting since the update of Monday.\n\n"
    "I tried to reinstall it twice and restarted the PC, but nothing changed. Could you help?"
)


def test_mixed_text_then_html_signature_keeps_both_in_order() -> None:
    parsed = world("c4-mixed-text-then-html-signature.eml")
    assert parsed.text == (
        "My VPN does not connect since Monday.\n\n--\nTaro Todai\nFaculty of Letters, 2nd year"
    )
    assert parsed.html is not None
    # The formatted view shows the text part too, before the HTML one.
    assert parsed.html.index("My VPN does not connect") < parsed.html.index("Taro Todai")
    assert "<pre>" in parsed.html


def test_mixed_short_text_then_forwarded_html_note() -> None:
    parsed = world("c4-mixed-short-text-then-forwarded-html.eml")
    assert parsed.text.startswith("See the note below.")
    assert "Room 204 projector: HDMI input 2 is broken." in parsed.text


def test_mixed_empty_text_part_and_html_body() -> None:
    parsed = world("c4-mixed-empty-text-html-body.eml")
    assert parsed.text == VPN_HTML_TEXT
    assert parsed.html is not None and "<b>Connecting</b>" in parsed.html


def test_alternative_with_empty_text_part_stores_the_html_text() -> None:
    parsed = world("c4-alternative-empty-text-part.eml")
    assert parsed.text == VPN_HTML_TEXT
    assert parsed.visible_text == VPN_HTML_TEXT


def test_alternative_with_boilerplate_text_part_keeps_it_after_the_html_text() -> None:
    parsed = world("c4-alternative-boilerplate-text-part.eml")
    assert parsed.text == VPN_HTML_TEXT + "\n\nThis is an HTML message."
    assert "text_part_shorter_than_html" in parsed.defects
    assert parsed.html is not None and "<pre>" not in parsed.html


def test_alternative_with_equal_parts_keeps_the_text_part() -> None:
    parsed = world("c4-alternative-equal-parts.eml")
    assert parsed.text == "The VPN client stops at Connecting.\n\nTaro"
    assert "text_part_shorter_than_html" not in parsed.defects
    assert parsed.html is not None and "<pre>" not in parsed.html


def test_mixed_text_and_html_saying_the_same_is_one_alternative() -> None:
    raw = (
        b"From: a@st.univ.example\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="z"\n\n'
        b"--z\nContent-Type: text/plain\n\nSame words here.\n"
        b"--z\nContent-Type: text/html\n\n<p>Same <i>words</i> here.</p>\n--z--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "Same words here."
    assert parsed.html is not None and "<pre>" not in parsed.html


# --- 6. legacy encodings and attachment names -----------------------------------------------

UU_PDF = (
    b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n1 0 obj\n<</Type/Catalog>>\nendobj\ntrailer\n"
    b"<</Root 1 0 R>>\n%%EOF\n"
)


def test_uuencoded_parts_with_and_without_begin_line() -> None:
    parsed = world("c6-uuencode-parts.eml")
    assert parsed.text == "Files attached."
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("report.pdf", "application/pdf"),  # named by the begin line, typed by the name
        ("notes.pdf", "application/pdf"),  # no begin line
        ("slides.pdf", "application/pdf"),  # x-uue; the MIME name wins over the begin line
        ("data.pdf", "application/pdf"),  # Content-Type: application/x-uuencode
    ]
    assert all(a.data == UU_PDF for a in parsed.attachments)
    assert "uuencode_without_begin" in parsed.defects


def test_uuencoded_text_part_is_body_text() -> None:
    raw = (
        b"From: a@st.univ.example\nContent-Type: text/plain\n"
        b"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 note.txt\n#86)C\n`\nend\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "abc" and parsed.attachments == ()


def test_not_uuencode_at_all_is_kept() -> None:
    raw = (
        b"From: a@st.univ.example\nContent-Type: application/octet-stream; name=x.bin\n"
        b"Content-Transfer-Encoding: x-uuencode\n\nthis is not uuencode\n"
    )
    parsed = parse_message(raw)
    (att,) = parsed.attachments
    assert att.data == b"this is not uuencode\n"
    assert "invalid_uuencode" in parsed.defects


def test_attachment_names_from_every_place_mailers_put_them() -> None:
    parsed = world("c6-attachment-names.eml")
    assert [a.filename for a in parsed.attachments] == [
        "only-in-content-type.pdf",  # Content-Type name= only
        "日程表.pdf",  # RFC 2231 labelled iso-8859-1, actually UTF-8
        "履修登録.xls",  # RFC 2231 continuations split inside a character
        "履修登録.doc",  # RFC 2231 labelled utf-8, actually Shift_JIS
        "申請書.pdf",  # raw Shift_JIS in a quoted filename
        "成績証明書.pdf",  # an encoded word inside quotes
        "見積書.pdf",  # an ISO-2022-JP encoded word in name=
    ]
    assert parsed.charset_notes == (
        "filename: iso-8859-1 read as utf-8 (valid UTF-8 under a single-byte label)",
        "filename: utf-8 read as cp932 (declared charset failed; Japanese (short, no kana))",
        "filename: no charset read as cp932 (Japanese (short, no kana))",
    )


# --- 7. judgement calls about the sender ----------------------------------------------------


def test_valid_from_after_a_garbage_one_is_used_and_flagged() -> None:
    parsed = world("c7-garbage-from-then-valid-from.eml")
    assert parsed.from_address == "ichiro.sato@st.univ.example"
    assert parsed.from_display == "Ichiro Sato"
    assert {"duplicate_from", "invalid_from", "from_later_header"} <= set(parsed.defects)
    # The MTA's sender checks may have read the garbage one: never a verified sender.
    assert "unverified_sender" in parsed.flags


def test_first_valid_from_still_wins_over_a_later_one() -> None:
    raw = b"From: a@st.univ.example\nFrom: b@evil.example\nSubject: x\n\nbody\n"
    parsed = parse_message(raw)
    assert parsed.from_address == "a@st.univ.example"
    assert "from_later_header" not in parsed.defects


def test_unqualified_mailer_daemon_is_no_address_but_a_bounce() -> None:
    parsed = world("c7-unqualified-mailer-daemon.eml")
    assert parsed.from_address is None
    assert parsed.from_display == "Mail Delivery System"
    assert "unqualified_from" in parsed.defects
    assert parsed.bounce is not None and parsed.bounce.permanent
    assert parsed.bounce.recipients == ("nobody@st.univ.example",)


def test_unqualified_root_is_kept_for_review() -> None:
    parsed = world("c7-unqualified-root.eml")
    assert parsed.from_address is None and parsed.from_display == "root"
    assert "no_sender_address" in parsed.flags and "unqualified_from" in parsed.defects
    assert parsed.text.endswith("backup finished")


def test_raw_utf8_local_part_is_accepted() -> None:
    parsed = world("c7-raw-utf8-local-part.eml")
    assert parsed.from_address == "山田.太郎@st.univ.example"
    assert parsed.from_display == "山田"


def test_raw_legacy_8bit_local_part_is_not_an_address() -> None:
    parsed = world("c7-raw-latin1-local-part.eml")
    assert parsed.from_address is None
    assert parsed.from_display == "José"
    assert "non_utf8_address" in parsed.defects and "no_sender_address" in parsed.flags


def test_obsolete_from_with_space_before_colon_is_a_header_not_an_mbox_line() -> None:
    parsed = parse_message(b"From : a@st.univ.example\nSubject: s\n\nbody\n")
    assert parsed.from_address == "a@st.univ.example"
    assert "mbox_from_line" not in parsed.defects


def test_headerless_text_with_a_forwarded_block_stays_text() -> None:
    raw = b"Hello desk,\nsee below.\nFrom: b@fac.univ.example\nSubject: original\n\nx\n"
    parsed = parse_message(raw)
    assert parsed.from_address is None
    assert parsed.text.startswith("Hello desk,\nsee below.\nFrom: b@fac.univ.example")


def test_raw_iso_2022_jp_in_headers_and_under_a_us_ascii_label() -> None:
    # ISO-2022-JP is 7-bit: it passes for ASCII (and UTF-8) unless its escapes are read.
    parsed = world("c3-raw-iso-2022-jp-headers-body-labelled-us-ascii.eml")
    assert parsed.subject == "履修登録について"
    assert parsed.from_display == "東大 花子"
    assert parsed.from_address == "hanako.todai@st.univ.example"
    assert parsed.text == "履修登録の期限を過ぎてしまいました。\nどうすればよいでしょうか。"
    assert (
        "text part: us-ascii read as iso-2022-jp (ISO-2022-JP escapes under another label)"
        in parsed.charset_notes
    )
    undeclared = parse_message(b"From: a@st.univ.example\n\n" + "日本語".encode("iso2022_jp"))
    assert undeclared.text == "日本語"


@pytest.mark.parametrize(
    "ctype",
    [b"text/plain charset=shift_jis", b'TEXT/PLAIN   CHARSET="shift_jis"; format=flowed'],
)
def test_content_type_parameter_without_its_semicolon(ctype: bytes) -> None:
    raw = b"From: a@st.univ.example\nContent-Type: " + ctype + b"\n\n" + "履修".encode("cp932")
    parsed = parse_message(raw)
    assert parsed.text == "履修" and parsed.attachments == ()
    assert "content_type_missing_semicolon" in parsed.defects


def test_uuencoded_file_inside_a_text_body_becomes_an_attachment() -> None:
    parsed = world("c6-uuencode-inside-text-body.eml")
    (att,) = parsed.attachments
    assert (att.filename, att.content_type, att.data) == (
        "lab-report.pdf",
        "application/pdf",
        UU_PDF,
    )
    assert parsed.text == "Here is the report from the lab machine.\n\nThanks, Jiro"
    assert "uuencode_in_text" in parsed.defects


def test_text_that_only_mentions_begin_is_left_alone() -> None:
    raw = b"From: a@st.univ.example\n\nbegin 644 is how uuencode starts\nend of story\n"
    parsed = parse_message(raw)
    assert parsed.attachments == () and "begin 644" in parsed.text
