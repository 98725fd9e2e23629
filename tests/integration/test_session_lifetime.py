"""Idle and absolute lifetimes of signed-in sessions (staffauth.lifetime), over HTTP and at a
WebSocket's connect."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator

from madoguchi.core.clock import frozen

from .conftest import make_user

PASSWORD = "correct horse battery"
T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return make_user("student1", "student")


def at(minutes: float):
    return frozen(T0 + dt.timedelta(minutes=minutes))


def sign_in(client):
    response = client.post(
        "/accounts/login/",
        {"username": "student1", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.4",
    )
    assert response.status_code == 302


def test_the_session_ends_after_the_idle_time(client, staff, settings):
    settings.SESSION_IDLE_MINUTES = 120
    with at(0):
        sign_in(client)
    with at(119):
        assert client.get("/console/").status_code == 200  # activity
    with at(119 + 119):
        assert client.get("/console/").status_code == 200
    with at(119 + 119 + 121):
        response = client.get("/console/?view=mine", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=/console/%3Fview%3Dmine"
        assert "_auth_user_id" not in client.session
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
        assert b"You were signed out after a time without activity." in page.content
        sign_in(client)  # and signing in again works
        assert client.get("/console/").status_code == 200


def test_background_refreshes_are_not_activity(client, staff, settings):
    settings.SESSION_IDLE_MINUTES = 120
    with at(0):
        sign_in(client)
    for minute in range(10, 120, 10):
        with at(minute):
            fetched = client.get("/console/rows/?view=open", HTTP_X_REQUESTED_WITH="fetch")
            assert fetched.status_code == 200
    with at(121):
        # A background fetch after the end is anonymous (the view answers as to anyone
        # signed out), and the next page load goes to sign in.
        fetched = client.get("/console/rows/?view=open", HTTP_X_REQUESTED_WITH="fetch")
        assert fetched.status_code == 302
        assert "_auth_user_id" not in client.session


def test_the_session_ends_after_the_absolute_time_whatever_the_activity(client, staff, settings):
    settings.SESSION_MAX_HOURS = 12
    settings.SESSION_IDLE_MINUTES = 120
    with at(0):
        sign_in(client)
    for hour in range(1, 12):
        with at(hour * 60):
            assert client.get("/console/").status_code == 200
    with at(12 * 60):
        response = client.get("/console/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
        assert b"Your sign-in has expired. Please sign in again." in page.content


def test_a_post_after_the_end_is_not_carried_out(client, staff, settings):
    from madoguchi.inquiries.actions import do_create_inquiry

    from .conftest import new_inquiry

    settings.SESSION_IDLE_MINUTES = 30
    inquiry, _ = do_create_inquiry(new_inquiry(), channel="form")
    with at(0):
        sign_in(client)
    with at(31):
        response = client.post(f"/console/i/{inquiry.reference}/do/note/", {"body": "late"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not inquiry.messages.filter(body="late").exists()


def test_zero_means_no_limit(client, staff, settings):
    settings.SESSION_IDLE_MINUTES = 0
    settings.SESSION_MAX_HOURS = 0
    with at(0):
        sign_in(client)
    with at(60 * 24 * 30):
        assert client.get("/console/").status_code == 200


def test_a_signed_in_session_without_the_stamps_is_ended(client, staff):
    with at(0):
        sign_in(client)
        session = client.session
        for key in ("madoguchi_signed_in_at", "madoguchi_seen_at"):
            del session[key]
        session.save()
        assert client.get("/console/").status_code == 302


def test_requester_pages_are_not_affected(client, db, settings):
    settings.SESSION_IDLE_MINUTES = 1
    with at(0):
        assert client.get("/").status_code == 200
    with at(60):
        assert client.get("/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_socket_of_an_ended_session_is_refused_at_connect(client, settings):
    from madoguchi.asgi import application

    settings.SESSION_IDLE_MINUTES = 120
    make_user("student1", "student")
    with at(0):
        sign_in(client)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def connects() -> bool:
        communicator = WebsocketCommunicator(
            application,
            "/ws/console/",
            headers=[
                (b"cookie", cookie),
                (b"origin", b"http://localhost"),
                (b"host", b"localhost"),
            ],
        )
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    with at(60):
        assert async_to_sync(connects)() is True
    with at(121):  # a reconnecting socket is not activity either
        assert async_to_sync(connects)() is False
