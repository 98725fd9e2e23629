"""TURN credentials (coturn's use-auth-secret scheme), the ICE servers given to browsers,
and the checks of STUN/TURN URLs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import subprocess
import sys

import pytest

from madoguchi.calls.turn import (
    InvalidIceUrl,
    check_label,
    ice_servers,
    mint_credentials,
    validate_urls,
)
from madoguchi.core import clock
from tests.conftest import REPO

SECRET = "north-wind-secret"
NOW = 1_700_000_000


# --- credentials ---------------------------------------------------------------------------


def test_known_answer():
    username, password = mint_credentials(SECRET, ttl_seconds=3600, label="call-7f3a_x", now=NOW)
    assert username == "1700003600:call-7f3a_x"
    # Computed independently: HMAC-SHA1 keyed with the secret over the username, base64.
    expected = base64.b64encode(
        hmac.new(b"north-wind-secret", b"1700003600:call-7f3a_x", hashlib.sha1).digest()
    ).decode()
    assert password == expected
    # ... and by OpenSSL: printf %s USERNAME | openssl dgst -sha1 -hmac SECRET -binary | base64
    assert password == "t20lbRCf9HHR5H9RHSS9Q7NBs5o="


def test_the_expiry_is_now_plus_the_lifetime_in_whole_seconds():
    username, _ = mint_credentials(SECRET, ttl_seconds=90, label="a", now=NOW + 0.99)
    assert username == f"{NOW + 90}:a"


def test_now_defaults_to_the_desks_clock():
    at = dt.datetime.fromtimestamp(NOW, dt.UTC)
    with clock.frozen(at):
        assert mint_credentials(SECRET, ttl_seconds=60, label="a") == mint_credentials(
            SECRET, ttl_seconds=60, label="a", now=NOW
        )


def test_another_secret_label_or_expiry_gives_another_password():
    _, base = mint_credentials(SECRET, ttl_seconds=60, label="a", now=NOW)
    assert mint_credentials("other", ttl_seconds=60, label="a", now=NOW)[1] != base
    assert mint_credentials(SECRET, ttl_seconds=60, label="b", now=NOW)[1] != base
    assert mint_credentials(SECRET, ttl_seconds=61, label="a", now=NOW)[1] != base


def test_a_non_ascii_secret_is_used_as_utf8():
    _, password = mint_credentials("秘密", ttl_seconds=60, label="a", now=NOW)
    digest = hmac.new("秘密".encode(), f"{NOW + 60}:a".encode(), hashlib.sha1).digest()
    assert password == base64.b64encode(digest).decode()


@pytest.mark.parametrize(
    "label",
    ["a", "A-z_09", "x" * 64, "3f2a9c0d-58b1-4e6f-9a0b-5c7d8e9f0a1b"],
)
def test_safe_labels_are_accepted(label):
    assert check_label(label) == label
    assert (
        mint_credentials(SECRET, ttl_seconds=60, label=label, now=NOW)[0] == f"{NOW + 60}:{label}"
    )


@pytest.mark.parametrize(
    "label",
    [
        "",
        "x" * 65,
        "a:b",  # the username's separator
        "a b",
        "a\n",
        "a.b",
        "a/b",
        "太郎",
        "ａ",  # full-width letter
        "ａ" * 3,
        "user@example.ac.jp",
        None,
        42,
    ],
)
def test_unsafe_labels_are_refused(label):
    with pytest.raises(ValueError, match="TURN label"):
        mint_credentials(SECRET, ttl_seconds=60, label=label, now=NOW)


def test_no_secret_or_no_lifetime_is_refused():
    with pytest.raises(ValueError, match="secret"):
        mint_credentials("", ttl_seconds=60, label="a")
    for ttl in (0, -1):
        with pytest.raises(ValueError, match="lifetime"):
            mint_credentials(SECRET, ttl_seconds=ttl, label="a")


# --- what the browser gets -----------------------------------------------------------------

STUN = ["stun:turn.example.ac.jp:3478"]
TURN = [
    "turn:turn.example.ac.jp:3478?transport=udp",
    "turns:turn.example.ac.jp:443?transport=tcp",
]


@pytest.fixture
def calls_settings(settings):
    settings.CALL_STUN_URLS = STUN
    settings.CALL_TURN_URLS = TURN
    settings.CALL_TURN_SECRET = SECRET
    settings.CALL_TURN_TTL_SECONDS = 7200
    return settings


def test_ice_servers_with_a_secret(calls_settings):
    at = dt.datetime.fromtimestamp(NOW, dt.UTC)
    with clock.frozen(at):
        servers = ice_servers(label="call1")
    username, credential = mint_credentials(SECRET, ttl_seconds=7200, label="call1", now=NOW)
    assert servers == [
        {"urls": STUN},
        {"urls": TURN, "username": username, "credential": credential},
    ]
    assert username == f"{NOW + 7200}:call1"
    # copies: the caller may serialise or change them without touching the settings
    servers[0]["urls"].append("x")
    servers[1]["urls"].append("x")
    assert calls_settings.CALL_STUN_URLS == STUN
    assert calls_settings.CALL_TURN_URLS == TURN


@pytest.mark.parametrize("missing", ["CALL_TURN_SECRET", "CALL_TURN_URLS"])
def test_no_turn_entry_without_secret_or_urls(calls_settings, missing):
    setattr(calls_settings, missing, "" if missing == "CALL_TURN_SECRET" else [])
    assert ice_servers(label="call1") == [{"urls": STUN}]


def test_nothing_configured_gives_no_servers(calls_settings):
    calls_settings.CALL_STUN_URLS = []
    calls_settings.CALL_TURN_URLS = []
    calls_settings.CALL_TURN_SECRET = ""
    assert ice_servers(label="call1") == []


def test_turn_without_stun(calls_settings):
    calls_settings.CALL_STUN_URLS = []
    [turn] = ice_servers(label="call1")
    assert turn["urls"] == TURN and turn["username"].endswith(":call1")


def test_ice_servers_checks_the_label(calls_settings):
    with pytest.raises(ValueError, match="TURN label"):
        ice_servers(label="not:safe")


def test_the_defaults_give_no_servers():
    from django.conf import settings

    if any(os.environ.get(f"MADOGUCHI_CALL_{n}_URLS") for n in ("STUN", "TURN")):
        pytest.skip("STUN/TURN configured in this environment")
    assert settings.CALL_STUN_URLS == []
    assert settings.CALL_TURN_URLS == []
    assert settings.CALL_TURN_TTL_SECONDS == int(
        os.environ.get("MADOGUCHI_CALL_TURN_TTL_SECONDS") or 3600
    )


# --- URL checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "stun:turn.example.ac.jp",
        "stun:turn.example.ac.jp:3478",
        "stun:192.0.2.10:3478",
        "stun:[2001:db8::1]:3478",
        "stun:[2001:db8::1]",
        "turn:turn.example.ac.jp:3478?transport=udp",
        "turn:turn.example.ac.jp:3478?transport=tcp",
        "turn:turn.example.ac.jp",
        "turns:turn.example.ac.jp:443?transport=tcp",
        "turns:turn.example.ac.jp:443",
        "turn:127.0.0.1:3478",
        "turn:localhost:3478",
        "turn:turn.example.ac.jp.:3478",
    ],
)
def test_good_urls_pass_unchanged(url):
    assert validate_urls([url]) == [url]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "must start with"),
        ("turn.example.ac.jp:3478", "must start with"),
        ("http://turn.example.ac.jp", "must start with"),
        ("https:turn.example.ac.jp", "must start with"),
        ("TURN:turn.example.ac.jp", "must start with"),
        ("stuns:turn.example.ac.jp", "must start with"),
        ("turn://turn.example.ac.jp:3478", "no '//'"),
        ("turn:", "no host"),
        ("turn::3478", "no host"),
        ("turn:?transport=udp", "no host"),
        ("stun:[]:3478", "not an IPv6"),
        ("turn:turn.example.ac.jp:0", "port"),
        ("turn:turn.example.ac.jp:65536", "port"),
        ("turn:turn.example.ac.jp:", "port"),
        ("turn:turn.example.ac.jp:34x8", "port"),
        ("turn:turn.example.ac.jp:３４７８", "port"),
        ("turn:turn.example.ac.jp:3478?transport=sctp", "query"),
        ("turn:turn.example.ac.jp:3478?transport=UDP", "query"),
        ("turn:turn.example.ac.jp:3478?transport=udp&x=1", "query"),
        ("turn:turn.example.ac.jp:3478?", "query"),
        ("stun:turn.example.ac.jp:3478?transport=udp", "stun: URLs take no"),
        ("turn:user:pass@turn.example.ac.jp", "only a host"),
        ("turn:turn.example.ac.jp:3478/path", "only a host"),
        ("turn:turn.example.ac.jp 3478", "only a host"),
        (" turn:turn.example.ac.jp", "must start with"),
        ("turn:turn.example.ac.jp\n", "only a host"),
        ("turn:2001:db8::1:3478", "brackets"),
        ("turn:[2001:db8::1", "IPv6"),
        ("turn:[2001:db8::1]3478", "IPv6"),
        ("turn:[not-v6]:3478", "not an IPv6"),
        ("turn:-bad-.example:3478", "not a host name"),
        ("turn:under_score.example:3478", "not a host name"),
        ("turn:999.1.1.1:3478", "not a host name"),
        ("turn:ターン.example.jp:3478", "not a host name"),
        ("turn:" + "a" * 64 + ".example:3478", "not a host name"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(url, message):
    with pytest.raises(InvalidIceUrl, match=message) as refused:
        validate_urls(["stun:ok.example:3478", url])
    assert repr(url) in str(refused.value)


def test_only_the_given_schemes():
    assert validate_urls(["turns:t.example:443"], schemes=("turn", "turns"))
    with pytest.raises(InvalidIceUrl, match="does not belong here"):
        validate_urls(["stun:t.example:3478"], schemes=("turn", "turns"))
    with pytest.raises(InvalidIceUrl, match="does not belong here"):
        validate_urls(["turn:t.example:3478"], schemes=("stun",))


def test_not_a_string_is_refused():
    with pytest.raises(InvalidIceUrl, match="not a string"):
        validate_urls([b"stun:t.example"])  # type: ignore[list-item]


# --- the settings --------------------------------------------------------------------------


def _load_settings(tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_CALL_")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from madoguchi import settings as s; "
            "print(s.CALL_STUN_URLS, s.CALL_TURN_URLS, s.CALL_TURN_TTL_SECONDS)",
        ],
        env={**clean, "MADOGUCHI_DATA_DIR": str(tmp_path), **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_read_space_or_comma_separated_lists(tmp_path):
    done = _load_settings(
        tmp_path,
        MADOGUCHI_CALL_STUN_URLS="stun:a.example:3478, stun:b.example:3478",
        MADOGUCHI_CALL_TURN_URLS="turn:a.example:3478?transport=udp turns:a.example:443?transport=tcp",
        MADOGUCHI_CALL_TURN_SECRET="s3cret",
        MADOGUCHI_CALL_TURN_TTL_SECONDS="7200",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "['stun:a.example:3478', 'stun:b.example:3478'] "
        "['turn:a.example:3478?transport=udp', 'turns:a.example:443?transport=tcp'] 7200"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MADOGUCHI_CALL_STUN_URLS": "https://stun.example"}, "MADOGUCHI_CALL_STUN_URLS: "),
        (
            {"MADOGUCHI_CALL_TURN_URLS": "stun:t.example", "MADOGUCHI_CALL_TURN_SECRET": "s"},
            "does not belong here",
        ),
        ({"MADOGUCHI_CALL_TURN_URLS": "turn:t.example:3478"}, "MADOGUCHI_CALL_TURN_SECRET"),
        ({"MADOGUCHI_CALL_TURN_TTL_SECONDS": "30"}, "at least 60"),
    ],
)
def test_settings_refuse_a_bad_configuration_at_load(tmp_path, env, message):
    done = _load_settings(tmp_path, **env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr, done.stderr
