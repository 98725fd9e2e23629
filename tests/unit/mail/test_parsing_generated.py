"""The big messages of GENERATORS.md, built byte for byte in a temporary directory."""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from pathlib import Path

import pytest

from madoguchi.mail.parsing import Limits, parse_message

from ._fixtures import (
    big_attachment_message,
    deep_nesting_message,
    huge_subject_message,
    many_recipients_message,
)

PAYLOAD_10MIB_SHA256 = "aecf3c2ab8aca74852bca07b54136cecb3fdafdc35540068ed952c0b89538e0d"


def _write(tmp_path: Path, name: str, raw: bytes, sha256: str) -> bytes:
    path = tmp_path / name
    path.write_bytes(raw)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256
    return data


def test_g1_10mib_attachment_is_kept_intact(tmp_path: Path) -> None:
    raw = _write(
        tmp_path,
        "size-10mb-attachment.eml",
        big_attachment_message("10 MB attachment", "size-10mb", 10_485_760),
        "0bc18b5b4f8435daa59d9c0c9ca961b2ba86022dce338a5669f52dc61b6fe564",
    )
    assert len(raw) == 14_349_437
    tracemalloc.start()
    try:
        started = time.perf_counter()
        parsed = parse_message(raw)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2
    assert parsed.text == "10 MB attachment test"
    (att,) = parsed.attachments
    assert att.filename == "big.bin" and att.size == 10_485_760
    assert att.sha256 == PAYLOAD_10MIB_SHA256
    # Bounded: the decoded payload plus small change, not several copies of the message.
    assert peak < 3 * 10_485_760, f"peak {peak / 1e6:.1f} MB"


def test_g2_25mib_attachment_is_dropped_by_the_size_limit(tmp_path: Path) -> None:
    raw = _write(
        tmp_path,
        "size-25mb-attachment.eml",
        big_attachment_message("25 MB attachment", "size-25mb", 26_214_400),
        "866d9ac9341ae40a7739f7a4454679ed51713c5ae6fe4edea53c2dca417523be",
    )
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 2
    assert parsed.attachments == ()
    assert parsed.dropped_attachments == ("big.bin (too large)",)
    assert parsed.text == "25 MB attachment test"
    # A larger limit keeps it.
    roomy = parse_message(raw, Limits(max_attachment_bytes=30 * 1024 * 1024))
    assert [a.size for a in roomy.attachments] == [26_214_400]


def test_g3_single_line_base64(tmp_path: Path) -> None:
    raw = _write(
        tmp_path,
        "size-10mb-single-line-base64.eml",
        big_attachment_message(
            "10 MB single-line base64", "size-10mb-1line", 10_485_760, single_line=True
        ),
        "8b29eb9e948380267d3f78518474d60f23360c0685fe0842e4dbb95cca71b5a6",
    )
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 2
    assert [a.sha256 for a in parsed.attachments] == [PAYLOAD_10MIB_SHA256]


def test_g4_1mib_unfolded_subject(tmp_path: Path) -> None:
    raw = _write(
        tmp_path,
        "hdr-1mb-unfolded-subject.eml",
        huge_subject_message(),
        "a39444cf8542444651618186e66d6a5eb10f7961406ddfa57e9555819edf8e62",
    )
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 2
    assert parsed.subject == "A" * 200 and parsed.subject_truncated
    assert parsed.text == "1 MiB unfolded Subject line"


def test_g5_100k_recipients(tmp_path: Path) -> None:
    raw = _write(
        tmp_path,
        "hdr-100k-recipients.eml",
        many_recipients_message(),
        "ae74a6d3456db0038e4f4fc766cabe221bbf15f50889ede78a045a5be818cbd8",
    )
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 2
    assert len(parsed.to) == 100 and parsed.to[0] == "u000000@st.univ.example"
    assert "too_many_to" in parsed.defects
    assert parsed.from_address == "taro.todai@st.univ.example"


def test_g6_1000_level_nesting(tmp_path: Path) -> None:
    raw = _write(
        tmp_path,
        "mime-1000-level-nesting.eml",
        deep_nesting_message(),
        "a80a9887642c964a4f25c0253c62985c4031e3b1ec622fdbe725d7e9851a94c5",
    )
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 2
    assert parsed.text == "innermost"
    assert "depth_limit" in parsed.defects
    # Even an absurd depth limit does not recurse.
    deep = parse_message(raw, Limits(max_depth=5000))
    assert deep.text == "innermost" and "parser_error" not in deep.defects


@pytest.mark.parametrize("count", [1, 3])
def test_max_attachments_is_deterministic(count: int) -> None:
    parts = b"".join(
        b'--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="f%d.bin"\r\n\r\nx\r\n'
        % i
        for i in range(5)
    )
    raw = (
        b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        + parts
        + b"--b--\r\n"
    )
    parsed = parse_message(raw, Limits(max_attachments=count))
    assert [a.filename for a in parsed.attachments] == [f"f{i}.bin" for i in range(count)]
    assert parsed.dropped_attachments == tuple(
        f"f{i}.bin (too many attachments)" for i in range(count, 5)
    )
