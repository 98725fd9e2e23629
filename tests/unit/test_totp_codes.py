"""accounts.totp against RFC 6238's test vectors (SHA-1), and its drift and replay rules."""

from __future__ import annotations

import base64
import re

import pytest

from madoguchi.accounts import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_vectors(timestamp, expected):
    assert totp.code_for_step(RFC_SECRET, totp.step_at(timestamp), digits=8) == expected
    assert totp.code_for_step(RFC_SECRET, totp.step_at(timestamp)) == expected[-6:]


def test_one_step_of_drift_either_side_and_no_more():
    t = 1_700_000_000
    step = totp.step_at(t)
    for offset in (-1, 0, 1):
        code = totp.code_for_step(RFC_SECRET, step + offset)
        assert totp.matching_step(RFC_SECRET, code, t) == step + offset
    for offset in (-2, 2):
        assert (
            totp.matching_step(RFC_SECRET, totp.code_for_step(RFC_SECRET, step + offset), t) is None
        )


def test_a_step_already_used_is_not_accepted_again():
    t = 1_700_000_000
    step = totp.step_at(t)
    code = totp.code_for_step(RFC_SECRET, step)
    assert totp.matching_step(RFC_SECRET, code, t, after=step - 1) == step
    assert totp.matching_step(RFC_SECRET, code, t, after=step) is None
    assert totp.matching_step(RFC_SECRET, code, t + 30, after=step) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12a456", "１２３４５６"])
def test_malformed_codes_match_nothing(typed):
    assert totp.matching_step(RFC_SECRET, typed, 1_700_000_000) is None


def test_secrets_uris_and_recovery_codes():
    secret = totp.new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert totp.grouped(secret).count(" ") == 7
    uri = totp.provisioning_uri(secret, account="山田", issuer="desk.example.ac.jp")
    assert uri.startswith("otpauth://totp/desk.example.ac.jp:%E5%B1%B1%E7%94%B0?secret=")
    assert "issuer=desk.example.ac.jp" in uri and "period=30" in uri and "digits=6" in uri
    code = totp.new_recovery_code()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code)
    typed = " " + code.lower().replace("-", " ").replace("0", "o").replace("1", "l") + " "
    assert totp.normalise_recovery_code(typed) == code.replace("-", "")
