"""Field rules for the intake forms and API, including the shared hostile strings."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from madoguchi.core.validation import normalise_common_id, normalise_email, single_line
from tests.conftest import hostile_strings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0123456789", "0123456789"),
        ("０１２３４５６７８９", "0123456789"),
        (" 0123456789 ", "0123456789"),
        ("0123456789\n", "0123456789"),
        ("\u30000123456789", "0123456789"),
        ("", ""),
    ],
)
def test_common_id_normalised(raw, expected):
    assert normalise_common_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "012345678",
        "01234567890",
        "01234 56789",
        "٠١٢٣٤٥٦٧٨٩",
        "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗",
        "⁰¹²³⁴⁵⁶⁷⁸⁹",
        "①②③④⑤⑥⑦⑧⑨⑩",
        "0123456789\u200b",
        "abcdefghij",
    ],
)
def test_common_id_rejected(raw):
    with pytest.raises(ValidationError):
        normalise_common_id(raw)


def test_shared_student_id_strings_follow_their_expectation():
    rows = [
        r for r in hostile_strings() if "student_id" in r["targets"] and r["kind"] == "student_id"
    ]
    assert rows, "no student_id material"
    for row in rows:
        payload, expect = row["payload"], row["expect"]
        if expect == "reject":
            with pytest.raises(ValidationError):
                normalise_common_id(payload)
        elif expect == "accept":
            assert normalise_common_id(payload) == payload
        elif expect == "normalise-or-reject":
            try:
                value = normalise_common_id(payload)
            except ValidationError:
                continue
            assert value.isascii() and value.isdigit() and len(value) == 10, row["id"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("taro.todai@st.univ.example ", "taro.todai@st.univ.example"),
        ("TARO.TODAI@ST.UNIV.EXAMPLE", "taro.todai@st.univ.example"),
        ("taro.todai+help@st.univ.example", "taro.todai+help@st.univ.example"),
        ("taro.todai@st.univ.example.", "taro.todai@st.univ.example"),
        ("taro@東大.example", "taro@" + "東大".encode("idna").decode() + ".example"),
    ],
)
def test_email_normalised(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "taro@[127.0.0.1]",
        '"all@univ.example"@st.univ.example',
        "たろう@東大.example",
        "a" * 65 + "@st.univ.example",
        "taro@localhost",
        "taro@@example.ac.jp",
        "taro@example.ac.jp\r\nBcc: x@evil.example",
        "taro @example.ac.jp",
        "",
    ],
)
def test_email_rejected(raw):
    with pytest.raises(ValidationError):
        normalise_email(raw)


def test_shared_email_strings_never_yield_an_unsafe_address():
    for row in hostile_strings():
        if "email" not in row["targets"]:
            continue
        try:
            value = normalise_email(row["payload"])
        except ValidationError:
            continue
        assert row["expect"] != "reject", row["id"]
        assert (
            value.isascii() and "\n" not in value and "\r" not in value and value.count("@") == 1
        ), row["id"]


@pytest.mark.parametrize("raw", ["a\r\nb", "a\nb", "a\u2028b", "a\x0bb"])
def test_single_line_rejects_breaks(raw):
    with pytest.raises(ValidationError):
        single_line(raw)
