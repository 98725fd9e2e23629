"""Roles × routes: who may see which inquiry, on every surface.

A sensitive inquiry must not exist for student staff anywhere — lists, counts, search,
detail, thread fragments, actions, attachments, the API and WebSocket events — and that
must hold the moment a general inquiry is marked sensitive.
"""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.console.consumers import ConsoleConsumer
from madoguchi.inquiries import actions
from madoguchi.inquiries.actions import do_create_inquiry
from madoguchi.inquiries.models import Attachment, Lane
from tests.integration.conftest import make_user, new_inquiry

pytestmark = pytest.mark.django_db
realtime = pytest.mark.django_db(transaction=True)

ROLES = ["anonymous", "plain", "student", "faculty", "admin"]
LANES = ["general", "sensitive", "triage", "just_marked_sensitive"]


def sees(role: str, lane: str) -> bool:
    return role in ("faculty", "admin") or (role == "student" and lane == "general")


@pytest.fixture
def world(db):
    users = {
        "plain": make_user("plain"),
        "student": make_user("stu", "student"),
        "faculty": make_user("fac", "faculty"),
        "admin": make_user("adm", superuser=True),
    }
    inquiries = {}
    for lane in LANES:
        data = new_inquiry(
            subject=f"subject-{lane}-zqx",
            body=f"body-{lane}-zqx",
            email=f"{lane.replace('_', '')}@example.ac.jp",
            sensitive=lane == "sensitive",
            sensitive_part="p" if lane == "sensitive" else "",
            sensitive_reason="r" if lane == "sensitive" else "",
        )
        inquiry, _ = do_create_inquiry(
            data, channel="form", files=[SimpleUploadedFile(f"{lane}.txt", b"secret")]
        )
        inquiries[lane] = inquiry
    # The triage lane is entered by mail ingest (a later issue); here its state is set directly.
    from madoguchi.inquiries.models import Inquiry

    Inquiry.objects.filter(pk=inquiries["triage"].pk).update(lane=Lane.TRIAGE)
    inquiries["triage"].refresh_from_db()
    # A student has been working on this one when faculty marks it sensitive.
    jm = inquiries["just_marked_sensitive"]
    actions.do_claim(jm, acting_user=users["student"])
    actions.do_mark_sensitive(jm, "grades", acting_user=users["faculty"])
    jm.refresh_from_db()
    return users, inquiries


def login(client, users, role):
    if role != "anonymous":
        client.force_login(users[role])


def expect_denied(role: str, response) -> None:
    if role == "anonymous":
        assert response.status_code in (302, 401), response.status_code
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"]
    elif role == "plain":
        assert response.status_code in (401, 403, 404), response.status_code
    else:
        assert response.status_code == 404, response.status_code


