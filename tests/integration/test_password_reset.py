"""Password reset for local accounts (staffauth.passwords): one answer whether or not the
address is an account's, throttled per address and per client, the link built from
SITE_URL whatever Host the request named, a token that works once and lapses, and every
other session of the account ended."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator

from madoguchi.core.clock import frozen
from madoguchi.mail.models import OutboundMail
from madoguchi.privacy.models import AuditEvent

from .conftest import make_user

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
NEW_PASSWORD = "a whole new passphrase"


@pytest.fixture
def staff(db):
    user = make_user("student1", "student")
    user.email = "student1@example.ac.jp"
    user.preferred_language = "ja"
    user.save()
    return user


def ask(client, email, *, address="198.51.100.4", **headers):
    return client.post(
        "/accounts/password/reset/",
        {"email": email},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
        **headers,
    )


def link_in(mail: OutboundMail) -> str:
    found = re.search(r"https?://\S+/accounts/password/reset/\S+/", mail.body)
    assert found, mail.body
    return found.group(0)


def test_the_link_is_built_from_site_url_whatever_the_host_header(client, staff, settings):
    settings.SITE_URL = "https://desk.example.ac.jp"
    settings.ALLOWED_HOSTS = ["*"]  # a careless proxy set-up: the header reaches Django
    with frozen(T0):
        response = ask(client, "Student1@Example.ac.jp", HTTP_HOST="evil.example")
    assert response.status_code == 302
    mail = OutboundMail.objects.get(kind="password_reset")
    assert mail.to == "student1@example.ac.jp"
    assert link_in(mail).startswith("https://desk.example.ac.jp/accounts/password/reset/")
    assert "evil.example" not in mail.body
    # In the account's language, with no inquiry signature.
    assert mail.subject == "パスワードの再設定" and "ユーザー名：student1" in mail.body
    assert "このリンクは60分間、1回だけ使えます" in mail.body
    assert "お問い合わせに追記" not in mail.body


def test_the_answer_is_the_same_whether_the_address_is_an_account_or_not(client, staff):
    with frozen(T0):
        known = ask(client, "student1@example.ac.jp")
        unknown = ask(client, "nobody@example.ac.jp", address="198.51.100.5")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == "/accounts/password/reset/sent/"
    page = client.get(known["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert b"If that address belongs to a staff account" in page.content
    assert list(OutboundMail.objects.values_list("to", flat=True)) == ["student1@example.ac.jp"]


def test_inactive_accounts_and_unusable_passwords_get_no_mail(client, staff):
    other = make_user("sso-only", "faculty")
    other.email = "sso@example.ac.jp"
    other.set_unusable_password()
    other.save()
    staff.is_active = False
    staff.save()
    with frozen(T0):
        assert ask(client, "student1@example.ac.jp").status_code == 302
        assert ask(client, "sso@example.ac.jp").status_code == 302
    assert not OutboundMail.objects.exists()


def test_requests_are_limited_per_address_silently(client, staff, settings):
    settings.PASSWORD_RESET_PER_ADDRESS = "2/3600"
    with frozen(T0):
        for i in range(4):
            response = ask(client, "student1@example.ac.jp", address=f"198.51.100.{i + 10}")
            assert response.status_code == 302  # the same answer every time
    assert OutboundMail.objects.filter(kind="password_reset").count() == 2


def test_requests_are_limited_per_client(client, staff, settings):
    settings.PASSWORD_RESET_PER_CLIENT = "3/3600"
    with frozen(T0):
        for i in range(3):
            assert ask(client, f"guess{i}@example.ac.jp").status_code == 302
        refused = ask(client, "student1@example.ac.jp")
        assert refused.status_code == 200
        assert b"Too many requests. Try again in 60 minutes." in refused.content
        assert ask(client, "student1@example.ac.jp", address="203.0.113.7").status_code == 302
    assert OutboundMail.objects.filter(kind="password_reset").count() == 1


def test_the_mail_is_capped_with_the_other_mail_anyone_can_cause(client, staff, settings):
    settings.PASSWORD_RESET_PER_ADDRESS = "100/3600"
    settings.MAIL_CONFIRMATIONS_PER_HOUR = 2
    with frozen(T0):
        for i in range(4):
            ask(client, "student1@example.ac.jp", address=f"198.51.100.{i + 10}")
    assert OutboundMail.objects.filter(kind="password_reset").count() == 2


def set_password(client, link, password=NEW_PASSWORD):
    path = link.split("://", 1)[1].partition("/")[2]
    page = client.get("/" + path)
    assert page.status_code == 302  # Django moves the token into the session first
    form_url = page["Location"]
    return client.post(form_url, {"new_password1": password, "new_password2": password})


def test_the_link_works_once_and_ends_every_other_session(client, staff, django_user_model):
    from django.test import Client

    elsewhere = Client()
    elsewhere.force_login(staff)
    assert elsewhere.get("/console/").status_code == 200
    with frozen(T0):
        ask(client, "student1@example.ac.jp")
    link = link_in(OutboundMail.objects.get())
    done = set_password(client, link)
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/done/"
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)
    assert "_auth_user_id" not in client.session  # a reset does not sign in
    # The other browser is signed out; the link does not work again.
    assert elsewhere.get("/console/").status_code == 302
    again = client.get(link.split("testserver", 1)[-1])
    assert again.status_code == 200 and again.context["validlink"] is False
    assert AuditEvent.objects.filter(verb="auth.password_reset").count() == 1
    # ...and the new password signs in.
    response = client.post("/accounts/login/", {"username": "student1", "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_an_expired_link_is_refused(client, staff, monkeypatch, settings):
    assert settings.PASSWORD_RESET_TIMEOUT == 3600
    with frozen(T0):
        ask(client, "student1@example.ac.jp")
    link = link_in(OutboundMail.objects.get())
    later = PasswordResetTokenGenerator._now(PasswordResetTokenGenerator()) + dt.timedelta(
        hours=1, minutes=1
    )
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)
    page = client.get(link.split("testserver", 1)[-1])
    assert page.status_code == 200 and page.context["validlink"] is False
    assert b"it has expired" in page.content or "期限" in page.content.decode()
    staff.refresh_from_db()
    assert not staff.check_password(NEW_PASSWORD)


def test_a_reset_password_still_asks_for_the_second_step(client, staff):
    from madoguchi.staffauth.models import TOTPDevice

    TOTPDevice.objects.create(user=staff, sealed_secret="v1:x", confirmed_at=T0)
    with frozen(T0):
        ask(client, "student1@example.ac.jp")
    set_password(client, link_in(OutboundMail.objects.get()))
    response = client.post("/accounts/login/", {"username": "student1", "password": NEW_PASSWORD})
    assert response["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session
