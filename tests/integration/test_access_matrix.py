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
]


@pytest.mark.parametrize(
    ("role", "lane"), [(r, lane) for r in ROLES for lane in LANES if not sees(r, lane)]
)
def test_actions_on_hidden_inquiries_are_denied(client, world, role, lane):
    users, inquiries = world
    login(client, users, role)
    inquiry = inquiries[lane]
    before = (inquiry.messages.count(), inquiry.status, inquiry.priority)
    for action, data in ACTIONS:
        response = client.post(f"/console/i/{inquiry.reference}/do/{action}/", data)
        expect_denied(role, response)
    inquiry.refresh_from_db()
    assert (inquiry.messages.count(), inquiry.status, inquiry.priority) == before


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


async def _events_for(user, trigger) -> list[dict]:
    communicator = WebsocketCommunicator(ConsoleConsumer.as_asgi(), "/ws/console/")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    if not connected:
        return [{"closed": code}]
    hello = await communicator.receive_json_from()
    assert hello == {"kind": "hello"}
    from channels.db import database_sync_to_async

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


# --- live chat -------------------------------------------------------------------------------


@pytest.fixture
def chats(world):
    """A waiting chat in each lane (the restricted ones were marked after the hand-over)."""
    from madoguchi.chat import service
    from madoguchi.chat.models import ChatState, Conversation
    from madoguchi.core.clock import frozen

    users, _ = world
    out = {}
    with frozen(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)):
        for lane in ("general", "sensitive", "triage"):
            turn = service.start(
                f"chat-{lane}-zqx のことで困っています", client_id=f"cid-matrix-{lane}", lang="ja"
            )
            conversation = turn.conversation
            actions.do_chat_handover(conversation.inquiry)
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
