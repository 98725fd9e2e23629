"""The access migrations carry existing data over on the safe side (issue 10): the chat
flag ``meta.withheld`` becomes ``Message.restricted``, a chat passed to faculty moves to the
faculty lane, and what staff wrote in inquiries restricted at upgrade time stays restricted."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("inquiries", "0006_chat_messages"),
    ("chat", "0001_initial"),
    ("privacy", "0001_initial"),
    ("kb", "0004_seed_bot_rules"),
]
AFTER = [
    ("inquiries", "0007_restricted_entries_and_faculty_lane"),
    ("chat", "0002_faculty_only_from_lane"),
    ("privacy", "0002_audit_event_restricted"),
    ("kb", "0005_bot_question_message"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_data_is_carried_over_restricted():
    from madoguchi.chat.models import Conversation
    from madoguchi.inquiries.models import Inquiry, Lane, Message
    from madoguchi.privacy.models import AuditEvent

    old = _migrate(BEFORE)
    try:
        OldInquiry = old.get_model("inquiries", "Inquiry")
        OldMessage = old.get_model("inquiries", "Message")
        OldConversation = old.get_model("chat", "Conversation")
        OldAudit = old.get_model("privacy", "AuditEvent")

        def inquiry(ref, lane):
            return OldInquiry.objects.create(
                reference=ref,
                channel="chat",
                lane=lane,
                subject=ref,
                requester_name="r",
                requester_email="",
            )

        chat = inquiry("Q-MIGCHAT1", "general")
        withheld = OldMessage.objects.create(
            inquiry=chat, kind="requester", body="grades", meta={"withheld": True, "x": 1}
        )
        plain = OldMessage.objects.create(inquiry=chat, kind="requester", body="printer")
        passed = inquiry("Q-MIGPASS1", "general")
        OldConversation.objects.create(inquiry=passed, secret_hash="a" * 64, faculty_only=True)
        passed_reply = OldMessage.objects.create(inquiry=passed, kind="reply", body="r")
        passed_asked = OldMessage.objects.create(inquiry=passed, kind="requester", body="q")
        sensitive = inquiry("Q-MIGSENS1", "sensitive")
        note = OldMessage.objects.create(inquiry=sensitive, kind="note", body="n")
        asked = OldMessage.objects.create(inquiry=sensitive, kind="requester", body="q")
        event = OldAudit.objects.create(actor_kind="system", verb="x", inquiry=sensitive)
        general_event = OldAudit.objects.create(actor_kind="system", verb="x", inquiry=chat)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    message = Message.objects.get(pk=withheld.pk)
    assert message.restricted and message.meta == {"x": 1}
    assert not Message.objects.get(pk=plain.pk).restricted
    assert Inquiry.objects.get(pk=passed.pk).lane == Lane.FACULTY
    assert Conversation.objects.select_related("inquiry").get(inquiry=passed.pk).faculty_only
    assert Message.objects.get(pk=passed_reply.pk).restricted
    assert not Message.objects.get(pk=passed_asked.pk).restricted
    assert Message.objects.get(pk=note.pk).restricted
    assert not Message.objects.get(pk=asked.pk).restricted
    assert AuditEvent.objects.get(pk=event.pk).restricted
    assert not AuditEvent.objects.get(pk=general_event.pk).restricted
