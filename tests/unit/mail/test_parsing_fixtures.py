"""Every shared hostile mail fixture through parse_message, plus the parser-level checks
of EXPECTATIONS.jsonl. The fixtures are read from ../shared (never copied here)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from madoguchi.mail._parse_html import MAX_DEPTH, sanitise_html
from madoguchi.mail.parsing import (
    ParsedMail,
    is_automatic,
    normalise_subject,
    parse_message,
    reference_tags,
)

from ._fixtures import emails_dir, expectations, fixture_names, html_problems, read_eml

CONFIRM_ID = "<inq-2025-000123.confirm@helpdesk.univ.example>"
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")

_cache: dict[str, ParsedMail] = {}


def parse(name: str) -> ParsedMail:
    if name not in _cache:
        _cache[name] = parse_message(read_eml(name))
    return _cache[name]


def assert_html_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert "vbscript:" not in lowered
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", lowered)
    assert not re.search(r"<[a-z][^>]*\ssrc\s*=\s*[\"']?https?:", lowered), (
        "nothing may be fetched on display"
    )
    assert html_problems(html) == []


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_parses_safely_and_fast(name: str) -> None:
    raw = read_eml(name) if name != "<missing>" else emails_dir() and b""
    started = time.perf_counter()
    parsed = parse_message(raw)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{name} took {elapsed:.2f}s"
    assert "parser_error" not in parsed.defects
    assert parsed.raw_size == len(raw)
    assert not CONTROLS.search(parsed.subject)
    assert not BIDI.search(parsed.subject)
    assert len(parsed.subject) <= 200
    assert not CONTROLS.search(parsed.from_display)
    assert not BIDI.search(parsed.from_display)
    for body in (parsed.text, parsed.visible_text):
        assert "\x00" not in body and "\r" not in body and "\x1b" not in body
    if parsed.html is not None:
        assert_html_inert(parsed.html)
        assert "\x00" not in parsed.html
        # sanitise -> serialise -> parse -> sanitise is a fixed point
        assert sanitise_html(parsed.html, 10_000_000)[0] == parsed.html
    for att in parsed.attachments:
        assert att.filename and att.filename == att.filename.strip()
        assert not re.search(r"[/\\\x00-\x1f\x7f]", att.filename)
        assert not BIDI.search(att.filename)
        assert not att.filename.startswith(".")
        assert att.size == len(att.data)
        assert re.fullmatch(r"[0-9a-f]{64}", att.sha256)
        assert re.fullmatch(
            r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", att.content_type
        )
        if att.inline:
            assert att.content_type.startswith("image/") and att.content_type != "image/svg+xml"
    for address in (parsed.from_address, parsed.sender, *parsed.to, *parsed.cc, *parsed.reply_to):
        if address is not None:
            assert (
                address == address.lower()
                and address.isprintable()
                and " " not in address
                or '"' in address
            )
    if parsed.date is not None:
        assert parsed.date.tzinfo is not None
    # Deterministic: the same bytes give the same result.
    assert parse_message(raw) == parsed


@pytest.mark.parametrize("name", fixture_names())
def test_expectations_requester_subject_and_no_answer(name: str) -> None:
    if name == "<missing>":
        emails_dir()
    row = expectations()[name]["expect"]
    parsed = parse(name)
    if row.get("requester"):
        assert parsed.from_address == row["requester"]
    if "decoded_subject" in row:
        assert parsed.subject == row["decoded_subject"]
    if row.get("confirmation_mail") is True:
        assert not is_automatic(parsed), (
            f"{name} must be answerable: auto={parsed.auto} bounce={parsed.bounce}"
        )


# --- attachments -------------------------------------------------------------------------


def test_rfc2231_and_rfc2047_filenames_decode() -> None:
    names = [a.filename for a in parse("att-filename-rfc2231-rfc2047-japanese.eml").attachments]
    assert names[:3] == ["成績一覧.xlsx", "履修登録の控え.pdf", "シラバス.pdf"]
    assert re.fullmatch(r"attachment-\d+\.bin", names[3])


def test_hostile_filenames_are_display_safe() -> None:
    names = [
        a.filename for a in parse("att-filename-traversal-rtl-nul-type-mismatch.eml").attachments
    ]
    assert "passwd" in names and "win.ini" in names and "shell.php" in names
    assert "reportfdp.exe" in names  # RTL override removed: the real extension shows
    assert "grades.pdf.exe" in names  # NUL removed
    assert "CON" not in names and "_CON" in names
    assert all(".." not in n and not n.startswith(".") for n in names)
    assert all(len(n.encode()) <= 200 for n in names)


def test_zip_is_never_extracted() -> None:
    parsed = parse("att-zip-10mb-expansion-slip-symlink.eml")
    assert [a.content_type for a in parsed.attachments] == ["application/zip"]
    assert parsed.attachments[0].data.startswith(b"PK")
    assert parsed.attachments[0].size < 20_000


def test_thousand_attachments_first_fifty_kept_rest_listed() -> None:
    started = time.perf_counter()
    parsed = parse_message(read_eml("mime-1000-attachments.eml"))
    assert time.perf_counter() - started < 5
    assert [a.filename for a in parsed.attachments] == [f"p{i:04d}.txt" for i in range(50)]
    assert len(parsed.dropped_attachments) == 950
    assert parsed.dropped_attachments[0] == "p0050.txt (too many attachments)"
    assert parsed.dropped_attachments[-1].startswith("p0999.txt (")


# --- encodings ---------------------------------------------------------------------------


def test_qp_soft_breaks_inside_multibyte_sequences() -> None:
    assert parse("enc-utf8-quoted-printable-soft-breaks-split-multibyte.eml").text == (
        "ログインできません。エラーコードは AADSTS50076 です。多要素認証の設定をやり直したいです。"
    )


def test_cp932_only_characters_under_shift_jis_label() -> None:
    parsed = parse("enc-cp932-only-chars-labelled-shift_jis.eml")
    assert "\ufffd" not in parsed.text and "\ufffd" not in parsed.subject
    for ch in "①②③㈱髙～":
        assert ch in parsed.text


def test_iso2022jp_halfwidth_kana_and_unterminated_escape() -> None:
    parsed = parse("enc-iso2022jp-halfwidth-kana-and-unterminated-escape.eml")
    assert parsed.text.splitlines() == [
        "ｶﾀｶﾅ ﾃｽﾄ: 半角カナが含まれています。",
        "この行は終端のエスケープがありません",
        "最後の行です。",
    ]


def test_iso2022jp_body_and_display_name() -> None:
    parsed = parse("enc-iso2022jp-subject-and-body.eml")
    assert parsed.from_display == "東大 太郎"
    assert "教養学部1年の東大太郎です。" in parsed.text
    assert "学籍番号は０１２３４５６７８９です。" in parsed.text


def test_shift_jis_base64_body() -> None:
    parsed = parse("enc-shift_jis-base64-body.eml")
    assert "UTokyo Accountのパスワードを忘れてしまい" in parsed.text
    assert parsed.from_display == "本郷 花子"


def test_malformed_transfer_encodings_yield_something_for_every_part() -> None:
    text = parse("enc-malformed-base64-and-quoted-printable.eml").text
    assert "日本語" in text
    assert "This part is declared base64 but is plain text." in text
    assert "bad escape =ZZ and =4 and trailing" in text
    assert "\nabc\n" in f"\n{text}\n" or "abc" in text.split("\n\n")
    assert "CTE header with a stray parameter" in text


def test_raw_utf8_headers_and_body_labelled_us_ascii() -> None:
    parsed = parse("enc-raw-utf8-headers-body-declared-us-ascii.eml")
    assert parsed.from_display == "東大 太郎"
    assert parsed.text == "本文は us-ascii と宣言されていますが UTF-8 です。"


def test_unknown_charset_and_utf7_html() -> None:
    parsed = parse("enc-unknown-charset-and-utf7-html.eml")
    assert "未知の文字コード" in parsed.text
    assert "duplicate charset parameter" in parsed.text
    assert parsed.html is not None and "<script" not in parsed.html.lower()


def test_control_characters_removed_and_overlong_utf8_never_becomes_markup() -> None:
    text = parse("enc-binary-nul-escape-invalid-utf8.eml").text
    assert "NUL here::end" in text
    assert "<script" not in text and "< script" not in text
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)


def test_invalid_header_bytes_become_replacement_characters() -> None:
    parsed = parse("hdr-invalid-bytes-in-headers.flanker.eml")
    assert parsed.from_address == "headers@gmail.com"
    assert "\ufffd" in parsed.subject
    assert parsed.to == ()
    assert "invalid_to_address" in parsed.defects


# --- headers -----------------------------------------------------------------------------


def test_crlf_in_encoded_words_stays_on_one_line() -> None:
    parsed = parse("hdr-crlf-injection-via-encoded-words.eml")
    assert parsed.subject == "Help Bcc: everyone@univ.example X-Injected: yes"
    assert parsed.from_address == "taro.todai@st.univ.example"
    assert "\n" not in parsed.from_display and "\r" not in parsed.from_display


def test_duplicate_headers_first_wins_with_defects() -> None:
    parsed = parse("hdr-duplicate-conflicting-and-invalid-date.eml")
    assert parsed.from_address == "taro.todai@st.univ.example"
    assert parsed.subject == "first subject"
    assert parsed.message_id == "<dup-1@st.univ.example>"
    assert parsed.date is None
    assert parsed.html is None  # the first Content-Type (text/plain) wins
    assert parsed.text.startswith("Two From, two Subject")
    for defect in (
        "duplicate_from",
        "duplicate_subject",
        "duplicate_message_id",
        "duplicate_content_type",
        "invalid_date",
        "malformed_header",
    ):
        assert defect in parsed.defects


def test_huge_folded_subject_is_truncated_and_marked() -> None:
    parsed = parse("hdr-huge-folded-subject-200k.flanker.eml")
    assert parsed.subject_truncated and len(parsed.subject) == 200
    assert "subject_truncated" in parsed.defects
    assert parsed.subject.startswith("Die heiße Zypernsonne quälte Max")


def test_zero_bytes() -> None:
    parsed = parse("hdr-zero-bytes.eml")
    assert "empty" in parsed.defects and "empty" in parsed.flags
    assert parsed.from_address is None and parsed.text == ""


def test_missing_from_to_date_message_id() -> None:
    parsed = parse("hdr-missing-from-to-date-message-id.eml")
    assert (
        parsed.from_address is None
        and parsed.to == ()
        and parsed.date is None
        and parsed.message_id is None
    )
    assert {"no_from", "no_date", "no_message_id"} <= set(parsed.defects)
    assert "返信先が分からない" in parsed.text


def test_no_blank_line_before_body_keeps_the_body() -> None:
    parsed = parse("hdr-no-blank-line-before-body.cpython.eml")
    assert parsed.subject == "here's something interesting"
    assert "counter to RFC 5322" in parsed.text
    assert "header_no_blank_line" in parsed.defects


def test_obsolete_address_syntax() -> None:
    parsed = parse("hdr-obsolete-syntax-comments-groups-idn.eml")
    assert parsed.from_address == "taro.todai@st.univ.example"
    assert parsed.from_display == "Taro"
    assert parsed.to == ()  # an empty group
    assert "user@st.univ.example" in parsed.cc  # source route dropped
    assert "user@xn--wgv71a.example" in parsed.cc
    assert all(a.isascii() for a in parsed.cc)
    assert parsed.date == datetime(2025, 4, 1, 11, 40, tzinfo=timezone(timedelta(hours=9)))


def test_markup_in_headers_is_kept_as_text_and_bad_ids_dropped() -> None:
    parsed = parse("hdr-xss-in-encoded-words.eml")
    assert parsed.from_display == "<script>alert(1)</script>"  # escaped by the web layer
    assert parsed.message_id is None and "invalid_message_id" in parsed.defects
    assert parsed.cc == ("cc@st.univ.example",)


def test_bad_date_is_none() -> None:
    parsed = parse("spoof-address-lookalike-display-name-bad-date.cpython.eml")
    assert parsed.date is None and "invalid_date" in parsed.defects


# --- MIME structure ----------------------------------------------------------------------


def test_dashed_boundaries() -> None:
    parsed = parse("mime-dashed-boundaries.flanker.eml")
    assert parsed.text == "Hi"
    assert parsed.html is not None and "Hi" in parsed.html
    assert parsed.attachments == ()


def test_missing_final_boundary_recovers_the_part() -> None:
    parsed = parse("mime-missing-final-boundary.flanker.eml")
    assert parsed.text == "Some body"
    assert "missing_final_boundary" in parsed.defects


def test_missing_boundaries_keep_the_whole_body_as_text() -> None:
    text = parse("mime-missing-boundaries.flanker.eml").text
    assert text.startswith("Hi This is a broken message") and text.endswith("Hey")


def test_false_multipart_with_empty_body() -> None:
    parsed = parse("mime-false-multipart-no-parts.flanker.eml")
    assert parsed.from_address == "broken.mime@notreallymultipart.com"
    assert "empty" in parsed.flags and "missing_boundary" in parsed.defects


def test_part_reusing_parent_boundary_terminates_and_keeps_all_parts() -> None:
    parsed = parse("mime-nested-part-reuses-parent-boundary.cpython.eml")
    # The reused boundary flattens the alternative into the mixed parent: its text and
    # HTML parts (which differ: "test"/"text") are both body parts, and both are kept.
    assert parsed.text == "Some removed test.\n\nSome removed text."
    assert parsed.html is not None and "Some removed text." in parsed.html
    assert [a.filename for a in parsed.attachments] == ["xx.gif"]
    assert "boundary_reused" in parsed.defects


def test_sixty_levels_of_nesting() -> None:
    parsed = parse("mime-deep-nesting-60-levels.eml")
    assert "depth_limit" in parsed.defects
    assert "60段の入れ子の最深部" in parsed.text
    assert len(parsed.attachments) == 1  # the subtree beyond the limit, kept raw


def test_nested_related_alternative_and_forwarded_message() -> None:
    parsed = parse("mime-nested-related-alternative-attachments-rfc822.eml")
    assert parsed.text == "スクリーンショットを添付します（ロゴ画像はインライン）。"
    assert parsed.html is not None and 'data-cid="logo.png@01D9"' in parsed.html
    by_name = {a.filename: a for a in parsed.attachments}
    assert set(by_name) == {"logo.png", "error-screenshot.pdf", "forwarded.eml"}
    assert by_name["logo.png"].inline and by_name["logo.png"].content_id == "logo.png@01D9"
    assert by_name["forwarded.eml"].is_message and not by_name["forwarded.eml"].inline
    assert (
        b"<script>alert('nested')</script>" in by_name["forwarded.eml"].data
    )  # kept, never rendered
    assert "alert" not in parsed.text


def test_inline_cid_edge_cases() -> None:
    parsed = parse("mime-inline-cid-edge-cases.eml")
    html = parsed.html or ""
    for cid in ("missing@x", "html-part@x", "dup@x", "svg@x", "noangle@x", "pct@x", "UPPER@X"):
        assert f'data-cid="{cid}"' in html
    assert 'data-remote-src="http://tracker.example/x.png"' in html
    by_type = {}
    for att in parsed.attachments:
        by_type.setdefault(att.content_type, []).append(att)
    assert not any(a.inline for a in by_type["text/html"] + by_type["image/svg+xml"])
    assert {a.content_id for a in by_type["image/png"]} >= {"dup@x", "noangle@x", "pct@x"}


def test_leading_whitespace_and_broken_rfc822() -> None:
    parsed = parse("mime-leading-whitespace-broken-rfc822.flanker.eml")
    assert parsed.from_address == "bob@example.net"
    assert any(a.is_message for a in parsed.attachments)


# --- HTML ----------------------------------------------------------------------------------


def test_html_only_mail_is_sanitised_and_has_text() -> None:
    parsed = parse("html-only-script-handlers-tracking-pixel.eml")
    assert "Zoomの録画が再生できません。" in parsed.text
    html = parsed.html or ""
    assert 'data-remote-src="https://tracker.example/open.gif' in html
    assert "evil.example" not in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "html_hidden_text" in parsed.flags


def test_deep_unclosed_html_is_bounded() -> None:
    parsed = parse("html-deep-nesting-unclosed-huge-attribute.eml")
    html = parsed.html or ""
    assert html.count("<div") <= MAX_DEPTH
    assert "A" * 3000 not in html


def test_mutation_xss_is_stable_and_inert() -> None:
    html = parse("html-mutation-xss.eml").html or ""
    once = sanitise_html(html, 10_000_000)[0]
    assert once == html and sanitise_html(once, 10_000_000)[0] == once
    assert "alert" not in html


# --- automatic mail and bounces --------------------------------------------------------------

AUTO_KINDS = {
    "auto-generated-lms-notification.eml": "auto_generated",
    "auto-gmail-vacation-precedence-bulk.eml": "out_of_office",
    "auto-mailing-list-precedence-list-x-loop.eml": "list",
    "auto-mdn-read-receipt.flanker.eml": "read_receipt",
    "auto-outlook-out-of-office-japanese.eml": "out_of_office",
    "auto-rfc3834-auto-replied.eml": "auto_replied",
    "auto-x-autoreply-legacy-headers.eml": "legacy_autoreply",
    "loop-own-confirmation-returned.eml": "auto_replied",
    "dsn-mailbox-full-auto-submitted.flanker.eml": "auto_replied",
}


@pytest.mark.parametrize(("name", "kind"), sorted(AUTO_KINDS.items()))
def test_auto_kind(name: str, kind: str) -> None:
    parsed = parse(name)
    assert parsed.auto == kind
    assert is_automatic(parsed)


def test_read_receipt_is_not_a_bounce() -> None:
    assert parse("auto-mdn-read-receipt.flanker.eml").bounce is None


@pytest.mark.parametrize(
    ("name", "recipients", "permanent", "has_confirm_id"),
    [
        (
            "dsn-rfc3464-permanent-failure-of-our-confirmation.eml",
            ("taro.todai@st.univ.example",),
            True,
            True,
        ),
        ("dsn-japanese-mta-plain-iso2022jp.eml", ("taro.todi@st.univ.example",), True, True),
        ("dsn-mailbox-full-auto-submitted.flanker.eml", ("user@aol.com",), True, False),
        ("dsn-plain-text-no-report.flanker.eml", ("info@example.net",), True, False),
        (
            "dsn-rfc3464-report-5-days.flanker.eml",
            ("foo@example.com",),
            True,
            False,
        ),  # Action: failed
        ("dsn-headerless-delivery-status.flanker.eml", ("demo@example.com",), True, False),
    ],
)
def test_bounces(
    name: str, recipients: tuple[str, ...], permanent: bool, has_confirm_id: bool
) -> None:
    parsed = parse(name)
    assert parsed.bounce is not None
    assert parsed.bounce.recipients == recipients
    assert parsed.bounce.permanent is permanent
    assert (CONFIRM_ID in parsed.bounce.original_message_ids) is has_confirm_id
    assert is_automatic(parsed)


def test_null_return_path() -> None:
    assert parse("dsn-rfc3464-permanent-failure-of-our-confirmation.eml").return_path == ""
    assert (
        parse("spoof-from-vs-reply-to-vs-sender-dmarc-fail.eml").return_path
        == "bounce@evil.example"
    )


def test_original_message_id_from_rfc822_headers_part() -> None:
    bounce = parse("dsn-mailbox-full-auto-submitted.flanker.eml").bounce
    assert bounce is not None and bounce.original_message_ids == ("<4E326A95.3010907@example.com>",)


# --- threading, forwards, spoofing -----------------------------------------------------------


def test_prefix_soup_and_malformed_references() -> None:
    parsed = parse("thread-prefix-soup-malformed-references.eml")
    assert normalise_subject(parsed.subject) == "再質問"
    assert reference_tags(parsed.subject) == ("INQ-2025-000123",)
    assert parsed.in_reply_to == ()
    assert CONFIRM_ID in parsed.references
    assert "<@>" not in parsed.references
    assert len(parsed.references) <= 100
    assert all(re.fullmatch(r"<[^<>\s]+>", r) for r in parsed.references)


def test_valid_reply() -> None:
    parsed = parse("thread-valid-reply-re-in-reply-to.eml")
    assert parsed.in_reply_to == (CONFIRM_ID,)
    assert parsed.references == ("<20250401085812.A1@st.univ.example>", CONFIRM_ID)
    assert reference_tags(parsed.subject) == ("INQ-2025-000123",)
    assert normalise_subject(parsed.subject) == "Zoomにサインインできません"
    assert parsed.visible_text == "ご回答ありがとうございます。再設定したらサインインできました。"
    assert "> 2025年4月1日" in parsed.text


def test_forged_tag_parses_the_real_sender() -> None:
    parsed = parse("thread-forged-tag-on-another-requesters-inquiry.eml")
    assert parsed.from_address == "mallory@st.univ.example"
    assert reference_tags(parsed.subject) == ("INQ-2025-000123",)


def test_inline_forward() -> None:
    parsed = parse("fwd-inline-forwarded-original-sender.eml")
    assert parsed.from_address == "taro.todai@st.univ.example"
    assert parsed.forwarded_from == "prof@fac.univ.example"
    assert parsed.is_forward
    assert (
        "https://zoom.example/j/000000000" in parsed.visible_text
    )  # the forwarded block is the substance


def test_spoofed_sender_is_flagged() -> None:
    parsed = parse("spoof-from-vs-reply-to-vs-sender-dmarc-fail.eml")
    assert parsed.from_address == "prof@fac.univ.example"
    assert parsed.sender == "mailer@evil.example"
    assert parsed.reply_to == ("prof.example.univ@evil.example",)
    assert "unverified_sender" in parsed.flags


def test_display_name_is_never_the_address() -> None:
    parsed = parse("spoof-display-name-is-helpdesk-address-rtl.eml")
    assert parsed.from_address == "attacker@evil.example"
    assert parsed.from_display == "support@helpdesk.univ.example"
    assert "display_name_address_mismatch" in parsed.flags
    parsed = parse("spoof-address-lookalike-display-name-bad-date.cpython.eml")
    assert parsed.from_address == "123@example.com"


def test_internal_control_headers_are_only_flagged() -> None:
    parsed = parse("spoof-internal-control-headers.eml")
    assert "internal_headers_present" in parsed.flags
    assert parsed.from_address == "mallory@st.univ.example"
    assert not is_automatic(parsed)


def test_misbehaving_autoresponder_chain() -> None:
    parsed = parse("loop-misbehaving-autoresponder-chain.eml")
    assert "long_reply_chain" in parsed.flags
    assert normalise_subject(parsed.subject) == "auto reply"
    assert len(parsed.references) == 30
