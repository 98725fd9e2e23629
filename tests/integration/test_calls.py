"""Online calls through the real consumers and channel layer: terms and the waiting room,
admission, signalling only between the two parties, screen-share state, screenshots only
with consent, the time limit, connection codes, and the switch to an email answer."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from madoguchi.calls import actions as call_actions
from madoguchi.calls import queries as call_queries
from madoguchi.calls.consumers import OperatorCallConsumer, RequesterCallConsumer
from madoguchi.calls.models import Call, CallInvitation, CallState, Consent, ConsentKind
from madoguchi.calls.validation import CallError
from madoguchi.chat.models import OperatorStatus
from madoguchi.core.clock import frozen
from madoguchi.inquiries import access
from madoguchi.inquiries.models import Attachment, Channel, Inquiry, Lane, Message, Status

from .conftest import make_user

live = pytest.mark.django_db(transaction=True)

IN_HOURS = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Tokyo
OUT_OF_HOURS = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)  # Tuesday 21:00 in Tokyo
NEW_YEAR = dt.datetime(2026, 12, 30, 1, 0, tzinfo=dt.UTC)  # Wednesday, but the desk is closed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def desk(db):
    cache.clear()
    users = {
        "student": make_user("callstudent", "student"),
        "other": make_user("callother", "student"),
        "faculty": make_user("callfaculty", "faculty"),
    }
    for user in users.values():
        OperatorStatus.objects.update_or_create(user=user, defaults={"available": True})
    return users


def run(coro_fn):
    return async_to_sync(coro_fn)()


def terms_version() -> int:
    return call_queries.current_terms().version


def start(topic: str = "Zoom の画面共有ができません", lang: str = "ja") -> call_actions.Started:
    return call_actions.do_start(topic, lang=lang, terms_version=terms_version())


class Page:
    """A requester's call page over the real consumer."""

    def __init__(self) -> None:
        self.ws = WebsocketCommunicator(RequesterCallConsumer.as_asgi(), "/ws/call/")

    async def open(self, token: str | None = None, lang: str = "ja") -> dict:
        connected, _ = await self.ws.connect()
        assert connected
        await self.send({"t": "hello", "token": token, "lang": lang})
        return await self.expect("welcome")

    async def send(self, data: dict) -> None:
        await self.ws.send_to(text_data=json.dumps(data))

    async def expect(self, kind: str, timeout: float = 5) -> dict:
        while True:
            data = json.loads(await self.ws.receive_from(timeout=timeout))
            if data["t"] == kind:
                return data
            if data["t"] == "error" and kind != "error":
                raise AssertionError(f"expected {kind}, got {data}")

    async def frames(self, timeout: float = 0.3) -> list[dict]:
        out = []
        while not await self.ws.receive_nothing(timeout=timeout):
            out.append(json.loads(await self.ws.receive_from()))
        return out

    async def close(self) -> None:
        await self.ws.disconnect()


class Operator(Page):
    def __init__(self, user) -> None:
        self.ws = WebsocketCommunicator(OperatorCallConsumer.as_asgi(), "/ws/call/op/")
        self.ws.scope["user"] = user

    async def join(self, reference: str) -> dict:
        connected, _ = await self.ws.connect()
        assert connected
        await self.send({"t": "join", "inquiry": reference})
        return await self.expect("joined")


async def admitted(user) -> tuple[Page, str, dict]:
    """A requester's page in a new call that ``user`` admitted, once the page shows it
    live: (the page, the inquiry's reference, the page's "active" state)."""
    started = await database_sync_to_async(start)()
    page = Page()
    await page.open(started.secret)
    reference = started.call.inquiry.reference
    await database_sync_to_async(call_actions.do_admit)(user, reference)
    active = await page.expect("state")
    while active["state"] != "active":
        active = await page.expect("state")
    return page, reference, active


# --- terms, waiting room, hours -------------------------------------------------------------


