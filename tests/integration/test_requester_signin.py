"""Requesters sign in with a one-time code mailed to their address, and calls that need a
signed-in requester (``CALL_REQUIRE_SIGNIN``) or an entitled one (entitlements) are
started only so: the call's inquiry is then the requester's."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache

from madoguchi.accounts import requester
from madoguchi.calls import actions as call_actions
from madoguchi.calls import queries as call_queries
from madoguchi.calls.consumers import RequesterCallConsumer
from madoguchi.calls.models import Call
from madoguchi.calls.validation import CallError
from madoguchi.core.clock import frozen
from madoguchi.inquiries.models import Inquiry
from madoguchi.mail.models import OutboundMail
from madoguchi.privacy.models import AuditEvent
from madoguchi.sla.models import Entitlement

IN_HOURS = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Tokyo
ADDRESS = "hanako@example.ac.jp"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def ask_code(client, address: str = ADDRESS, next_url: str = "/call/"):
    return client.post("/signin/?lang=en", {"step": "address", "email": address, "next": next_url})


def mailed_code(address: str = ADDRESS) -> str:
    mail = OutboundMail.objects.filter(to=address, kind="signin_code").latest("pk")
    found = re.findall(r"\b\d{6}\b", mail.body)
    assert found, mail.body
    return found[0]


def enter(client, code: str, next_url: str = "/call/"):
    return client.post("/signin/?lang=en", {"step": "code", "code": code, "next": next_url})


@pytest.mark.django_db
def test_a_mailed_code_signs_the_requester_in_once(client):
    before = client.get("/signin/?next=/call/&lang=en")
    assert before.status_code == 200 and b"one-time code" in before.content
    sent = ask_code(client)
    assert sent.status_code == 200 and b"We sent a six-digit code" in sent.content
    mail = OutboundMail.objects.get(kind="signin_code")
    code = mailed_code()
    # A mail of no inquiry: no "replying adds to the inquiry" promise.
    assert code in mail.subject and "inquiry" not in mail.body and "返信すると" not in mail.body
    session_before = client.session.session_key
    wrong = enter(client, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 200 and b"not right" in wrong.content
    assert requester.current(client.session) is None
    done = enter(client, f" {code[:3]} {code[3:]} ")  # spaces as people type them
    assert done.status_code == 302 and done["Location"] == "/call/"
    identity = requester.current(client.session)
    assert identity is not None and identity.email == ADDRESS and identity.via == "code"
    assert client.session.session_key != session_before  # rotated: no fixation
    assert AuditEvent.objects.filter(verb="requester.signed_in").count() == 1
    # Once used, the code is gone, also after signing out.
    client.post("/signin/", {"step": "out", "next": "/"})
    assert requester.current(client.session) is None
    again = enter(client, code)
    assert again.status_code == 200 and b"expired" in again.content
    assert requester.current(client.session) is None


@pytest.mark.django_db
def test_too_many_tries_or_too_late_and_the_code_is_dead(client, settings):
    settings.REQUESTER_CODE_ATTEMPTS = 3
    ask_code(client)
    code = mailed_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(3):
        enter(client, wrong)
    assert b"expired" in enter(client, code).content
    assert requester.current(client.session) is None
    with frozen(IN_HOURS):
        ask_code(client)
        late = mailed_code()
    with frozen(IN_HOURS + dt.timedelta(minutes=settings.REQUESTER_CODE_MINUTES, seconds=1)):
        assert b"expired" in enter(client, late).content
    assert requester.current(client.session) is None


@pytest.mark.django_db
def test_malformed_input_is_refused_clearly(client):
    assert b"Enter a valid email address" in ask_code(client, "not an address").content
    assert b"Enter a valid email address" in ask_code(client, "a@b.c\r\nBcc: x@y.z").content
    assert not OutboundMail.objects.exists()
    ask_code(client)
    for bad in ("12345", "1234567", "abcdef", "１２３４５６"):
        response = enter(client, bad)
        assert b"six-digit code" in response.content, bad
    assert requester.current(client.session) is None


@pytest.mark.django_db
def test_codes_are_capped_per_address_and_per_client(client, settings):
    settings.MAIL_CONFIRMATIONS_PER_HOUR = 10
    settings.REQUESTER_CODE_RATE = "2/3600"
    assert ask_code(client).status_code == 200
    assert ask_code(client).status_code == 200
    third = ask_code(client)
    assert third.status_code == 429 and b"cannot send another code" in third.content
    assert OutboundMail.objects.filter(kind="signin_code").count() == 2
    # Another client asking for the same address is capped by the address too.
    from django.test import Client

    other = Client(REMOTE_ADDR="192.0.2.9")
    assert ask_code(other).status_code == 429
    # The desk-wide cap on requester-triggered mail holds as well.
    settings.REQUESTER_CODE_RATE = "100/3600"
    settings.MAIL_CONFIRMATIONS_PER_HOUR = 2
    assert ask_code(other).status_code == 429
    assert OutboundMail.objects.filter(kind="signin_code").count() == 2


@pytest.mark.django_db
def test_next_is_a_local_path_only(client):
    hostiles = ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x")
    for n, hostile in enumerate(hostiles):
        client.cookies.clear()
        address = f"user{n}@example.ac.jp"
        ask_code(client, address, next_url=hostile)
        done = enter(client, mailed_code(address), next_url=hostile)
        assert done.status_code == 302 and done["Location"] == "/", hostile


# --- calls that need a signed-in or entitled requester --------------------------------------


@pytest.fixture
def operator(db):
    from madoguchi.chat.models import OperatorStatus

    from .conftest import make_user

    user = make_user("signinstudent", "student")
    OperatorStatus.objects.update_or_create(user=user, defaults={"available": True})
    return user


def _signed_in_session(address: str = ADDRESS) -> SessionStore:
    session = SessionStore()
    session[requester.SESSION_KEY] = {
        "email": address,
        "via": "code",
        "signed_in_at": IN_HOURS.isoformat(),
    }
    session.save()
    return session


def _start_over_socket(session) -> list[dict]:
    version = call_queries.current_terms().version

    async def scenario():
        ws = WebsocketCommunicator(RequesterCallConsumer.as_asgi(), "/ws/call/")
        ws.scope["session"] = session
        connected, _ = await ws.connect()
        assert connected
        await ws.send_to(text_data=json.dumps({"t": "hello", "lang": "en"}))
        frames = [json.loads(await ws.receive_from(timeout=5))]
        await ws.send_to(
            text_data=json.dumps({"t": "start", "topic": "Zoom audio", "terms": version})
        )
        frames.append(json.loads(await ws.receive_from(timeout=5)))
        await ws.disconnect()
        return frames

    return async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_a_desk_that_requires_sign_in_starts_calls_for_signed_in_requesters_only(
    client, settings, operator
):
    settings.CALL_REQUIRE_SIGNIN = True
    page = client.get("/call/?lang=en")
    assert b"Sign in first" in page.content and b'id="call-start"' not in page.content
    assert b"/signin/?next=%2Fcall%2F" in page.content
    with frozen(IN_HOURS):
        refused = _start_over_socket(SessionStore())
        assert refused[-1]["t"] == "error" and refused[-1]["code"] == "signin"
        assert not Inquiry.objects.exists() and not Call.objects.exists()
        accepted = _start_over_socket(_signed_in_session())
    assert accepted[-1]["t"] == "token", accepted
    inquiry = Inquiry.objects.get()
    assert inquiry.requester_email == ADDRESS  # the call's inquiry is theirs
    # The page of a signed-in requester offers the call and says who they are.
    with frozen(IN_HOURS):
        ask_code(client)
        enter(client, mailed_code())
        signed = client.get("/call/?lang=en")
    assert b'id="call-start"' in signed.content and ADDRESS.encode() in signed.content
    # An operator who switches to mail needs no address from a signed-in requester.
    student = operator
    with frozen(IN_HOURS):
        call_actions.do_admit(student, inquiry.reference)
        call_actions.do_switch_to_mail(student, inquiry.reference)
    state = call_queries.state_payload(call_queries.get(Call.objects.get().pk))
    assert state["state"] == "email" and state["email_on_file"] is True


@pytest.mark.django_db(transaction=True)
def test_entitlements_decide_who_may_call(client, operator):
    Entitlement.objects.create(
        audience="student_new",
        channels=["form", "mail"],
        note_en="New students: please use the email form.",
        note_ja="新入生はメールフォームをご利用ください。",
    )
    page = client.get("/call/?lang=en")
    assert b'id="call-category"' in page.content
    version = call_queries.current_terms().version
    with frozen(IN_HOURS):
        with pytest.raises(CallError) as refused:
            call_actions.do_start(
                "Zoom", lang="en", terms_version=version, member_category="student_new"
            )
        with pytest.raises(CallError) as invalid:
            call_actions.do_start("Zoom", lang="en", terms_version=version, member_category="root")
        assert not Inquiry.objects.exists()
        started = call_actions.do_start(
            "Zoom", lang="en", terms_version=version, member_category="student_current"
        )
    assert refused.value.code == "not_entitled" and "email form" in str(refused.value)
    assert invalid.value.code == "invalid"
    assert Inquiry.objects.get(pk=started.call.inquiry_id).member_category == "student_current"


@pytest.mark.django_db
def test_with_an_identity_provider_requesters_sign_in_there(client, settings):
    """Where the desk has an identity provider, "signed in" means a member's account: the
    page leads there (back to where the requester was going), and no code is mailed
    unless the administrator keeps code sign-in on."""
    settings.OIDC_DISCOVERY_URL = "https://login.example.ac.jp/.well-known/openid-configuration"
    settings.OIDC_CLIENT_ID = "desk"
    settings.OIDC_NAME = "University account"
    settings.REQUESTER_CODE_SIGNIN = False
    page = client.get("/signin/?next=/call/&lang=en").content.decode()
    assert "/sso/oidc/login/?as=requester&amp;next=/call/" in page
    assert "Sign in with University account" in page and 'name="email"' not in page
    assert ask_code(client).status_code == 200
    assert not OutboundMail.objects.exists()
    settings.REQUESTER_CODE_SIGNIN = True
    assert 'name="email"' in client.get("/signin/?lang=en").content.decode()
    ask_code(client)
    assert OutboundMail.objects.filter(kind="signin_code").count() == 1


# --- my inquiries ---------------------------------------------------------------------------


def _sign_in(client, address: str = ADDRESS, **details) -> None:
    session = client.session
    session[requester.SESSION_KEY] = {
        "email": address,
        "via": details.pop("via", "code"),
        "signed_in_at": dt.datetime.now(dt.UTC).isoformat(),
        **details,
    }
    session.save()


@pytest.mark.django_db(transaction=True)
def test_my_inquiries_lists_the_requesters_own_from_every_channel(client, operator):
    from madoguchi.chat import actions as chat_actions
    from madoguchi.inquiries.actions import do_create_inquiry

    from .conftest import new_inquiry

    mine, _ = do_create_inquiry(
        new_inquiry(email="Hanako@Example.ac.jp", subject="VPN が切れる"), channel="form"
    )
    theirs, _ = do_create_inquiry(
        new_inquiry(email="taro@example.ac.jp", subject="他人の件"), channel="mail"
    )
    assert client.get("/my/").status_code == 302  # signed out: to sign in first
    _sign_in(client, name="佐藤 花子", member_category="student_current", key="idp|42")
    identity = requester.current(client.session)
    with frozen(IN_HOURS):
        chat = chat_actions.do_start(
            "Zoom に入れません", client_id="c" * 16, lang="ja", answer=False, requester=identity
        )
        call = call_actions.do_start(
            "プリンター",
            lang="ja",
            terms_version=call_queries.current_terms().version,
            requester=identity,
        )
    # The same person after the identity provider changed their address: the key counts.
    moved = requester.RequesterIdentity(
        email="hanako.sato@example.ac.jp",
        via="oidc",
        key="idp|42",
        signed_in_at=dt.datetime.now(dt.UTC).isoformat(),
    )
    page = client.get("/my/?lang=en").content.decode()
    for inquiry in (mine, chat.conversation.inquiry, call.call.inquiry):
        assert inquiry.reference in page
    assert theirs.reference not in page and "他人の件" not in page
    assert "Online call" in page and "Chat" in page
    assert {i.pk for i in access_of(moved)} == {chat.conversation.inquiry.pk, call.call.inquiry.pk}
    # Each row links to the inquiry's own page, as the mails do.
    link = re.search(r'href="(/t/[^"]+/)"', page)
    assert link and client.get(link.group(1)).status_code == 200


def access_of(identity):
    from madoguchi.inquiries import access

    return access.requester_inquiries(identity)


@pytest.mark.django_db
def test_the_form_is_prefilled_and_what_is_sent_stays_theirs(client):
    _sign_in(
        client,
        name="佐藤 花子",
        member_category="faculty_fulltime",
        key="idp|7",
        common_id="0123456789",
    )
    form = client.get("/form/?lang=en").content.decode()
    assert f'value="{ADDRESS}"' in form and 'value="佐藤 花子"' in form
    assert 'value="0123456789"' in form
    assert re.search(r'<option value="faculty_fulltime"[^>]*selected', form)


@pytest.mark.django_db
def test_a_form_sent_while_signed_in_keeps_the_identity_providers_key(client, categories):
    from .test_intake import form_data

    _sign_in(client, "taro@example.ac.jp", via="oidc", key="idp|99")
    assert client.post("/form/?lang=ja", form_data()).status_code == 302
    # Another address typed in the form: not theirs by key (only by that address).
    other = form_data(
        submission_key="m" * 32, email="else@example.ac.jp", email_confirm="else@example.ac.jp"
    )
    assert client.post("/form/?lang=ja", other).status_code == 302
    assert dict(Inquiry.objects.values_list("requester_email", "requester_key")) == {
        "taro@example.ac.jp": "idp|99",
        "else@example.ac.jp": "",
    }