DETAIL_ROUTES = ["/console/i/{ref}/", "/console/i/{ref}/thread/", "/api/v1/inquiries/{ref}"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("lane", LANES)
@pytest.mark.parametrize("route", DETAIL_ROUTES)
def test_detail_routes(client, world, role, lane, route):
    users, inquiries = world
    login(client, users, role)
    response = client.get(route.format(ref=inquiries[lane].reference))
    if sees(role, lane):
        assert response.status_code == 200
        assert f"-{lane}-zqx" in response.content.decode()
    else:
        expect_denied(role, response)


LIST_ROUTES = [
    "/console/?view={view}",
    "/console/rows/?view={view}",
    "/api/v1/inquiries?view={view}",
]
VIEWS = ["open", "unassigned", "mine", "pending", "sensitive", "triage", "solved", "all"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", LIST_ROUTES)
def test_lists_search_and_counts(client, world, role, route):
    users, inquiries = world
    login(client, users, role)
    for view in VIEWS:
        for q in ("", "zqx", "secret", "@example.ac.jp"):
            url = route.format(view=view) + (f"&q={q}" if q else "")
            response = client.get(url)
            if role in ("anonymous", "plain"):
                expect_denied(role, response)
                continue
            assert response.status_code == 200
            body = response.content.decode()
            for lane, inquiry in inquiries.items():
                if not sees(role, lane):
                    assert inquiry.reference not in body, (view, q, lane)
                    assert f"subject-{lane}-zqx" not in body, (view, q, lane)
            if view == "all" and q == "zqx":
                for lane, inquiry in inquiries.items():
                    if sees(role, lane):
                        assert inquiry.reference in body
            if route.startswith("/console/?") and q == "":
                counts = {k: c for k, _label, c in response.context["view_links"]}
                if role == "student":
                    assert counts["all"] == 1
                    assert "sensitive" not in counts and "triage" not in counts
                else:
                    assert counts["all"] == 4


ACTIONS = [
    ("reply", {"body": "hello"}),
    ("note", {"body": "n"}),
    ("claim", {}),
    ("status", {"value": "solved"}),
    ("priority", {"value": "1"}),
    ("category", {"value": ""}),
    ("escalate", {"body": "x"}),
    ("sensitive", {"body": "x"}),
    ("handback", {"body": "x"}),
    ("unassign", {}),
    ("revoke_link", {}),
    ("hold", {"body": "reason"}),
    ("unhold", {}),
]


@pytest.mark.parametrize(
    ("role", "lane"), [(r, lane) for r in ROLES for lane in LANES if not sees(r, lane)]
)
def test_actions_on_hidden_inquiries_are_denied(client, world, role, lane):
    users, inquiries = world
    login(client, users, role)
    inquiry = inquiries[lane]
    state = ("status", "priority", "link_version", "assignee_id", "legal_hold")
    before = (inquiry.messages.count(), *(getattr(inquiry, f) for f in state))
    for action, data in ACTIONS:
        response = client.post(f"/console/i/{inquiry.reference}/do/{action}/", data)
        expect_denied(role, response)
    inquiry.refresh_from_db()
    assert (inquiry.messages.count(), *(getattr(inquiry, f) for f in state)) == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("lane", LANES)
def test_attachments(client, world, role, lane):
    users, inquiries = world
    login(client, users, role)
    attachment = Attachment.objects.get(inquiry=inquiries[lane])
    response = client.get(f"/console/files/{attachment.pk}/")
    if sees(role, lane):
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"secret"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
    else:
        expect_denied(role, response)


@pytest.mark.parametrize("role", ROLES)
def test_admin_is_for_administrators_only(client, world, role):
    users, inquiries = world
    login(client, users, role)
    response = client.get("/admin/inquiries/inquiry/")
    if role == "admin":
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_student_detail_page_never_links_hidden_inquiries(client, world):
    users, inquiries = world
    login(client, users, "student")
    body = client.get(f"/console/i/{inquiries['general'].reference}/").content.decode()
    for lane in ("sensitive", "triage", "just_marked_sensitive"):
        assert inquiries[lane].reference not in body


def test_requester_link_opens_only_its_own_inquiry(client, world):
    from madoguchi.inquiries.access import requester_url

    users, inquiries = world
    page = client.get(
        requester_url(inquiries["general"]).removeprefix("http://testserver")
    ).content.decode()
    assert "subject-general-zqx" in page
    for lane in ("sensitive", "triage", "just_marked_sensitive"):
        assert f"subject-{lane}-zqx" not in page
    own = Attachment.objects.get(inquiry=inquiries["general"])
    other = Attachment.objects.get(inquiry=inquiries["sensitive"])
    token = requester_url(inquiries["general"]).rstrip("/").rsplit("/", 1)[-1]
    assert client.get(f"/t/{token}/files/{own.pk}/").status_code == 200
    assert client.get(f"/t/{token}/files/{other.pk}/").status_code == 404


# --- WebSocket ------------------------------------------------------------------------------


async def _events_for(user, trigger, *, watch: str = "") -> list[dict]:
    """The console events ``user``'s socket receives while ``trigger`` runs (``watch``: the
    socket asks to watch that inquiry first, as its page does)."""
    communicator = WebsocketCommunicator(ConsoleConsumer.as_asgi(), "/ws/console/")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    if not connected:
        return [{"closed": code}]
    hello = await communicator.receive_json_from()
    assert hello == {"kind": "hello"}
    from channels.db import database_sync_to_async

    if watch:
        await communicator.send_json_to({"kind": "watch", "inquiry": watch})
        await communicator.receive_nothing(timeout=0.2)  # the watch is handled
    await database_sync_to_async(trigger)()
    events = []
    while not await communicator.receive_nothing(timeout=0.3):
        events.append(await communicator.receive_json_from())
    await communicator.disconnect()
    return events


@realtime
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("lane", ["general", "sensitive", "triage"])
def test_websocket_events(world, role, lane):
    from django.contrib.auth.models import AnonymousUser

    users, inquiries = world
    user = users.get(role, AnonymousUser())
    inquiry = inquiries[lane]
    events = async_to_sync(_events_for)(
        user, lambda: actions.do_add_note(inquiry, "note", acting_user=users["faculty"])
    )
    if role in ("anonymous", "plain"):
        assert events == [{"closed": 4403}]
    elif sees(role, lane):
        assert {"kind": "message.created", "inquiry": inquiry.reference} in events
    else:
        assert events == []


@realtime
def test_websocket_student_is_told_to_drop_an_inquiry_marked_sensitive(world):
    users, inquiries = world
    inquiry = inquiries["general"]
    events = async_to_sync(_events_for)(
        users["student"],
        lambda: actions.do_mark_sensitive(inquiry, "x", acting_user=users["faculty"]),
    )
    assert events == [{"kind": "inquiry.revoked", "inquiry": inquiry.reference}]
    # ...and further activity on it is silent for them.
    events = async_to_sync(_events_for)(
        users["student"],
        lambda: actions.do_add_note(inquiry, "after", acting_user=users["faculty"]),
    )
    assert events == []


@realtime
def test_websocket_through_the_asgi_stack_checks_origin_and_session(client, world):
    from madoguchi.asgi import application

    users, _ = world
    client.force_login(users["student"])
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def attempt(origin: bytes) -> bool:
        communicator = WebsocketCommunicator(
            application,
            "/ws/console/",
            headers=[(b"cookie", cookie), (b"origin", origin), (b"host", b"localhost")],
        )
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(attempt)(b"http://localhost") is True
    assert async_to_sync(attempt)(b"http://evil.example") is False


@pytest.mark.parametrize("role", ROLES)
def test_unrouted_mail_is_for_faculty_only(client, world, role):
    from madoguchi.mail.models import InboundMessage, InboundStatus

    users, _ = world
    InboundMessage.objects.create(
        raw_sha256="0" * 64,
        raw_size=10,
        status=InboundStatus.REVIEW,
        subject="unrouted-zqx",
        reason="no sender address",
    )
    login(client, users, role)
    response = client.get("/console/mail-review/")
    if role in ("faculty", "admin"):
        assert response.status_code == 200 and "unrouted-zqx" in response.content.decode()
    else:
        expect_denied(role, response)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "route", ["/console/audit/", "/console/audit/export.csv", "/console/reports/sla/"]
)
def test_the_audit_log_and_reports_are_for_faculty_and_admins(client, world, role, route):
    """The audit log (every lane, restricted entries included) and the supervisors'
    reports: faculty staff and administrators only."""
    users, inquiries = world
    login(client, users, role)
    response = client.get(route)
    if role in ("faculty", "admin"):
        assert response.status_code == 200
        if "audit" in route:
            content = (
                b"".join(response.streaming_content) if response.streaming else response.content
            ).decode()
            for inquiry in inquiries.values():
                assert inquiry.reference in content
    else:
        expect_denied(role, response)


@pytest.mark.parametrize("role", ROLES)
def test_a_requesters_data_is_for_faculty_and_admins(client, world, role):
    """Export and erasure of one requester's data: faculty staff and administrators, over
    every lane; for anyone else the pages do not exist and nothing changes."""
    from madoguchi.inquiries.models import Inquiry

    users, inquiries = world
    login(client, users, role)
    email = inquiries["sensitive"].requester_email
    found = client.get(f"/console/privacy/requester/?email={email}")
    exported = client.post("/console/privacy/requester/export/", {"email": email})
    erased = client.post("/console/privacy/requester/erase/", {"email": email, "confirm": "yes"})
    if role in ("faculty", "admin"):
        assert (
            found.status_code == 200 and inquiries["sensitive"].reference in found.content.decode()
        )
        assert exported.status_code == 200 and exported["Content-Type"] == "application/zip"
        assert Inquiry.objects.get(pk=inquiries["sensitive"].pk).anonymised_at is not None
    else:
        for response in (found, exported, erased):
            expect_denied(role, response)
        assert not Inquiry.objects.filter(anonymised_at__isnull=False).exists()


REPORT_SECTIONS = [
    "channel",
    "category",
    "member_category",
    "lang",
    "weekday",
    "hour",
    "sla_priority",
    "sla_channel",
    "sla_tier",
    "backlog",
    "chat",
    "bot",
    "calls",
]
REPORT_ROUTES = [
    "/console/reports/",
    "/console/reports/report.json",
    *(f"/console/reports/{key}.csv" for key in REPORT_SECTIONS),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", REPORT_ROUTES)
def test_reports_count_what_each_role_may_see(client, world, role, route):
    """Reports are for desk staff; a student's figures are the general lane's only (one
    form inquiry of the four), faculty and administrators count all four."""
    import csv
    import io
    import json

    users, inquiries = world
    login(client, users, role)
    response = client.get(route)
    if role in ("anonymous", "plain"):
        expect_denied(role, response)
        return
    assert response.status_code == 200
    expected = 1 if role == "student" else 4
    if route.endswith("/reports/"):
        (channel,) = [s for s in response.context["sections"] if s["section"].key == "channel"]
        assert {r["key"]: r["count"] for r in channel["section"].rows}["form"] == expected
        body = response.content.decode()
        for inquiry in inquiries.values():
            assert inquiry.reference not in body
    elif route.endswith(".json"):
        data = json.loads(response.content)
        assert data["lanes"] == ("general" if role == "student" else "all")
        rows = data["sections"]["channel"]["rows"]
        assert {r["key"]: r["count"] for r in rows}["form"] == expected
        backlog = data["sections"]["backlog"]["rows"]
        assert backlog[-1]["open"] == expected
    else:
        raw = b"".join(response.streaming_content)
        assert raw.startswith("\ufeff".encode())
        text = raw.decode("utf-8-sig")
        for inquiry in inquiries.values():
            assert inquiry.reference not in text and "zqx" not in text
        if route.endswith("/channel.csv"):
            rows = {r[0]: r[2] for r in list(csv.reader(io.StringIO(text)))[1:]}
            assert rows["form"] == str(expected)
        if route.endswith("/sla_priority.csv"):
            rows = {r[0]: r[2] for r in list(csv.reader(io.StringIO(text)))[1:]}
            assert rows["3"] == str(expected)


# --- live chat -------------------------------------------------------------------------------


@pytest.fixture
def chats(world):
    """A waiting chat in each lane (the restricted ones were marked after the hand-over)."""
    from madoguchi.chat import actions as chat_actions
    from madoguchi.chat.models import ChatState, Conversation
    from madoguchi.core.clock import frozen

    users, _ = world
    out = {}
    with frozen(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)):
        for lane in ("general", "sensitive", "triage"):
            turn = chat_actions.do_start(
                f"chat-{lane}-zqx のことで困っています", client_id=f"cid-matrix-{lane}", lang="ja"
            )
            conversation = turn.conversation
            actions.do_open_for_staff(conversation.inquiry, verb="chat.handed_over")
            Conversation.objects.filter(pk=conversation.pk).update(
                state=ChatState.QUEUED, queued_at=turn.message.created_at
            )
            if lane == "sensitive":
                actions.do_mark_sensitive(conversation.inquiry, "x", acting_user=users["faculty"])
            elif lane == "triage":
                from madoguchi.inquiries.models import Inquiry

                Inquiry.objects.filter(pk=conversation.inquiry_id).update(lane=Lane.TRIAGE)
            conversation.refresh_from_db()
            out[lane] = conversation
    return out


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ["/console/chat/", "/console/chat/queue/"])
def test_chat_queue_lists_only_what_the_role_may_see(client, world, chats, role, route):
    users, _ = world
    login(client, users, role)
    response = client.get(route)
    if role in ("anonymous", "plain"):
        assert response.status_code in (302, 403)
        return
    body = response.content.decode()
    for lane, conversation in chats.items():
        assert (conversation.inquiry.reference in body) is sees(role, lane), (role, lane)