@live
def test_terms_then_the_waiting_room_with_a_place_and_the_ledger(desk):
    version = terms_version()

    async def scenario():
        page = Page()
        hello = await page.open()
        assert hello.get("state") == "new"
        await page.send({"t": "start", "topic": "Zoom の画面共有ができません", "terms": version})
        token = (await page.expect("token"))["token"]
        welcome = await page.expect("welcome")
        second = Page()
        await second.open()
        await second.send({"t": "start", "topic": "VPN がつながりません", "terms": version})
        await second.expect("welcome")
        await page.close()
        await second.close()
        return token, welcome

    with frozen(IN_HOURS):
        token, welcome = run(scenario)
    assert (
        welcome["state"] == "waiting" and welcome["position"] == 1 and welcome["wait_minutes"] >= 1
    )
    call = call_queries.find(token)
    assert call is not None and call.inquiry.channel == Channel.CALL
    assert call.inquiry.status == Status.NEW and call.inquiry.lane == Lane.GENERAL
    ledger = call_queries.consent_ledger(call.inquiry)
    assert [(c.kind, c.detail["version"]) for c in ledger] == [(ConsentKind.TERMS, terms_version())]
    second = Call.objects.exclude(pk=call.pk).get()
    assert call_queries.place_in_queue(second).position == 2


@live
def test_changed_terms_exams_and_closed_hours_store_nothing(desk):
    with frozen(IN_HOURS):
        with pytest.raises(CallError) as stale:
            call_actions.do_start("Zoom", lang="ja", terms_version=terms_version() - 1)
        with pytest.raises(CallError) as exam:
            start("期末試験の受験方法について")
    with frozen(OUT_OF_HOURS):
        with pytest.raises(CallError) as closed:
            start()
    with frozen(NEW_YEAR):
        with pytest.raises(CallError) as holiday:
            start()
    assert stale.value.code == "terms"
    assert exam.value.code == "exam" and "メールフォーム" in str(exam.value)
    assert closed.value.code == "closed_hours" and "11月25日" in str(closed.value)
    assert holiday.value.code == "closed_hours" and "1月" in str(holiday.value)
    assert not Inquiry.objects.exists() and not Call.objects.exists()


@live
def test_a_sensitive_topic_makes_a_call_for_faculty_only(desk):
    with frozen(IN_HOURS):
        started = start("成績の確認画面が開きません")
    call = Call.objects.select_related("inquiry").get(pk=started.call.pk)
    assert call.inquiry.lane == Lane.FACULTY and "成績" not in call.inquiry.subject
    assert call_queries.queue(for_user=desk["student"]) == []
    assert [c.pk for c in call_queries.queue(for_user=desk["faculty"])] == [call.pk]
    with pytest.raises(Http404):
        call_actions.do_admit(desk["student"], call.inquiry.reference)
    assert not access.visible_messages(desk["student"], call.inquiry).exists()


# --- admission and signalling ---------------------------------------------------------------


