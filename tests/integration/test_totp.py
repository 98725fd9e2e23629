"""Staff two-factor sign-in (staffauth/): enrolment from the console, the second step after the
password (throttled, no replay), recovery codes, the required mode, turning it off and the
administrator's audited reset."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from madoguchi.accounts import totp
from madoguchi.core.clock import frozen, now
from madoguchi.privacy.models import AuditEvent
from madoguchi.staffauth import sealing
from madoguchi.staffauth.models import RecoveryCode, TOTPDevice

from .conftest import make_user

PASSWORD = "correct horse battery"
T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


def code_now(secret: str, offset_steps: int = 0) -> str:
    return totp.code_for_step(secret, totp.step_at(now().timestamp()) + offset_steps)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def password_step(client, username, path="/accounts/login/", **extra):
    return client.post(
        path,
        {"username": username, "password": PASSWORD, **extra},
        REMOTE_ADDR="198.51.100.4",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def code_step(client, code):
    return client.post(
        "/accounts/login/code/",
        {"code": code},
        REMOTE_ADDR="198.51.100.4",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def enrol(client, *, lang="en") -> tuple[str, list[str]]:
    """Through the enrolment page: returns the secret and the recovery codes shown."""
    page = client.get("/accounts/two-factor/enrol/", HTTP_ACCEPT_LANGUAGE=lang)
    assert page.status_code == 200
    secret = page.context["grouped_secret"].replace(" ", "")
    response = client.post(
        "/accounts/two-factor/enrol/", {"code": code_now(secret)}, HTTP_ACCEPT_LANGUAGE=lang
    )
    assert response.status_code == 200
    codes = re.findall(
        r"<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>", response.content.decode()
    )
    return secret, codes


@pytest.fixture
def student(db):
    return make_user("student1", "student")


@pytest.fixture
def enrolled(client, student):
    """student1 enrolled at T0; the test client signed out again."""
    with frozen(T0):
        client.force_login(student)
        secret, codes = enrol(client)
        client.logout()
    return student, secret, codes


def test_enrolment_shows_qr_uri_and_key_and_needs_a_right_first_code(client, student):
    with frozen(T0):
        client.force_login(student)
        page = client.get("/accounts/two-factor/enrol/", HTTP_ACCEPT_LANGUAGE="en")
        body = page.content.decode()
        secret = page.context["grouped_secret"].replace(" ", "")
        assert "<svg" in body and "otpauth://totp/testserver:student1?secret=" + secret in body
        assert page.context["grouped_secret"] in body
        # Reloading shows the same key (kept sealed in the session until confirmed).
        again = client.get("/accounts/two-factor/enrol/")
        assert again.context["grouped_secret"].replace(" ", "") == secret
        wrong = client.post(
            "/accounts/two-factor/enrol/",
            {"code": code_now(secret, 5)},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert b"The code is not correct" in wrong.content
        assert not TOTPDevice.objects.exists()
        right = client.post(
            "/accounts/two-factor/enrol/", {"code": code_now(secret)}, HTTP_ACCEPT_LANGUAGE="en"
        )
    codes = re.findall(r"<code>([0-9A-Z-]{19})</code>", right.content.decode())
    assert len(set(codes)) == 10
    device = TOTPDevice.objects.get(user=student)
    # Neither the secret nor a recovery code is in the database in the clear.
    assert secret not in device.sealed_secret
    assert sealing.unseal(device.sealed_secret, owner=student.pk) == secret
    stored = set(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes}
    assert AuditEvent.objects.filter(verb="auth.2fa_enrolled", actor=student).count() == 1
    # A sealed secret copied onto another account does not open there.
    with pytest.raises(sealing.SealError):
        sealing.unseal(device.sealed_secret, owner=student.pk + 1)


def test_sign_in_asks_for_a_code_after_the_password(client, enrolled):
    student, secret, _codes = enrolled
    with frozen(T0 + dt.timedelta(minutes=5)):
        response = password_step(client, "student1", next="/console/?view=mine")
        assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
        assert not signed_in(client)
        # Nothing else is reachable in between.
        assert client.get("/console/").status_code == 302
        assert client.get("/accounts/two-factor/").status_code == 302
        wrong = code_step(client, code_now(secret, 3))
        assert wrong.status_code == 200 and not signed_in(client)
        assert b"The code is not correct, or it was used already." in wrong.content
        right = code_step(client, code_now(secret))
        assert right.status_code == 302 and right["Location"] == "/console/?view=mine"
        assert signed_in(client)
        assert client.get("/console/").status_code == 200


def test_a_code_cannot_be_used_twice(client, enrolled):
    student, secret, _codes = enrolled
    with frozen(T0 + dt.timedelta(minutes=5)):
        password_step(client, "student1")
        code = code_now(secret)
        assert code_step(client, code).status_code == 302
        client.logout()
    with frozen(T0 + dt.timedelta(minutes=5, seconds=20)):  # the same step window
        password_step(client, "student1")
        refused = code_step(client, code)
        assert refused.status_code == 200 and not signed_in(client)
        # Nor the previous step's code (within the drift, but older than the one used).
        assert code_step(client, code_now(secret, -1)).status_code == 200
    with frozen(T0 + dt.timedelta(minutes=5, seconds=40)):
        assert code_step(client, code_now(secret)).status_code == 302
        assert signed_in(client)


def test_a_recovery_code_works_once(client, enrolled):
    student, secret, codes = enrolled
    with frozen(T0 + dt.timedelta(minutes=5)):
        password_step(client, "student1")
        typed = codes[0].lower().replace("-", " ")  # as someone types it from paper
        assert code_step(client, typed).status_code == 302
        assert signed_in(client)
        client.logout()
        password_step(client, "student1")
        assert code_step(client, codes[0]).status_code == 200
        assert not signed_in(client)
        assert code_step(client, codes[1]).status_code == 302
    used = AuditEvent.objects.filter(verb="auth.recovery_code_used").order_by("pk")
    assert [e.data["left"] for e in used] == [9, 8]


def test_the_second_step_is_throttled(client, enrolled, settings):
    settings.LOGIN_MAX_FAILURES = 3
    student, secret, _codes = enrolled
    with frozen(T0 + dt.timedelta(minutes=5)):
        password_step(client, "student1")
        for _ in range(2):
            assert b"not correct" in code_step(client, "000000").content
        locked = code_step(client, "000000")
        assert b"Too many failed sign-in attempts. Try again in 15 minutes." in locked.content
        refused = code_step(client, code_now(secret))  # the right code is refused too
        assert refused.status_code == 200 and not signed_in(client)
        assert b"Too many failed" in refused.content
    event = AuditEvent.objects.get(verb="auth.locked_out")
    assert (event.data["scope"], event.data["step"], event.data["username"]) == (
        "account",
        "code",
        "student1",
    )
    with frozen(T0 + dt.timedelta(minutes=5 + 9)):  # a new password step, still locked
        password_step(client, "student1")
        assert code_step(client, code_now(secret)).status_code == 200
    with frozen(T0 + dt.timedelta(minutes=5 + 16)):
        password_step(client, "student1")
        assert code_step(client, code_now(secret)).status_code == 302
        assert signed_in(client)


def test_the_pending_sign_in_lapses(client, enrolled):
    student, secret, _codes = enrolled
    with frozen(T0 + dt.timedelta(minutes=5)):
        password_step(client, "student1")
    with frozen(T0 + dt.timedelta(minutes=16)):
        response = code_step(client, code_now(secret))
        assert response.status_code == 302 and response["Location"] == "/accounts/login/"
        assert not signed_in(client)


def test_the_admin_sign_in_asks_for_the_code_too(client, db):
    root = make_user("root", superuser=True)
    with frozen(T0):
        client.force_login(root)
        secret, _ = enrol(client)
        client.logout()
    with frozen(T0 + dt.timedelta(minutes=1)):
        response = password_step(client, "root", path="/admin/login/", next="/admin/")
        assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
        assert not signed_in(client)
        assert client.get("/admin/").status_code == 302
        response = code_step(client, code_now(secret))
        assert response["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("mode", "tier", "superuser", "gated"),
    [
        ("none", "faculty", False, False),
        ("faculty", "faculty", False, True),
        ("faculty", "", True, True),
        ("faculty", "student", False, False),
        ("all", "student", False, True),
    ],
)
def test_required_two_factor_sends_to_enrolment_first(
    client, db, settings, mode, tier, superuser, gated
):
    settings.STAFF_2FA_REQUIRED = mode
    make_user("person", tier, superuser=superuser)
    with frozen(T0):
        response = password_step(client, "person")
        if not gated:
            assert response.status_code == 302 and signed_in(client)
            return
        assert response["Location"] == "/accounts/two-factor/enrol/"
        assert not signed_in(client)
        for path in ("/console/", "/admin/", "/accounts/two-factor/", "/api/v1/inquiries"):
            assert client.get(path).status_code in (302, 401), path
        page = client.get("/accounts/two-factor/enrol/", HTTP_ACCEPT_LANGUAGE="en")
        assert b"Your account must use two-factor sign-in." in page.content
        secret = page.context["grouped_secret"].replace(" ", "")
        done = client.post("/accounts/two-factor/enrol/", {"code": code_now(secret)})
        assert done.status_code == 200 and signed_in(client)
        assert 'href="/console/"' in done.content.decode()  # the recovery codes, then on


def test_turning_it_off_needs_the_password_and_a_code(client, enrolled, settings):
    student, secret, _codes = enrolled
    with frozen(T0 + dt.timedelta(minutes=5)):
        password_step(client, "student1")
        code_step(client, code_now(secret))
    with frozen(T0 + dt.timedelta(minutes=6)):
        wrong = client.post(
            "/accounts/two-factor/",
            {"action": "disable", "password": "wrong", "code": code_now(secret)},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert b"The password is not correct." in wrong.content
        settings.STAFF_2FA_REQUIRED = "all"
        required = client.post(
            "/accounts/two-factor/",
            {"action": "disable", "password": PASSWORD, "code": code_now(secret)},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert b"required for your account" in required.content
        assert TOTPDevice.objects.filter(user=student).exists()
        settings.STAFF_2FA_REQUIRED = "none"
        off = client.post(
            "/accounts/two-factor/",
            {"action": "disable", "password": PASSWORD, "code": code_now(secret)},
        )
        assert off.status_code == 302
    assert not TOTPDevice.objects.filter(user=student).exists()
    assert not RecoveryCode.objects.filter(user=student).exists()
    assert AuditEvent.objects.filter(verb="auth.2fa_disabled", actor=student).count() == 1


def test_new_recovery_codes_replace_the_old_ones(client, enrolled):
    student, secret, codes = enrolled
    with frozen(T0 + dt.timedelta(minutes=5)):
        password_step(client, "student1")
        code_step(client, code_now(secret))
    with frozen(T0 + dt.timedelta(minutes=6)):
        response = client.post(
            "/accounts/two-factor/",
            {"action": "renew", "password": PASSWORD, "code": codes[0]},
        )
        fresh = re.findall(r"<code>([0-9A-Z-]{19})</code>", response.content.decode())
        assert len(fresh) == 10 and not set(fresh) & set(codes)
        client.logout()
        password_step(client, "student1")
        assert code_step(client, codes[1]).status_code == 200  # an old one
        assert code_step(client, fresh[0]).status_code == 302


def test_an_administrator_resets_a_users_two_factor_in_the_admin(client, enrolled):
    student, secret, _codes = enrolled
    root = make_user("root", superuser=True)
    client.force_login(root)
    device = TOTPDevice.objects.get(user=student)
    listing = client.get("/admin/staffauth/totpdevice/")
    assert listing.status_code == 200 and b"student1" in listing.content
    assert (
        device.sealed_secret.encode()
        not in client.get(f"/admin/staffauth/totpdevice/{device.pk}/change/").content
    )
    response = client.post(
        "/admin/staffauth/totpdevice/",
        {"action": "reset_two_factor", "_selected_action": [str(device.pk)]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=student).exists()
    event = AuditEvent.objects.get(verb="auth.2fa_reset")
    assert event.actor == root and event.data["user"] == "student1"
    client.logout()
    with frozen(T0 + dt.timedelta(minutes=5)):
        assert password_step(client, "student1").status_code == 302
        assert signed_in(client)


def test_student_staff_cannot_reach_the_admin_list(client, enrolled):
    student, _secret, _codes = enrolled
    client.force_login(student)
    assert client.get("/admin/staffauth/totpdevice/").status_code == 302


def test_sealed_secrets_survive_a_key_rotation_only_with_the_old_key_as_fallback(settings):
    settings.SECRET_KEY = "old-key-" + "x" * 40
    sealed = sealing.seal("JBSWY3DPEHPK3PXP", owner=7)
    settings.SECRET_KEY = "new-key-" + "y" * 40
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealed, owner=7)
    settings.SECRET_KEY_FALLBACKS = ["old-key-" + "x" * 40]
    assert sealing.unseal(sealed, owner=7) == "JBSWY3DPEHPK3PXP"


def test_someone_signed_in_in_the_same_browser_is_signed_out_by_the_password_step(client, enrolled):
    student, secret, _codes = enrolled
    client.force_login(make_user("other", "student"))
    with frozen(T0 + dt.timedelta(minutes=5)):
        assert password_step(client, "student1")["Location"] == "/accounts/login/code/"
        assert not signed_in(client)
        assert client.get("/console/").status_code == 302