CHAT_ACTIONS = [
    ("accept", {}),
    ("send", {"body": "hi", "cid": "op-matrix-0001"}),
    ("transfer", {"to": "faculty"}),
    ("mail", {}),
    ("close", {}),
]


@pytest.mark.parametrize(
    ("role", "lane"),
    [(r, lane) for r in ROLES for lane in ("general", "sensitive", "triage") if not sees(r, lane)],
)
def test_chat_actions_on_hidden_chats_are_denied(client, world, chats, role, lane):
    users, _ = world
    login(client, users, role)
    conversation = chats[lane]
    before = (conversation.inquiry.messages.count(), conversation.state, conversation.operator_id)
    for action, data in CHAT_ACTIONS:
        response = client.post(f"/console/chat/{conversation.inquiry.reference}/{action}/", data)
        expect_denied(role, response)
    conversation.refresh_from_db()
    assert (
        conversation.inquiry.messages.count(),
        conversation.state,
        conversation.operator_id,
    ) == before


# --- chats that are not yours, passed to faculty, and what stays restricted ------------------
# (issue 10) Who operates a chat, what "pass to faculty staff" hides, and that everything
# written while an inquiry was restricted stays restricted after a hand-back or release.


def _waiting_chat(text: str, cid: str):
    from madoguchi.chat import actions as chat_actions
    from madoguchi.chat.models import ChatState, Conversation

    turn = chat_actions.do_start(text, client_id=cid, lang="ja")
    conversation = turn.conversation
    actions.do_open_for_staff(conversation.inquiry, verb="chat.handed_over")
    Conversation.objects.filter(pk=conversation.pk).update(
        state=ChatState.QUEUED, queued_at=turn.message.created_at
    )
    conversation.refresh_from_db()
    return conversation


def _fresh(conversation):
    from madoguchi.chat.models import Conversation

    return Conversation.objects.select_related("inquiry", "operator").get(pk=conversation.pk)


@pytest.fixture
def live(world):
    """Live chats: one a faculty member took, one another student took, and one the
    student passed to faculty staff, after which the requester wrote again and sent a file."""
    from madoguchi.chat import actions as chat_actions

    users, _ = world
    users["student2"] = make_user("stu2", "student")
    out = {}
    out["faculty_took"] = _waiting_chat("faculty-took-zqx の件", "cid-live-fac-0001")
    chat_actions.do_accept(users["faculty"], out["faculty_took"].inquiry.reference)
    out["other_student_took"] = _waiting_chat("other-took-zqx の件", "cid-live-oth-0001")
    chat_actions.do_accept(users["student2"], out["other_student_took"].inquiry.reference)
    passed = _waiting_chat("passed-first-zqx の件", "cid-live-pas-0001")
    chat_actions.do_accept(users["student"], passed.inquiry.reference)
    chat_actions.do_operator_say(
        users["student"], passed.inquiry.reference, "student-said-zqx", client_id="op-live-0001"
    )
    chat_actions.do_transfer(users["student"], passed.inquiry.reference, to_faculty=True)
    passed = _fresh(passed)
    chat_actions.do_say(passed, "after-transfer-zqx 成績のことです", client_id="cid-live-pas-0002")
    chat_actions.do_send_file(
        _fresh(passed),
        SimpleUploadedFile("after.txt", b"after-transfer-file"),
        client_id="cid-live-pas-0003",
    )
    out["passed"] = _fresh(passed)
    return users, out


def _chat_state(conversation):
    conversation = _fresh(conversation)
    inquiry = conversation.inquiry
    return (
        conversation.state,
        conversation.operator_id,
        inquiry.lane,
        inquiry.assignee_id,
        inquiry.messages.count(),
    )


NOT_YOURS = [
    ("send", {"body": "hijack-zqx", "cid": "op-hijack-0001"}),
    ("transfer", "self"),
    ("transfer", {"to": "faculty"}),
    ("mail", {}),
    ("close", {}),
]


