"""Staff actions: each one writes, audits, mails through the outbox and publishes after commit."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied

from madoguchi.core.events import GROUP_FACULTY_STAFF, GROUP_STUDENT_STAFF
from madoguchi.inquiries import access, actions
from madoguchi.inquiries.models import HandbackStatus, Lane, MessageKind, Status
from madoguchi.privacy.models import AuditEvent
from tests.integration.conftest import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def capture(groups, action) -> dict[str, list[dict]]:
    """Subscribe to ``groups`` as a console WebSocket would, run ``action``, and return
    the events each group received (one event loop throughout, as the Redis layer wants)."""
    import asyncio

    from asgiref.sync import sync_to_async

    async def run():
        layer = get_channel_layer()
        channels = {}
        for group in groups:
            channels[group] = await layer.new_channel()
            await layer.group_add(group, channels[group])
        await sync_to_async(action)()
        out = {}
        for group, channel in channels.items():
            out[group] = []
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=0.3)
                except TimeoutError:
                    break
                out[group].append(message["event"])
            await layer.group_discard(group, channel)
        return out

    return async_to_sync(run)()


def kinds(events):
    return [e["kind"] for e in events]


GROUPS = (GROUP_STUDENT_STAFF, GROUP_FACULTY_STAFF)


def test_reply_mails_the_requester_threaded(create, student, smtp_settings):
    inquiry = create()
    run_tasks()
    [confirmation] = smtp_settings.wait_for(1)
    actions.do_claim(inquiry, acting_user=student)
    actions.do_reply(inquiry, "パスワードは再設定できます。", acting_user=student)
    run_tasks()
    mails = smtp_settings.wait_for(2)
    reply = mails[1]
    assert reply["In-Reply-To"] == confirmation["Message-ID"]
    assert confirmation["Message-ID"] in reply["References"]
    assert f"[{inquiry.reference}]" in reply["Subject"]
    assert "パスワードは再設定できます。" in reply.get_content()
    inquiry.refresh_from_db()
    assert inquiry.status == Status.PENDING and inquiry.first_response_at is not None
    assert inquiry.assignee == student
    verbs = list(
        AuditEvent.objects.filter(inquiry=inquiry)
        .order_by("at", "id")
        .values_list("verb", flat=True)
    )
    assert verbs == ["inquiry.created", "inquiry.assigned", "inquiry.replied"]


def test_internal_note_is_never_mailed_nor_shown_to_the_requester(
    create, student, smtp_settings, client
):
    inquiry = create()
    actions.do_add_note(inquiry, "内部メモ: 本人確認済み", acting_user=student)
    run_tasks()
    mails = smtp_settings.wait_for(2, timeout=1)
    assert len(mails) == 1  # the confirmation only
    assert "内部メモ" not in mails[0].get_content()
    page = client.get(access.requester_url(inquiry).removeprefix("http://testserver"))
    assert "内部メモ" not in page.content.decode()
    assert inquiry.messages.filter(kind=MessageKind.NOTE).count() == 1


def test_events_are_published_after_commit_to_the_right_audience(create, student, faculty):
    box = {}
    got = capture(GROUPS, lambda: box.setdefault("inquiry", create()))
    inquiry = box["inquiry"]
    assert kinds(got[GROUP_STUDENT_STAFF]) == ["inquiry.created"]
    assert kinds(got[GROUP_FACULTY_STAFF]) == ["inquiry.created"]
    assert got[GROUP_STUDENT_STAFF][0]["inquiry"] == inquiry.reference

    got = capture(GROUPS, lambda: actions.do_reply(inquiry, "hello", acting_user=student))
    assert kinds(got[GROUP_STUDENT_STAFF]) == ["message.created"]

    got = capture(GROUPS, lambda: actions.do_mark_sensitive(inquiry, "grades", acting_user=faculty))
    assert kinds(got[GROUP_STUDENT_STAFF]) == ["inquiry.revoked"]
    assert kinds(got[GROUP_FACULTY_STAFF]) == ["inquiry.updated"]

    got = capture(GROUPS, lambda: actions.do_add_note(inquiry, "secret note", acting_user=faculty))
    assert got[GROUP_STUDENT_STAFF] == []
    assert got[GROUP_FACULTY_STAFF][0]["inquiry"] == inquiry.reference


def test_sensitive_inquiry_created_is_announced_to_faculty_only(create):
    got = capture(
        GROUPS, lambda: create(sensitive=True, sensitive_part="grades", sensitive_reason="coi")
    )
    assert got[GROUP_STUDENT_STAFF] == []
    assert kinds(got[GROUP_FACULTY_STAFF]) == ["inquiry.created"]


def test_no_event_when_the_transaction_rolls_back(create, student):
    from django.db import transaction

    inquiry = create()

    def rolled_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            actions.do_add_note(inquiry, "rolled back", acting_user=student)
            raise RuntimeError

    got = capture(GROUPS, rolled_back)
    assert got == {GROUP_STUDENT_STAFF: [], GROUP_FACULTY_STAFF: []}
    assert not inquiry.messages.filter(body="rolled back").exists()


def test_student_cannot_act_on_sensitive_or_mark_sensitive(create, student, faculty):
    general = create()
    with pytest.raises(PermissionDenied):
        actions.do_mark_sensitive(general, "x", acting_user=student)
    sensitive = create(subject="s", sensitive=True, sensitive_part="p", sensitive_reason="r")
    for call in (
        lambda: actions.do_reply(sensitive, "x", acting_user=student),
        lambda: actions.do_add_note(sensitive, "x", acting_user=student),
        lambda: actions.do_claim(sensitive, acting_user=student),
        lambda: actions.do_propose_handback(sensitive, "x", acting_user=student),
    ):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(PermissionDenied):
        actions.do_assign(sensitive, student, acting_user=faculty)  # a student cannot be assigned


def test_student_may_only_assign_to_self(create, student, student2):
    inquiry = create()
    with pytest.raises(PermissionDenied):
        actions.do_assign(inquiry, student2, acting_user=student)
    actions.do_assign(inquiry, student, acting_user=student)


def test_marking_sensitive_drops_a_student_assignee(create, student, faculty):
    inquiry = create()
    actions.do_claim(inquiry, acting_user=student)
    actions.do_mark_sensitive(inquiry, "grades", acting_user=faculty)
    inquiry.refresh_from_db()
    assert inquiry.lane == Lane.SENSITIVE and inquiry.assignee is None


def test_handback_only_with_consent(create, faculty, student, smtp_settings, client):
    inquiry = create(sensitive=True, sensitive_part="p", sensitive_reason="r")
    proposal = actions.do_propose_handback(
        inquiry, "学生スタッフで対応できる内容です。", acting_user=faculty
    )
    run_tasks()
    mails = smtp_settings.wait_for(2)
    consent_mail = mails[-1]
    assert inquiry.reference in consent_mail["Subject"]
    assert f"/consent/{proposal.token}/" in consent_mail.get_content()
    assert not access.can_see(student, inquiry)

    # Declining keeps it faculty-only; the decision is final for that proposal.
    client.post(f"/consent/{proposal.token}/", {"decision": "decline"})
    inquiry.refresh_from_db()
    assert inquiry.lane == Lane.SENSITIVE
    proposal.refresh_from_db()
    assert proposal.status == HandbackStatus.DECLINED
    client.post(f"/consent/{proposal.token}/", {"decision": "consent"})
    inquiry.refresh_from_db()
    assert inquiry.lane == Lane.SENSITIVE

    second = actions.do_propose_handback(inquiry, "", acting_user=faculty)
    page = client.get(f"/consent/{second.token}/")
    assert page.status_code == 200
    client.post(f"/consent/{second.token}/", {"decision": "consent"})
    inquiry.refresh_from_db()
    assert inquiry.lane == Lane.GENERAL
    assert access.can_see(student, inquiry)
    verbs = set(AuditEvent.objects.filter(inquiry=inquiry).values_list("verb", flat=True))
    assert {"handback.proposed", "handback.declined", "handback.consented"} <= verbs


def test_requester_reply_reopens(create, student, client):
    inquiry = create()
    actions.do_reply(inquiry, "answer", acting_user=student)
    path = access.requester_url(inquiry).removeprefix("http://testserver")
    response = client.post(path, {"body": "まだ入れません"})
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN
    assert inquiry.messages.filter(kind=MessageKind.REQUESTER).count() == 2


def test_requester_link_is_signed(create, client):
    inquiry = create()
    path = access.requester_url(inquiry).removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    assert client.get(path[:-3] + "xx/").status_code == 404
    inquiry.link_version += 1
    inquiry.save(update_fields=["link_version"])
    assert client.get(path).status_code == 404


def test_viewing_a_sensitive_inquiry_is_audited(create, faculty, client):
    inquiry = create(sensitive=True, sensitive_part="p", sensitive_reason="r")
    client.force_login(faculty)
    assert client.get(f"/console/i/{inquiry.reference}/").status_code == 200
    assert (
        AuditEvent.objects.filter(verb="inquiry.viewed", inquiry=inquiry, actor=faculty).count()
        == 1
    )


def test_the_reply_editor_shows_exactly_what_the_mail_puts_around_the_text(create, student, client):
    import html
    import re

    from madoguchi.inquiries import access
    from madoguchi.mail.models import OutboundMail

    inquiry = create()
    client.force_login(student)
    page = client.get(f"/console/i/{inquiry.reference}/").content.decode()
    before, after = (
        html.unescape(x)
        for x in re.findall(r'<pre class="mail-frame"[^>]*>(.*?)</pre>', page, re.S)
    )
    assert inquiry.requester_name in before  # the salutation is visible while writing
    actions.do_reply(inquiry, "本文です。", acting_user=student)
    sent = OutboundMail.objects.filter(inquiry=inquiry, kind="reply").get()
    link = re.escape(access.requester_url(inquiry).rsplit("/", 2)[0])  # the thread link's base
    assert re.sub(link + r"/\S+", "https://…", sent.body) == before + "本文です。" + after
