"""Sign-in throttling (web.throttle) on the console's and the admin's sign-in pages:
per account and per client address, counted in the cache, refusing even the right password
while locked out."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from madoguchi.core.clock import frozen
from madoguchi.privacy.models import AuditEvent

from .conftest import make_user

PASSWORD = "correct horse battery"
T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff(db):
    return make_user("student1", "student")


def sign_in(client, username, password, *, path="/accounts/login/", address="198.51.100.4"):
    return client.post(
        path,
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_is_refused_while_the_account_is_locked(client, staff, settings):
    settings.LOGIN_MAX_FAILURES = 5
    with frozen(T0):
        for _ in range(4):
            response = sign_in(client, "student1", "wrong")
            assert not signed_in(client)
            assert b"Too many failed" not in response.content
        response = sign_in(client, "student1", "wrong")
        assert b"Too many failed sign-in attempts. Try again in 15 minutes." in response.content
        response = sign_in(client, "student1", PASSWORD)
        assert not signed_in(client)
        assert b"Too many failed sign-in attempts." in response.content
        # Another spelling of the same name is the same account; another address too.
        sign_in(client, " STUDENT1", PASSWORD, address="203.0.113.8")
        assert not signed_in(client)
    with frozen(T0 + dt.timedelta(minutes=10)):
        response = sign_in(client, "student1", PASSWORD)
        assert b"Try again in 5 minutes." in response.content
        assert not signed_in(client)
    with frozen(T0 + dt.timedelta(minutes=16)):
        response = sign_in(client, "student1", PASSWORD)
        assert response.status_code == 302
        assert signed_in(client)


def test_the_lock_out_is_audited_once(client, staff, settings):
    settings.LOGIN_MAX_FAILURES = 3
    with frozen(T0):
        for _ in range(6):
            sign_in(client, "student1", "wrong")
    events = AuditEvent.objects.filter(verb="auth.locked_out")
    assert [(e.data["scope"], e.data["username"], e.data["address"]) for e in events] == [
        ("account", "student1", "198.51.100.4")
    ]


def test_a_successful_sign_in_starts_the_account_afresh(client, staff, settings):
    settings.LOGIN_MAX_FAILURES = 3
    with frozen(T0):
        for _ in range(2):
            sign_in(client, "student1", "wrong")
        assert sign_in(client, "student1", PASSWORD).status_code == 302
        client.logout()
        for _ in range(2):
            sign_in(client, "student1", "wrong")
        assert sign_in(client, "student1", PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_is_locked_out(client, staff, settings):
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    make_user("faculty1", "faculty")
    with frozen(T0):
        for i in range(20):
            sign_in(client, f"guess{i}", "wrong")
        sign_in(client, "faculty1", PASSWORD)
        assert not signed_in(client)
        # The same account from another address is not affected.
        assert sign_in(client, "faculty1", PASSWORD, address="203.0.113.8").status_code == 302
    assert AuditEvent.objects.filter(verb="auth.locked_out", data__scope="address").count() == 1


def test_the_address_is_the_client_behind_the_trusted_proxy(client, staff, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    with frozen(T0):
        for i in range(3):
            client.post(
                "/accounts/login/",
                {"username": f"guess{i}", "password": "wrong"},
                REMOTE_ADDR="127.0.0.1",
                HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.50",
            )
        client.post(
            "/accounts/login/",
            {"username": "student1", "password": PASSWORD},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.50",
        )
        assert not signed_in(client)


def test_the_admin_sign_in_is_throttled_too(client, db, settings):
    settings.LOGIN_MAX_FAILURES = 5
    make_user("root", superuser=True)
    with frozen(T0):
        for _ in range(5):
            sign_in(client, "root", "wrong", path="/admin/login/")
        response = sign_in(client, "root", PASSWORD, path="/admin/login/")
        assert not signed_in(client)
        assert b"Too many failed sign-in attempts." in response.content
    with frozen(T0 + dt.timedelta(minutes=15, seconds=1)):
        assert sign_in(client, "root", PASSWORD, path="/admin/login/").status_code == 302
        assert signed_in(client)
