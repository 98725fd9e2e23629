"""Authentication-Results (RFC 8601), believed only from our own receiving MTA."""

from __future__ import annotations

from madoguchi.mail.parsing import (
    Limits,
    parse_authentication_results,
    parse_message,
    sender_verdict,
)

OURS = "mx.helpdesk.univ.example"


def test_a_header_is_split_into_its_writer_and_results() -> None:
    parsed = parse_authentication_results(
        f"{OURS} 1; spf=fail smtp.mailfrom=evil.example;\r\n dkim=none;"
        " dmarc=fail header.from=fac.univ.example"
    )
    assert parsed is not None
    assert parsed.authserv_id == OURS
    assert parsed.results == (("spf", "fail"), ("dkim", "none"), ("dmarc", "fail"))


def test_comments_and_quoted_strings_say_nothing() -> None:
    parsed = parse_authentication_results(
        f"{OURS}; spf=pass (sender 192.0.2.1; dmarc=fail (nested ;)) smtp.mailfrom=a.example;"
        ' dkim/1=pass reason="x; dmarc=fail" header.d=a.example; none'
    )
    assert parsed is not None
    assert parsed.results == (("spf", "pass"), ("dkim", "pass"))
    assert parse_authentication_results("(only a comment)") is None
    assert parse_authentication_results(f"{OURS}; none").results == ()  # type: ignore[union-attr]


def test_failures() -> None:
    top = f"{OURS}; spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=univ.example"
    assert sender_verdict([top]).failures == ("dmarc=fail", "spf=fail")
    assert sender_verdict([f"{OURS}; spf=softfail smtp.mailfrom=x.example"]).unverified
    assert sender_verdict([f"{OURS}; dkim=fail header.d=x.example"]).failures == ("dkim=fail",)
    # A forwarder broke SPF, DMARC still passed on the signature: verified.
    assert not sender_verdict([f"{OURS}; spf=fail; dkim=pass; dmarc=pass"]).unverified
    # One of two signatures failed (a list footer), the other passed.
    assert not sender_verdict([f"{OURS}; dkim=fail header.d=a; dkim=pass header.d=b"]).unverified
    assert not sender_verdict([f"{OURS}; spf=pass; dmarc=none"]).unverified
    assert sender_verdict([]) == sender_verdict([], [OURS])
    assert not sender_verdict([]).checked


def test_only_our_mta_is_believed() -> None:
    forged_pass = "mx.helpdesk.univ.example; spf=pass; dkim=pass; dmarc=pass"
    ours_fail = f"{OURS}; spf=fail; dmarc=fail"
    relay = "relay.evil.example; dmarc=fail"
    # With our authserv-id set: every header of ours, none of anyone else's.
    assert sender_verdict([relay, ours_fail], [OURS]).failures == ("dmarc=fail", "spf=fail")
    assert not sender_verdict([relay], [OURS]).checked
    assert sender_verdict([forged_pass, ours_fail], [OURS.upper()]).unverified
    # Without it: the topmost header only (our MTA prepends its own).
    assert sender_verdict([ours_fail, forged_pass]).unverified
    assert not sender_verdict(["mx.other.example; dmarc=pass", relay]).unverified


def test_the_parser_keeps_the_headers_in_order() -> None:
    raw = (
        f"Authentication-Results: {OURS}; dmarc=fail\r\n"
        "Authentication-Results: evil.example; dmarc=pass\r\n"
        "ARC-Authentication-Results: i=1; evil.example; dmarc=fail\r\n"
        "From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n"
    ).encode()
    parsed = parse_message(raw, Limits())
    assert parsed.authentication_results == (f"{OURS}; dmarc=fail", "evil.example; dmarc=pass")
    assert "unverified_sender" not in parsed.flags  # the verdict is the caller's