@live
def test_admitted_calls_relay_signalling_between_their_two_parties_only(desk):
    student, other = desk["student"], desk["other"]

    async def scenario():
        page, reference, active = await admitted(student)
        operator = Operator(student)
        joined = await operator.join(reference)
        intruder = Operator(other)
        connected, _ = await intruder.ws.connect()
        await intruder.send({"t": "join", "inquiry": reference})
        refused = await intruder.expect("error")
        # offer from the requester, answer from the operator, candidates both ways
        await page.send({"t": "signal", "signal": {"type": "offer", "sdp": "v=0 offer"}})
        offer = await operator.expect("signal")
        await operator.send({"t": "signal", "signal": {"type": "answer", "sdp": "v=0 answer"}})
        answer = await page.expect("signal")
        candidate = {
            "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        }
        await operator.send({"t": "signal", "signal": {"candidate": candidate}})
        ice = await page.expect("signal")
        await page.send({"t": "signal", "signal": {"type": "offer", "sdp": "x" * 30_000}})
        too_big = await page.expect("error")
        leaked = await intruder.frames()
        for ws in (page, operator, intruder):
            await ws.close()
        return active, joined, refused, offer, answer, ice, too_big, leaked

    with frozen(IN_HOURS):
        active, joined, refused, offer, answer, ice, too_big, leaked = run(scenario)
    assert active["operator"] == str(student) and isinstance(active["ice"], list)
    assert joined["state"] == "active" and joined["reference"].startswith("Q-")
    assert refused["code"] == "denied"
    assert offer["signal"] == {"type": "offer", "sdp": "v=0 offer", "restart": False}
    assert answer["signal"]["type"] == "answer"
    assert ice["signal"]["candidate"]["candidate"].startswith("candidate:1")
    assert too_big["code"] == "invalid"
    assert not [f for f in leaked if f["t"] == "signal"]
    call = Call.objects.select_related("inquiry").get()
    assert call.inquiry.assignee == student and call.inquiry.status == Status.OPEN
    assert call.deadline_at == IN_HOURS + dt.timedelta(minutes=40)


@live
def test_a_new_operator_page_tells_the_requesters_page_to_connect_now(desk):
    student, other = desk["student"], desk["other"]

    async def scenario():
        page, reference, _active = await admitted(student)
        reconnected = Operator(student)  # the same page's socket again: not new
        await reconnected.join(reference)
        quiet = await page.frames()
        reloaded = Operator(student)
        connected, _ = await reloaded.ws.connect()
        await reloaded.send({"t": "join", "inquiry": reference, "fresh": True})
        await reloaded.expect("joined")
        ready = await page.expect("peer_ready")
        intruder = Operator(other)  # not the call's operator: refused, nobody told
        await intruder.ws.connect()
        await intruder.send({"t": "join", "inquiry": reference, "fresh": True})
        refused = await intruder.expect("error")
        after = await page.frames()
        for ws in (page, reconnected, reloaded, intruder):
            await ws.close()
        return quiet, ready, refused, after

    with frozen(IN_HOURS):
        quiet, ready, refused, after = run(scenario)
    assert not [f for f in quiet if f["t"] == "peer_ready"]
    assert ready == {"t": "peer_ready"}
    assert refused["code"] == "denied"
    assert not [f for f in after if f["t"] == "peer_ready"]


@live
def test_typing_is_shown_to_the_other_party_of_a_live_call_only(desk):
    student, other = desk["student"], desk["other"]

    async def scenario():
        page, reference, _active = await admitted(student)
        operator = Operator(student)
        await operator.join(reference)
        intruder = Operator(other)
        await intruder.ws.connect()
        await intruder.send({"t": "join", "inquiry": reference})
        await intruder.expect("error")
        await page.send({"t": "typing", "on": True})
        to_operator = await operator.expect("typing")
        await page.send({"t": "typing", "on": True})  # again within 2 s: not sent on
        await page.send({"t": "typing", "on": False})
        off = await operator.expect("typing")
        await operator.send({"t": "typing", "on": True})
        to_requester = await page.expect("typing")
        echoed = [f for f in await operator.frames() if f["t"] == "typing"]
        leaked = [f for f in await intruder.frames() if f["t"] == "typing"]
        await intruder.send({"t": "typing", "on": True})
        refused = await intruder.expect("error")
        for ws in (page, operator, intruder):
            await ws.close()
        return to_operator, off, to_requester, echoed, leaked, refused

    with frozen(IN_HOURS):
        to_operator, off, to_requester, echoed, leaked, refused = run(scenario)
    assert to_operator == {"t": "typing", "on": True} and off == {"t": "typing", "on": False}
    assert to_requester == {"t": "typing", "on": True}
    assert echoed == [] and leaked == [] and refused["code"] == "no_call"


@live
def test_only_a_window_may_be_shared_and_pausing_is_shown(desk):
    with frozen(IN_HOURS):
        started = start()
        call_actions.do_admit(desk["student"], started.call.inquiry.reference)
        call = call_queries.get(started.call.pk)
        for surface in ("monitor", "browser", "", None):
            with pytest.raises(CallError) as refused:
                call_actions.do_set_share(call, "live", surface)
            assert refused.value.code == "surface"
        assert call_queries.get(call.pk).share == "none"
        assert call_actions.do_set_share(call, "live", "window").share == "live"
        assert call_actions.do_set_share(call, "paused", "window").share == "paused"
        assert call_actions.do_set_share(call, "stopped", "").share == "none"
    events = [
        m.meta.get("event") for m in Message.objects.filter(inquiry=call.inquiry).order_by("pk")
    ]
    assert events[-3:] == ["share_live", "share_paused", "share_stopped"]


# --- screenshots ------------------------------------------------------------------------------


def _sharing_call(desk) -> Call:
    started = start()
    call_actions.do_admit(desk["student"], started.call.inquiry.reference)
    call = call_queries.get(started.call.pk)
    call_actions.do_set_share(call, "live", "window")
    return call_queries.get(call.pk)


def _shot() -> SimpleUploadedFile:
    return SimpleUploadedFile("anything.bin", PNG, content_type="application/octet-stream")


@live
def test_a_screenshot_needs_the_requesters_allow_each_time(desk):
    student, other, faculty = desk["student"], desk["other"], desk["faculty"]

    async def scenario():
        call = await database_sync_to_async(_sharing_call)(desk)
        reference = call.inquiry.reference
        page = Page()
        await page.open(await database_sync_to_async(_secret_for)(call))
        operator = Operator(student)
        await operator.join(reference)
        # asked, denied: no token
        await database_sync_to_async(call_actions.do_ask_screenshot)(student, reference)
        asked = await page.expect("screenshot_asked")
        await page.send({"t": "screenshot", "request": asked["request"], "allow": False})
        denied = await operator.expect("screenshot")
        # asked again, allowed: a token for the operator's page only
        await database_sync_to_async(call_actions.do_ask_screenshot)(student, reference)
        asked = await page.expect("screenshot_asked")
        await page.send({"t": "screenshot", "request": asked["request"], "allow": True})
        allowed = await operator.expect("screenshot")
        for ws in (page, operator):
            await ws.close()
        return call, denied, allowed

    with frozen(IN_HOURS):
        call, denied, allowed = run(scenario)
        reference = call.inquiry.reference
        assert denied["allowed"] is False and denied["token"] == ""
        assert allowed["allowed"] is True and len(allowed["token"]) > 20
        with pytest.raises(PermissionDenied):  # a forged token
            call_actions.do_store_screenshot(student, reference, "forged-token-123456", _shot())
        with pytest.raises((PermissionDenied, Http404)):  # another operator, the real token
            call_actions.do_store_screenshot(other, reference, allowed["token"], _shot())
        assert not Attachment.objects.exists()
        stored = call_actions.do_store_screenshot(student, reference, allowed["token"], _shot())
        with pytest.raises(PermissionDenied):  # single use
            call_actions.do_store_screenshot(student, reference, allowed["token"], _shot())
    assert stored.content_type == "image/png" and stored.original_name.endswith(".png")
    assert access.access_attachment(student, stored.pk) == stored
    assert access.access_attachment(faculty, stored.pk) == stored
    with pytest.raises(Http404):
        access.access_attachment(other, stored.pk)
    assert stored.delete_after == IN_HOURS + dt.timedelta(days=7)
    kinds = [c.kind for c in call_queries.consent_ledger(call.inquiry)]
    assert kinds == [
        ConsentKind.TERMS,
        ConsentKind.SCREENSHOT_DENIED,
        ConsentKind.SCREENSHOT_ALLOWED,
        ConsentKind.SCREENSHOT_TAKEN,
    ]


@live
def test_an_expired_consent_or_a_non_image_is_refused_and_retention_deletes(desk, tmp_path):
    student = desk["student"]
    with frozen(IN_HOURS):
        call = _sharing_call(desk)
        reference = call.inquiry.reference
        consent = call_actions.do_ask_screenshot(student, reference)
        call_actions.do_answer_screenshot(call, consent.pk, True)
        token = _issue_token(consent)
        with pytest.raises(CallError):
            call_actions.do_store_screenshot(
                student,
                reference,
                token,
                SimpleUploadedFile("x.png", b"<svg>", content_type="image/png"),
            )
    with frozen(IN_HOURS + dt.timedelta(minutes=5)), pytest.raises(PermissionDenied):
        call_actions.do_store_screenshot(student, reference, token, _shot())
    with frozen(IN_HOURS):
        consent = call_actions.do_ask_screenshot(student, reference)
        call_actions.do_answer_screenshot(call, consent.pk, True)
        stored = call_actions.do_store_screenshot(
            student, reference, _issue_token(consent), _shot()
        )
    from madoguchi.inquiries import storage

    path = storage.path_of(stored.stored_name)
    assert path.exists()
    with frozen(IN_HOURS + dt.timedelta(days=8)):
        assert call_actions.do_sweep()["screenshots_deleted"] == 1
    assert not path.exists() and not Attachment.objects.filter(pk=stored.pk).exists()
    assert Consent.objects.filter(kind=ConsentKind.SCREENSHOT_DELETED).count() == 1


def _issue_token(consent: Consent) -> str:
    """The token the operator's page was sent: re-issued here (only its hash is stored)."""
    import secrets

    token = secrets.token_urlsafe(24)
    Consent.objects.filter(pk=consent.pk).update(token_hash=call_queries.secret_hash(token))
    return token


def _secret_for(call: Call) -> str:
    """A fresh secret for a call made in the test (only the hash is stored)."""
    import secrets

    secret = secrets.token_urlsafe(32)
    Call.objects.filter(pk=call.pk).update(secret_hash=call_queries.secret_hash(secret))
    return secret


# --- time limit, codes, email -----------------------------------------------------------------


@live
def test_the_time_limit_warns_then_ends_the_call_on_time(desk, settings):
    """Tasks at each warning and at the limit (not a minute late), and housekeeping as the
    fallback; each warning is sent once, the call ends once."""
    from django_tasks_db.models import DBTaskResult

    from madoguchi.calls.tasks import call_clock

    settings.CALL_MAX_MINUTES = 10
    with frozen(IN_HOURS):
        started = start()
        call_actions.do_admit(desk["student"], started.call.inquiry.reference)
    deadline = Call.objects.get().deadline_at
    assert deadline == IN_HOURS + dt.timedelta(minutes=10)
    scheduled = DBTaskResult.objects.filter(task_path__endswith="call_clock")
    assert sorted(r.run_after for r in scheduled) == [
        deadline - dt.timedelta(minutes=5),
        deadline - dt.timedelta(minutes=1),
        deadline,
    ]
    with frozen(deadline - dt.timedelta(minutes=5)):
        assert call_clock.call(started.call.pk) == {"warned": 1, "ended": 0}
        assert call_clock.call(started.call.pk) == {"warned": 0, "ended": 0}
        assert call_actions.do_sweep()["warned"] == 0
    with frozen(deadline - dt.timedelta(seconds=30)):  # the task was lost: housekeeping
        assert call_actions.do_sweep()["warned"] == 1
    with frozen(deadline):
        assert call_clock.call(started.call.pk)["ended"] == 1
        assert call_actions.do_sweep()["ended"] == 0
    call = Call.objects.get()
    assert call.state == CallState.ENDED and call.ended_by == "time_limit"
    assert Message.objects.filter(inquiry=call.inquiry, meta__event="time_limit").exists()


@live
def test_a_connection_code_joins_its_operator_once_and_guessing_locks_out(desk, settings):
    settings.CALL_CODE_MAX_MISSES = 3
    student = desk["student"]
    with frozen(IN_HOURS):
        inquiry = start().call.inquiry
        call_actions.do_admit(student, inquiry.reference)
        call_actions.do_end_by_operator(student, inquiry.reference)
        invitation, code = call_actions.do_create_invitation(student, inquiry.reference)
        assert len(code) == 6 and code.isdigit() and invitation.code_hash != code
        joined = call_actions.do_join_by_code(
            f"{code[:3]}-{code[3:]}", lang="ja", terms_version=terms_version(), address="192.0.2.1"
        )
        assert joined.call.inquiry_id == inquiry.pk
        call = call_queries.get(joined.call.pk)
        assert call.state == CallState.ACTIVE and call.operator == student
        with pytest.raises(CallError) as reused:
            call_actions.do_join_by_code(
                code, lang="ja", terms_version=terms_version(), address="192.0.2.2"
            )
        assert reused.value.code == "code"
        _fresh, fresh_code = call_actions.do_create_invitation(student, inquiry.reference)
        wrong = "000000" if fresh_code != "000000" else "111111"
        for _ in range(3):
            with pytest.raises(CallError):
                call_actions.do_join_by_code(
                    wrong, lang="ja", terms_version=terms_version(), address="198.51.100.7"
                )
        with pytest.raises(CallError) as locked:  # even the right code, from that address
            call_actions.do_join_by_code(
                fresh_code, lang="ja", terms_version=terms_version(), address="198.51.100.7"
            )
        assert locked.value.code == "locked"
    with frozen(IN_HOURS + dt.timedelta(minutes=11)), pytest.raises(CallError) as expired:
        call_actions.do_join_by_code(
            fresh_code, lang="ja", terms_version=terms_version(), address="192.0.2.3"
        )
    assert expired.value.code == "code"
    assert CallInvitation.objects.filter(used_at__isnull=False).count() == 1


@live
def test_switching_to_an_email_answer_keeps_one_inquiry(desk):
    student = desk["student"]
    with frozen(IN_HOURS):
        started = start("Zoom の録画がどこにあるか分かりません")
        reference = started.call.inquiry.reference
        call_actions.do_admit(student, reference)
        call_actions.do_switch_to_mail(student, reference)
        call = call_queries.get(started.call.pk)
        assert call.state == CallState.EMAIL and call.ended_by == "email"
        call_actions.do_continue_by_mail(call, "requester@example.ac.jp", "利用者")
    inquiry = Inquiry.objects.get()
    assert inquiry.requester_email == "requester@example.ac.jp" and inquiry.status == Status.OPEN
    assert Inquiry.objects.count() == 1
    events = [m.meta.get("event") for m in Message.objects.filter(inquiry=inquiry).order_by("pk")]
    assert "by_mail" in events and "admitted" in events


@live
def test_hostile_frames_change_nothing(desk):
    async def scenario():
        page = Page()
        await page.open()
        replies = []
        for frame in ["{", "[]", '{"t": 5}', '{"t": "signal"}', '{"t": "nope"}']:
            await page.ws.send_to(text_data=frame)
            replies.extend(await page.frames())
        await page.ws.send_to(text_data="x" * 70_000)  # too big: the socket is closed
        closed = await page.ws.receive_output(timeout=2)
        await page.ws.disconnect()
        return replies, closed

    with frozen(IN_HOURS):
        replies, closed = run(scenario)
    assert len(replies) == 5 and all(r["t"] == "error" for r in replies)
    assert closed == {"type": "websocket.close", "code": 1009}
    assert not Call.objects.exists() and not Message.objects.exists()


@live
def test_the_operators_http_actions(client, desk):
    student = desk["student"]
    with frozen(IN_HOURS):
        started = start()
        reference = started.call.inquiry.reference
        client.force_login(student)
        fetch = {"HTTP_X_REQUESTED_WITH": "fetch"}
        queue = client.get("/console/calls/queue/").content.decode()
        assert reference in queue
        assert client.post(f"/console/calls/{reference}/do/admit/", **fetch).json()["ok"]
        page = client.get(f"/console/calls/{reference}/")
        assert page.status_code == 200 and 'data-operator="1"' in page.content.decode()
        refused = client.post(f"/console/calls/{reference}/do/screenshot/", **fetch)
        assert refused.status_code == 409  # nothing shared yet
        assert client.post(f"/console/calls/{reference}/do/share/", **fetch).json()["ok"]
        call_actions.do_set_share(call_queries.get(started.call.pk), "live", "window")
        asked = client.post(f"/console/calls/{reference}/do/screenshot/", **fetch).json()
        consent = Consent.objects.get(pk=asked["consent"])
        assert consent.kind == ConsentKind.SCREENSHOT_ASKED
        call_actions.do_answer_screenshot(call_queries.get(started.call.pk), consent.pk, True)
        token = _issue_token(consent)
        forged = client.post(
            f"/console/calls/{reference}/screenshot/",
            {"token": "f" * 30, "image": _shot()},
            **fetch,
        )
        assert forged.status_code == 403 and not Attachment.objects.exists()
        stored = client.post(
            f"/console/calls/{reference}/screenshot/", {"token": token, "image": _shot()}, **fetch
        )
        assert (
            stored.status_code == 200
            and Attachment.objects.filter(pk=stored.json()["attachment"]).exists()
        )
        code = client.post(f"/console/calls/{reference}/do/invite/", **fetch).json()["code"]
        assert len(code) == 6
        # A note on the inquiry from the call page: internal, the call goes on.
        noted = client.post(
            f"/console/calls/{reference}/do/note/", {"body": "VPN は再インストール済み"}, **fetch
        )
        assert noted.json()["ok"] and call_queries.get(started.call.pk).state == "active"
        empty = client.post(f"/console/calls/{reference}/do/note/", {"body": " "}, **fetch)
        assert empty.status_code == 409
        page = client.get(f"/console/calls/{reference}/").content.decode()
        # Passing the call on offers the colleagues who can see it, and faculty.
        assert f'<option value="{desk["other"].pk}">' in page and 'value="faculty"' in page
        assert client.post(f"/console/calls/{reference}/do/end/", **fetch).json()["ok"]
    assert call_queries.get(started.call.pk).state == CallState.ENDED
    note = Message.objects.get(inquiry__reference=reference, body="VPN は再インストール済み")
    assert note.kind == "note" and note.author == student
    assert note.body not in [
        m["body"] for m in call_queries.transcript(call_queries.get(started.call.pk))
    ]


@live
def test_chat_then_call_then_mail_is_one_inquiry(desk):
    from madoguchi.chat import actions as chat_actions

    student = desk["student"]
    with frozen(IN_HOURS):
        turn = chat_actions.do_start("人と話したい", client_id="cid-chat-call-01", lang="ja")
        chat_actions.do_request_person(turn.conversation)
        reference = turn.conversation.inquiry.reference
        chat_actions.do_accept(student, reference)
        with pytest.raises(Http404):  # the code is only for the chat's operator to give
            call_actions.do_offer_call_in_chat(desk["other"], "Q-NOPE")
        code = call_actions.do_offer_call_in_chat(student, reference)
        offer = Message.objects.filter(meta__event="call_offered").get()
        assert offer.meta["link"] == f"/call/?code={code}&lang=ja"
        joined = call_actions.do_join_by_code(
            code, lang="ja", terms_version=terms_version(), address="192.0.2.9"
        )
        call = call_queries.get(joined.call.pk)
        assert call.inquiry.reference == reference and call.state == CallState.ACTIVE
        assert call.operator == student
        call_actions.do_switch_to_mail(student, reference)
        call_actions.do_continue_by_mail(call_queries.get(call.pk), "chat-call@example.ac.jp")
    inquiry = Inquiry.objects.get()
    assert inquiry.channel == Channel.CHAT and inquiry.requester_email == "chat-call@example.ac.jp"
    events = [m.meta.get("event") for m in Message.objects.filter(inquiry=inquiry).order_by("pk")]
    assert events.index("call_offered") < events.index("admitted") < events.index("by_mail")


@live
def test_a_call_passed_to_a_colleague_or_to_faculty(desk):
    student, other, faculty = desk["student"], desk["other"], desk["faculty"]
    with frozen(IN_HOURS):
        started = start()
        reference = started.call.inquiry.reference
        call_actions.do_admit(student, reference)
        deadline = call_queries.get(started.call.pk).deadline_at
        with pytest.raises(CallError):
            call_actions.do_transfer(student, reference, to_user=student)
        call_actions.do_transfer(student, reference, to_user=other)
        call = call_queries.get(started.call.pk)
        assert call.state == CallState.WAITING and call.invited_by == other
        assert call_queries.queue(for_user=faculty) == []  # waiting for that colleague only
        with pytest.raises(CallError):
            call_actions.do_admit(faculty, reference)
        call_actions.do_admit(other, reference)
    with frozen(IN_HOURS + dt.timedelta(minutes=3)):
        call_actions.do_transfer(other, reference, to_faculty=True)
        call = call_queries.get(started.call.pk)
        assert call.inquiry.lane == Lane.FACULTY and call.state == CallState.WAITING
        with pytest.raises(Http404):  # a student cannot see it any more
            call_actions.do_admit(student, reference)
        call_actions.do_admit(faculty, reference)
    call = call_queries.get(started.call.pk)
    assert call.operator == faculty and call.deadline_at == deadline  # the limit stays
    events = [
        m.meta.get("event") for m in Message.objects.filter(inquiry=call.inquiry).order_by("pk")
    ]
    assert events.count("admitted") == 3 and "transferred" in events and "to_faculty" in events


@live
def test_the_operator_writes_in_the_calls_text_chat_once_per_line(client, desk):
    student = desk["student"]

    async def scenario(secret, reference):
        page = Page()
        await page.open(secret)
        fetch = {"HTTP_X_REQUESTED_WITH": "fetch"}

        def say(**data):
            return client.post(f"/console/calls/{reference}/do/say/", data, **fetch)

        first = await database_sync_to_async(say)(body="<b>聞こえますか</b>", cid="op-line-0001")
        again = await database_sync_to_async(say)(body="<b>聞こえますか</b>", cid="op-line-0001")
        heard = await page.expect("message")
        no_id = await database_sync_to_async(say)(body="id がない")
        empty = await database_sync_to_async(say)(body="   ", cid="op-line-0002")
        await page.close()
        return first, again, heard, no_id, empty

    with frozen(IN_HOURS):
        started = start()
        reference = started.call.inquiry.reference
        call_actions.do_admit(student, reference)
        client.force_login(student)

        async def both():
            return await scenario(started.secret, reference)

        first, again, heard, no_id, empty = run(both)
        assert first.status_code == 200 and again.json()["seq"] == first.json()["seq"]
        assert (
            heard["message"]["kind"] == "reply"
            and heard["message"]["body"] == "<b>聞こえますか</b>"
        )
        assert heard["message"]["author"] == str(student)
        assert no_id.status_code == 409 and empty.status_code == 409
        assert Message.objects.filter(inquiry__reference=reference, kind="reply").count() == 1
        # Another student may see the inquiry, but only the call's operator writes in it.
        client.force_login(desk["other"])
        refused = client.post(
            f"/console/calls/{reference}/do/say/",
            {"body": "横から", "cid": "op-line-0003"},
            HTTP_X_REQUESTED_WITH="fetch",
        )
        assert refused.status_code == 403
        client.force_login(student)
        call_actions.do_end_by_operator(student, reference)
        late = client.post(
            f"/console/calls/{reference}/do/say/",
            {"body": "終わった後", "cid": "op-line-0004"},
            HTTP_X_REQUESTED_WITH="fetch",
        )
        assert late.status_code == 409
    assert Message.objects.filter(inquiry__reference=reference, kind="reply").count() == 1


@live
def test_the_call_pages_may_use_the_microphone_and_the_console_shows_calls(client, desk):
    student = desk["student"]
    with frozen(IN_HOURS):
        page = client.get("/call/?code=123456")
        assert page.status_code == 200
        policy = page["Permissions-Policy"]
        assert "microphone=(self)" in policy and "display-capture=(self)" in policy
        assert "camera=()" in policy
        html = page.content.decode()
        assert 'data-code="123456"' in html and 'id="call-strings"' in html
        assert client.get("/")["Permissions-Policy"].count("microphone=()") == 1
        started = start()
        reference = started.call.inquiry.reference
        client.force_login(student)
        # The queue is on the operators' live page, beside the chat queue.
        panel = client.get("/console/chat/").content.decode()
        assert 'id="call-queue"' in panel and reference in panel
        assert "/console/chat/#calls" in client.get("/console/").content.decode()
        admitted = client.post(f"/console/calls/{reference}/do/admit/")
        assert admitted.status_code == 302 and admitted["Location"].endswith(
            f"/console/calls/{reference}/"
        )
        operator = client.get(f"/console/calls/{reference}/")
        policy = operator["Permissions-Policy"]
        assert "microphone=(self)" in policy and "display-capture=()" in policy
        html = operator.content.decode()
        assert 'id="thread"' in html and "console-call.js" in html
        detail = client.get(f"/console/i/{reference}/").content.decode()
        assert f"/console/calls/{reference}/" in detail  # "open the call page"
        # A connection code without the page's script: shown on the inquiry's page.
        invited = client.post(f"/console/calls/{reference}/do/invite/", follow=True)
        assert invited.redirect_chain[-1][0].endswith(f"/console/i/{reference}/")
        assert any(re.search(r"\d{6}", str(m)) for m in invited.context["messages"])


@live
def test_an_operator_offers_a_call_from_the_chat_box(client, desk):
    from madoguchi.chat import actions as chat_actions

    student = desk["student"]
    with frozen(IN_HOURS):
        turn = chat_actions.do_start("人と話したい", client_id="cid-chat-box-01", lang="en")
        chat_actions.do_request_person(turn.conversation)
        reference = turn.conversation.inquiry.reference
        chat_actions.do_accept(student, reference)
        client.force_login(student)
        page = client.get(f"/console/i/{reference}/").content.decode()
        assert f"/console/calls/{reference}/do/offer/" in page
        offered = client.post(f"/console/calls/{reference}/do/offer/", follow=True)
    assert offered.redirect_chain[-1][0].endswith(f"/console/i/{reference}/")
    line = Message.objects.get(meta__event="call_offered")
    assert line.meta["link"].startswith("/call/?code=") and line.meta["link"].endswith("&lang=en")
    assert "online call" in line.body  # in the chat's language


@live
def test_a_reopened_call_page_gets_the_calls_text_chat_again(desk):
    student = desk["student"]

    async def scenario():
        started = await database_sync_to_async(start)("Wi-Fi がつながりません")
        await database_sync_to_async(call_actions.do_admit)(student, started.call.inquiry.reference)
        page = Page()
        await page.open(started.secret)
        await page.send({"t": "say", "cid": "call-line-0001", "body": "聞こえますか"})
        await page.expect("ack")
        await page.close()
        again = Page()
        welcome = await again.open(started.secret)
        await again.close()
        return welcome

    with frozen(IN_HOURS):
        welcome = run(scenario)
    lines = [(m["kind"], m["meta"].get("event") or m["body"]) for m in welcome["messages"]]
    assert lines == [("event", "waiting"), ("event", "admitted"), ("requester", "聞こえますか")]
    assert "Wi-Fi" not in str(welcome["messages"])  # the topic is not part of the call's chat