@pytest.mark.parametrize("chat", ["faculty_took", "other_student_took"])
@pytest.mark.parametrize(("action", "data"), NOT_YOURS)
def test_a_student_cannot_act_on_a_chat_that_is_not_theirs(client, live, chat, action, data):
    users, chats = live
    conversation = chats[chat]
    if data == "self":
        data = {"to": str(users["student"].pk)}  # taking the chat over
    before = _chat_state(conversation)
    login(client, users, "student")
    response = client.post(
        f"/console/chat/{conversation.inquiry.reference}/{action}/",
        data,
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 409 and response.json()["ok"] is False
    assert _chat_state(conversation) == before
    assert not conversation.inquiry.messages.filter(body="hijack-zqx").exists()


@pytest.mark.parametrize("role", ["student2", "faculty", "admin"])
def test_the_operator_and_faculty_may_act_on_a_chat(client, live, role):
    users, chats = live
    conversation = chats["other_student_took"]
    client.force_login(users[role])
    response = client.post(
        f"/console/chat/{conversation.inquiry.reference}/send/",
        {"body": f"by-{role}-zqx", "cid": f"op-ok-{role}-01"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200 and response.json()["ok"] is True
    assert conversation.inquiry.messages.filter(body=f"by-{role}-zqx").exists()


def test_a_student_sees_no_operator_buttons_on_a_chat_that_is_not_theirs(client, live):
    users, chats = live
    login(client, users, "student")
    page = client.get(f"/console/i/{chats['faculty_took'].inquiry.reference}/").content.decode()
    for action in ("send", "transfer", "mail", "close", "accept"):
        assert (
            f'action="/console/chat/{chats["faculty_took"].inquiry.reference}/{action}/"'
            not in page
        )


@pytest.mark.parametrize("role", ROLES)
def test_a_chat_passed_to_faculty_is_restricted_everywhere(client, live, role):
    users, chats = live
    conversation = chats["passed"]
    reference = conversation.inquiry.reference
    assert conversation.inquiry.lane == Lane.FACULTY and conversation.faculty_only
    login(client, users, role)
    allowed = role in ("faculty", "admin")
    for route in DETAIL_ROUTES:
        response = client.get(route.format(ref=reference))
        if allowed:
            assert response.status_code == 200
        else:
            expect_denied(role, response)
    if allowed:
        page = client.get(f"/console/i/{reference}/thread/").content.decode()
        assert "after-transfer-zqx" in page and "student-said-zqx" in page
    for url in (
        "/console/?view=all&q=after-transfer-zqx",
        "/console/rows/?view=all&q=passed-first-zqx",
        "/api/v1/inquiries?view=all&q=after-transfer-zqx",
        "/console/?view=all",
        "/console/chat/",
        "/console/chat/queue/",
    ):
        response = client.get(url)
        if role in ("anonymous", "plain"):
            assert response.status_code in (302, 401, 403), url
            continue
        assert (reference in response.content.decode()) is allowed, url
    counts = client.get("/console/?view=all")
    if role == "student":
        assert {k: c for k, _label, c in counts.context["view_links"]}["all"] == 3
    if allowed:
        views = {k: c for k, _label, c in counts.context["view_links"]}
        assert views["faculty"] == 1
        assert reference in client.get("/console/?view=faculty").content.decode()
    attachment = Attachment.objects.get(inquiry=conversation.inquiry)
    response = client.get(f"/console/files/{attachment.pk}/")
    if allowed:
        assert b"".join(response.streaming_content) == b"after-transfer-file"
    else:
        expect_denied(role, response)


def test_transfer_lists_offer_only_who_may_take_the_chat(client, live):
    users, chats = live
    login(client, users, "faculty")
    response = client.get(f"/console/i/{chats['passed'].inquiry.reference}/")
    offered = response.context["chat_transfer_to"]
    assert users["admin"] in offered
    assert users["student"] not in offered and users["student2"] not in offered


def test_faculty_release_a_chat_passed_to_them_and_what_they_wrote_stays_theirs(client, live):
    from madoguchi.chat import actions as chat_actions

    users, chats = live
    reference = chats["passed"].inquiry.reference
    chat_actions.do_accept(users["faculty"], reference)
    chat_actions.do_operator_say(
        users["faculty"], reference, "faculty-said-zqx", client_id="op-fac-0001"
    )
    chat_actions.do_say(
        _fresh(chats["passed"]), "requester-again-zqx", client_id="cid-live-pas-0004"
    )
    login(client, users, "faculty")
    assert client.post(f"/console/i/{reference}/do/release/").status_code == 302
    assert _fresh(chats["passed"]).inquiry.lane == Lane.GENERAL
    client.logout()
    login(client, users, "student")
    response = client.get(f"/console/i/{reference}/")
    assert response.status_code == 200
    page = response.content.decode()
    # What the requester wrote is theirs to share; what staff wrote meanwhile is not.
    assert "after-transfer-zqx" in page and "requester-again-zqx" in page
    assert "faculty-said-zqx" not in page
    assert response.context["hidden_count"] >= 1
    assert "faculty-said-zqx" not in client.get(f"/console/i/{reference}/thread/").content.decode()
    assert reference not in client.get("/console/?view=all&q=faculty-said-zqx").content.decode()
    # ...and the requester's file, sent after the transfer, follows the requester's entry.
    attachment = Attachment.objects.get(inquiry=chats["passed"].inquiry)
    assert client.get(f"/console/files/{attachment.pk}/").status_code == 200


@realtime
def test_websocket_student_staff_hear_nothing_of_a_chat_passed_to_faculty(world):
    from madoguchi.chat import actions as chat_actions

    users, _ = world
    conversation = _waiting_chat("ws-passed-zqx の件", "cid-ws-pass-0001")
    reference = conversation.inquiry.reference
    chat_actions.do_accept(users["student"], reference)
    events = async_to_sync(_events_for)(
        users["student"],
        lambda: chat_actions.do_transfer(users["student"], reference, to_faculty=True),
    )
    assert {"kind": "inquiry.revoked", "inquiry": reference} in events
    assert {"kind": "chat.queue"} not in events

    def afterwards() -> None:
        chat_actions.do_accept(users["faculty"], reference)
        chat_actions.do_say(_fresh(conversation), "after-zqx", client_id="cid-ws-pass-0002")
        chat_actions.notify_requester_typing(conversation.pk, True)
        chat_actions.do_operator_say(
            users["faculty"], reference, "reply-zqx", client_id="op-ws-0001"
        )

    assert async_to_sync(_events_for)(users["student"], afterwards) == []
    faculty_events = async_to_sync(_events_for)(
        users["faculty"], lambda: chat_actions.notify_requester_typing(conversation.pk, True)
    )
    assert {"kind": "chat.typing", "inquiry": reference, "on": True} in faculty_events


@realtime
def test_websocket_watching_a_chat_follows_access(world):
    """A page's socket that watches an inquiry hears of each new entry (not every staff
    socket does); student staff cannot watch a restricted one, and stop hearing of one
    the moment it is restricted."""
    from madoguchi.chat import actions as chat_actions

    users, _ = world
    conversation = _waiting_chat("watch-zqx の件", "cid-ws-watch-001")
    reference = conversation.inquiry.reference
    chat_actions.do_accept(users["faculty"], reference)

    def requester_writes(n: int):
        return lambda: chat_actions.do_say(
            _fresh(conversation), f"watched-zqx {n}", client_id=f"cid-ws-watch-{n:03d}"
        )

    created = {"kind": "message.created", "inquiry": reference}
    # Nobody but its operator hears of a chat message unless they watch the inquiry.
    assert created not in async_to_sync(_events_for)(users["student"], requester_writes(2))
    assert created in async_to_sync(_events_for)(
        users["student"], requester_writes(3), watch=reference
    )
    assert created in async_to_sync(_events_for)(users["faculty"], requester_writes(4))
    # Restricted while a student watches: the notice, then nothing more.
    events = async_to_sync(_events_for)(
        users["student"],
        lambda: (
            actions.do_mark_sensitive(
                _fresh(conversation).inquiry, "grades", acting_user=users["faculty"]
            ),
            requester_writes(5)(),
        ),
        watch=reference,
    )
    assert {"kind": "inquiry.revoked", "inquiry": reference} in events
    assert created not in events
    # A student cannot start watching it now; faculty still can.
    assert async_to_sync(_events_for)(users["student"], requester_writes(6), watch=reference) == []
    assert created in async_to_sync(_events_for)(
        users["faculty"], requester_writes(7), watch=reference
    )


# --- the bot's question log -----------------------------------------------------------------


@pytest.fixture
def questions(world):
    """Questions the bot could not answer, from chats that ended up in each situation."""
    from madoguchi.chat import actions as chat_actions
    from madoguchi.kb import learning
    from madoguchi.kb.models import BotQuestion
    from madoguchi.kb.search import engine

    users, _ = world
    _waiting_chat("qgeneral-zqx プリンタが動かない", "cid-q-gen-0001")
    marked = _waiting_chat("qmarked-zqx プリンタが動かない", "cid-q-mrk-0001")
    actions.do_mark_sensitive(marked.inquiry, "x", acting_user=users["faculty"])
    passed = _waiting_chat("qpassed-zqx プリンタが動かない", "cid-q-pas-0001")
    chat_actions.do_accept(users["student"], passed.inquiry.reference)
    chat_actions.do_transfer(users["student"], passed.inquiry.reference, to_faculty=True)
    withheld = chat_actions.do_start(
        "qwithheld-zqx 成績が間違っている気がします", client_id="cid-q-wth-0001", lang="ja"
    )
    assert withheld.message.__class__.objects.get(pk=withheld.message.pk).restricted
    text = "qnochat-zqx プリンタが動かない"
    learning.record_question(text, "ja", engine().ask(text, lang="ja"), channel="chat")
    # All of them handed over (the sensitive one was a topic rule): open on the page.
    BotQuestion.objects.update(decision="handover")
    rows = {
        q.text.split()[0].removeprefix("q").removesuffix("-zqx"): q
        for q in BotQuestion.objects.all()
    }
    assert set(rows) == {"general", "marked", "passed", "withheld", "nochat"}
    return users, rows


def sees_question(role: str, which: str) -> bool:
    return role in ("faculty", "admin") or (role == "student" and which in ("general", "nochat"))


@pytest.mark.parametrize("role", ROLES)
def test_unanswered_questions_show_only_what_the_role_may_see(client, questions, role):
    users, rows = questions
    login(client, users, role)
    response = client.get("/console/kb/unanswered/")
    if role in ("anonymous", "plain"):
        assert response.status_code in (302, 403)
        return
    page = response.content.decode()
    for which in rows:
        assert (f"q{which}-zqx" in page) is sees_question(role, which), which
    for which, question in rows.items():
        teach = client.get(f"/console/kb/unanswered/teach/?group={question.pk}")
        new = client.get(f"/console/kb/new/?from={question.pk}").content.decode()
        if sees_question(role, which):
            assert teach.status_code == 200 and f"q{which}-zqx" in teach.content.decode()
            assert f"q{which}-zqx" in new
        else:
            assert teach.status_code == 302 and f"q{which}-zqx" not in new


def test_a_student_cannot_teach_or_dismiss_questions_they_cannot_see(client, questions):
    from madoguchi.kb.actions import do_save_article
    from madoguchi.kb.demo import demo_article_values
    from madoguchi.kb.models import BotQuestion

    users, rows = questions
    article, _what = do_save_article(demo_article_values()[0])
    hidden = [rows[w].pk for w in ("marked", "passed", "withheld")]
    ids = ",".join(str(i) for i in [*hidden, rows["general"].pk])
    login(client, users, "student")
    client.post(
        "/console/kb/unanswered/teach/",
        {"ids": ids, "phrasing": [*hidden, rows["general"].pk], "article": article.pk},
    )
    article.refresh_from_db()
    assert any("qgeneral-zqx" in q for q in article.alt_questions)
    assert not any("zqx" in q and "qgeneral" not in q for q in article.alt_questions)
    assert BotQuestion.objects.filter(pk__in=hidden, resolved=False).count() == 3
    client.post("/console/kb/unanswered/dismiss/", {"ids": ",".join(map(str, hidden))})
    assert BotQuestion.objects.filter(pk__in=hidden, dismissed=False).count() == 3


# --- search matches only what the user may read ---------------------------------------------


@pytest.fixture
def leftovers(world):
    """A general chat with a message the bot withheld, and a sensitive inquiry handed back
    to student staff after faculty worked on it (note, reply with a file, reason)."""
    from madoguchi.chat import actions as chat_actions

    users, inquiries = world
    turn = chat_actions.do_start("leftover-chat-zqx プリンタ", client_id="cid-left-0001", lang="ja")
    # While the bot answers: it withholds what may be sensitive; then a person takes over.
    chat_actions.do_say(
        turn.conversation,
        "withheld-words-zqx 成績が間違っている気がします",
        client_id="cid-left-0002",
    )
    withheld = turn.conversation.inquiry.messages.get(client_id="cid-left-0002")
    assert withheld.restricted  # the fixture depends on the bot having withheld it
    actions.do_open_for_staff(turn.conversation.inquiry, verb="chat.handed_over")
    chat = turn.conversation
    data = new_inquiry(
        subject="handedback-zqx",
        body="handedback-body-zqx",
        email="handback@example.ac.jp",
        sensitive=True,
        sensitive_part="part-secret-zqx",
        sensitive_reason="reason-secret-zqx",
    )
    inquiry, _ = do_create_inquiry(data, channel="sensitive_form")
    faculty = users["faculty"]
    actions.do_add_note(inquiry, "note-while-sensitive-zqx", acting_user=faculty)
    actions.do_reply(
        inquiry,
        "reply-while-sensitive-zqx",
        acting_user=faculty,
        files=[SimpleUploadedFile("reply.txt", b"reply-file")],
    )
    actions.do_escalate(inquiry, "escalated-while-sensitive-zqx", acting_user=faculty)
    actions.do_requester_reply(inquiry, "requester-while-sensitive-zqx")
    proposal = actions.do_propose_handback(inquiry, "ok?", acting_user=faculty)
    actions.do_decide_handback(proposal, consent=True)
    inquiry.refresh_from_db()
    assert inquiry.lane == Lane.GENERAL
    return users, {"chat": _fresh(chat).inquiry, "handedback": inquiry}


RESTRICTED_WORDS = [
    ("chat", "withheld-words-zqx"),
    ("handedback", "note-while-sensitive-zqx"),
    ("handedback", "reply-while-sensitive-zqx"),
    ("handedback", "escalated-while-sensitive-zqx"),
]


@pytest.mark.parametrize("role", ["student", "faculty", "admin"])
@pytest.mark.parametrize(("which", "words"), RESTRICTED_WORDS)
@pytest.mark.parametrize(
    "route",
    ["/console/?view=all&q={q}", "/console/rows/?view=all&q={q}", "/api/v1/inquiries?q={q}"],
)
def test_search_matches_only_what_the_user_may_read(client, leftovers, role, which, words, route):
    users, inquiries = leftovers
    login(client, users, role)
    response = client.get(route.format(q=words))
    assert response.status_code == 200
    assert (inquiries[which].reference in response.content.decode()) is (role != "student")


@pytest.mark.parametrize("role", ["student", "faculty"])
def test_after_a_hand_back_what_was_written_while_sensitive_stays_with_faculty(
    client, leftovers, role
):
    from madoguchi.inquiries.models import Message

    users, inquiries = leftovers
    inquiry = inquiries["handedback"]
    login(client, users, role)
    response = client.get(f"/console/i/{inquiry.reference}/?lang=en")  # sets the language
    page = response.content.decode()
    fragment = client.get(f"/console/i/{inquiry.reference}/thread/").content.decode()
    first = inquiry.messages.order_by("pk").first()
    items = client.get(f"/console/i/{inquiry.reference}/thread/?after={first.pk}").content.decode()
    api = client.get(f"/api/v1/inquiries/{inquiry.reference}").content.decode()
    # What the requester wrote is visible to the student staff the requester agreed to.
    for text in (page, fragment):
        assert "handedback-body-zqx" in text and "requester-while-sensitive-zqx" in text
    assert "requester-while-sensitive-zqx" in items
    for secret in (
        "note-while-sensitive-zqx",
        "reply-while-sensitive-zqx",
        "escalated-while-sensitive-zqx",
    ):
        for text in (page, fragment, items):
            assert (secret in text) is (role == "faculty"), secret
        assert secret not in api
    for secret in ("part-secret-zqx", "reason-secret-zqx"):
        assert (secret in page) is (role == "faculty"), secret
        assert secret not in api
    hidden = Message.objects.filter(inquiry=inquiry, restricted=True).count()
    assert hidden >= 3
    line = f"Entries visible to faculty staff only: {hidden}"
    if role == "student":
        assert response.context["hidden_count"] == hidden and line in page and line in fragment
    else:
        assert response.context["hidden_count"] == 0 and line not in page
    verbs = {e.verb for e in response.context["audit"]}
    assert ("inquiry.marked_sensitive" in verbs or "inquiry.noted" in verbs) is (role == "faculty")
    reply_file = Attachment.objects.get(inquiry=inquiry, original_name="reply.txt")
    download = client.get(f"/console/files/{reply_file.pk}/")
    assert download.status_code == (200 if role == "faculty" else 404)


def test_a_withheld_chat_message_stays_hidden_with_its_file_line(client, leftovers):
    users, inquiries = leftovers
    login(client, users, "student")
    response = client.get(f"/console/i/{inquiries['chat'].reference}/")
    assert "withheld-words-zqx" not in response.content.decode()
    assert response.context["hidden_count"] == 1


# --- assignment -------------------------------------------------------------------------------


def _assignee(inquiry):
    inquiry.refresh_from_db()
    return inquiry.assignee_id


ASSIGN_CASES = [
    # (who holds it, who acts, action, target, allowed)
    (None, "student", "claim", None, True),
    (None, "student", "assign", "student", True),
    (None, "student", "assign", "student2", False),
    (None, "student", "unassign", None, False),
    ("faculty", "student", "unassign", None, False),
    ("faculty", "student", "claim", None, False),
    ("faculty", "student", "assign", "student", False),
    ("student2", "student", "claim", None, False),
    ("student2", "student", "unassign", None, False),
    ("student2", "student", "assign", "student", False),
    ("student", "student", "assign", "student2", True),
    ("student", "student", "unassign", None, True),
    ("student2", "faculty", "assign", "student", True),
    ("student2", "faculty", "unassign", None, True),
    ("faculty", "admin", "claim", None, True),
    (None, "faculty", "assign", "plain", False),
]


@pytest.mark.parametrize(("holder", "actor", "action", "target", "allowed"), ASSIGN_CASES)
def test_assignment_rules(client, world, holder, actor, action, target, allowed):
    users, inquiries = world
    users["student2"] = make_user("stu2", "student")
    inquiry = inquiries["general"]
    if holder is not None:
        actions.do_assign(inquiry, users[holder], acting_user=users["admin"])
    before = _assignee(inquiry)
    login(client, users, actor)
    data = {"value": str(users[target].pk)} if target else {}
    page = client.get(f"/console/i/{inquiry.reference}/")
    response = client.post(f"/console/i/{inquiry.reference}/do/{action}/", data)
    assert response.status_code == 302  # back to the page, with a message when refused
    expected = {"claim": users[actor].pk, "unassign": None}.get(
        action, users[target].pk if target else None
    )
    assert _assignee(inquiry) == (expected if allowed else before)
    # The page shows only the buttons that work.
    html = page.content.decode()
    button = f"/console/i/{inquiry.reference}/do/{action}/"
    if action == "assign" and target == actor:
        shown = f"/console/i/{inquiry.reference}/do/claim/" in html
    elif action == "assign":
        select = html.split('id="assign-to"', 1)[-1].split("</select>", 1)[0]
        shown = button in html and f'<option value="{users[target].pk}"' in select
    else:
        shown = button in html
    assert shown is allowed


def test_faculty_cannot_assign_a_restricted_inquiry_to_student_staff(world):
    from django.core.exceptions import PermissionDenied

    users, inquiries = world
    with pytest.raises(PermissionDenied):
        actions.do_assign(inquiries["sensitive"], users["student"], acting_user=users["faculty"])


def test_a_question_from_a_chat_later_marked_sensitive_leaves_the_students_page(client, world):
    from madoguchi.chat import actions as chat_actions
    from madoguchi.kb.models import BotQuestion

    users, _ = world
    turn = chat_actions.do_start(
        "latermarked-zqx プリンタが動かない", client_id="cid-lm-0001", lang="ja"
    )
    BotQuestion.objects.update(decision="handover")
    login(client, users, "student")
    assert "latermarked-zqx" in client.get("/console/kb/unanswered/").content.decode()
    actions.do_open_for_staff(turn.conversation.inquiry, verb="chat.handed_over")
    actions.do_mark_sensitive(turn.conversation.inquiry, "x", acting_user=users["faculty"])
    assert "latermarked-zqx" not in client.get("/console/kb/unanswered/").content.decode()
    client.force_login(users["faculty"])
    assert "latermarked-zqx" in client.get("/console/kb/unanswered/").content.decode()


def test_the_bot_figures_count_only_questions_the_role_may_see(client, world):
    from madoguchi.chat import actions as chat_actions

    users, _ = world
    turn = chat_actions.do_start(
        "figures-zqx プリンタが動かない", client_id="cid-fig-0001", lang="ja"
    )
    actions.do_open_for_staff(turn.conversation.inquiry, verb="chat.handed_over")
    login(client, users, "student")
    before = client.get("/console/kb/figures/").context["decisions"]["total"]
    actions.do_mark_sensitive(turn.conversation.inquiry, "x", acting_user=users["faculty"])
    assert client.get("/console/kb/figures/").context["decisions"]["total"] == before - 1
    client.force_login(users["faculty"])
    assert client.get("/console/kb/figures/").context["decisions"]["total"] == before


def test_a_waiting_chat_someone_claimed_is_not_taken_over_by_a_student(world, settings):
    from madoguchi.chat import actions as chat_actions
    from madoguchi.chat import validation as chat_validation
    from madoguchi.chat.models import ChatState

    users, _ = world
    conversation = _waiting_chat("claimed-zqx の件", "cid-claimed-0001")
    actions.do_claim(conversation.inquiry, acting_user=users["faculty"])
    with pytest.raises(chat_validation.ChatError) as refused:
        chat_actions.do_accept(users["student"], conversation.inquiry.reference)
    assert refused.value.code == "taken"
    # Automatic routing skips it instead of failing for every other waiting chat.
    chat_actions.do_set_availability(users["student"], available=True)
    assert chat_actions.do_dispatch() == 0
    conversation = _fresh(conversation)
    assert conversation.state == ChatState.QUEUED
    assert conversation.inquiry.assignee_id == users["faculty"].pk


def test_no_accept_button_on_a_waiting_chat_someone_claimed(client, world):
    users, _ = world
    conversation = _waiting_chat("claimed-button-zqx の件", "cid-claimed-0002")
    login(client, users, "student")
    page = client.get(f"/console/i/{conversation.inquiry.reference}/")
    assert page.context["chat_can_accept"] is True
    actions.do_claim(conversation.inquiry, acting_user=users["faculty"])
    page = client.get(f"/console/i/{conversation.inquiry.reference}/")
    assert page.context["chat_can_accept"] is False


def test_a_student_operator_passes_to_faculty_a_chat_faculty_holds(world):
    from madoguchi.chat import actions as chat_actions
    from madoguchi.inquiries.models import Lane

    users, _ = world
    conversation = _waiting_chat("held-zqx の件", "cid-held-0001")
    chat_actions.do_accept(users["student"], conversation.inquiry.reference)
    inquiry = _fresh(conversation).inquiry
    actions.do_assign(inquiry, users["faculty"], acting_user=users["faculty"])
    chat_actions.do_transfer(users["student"], inquiry.reference, to_faculty=True)
    inquiry.refresh_from_db()
    assert inquiry.lane == Lane.FACULTY and inquiry.assignee_id == users["faculty"].pk


# --- online calls -----------------------------------------------------------------------------


def _calls_on_every_lane(world):
    """A live call on each lane's inquiry, joined with a connection code from faculty."""
    from madoguchi.calls import actions as call_actions
    from madoguchi.calls import queries as call_queries
    from madoguchi.core.clock import frozen

    users, inquiries = world
    calls = {}
    with frozen(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)):
        for lane, inquiry in inquiries.items():
            _invitation, code = call_actions.do_create_invitation(
                users["faculty"], inquiry.reference
            )
            calls[lane] = call_actions.do_join_by_code(
                code,
                lang="ja",
                terms_version=call_queries.current_terms().version,
                address=f"192.0.2.{len(calls) + 1}",
            ).call
    return calls


CALL_GET_ROUTES = ["/console/calls/{ref}/"]
CALL_POST_ROUTES = [
    "/console/calls/{ref}/do/admit/",
    "/console/calls/{ref}/do/share/",
    "/console/calls/{ref}/do/screenshot/",
    "/console/calls/{ref}/do/say/",
    "/console/calls/{ref}/do/mail/",
    "/console/calls/{ref}/do/end/",
    "/console/calls/{ref}/do/invite/",
    "/console/calls/{ref}/do/offer/",
    "/console/calls/{ref}/do/transfer/",
    "/console/calls/{ref}/do/note/",
    "/console/calls/{ref}/screenshot/",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("lane", LANES)
def test_call_routes(client, world, role, lane):
    from madoguchi.calls.models import Call, CallInvitation

    users, inquiries = world
    _calls_on_every_lane(world)
    reference = inquiries[lane].reference
    login(client, users, role)
    for route in CALL_GET_ROUTES:
        response = client.get(route.format(ref=reference))
        if sees(role, lane):
            assert response.status_code == 200
        else:
            expect_denied(role, response)
    before = list(Call.objects.values_list("pk", "state", "share"))
    codes = CallInvitation.objects.count()
    for route in CALL_POST_ROUTES:
        response = client.post(
            route.format(ref=reference), {"token": "x" * 20}, HTTP_X_REQUESTED_WITH="fetch"
        )
        if not sees(role, lane):
            expect_denied(role, response)
        else:  # may see it, but is not the call's operator (faculty gave the code)
            assert response.status_code in (200, 400, 403, 409), (route, response.status_code)
    after = list(Call.objects.values_list("pk", "state", "share"))
    if not sees(role, lane) or role == "student":
        assert after == before  # nothing changed for those who are not the call's operator
    if not sees(role, lane):
        assert CallInvitation.objects.count() == codes  # no code for an unseen inquiry
    queue = client.get("/console/calls/queue/")
    if role in ("anonymous", "plain"):
        expect_denied(role, queue)


@realtime
@pytest.mark.parametrize("role", ["student", "faculty", "admin"])
def test_call_signalling_reaches_only_the_calls_operator(world, role):
    """A staff member who is not a call's operator cannot join its signalling, whatever
    the lane; the operator (faculty, who gave the codes) can."""
    import json as _json

    from madoguchi.calls.consumers import OperatorCallConsumer

    users, inquiries = world
    _calls_on_every_lane(world)

    async def join(user, reference):
        ws = WebsocketCommunicator(OperatorCallConsumer.as_asgi(), "/ws/call/op/")
        ws.scope["user"] = user
        connected, _ = await ws.connect()
        assert connected
        await ws.send_to(text_data=_json.dumps({"t": "join", "inquiry": reference}))
        reply = _json.loads(await ws.receive_from(timeout=5))
        await ws.disconnect()
        return reply["t"]

    for lane, inquiry in inquiries.items():
        got = async_to_sync(join)(users[role], inquiry.reference)
        assert got == ("joined" if role == "faculty" else "error"), (role, lane)


@realtime
@pytest.mark.parametrize("role", ["student", "faculty", "admin"])
@pytest.mark.parametrize("topic", ["Zoom の画面共有ができません", "成績の確認画面が開きません"])
def test_call_events_reach_only_who_may_see_the_call(world, role, topic):
    """A call entering the waiting room tells the console sockets of those who may admit
    it that the call queue moved; a faculty-only call (a sensitive topic) tells no student,
    and no console socket ever gets a call's signalling or consent token."""
    from madoguchi.calls import actions as call_actions
    from madoguchi.calls import queries as call_queries
    from madoguchi.chat.models import OperatorStatus
    from madoguchi.core.clock import frozen

    users, _inquiries = world
    OperatorStatus.objects.create(user=users["faculty"], available=True)
    OperatorStatus.objects.create(user=users["student"], available=True)  # admin is not

    def enter():
        with frozen(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)):
            call_actions.do_start(
                topic, lang="ja", terms_version=call_queries.current_terms().version
            )

    events = async_to_sync(_events_for)(users[role], enter)
    kinds = [e.get("kind") for e in events]
    restricted = topic.startswith("成績")
    if role == "student" and restricted:
        assert "call.queue" not in kinds and not any("inquiry" in e for e in events)
    else:
        assert "call.queue" in kinds
    # The notice of a waiting call (with its reference): for those on duty who may see it.
    notified = [e for e in events if e.get("kind") == "call.waiting"]
    if role == "admin" or (role == "student" and restricted):
        assert notified == []
    else:
        assert len(notified) == 1 and notified[0]["inquiry"].startswith("Q-")
    assert not any(k in ("call.screenshot", "call.signal", "call.message") for k in kinds)
    assert not any("token" in e for e in events)


@realtime
def test_a_call_passed_to_a_colleague_is_noticed_by_them_alone(world):
    from madoguchi.calls import actions as call_actions
    from madoguchi.calls import queries as call_queries
    from madoguchi.chat.models import OperatorStatus
    from madoguchi.core.clock import frozen

    users, _inquiries = world
    colleague, bystander = make_user("colleague", "student"), make_user("bystander", "student")
    OperatorStatus.objects.create(user=users["student"], available=True)
    OperatorStatus.objects.create(user=bystander, available=True)  # on duty, not chosen
    at = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    with frozen(at):
        started = call_actions.do_start(
            "Zoom の音が出ません", lang="ja", terms_version=call_queries.current_terms().version
        )
        reference = started.call.inquiry.reference
        call_actions.do_admit(users["student"], reference)

    def pass_to(giver, taker):
        def run():
            with frozen(at):
                call_actions.do_transfer(giver, reference, to_user=taker)

        return run

    def notices(events):
        return [e.get("for_you") for e in events if e.get("kind") == "call.waiting"]

    # The colleague it is passed to is told, though not on duty ...
    assert notices(async_to_sync(_events_for)(colleague, pass_to(users["student"], colleague))) == [
        True
    ]
    with frozen(at):
        call_actions.do_admit(colleague, reference)
    # ... and nobody else, on duty or not.
    passed_back = pass_to(colleague, users["student"])
    assert notices(async_to_sync(_events_for)(bystander, passed_back)) == []


# --- a signed-in requester ------------------------------------------------------------------


@pytest.mark.parametrize("lane", LANES)
def test_a_signed_in_requester_is_no_staff_even_for_their_own_inquiry(client, world, lane):
    """Requester sign-in (accounts.requester) proves an address; it opens no staff route,
    not even for the inquiries of that address."""
    from madoguchi.accounts import requester

    users, inquiries = world
    _calls_on_every_lane(world)
    inquiry = inquiries[lane]
    session = client.session
    session[requester.SESSION_KEY] = {
        "email": inquiry.requester_email,
        "via": "code",
        "signed_in_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    session.save()
    assert requester.current(client.session) is not None
    for route in DETAIL_ROUTES + CALL_GET_ROUTES:
        expect_denied("anonymous", client.get(route.format(ref=inquiry.reference)))
    for route in LIST_ROUTES:
        expect_denied("anonymous", client.get(route.format(view="all")))
    for route in CALL_POST_ROUTES:
        response = client.post(route.format(ref=inquiry.reference), {"token": "x" * 20})
        assert response.status_code in (302, 401, 403), (route, response.status_code)
    attachment = Attachment.objects.filter(inquiry=inquiry).first()
    assert attachment is not None
    expect_denied("anonymous", client.get(f"/console/files/{attachment.pk}/"))
    # The sign-in page itself shows the requester only their own address, and "my
    # inquiries" only their own inquiries, whatever the lane.
    page = client.get("/signin/")
    assert page.status_code == 200 and inquiry.requester_email in page.content.decode()
    mine = client.get("/my/").content.decode()
    assert inquiry.reference in mine
    for other in inquiries.values():
        if other.requester_email != inquiry.requester_email:
            assert other.reference not in mine and other.subject not in mine


@pytest.mark.parametrize("role", ROLES)
def test_my_inquiries_is_for_signed_in_requesters_only(client, world, role):
    """Staff sign-in is not a requester's: /my/ sends everyone without a requester
    identity to sign in as a requester, and lists nothing."""
    users, inquiries = world
    login(client, users, role)
    response = client.get("/my/")
    assert response.status_code == 302 and "/signin/" in response["Location"]


# --- single sign-on (sso) -------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_sso_routes(client, world, role, settings):
    users, _ = world
    login(client, users, role)
    settings.OIDC_DISCOVERY_URL = settings.OIDC_CLIENT_ID = ""
    assert client.get("/sso/oidc/login/?as=staff").status_code == 404  # not configured
    assert client.get("/sso/oidc/callback/?state=x&code=y").status_code == 404
    # A provider that does not answer (the discard port): a page, for whoever asks.
    settings.OIDC_DISCOVERY_URL = "http://127.0.0.1:9/.well-known/openid-configuration"
    settings.OIDC_CLIENT_ID = "desk"
    settings.OIDC_HTTP_TIMEOUT_SECONDS = 2
    assert client.get("/sso/oidc/login/?as=staff").status_code == 502
    # Without a sign-in of its own in the session, a callback signs nobody in.
    response = client.get("/sso/oidc/callback/?state=x&code=y")
    assert response.status_code == 400
    assert response.wsgi_request.user.is_authenticated == (role != "anonymous")
    for url in ("/admin/sso/externalidentity/", "/admin/sso/externalidentity/settings/"):
        response = client.get(url)
        if role == "admin":
            assert response.status_code == 200
        else:
            assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get("/accounts/logout/").status_code == 405  # sign-out is a POST
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", ROLES)
def test_saml_routes(client, world, role, settings, tmp_path):
    from tests.integration.conftest import make_key_pair

    users, _ = world
    login(client, users, role)
    settings.SAML_IDP_ENTITY_ID = settings.SAML_IDP_METADATA_URL = ""
    settings.SAML_IDP_METADATA_FILE = settings.SAML_SP_KEY_FILE = settings.SAML_SP_CERT_FILE = ""
    assert client.get("/sso/saml/metadata/").status_code == 404  # not configured
    assert client.get("/sso/saml/login/?as=staff").status_code == 404
    assert client.post("/sso/saml/acs/", {"SAMLResponse": "x"}).status_code == 404
    # The SP metadata is public once the key pair is set (the federation registers it).
    settings.SAML_SP_KEY_FILE, settings.SAML_SP_CERT_FILE = make_key_pair(tmp_path, "desk")
    response = client.get("/sso/saml/metadata/")
    assert response.status_code == 200 and b"EntityDescriptor" in response.content
    # An IdP whose metadata cannot be fetched (the discard port): a page, for whoever asks.
    settings.SAML_IDP_ENTITY_ID = "https://idp.example.ac.jp/idp/shibboleth"
    settings.SAML_IDP_METADATA_URL = "http://127.0.0.1:9/metadata.xml"
    settings.SAML_IDP_CERT_FILE = settings.SAML_SP_CERT_FILE
    settings.SAML_HTTP_TIMEOUT_SECONDS = 2
    assert client.get("/sso/saml/login/?as=staff").status_code == 502
    # Without a sign-in of its own in the session, the ACS signs nobody in.
    response = client.post("/sso/saml/acs/", {"SAMLResponse": "PHg+", "RelayState": "x"})
    assert response.status_code in (200, 400)  # 200: the page that posts it again
    assert response.wsgi_request.user.is_authenticated == (role != "anonymous")
    assert client.get("/sso/saml/acs/").status_code == 405


@pytest.mark.parametrize("tier", ["student", "faculty", ""])
@pytest.mark.parametrize("lane", LANES)
def test_users_made_by_a_sign_in_see_what_their_tier_sees(client, world, tier, lane):
    """Identity never widens access: an account the identity provider made is a role like
    any other (no mapped group: no console at all)."""
    from madoguchi.sso.actions import do_staff_sign_in
    from madoguchi.sso.claims import Person

    person = Person(
        issuer="https://idp.example.ac.jp",
        key=f"key-{tier}",
        email=f"idp-{tier or 'none'}@example.ac.jp",
        name="IdP",
        member_category="",
        groups=(f"g-{tier}",) if tier else ("g-unmapped",),
    )
    result = do_staff_sign_in(person, staff_groups={"g-student": "student", "g-faculty": "faculty"})
    assert result.allowed == bool(tier)
    client.force_login(result.user)
    role = tier or "plain"
    _, inquiries = world
    for route in DETAIL_ROUTES:
        response = client.get(route.format(ref=inquiries[lane].reference))
        if sees(role, lane):
            assert response.status_code == 200
        else:
            expect_denied(role, response)


# --- staff sign-in (staffauth/): the second step, two-factor, password reset -------------------
# These pages show only the viewer's own sign-in (no object is named in a URL), so the
# matrix checks who reaches them at all; the admin's list of enrolments is for administrators.

SIGNIN_PUBLIC_ROUTES = [
    "/accounts/password/reset/",
    "/accounts/password/reset/sent/",
    "/accounts/password/reset/done/",
    "/accounts/password/reset/MQ/bad-token/",
]
SIGNIN_OWN_ROUTES = ["/accounts/two-factor/", "/accounts/two-factor/enrol/"]


@pytest.mark.parametrize("role", ROLES)
def test_staff_sign_in_routes(client, world, role):
    from madoguchi.staffauth.models import TOTPDevice

    users, _ = world
    login(client, users, role)
    for route in SIGNIN_PUBLIC_ROUTES:
        response = client.get(route)
        assert response.status_code == 200, route
        if "bad-token" in route:
            assert response.context["validlink"] is False
    # No password step pending: the code step sends anyone to the start.
    response = client.get("/accounts/login/code/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.post("/accounts/login/code/", {"code": "123456"}).status_code == 302
    for route in SIGNIN_OWN_ROUTES:
        response = client.get(route)
        if role == "anonymous":
            expect_denied(role, response)
        else:
            assert response.status_code == 200, route
    device = TOTPDevice.objects.create(
        user=users["faculty"],
        sealed_secret="v1:x",
        confirmed_at=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
    )
    listing = client.get("/admin/staffauth/totpdevice/")
    reset = client.post(
        "/admin/staffauth/totpdevice/",
        {"action": "reset_two_factor", "_selected_action": [str(device.pk)]},
    )
    if role == "admin":
        assert listing.status_code == 200
        assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    else:
        for response in (listing, reset):
            assert response.status_code == 302 and "/admin/login/" in response["Location"]
        assert TOTPDevice.objects.filter(pk=device.pk).exists()


# --- statistics releases (stats/, issue 15) ---------------------------------------------------
# Building, previewing and publishing are for faculty staff and administrators (student
# staff: 404, as for anything restricted); a published release is public, a draft is not.

STATS_CONSOLE_GET = ["/console/statistics/", "/console/statistics/{draft}/"]
STATS_PUBLIC = [
    "/statistics/",
    "/statistics/{published}/",
    "/statistics/{published}/csv/",
    "/statistics/{published}/json/",
]
STATS_DRAFT_PUBLIC = [
    "/statistics/{draft}/",
    "/statistics/{draft}/csv/",
    "/statistics/{draft}/json/",
]


@pytest.fixture
def releases(world):
    from madoguchi.stats import actions as stats_actions

    users, _ = world

    def release():
        return stats_actions.do_create_release(
            dt.date(2026, 1, 1), dt.date(2026, 12, 31), ["channel"], acting_user=users["faculty"]
        )

    published = release()
    stats_actions.do_publish_release(published, acting_user=users["admin"])
    return {"draft": release().pk, "published": published.pk}


@pytest.mark.parametrize("role", ROLES)
def test_statistics_routes(client, world, releases, role):
    from madoguchi.stats.models import StatisticsRelease

    users, _ = world
    login(client, users, role)
    allowed = role in ("faculty", "admin")
    for route in STATS_CONSOLE_GET:
        response = client.get(route.format(**releases))
        if allowed:
            assert response.status_code == 200, route
        else:
            expect_denied(role, response)
    # The published release's console page shows its frozen table to who may build one.
    response = client.get(f"/console/statistics/{releases['published']}/")
    if allowed:
        assert response.status_code == 200 and response.context["release"].published_at
    else:
        expect_denied(role, response)
    form = {"period_from": "2026-01-01", "period_to": "2026-01-31", "rows": "lang"}
    before = StatisticsRelease.objects.count()
    response = client.post("/console/statistics/", form)
    if allowed:
        assert response.status_code == 302
        assert StatisticsRelease.objects.count() == before + 1
    else:
        expect_denied(role, response)
        assert StatisticsRelease.objects.count() == before
    response = client.post(f"/console/statistics/{releases['draft']}/publish/")
    draft = StatisticsRelease.objects.get(pk=releases["draft"])
    if allowed:
        assert response.status_code == 302 and draft.published_at is not None
    else:
        expect_denied(role, response)
        assert draft.published_at is None
        # Anyone may read what is published, and nobody a draft.
        for route in STATS_DRAFT_PUBLIC:
            assert client.get(route.format(**releases)).status_code == 404, route
    for route in STATS_PUBLIC:
        response = client.get(route.format(**releases))
        assert response.status_code == 200, route
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode("utf-8-sig")
        assert "-zqx" not in body and "example.ac.jp" not in body


def test_statistics_drafts_are_public_to_nobody(client, world, releases):
    users, _ = world
    for role in ROLES:
        client.logout()
        login(client, users, role)
        for route in STATS_DRAFT_PUBLIC:
            assert client.get(route.format(**releases)).status_code == 404, (role, route)


# --- case studies (issue 15) -------------------------------------------------------------------
# Faculty staff and administrators only, in every lane; student staff get 404 everywhere.


@pytest.fixture
def cases(world):
    """In each lane a solved inquiry with a draft case study and an approved one."""
    from madoguchi.cases import actions as case_actions

    users, inquiries = world
    out = {}
    for lane, inquiry in inquiries.items():
        actions.do_change_status(inquiry, "solved", acting_user=users["faculty"])
        inquiry.refresh_from_db()
        draft = case_actions.do_start_case_study(inquiry, acting_user=users["faculty"])
        approved = case_actions.do_start_case_study(inquiry, acting_user=users["faculty"])
        case_actions.do_approve_case_study(
            approved, title=f"case-{lane}-zqx", text=approved.text, acting_user=users["faculty"]
        )
        out[lane] = (inquiry, draft, approved)
    return out


CASE_ROUTES = [
    ("get", "/console/cases/", None),
    ("post", "/console/cases/start/{ref}/", {}),
    ("get", "/console/cases/{draft}/", None),
    ("post", "/console/cases/{draft}/", {"do": "save", "text": "changed-zqx"}),
    ("get", "/console/cases/{approved}/", None),
    ("get", "/console/cases/{approved}/export.txt", None),
    ("get", "/console/cases/{approved}/export.md", None),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("lane", LANES)
@pytest.mark.parametrize(("method", "route", "data"), CASE_ROUTES)
def test_case_study_routes(client, world, cases, role, lane, method, route, data):
    from madoguchi.cases.models import CaseStudy

    users, _ = world
    inquiry, draft, approved = cases[lane]
    login(client, users, role)
    before = CaseStudy.objects.count()
    url = route.format(ref=inquiry.reference, draft=draft.pk, approved=approved.pk)
    response = client.post(url, data) if method == "post" else client.get(url)
    draft.refresh_from_db()
    if role in ("faculty", "admin"):
        assert response.status_code in (200, 302), (url, response.status_code)
        if route == "/console/cases/":
            body = response.content.decode()
            for other in cases:
                assert f"case-{other}-zqx" in body
        if "export" in route:
            assert response["Content-Disposition"].startswith("attachment")
            assert response["X-Content-Type-Options"] == "nosniff"
    else:
        expect_denied(role, response)
        assert CaseStudy.objects.count() == before
        assert draft.text != "changed-zqx"
        if role == "student" and route == "/console/cases/":
            assert all(f"case-{lane}-zqx" not in response.content.decode() for lane in cases)
