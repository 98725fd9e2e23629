"""The realtime path: the widget's database work runs on a pool of its own (not behind
Django's one thread for synchronous code), a stored message is acknowledged before the bot
answers it, and what the bot's answer does afterwards cannot undo or expose the message."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from django.db import connections
from django.db.backends.signals import connection_created

from madoguchi.chat import actions as chat_actions
from madoguchi.chat import consumers as chat_consumers
from madoguchi.chat import queries as chat_queries
from madoguchi.chat.models import Conversation
from madoguchi.core import realtime
from madoguchi.core.clock import frozen
from madoguchi.inquiries.models import Inquiry, Lane, Message, MessageKind

from .test_chat import IN_HOURS, Widget, _start, articles, available, desk  # noqa: F401

live = pytest.mark.django_db(transaction=True)


@live
def test_realtime_calls_do_not_wait_for_djangos_sync_thread(desk):  # noqa: F811
    release = threading.Event()

    def hold_djangos_thread() -> None:  # a slow view or another socket's query
        release.wait(10)

    async def scenario() -> int:
        held = asyncio.ensure_future(sync_to_async(hold_djangos_thread)())
        await asyncio.sleep(0.05)
        try:
            return await asyncio.wait_for(realtime.run(Message.objects.count)(), timeout=5)
        finally:
            release.set()
            await held

    assert async_to_sync(scenario)() == 0


@live
def test_pool_threads_release_or_reuse_their_connections(desk):  # noqa: F811
    """PostgreSQL: a pool thread holds no connection between calls (back in the pool, as
    after a request), also under channels' test communicator, which turns its own release
    off. SQLite: each long-lived thread reuses one connection instead of reopening it."""
    seen: list[int] = []
    opened: list[int] = []

    def on_connect(sender, connection, **kwargs):  # noqa: ANN001, ANN202, ARG001
        opened.append(threading.get_ident())

    def query() -> int:
        seen.append(threading.get_ident())
        return Message.objects.count()

    connection_created.connect(on_connect, weak=False)

    async def scenario() -> None:
        await asyncio.gather(*(realtime.run(query)() for _ in range(20)))
        await asyncio.gather(*(realtime.run(query, lane="slow")() for _ in range(5)))

    async def widget_session() -> None:
        w = Widget()
        await w.open()
        await w.say("Zoomにログインできない", "cid-release-0001")
        await w.expect("welcome")
        await w.close()

    try:
        async_to_sync(scenario)()
        async_to_sync(widget_session)()
        async_to_sync(scenario)()
    finally:
        connection_created.disconnect(on_connect)

    def held() -> bool:  # run on the pool threads directly, not through ``run``
        return connections["default"].connection is not None

    probes = [
        realtime.executor(lane).submit(held).result()
        for lane in ("live", "slow")
        for _ in range(realtime.threads() * 4)
    ]
    threads_used = set(seen)
    assert len(threads_used) <= realtime.threads() + max(1, realtime.threads() // 2)
    if connections["default"].vendor == "sqlite":
        # at most one connection opened per pool thread over 50 calls: never reopened
        on_pool = [ident for ident in opened if ident in threads_used]
        assert len(on_pool) == len(set(on_pool)) <= len(threads_used)
        assert all(probes)
    else:
        assert not any(probes)


@live
def test_the_ack_comes_before_the_bot_answer(desk, monkeypatch):  # noqa: F811
    acked = threading.Event()
    answered_after_ack = []
    bot_turn = chat_actions._bot_turn

    def slow_bot(*args):  # the bot thinks until the requester has the ack
        answered_after_ack.append(acked.wait(5))
        return bot_turn(*args)

    async def scenario() -> list[dict]:
        w = Widget()
        await w.open()
        await w.say("Zoomにログインできない", "cid-order-00001")
        await w.expect("welcome")
        monkeypatch.setattr(chat_actions, "_bot_turn", slow_bot)
        await w.say("Zoomにサインインできません", "cid-order-00002")
        acked.set()
        frames = await w.frames(timeout=0.5)
        await w.close()
        return frames

    frames = async_to_sync(scenario)()
    assert answered_after_ack == [True]
    assert [f["message"]["kind"] for f in frames if f["t"] == "message"] == ["requester", "bot"]


@live
def test_a_failing_bot_keeps_the_acknowledged_message_and_says_so(desk, monkeypatch):  # noqa: F811
    async def scenario() -> list[dict]:
        w = Widget()
        await w.open(lang="en")
        await w.say("Zoomにログインできない", "cid-botfail-0001")
        await w.expect("welcome")

        def broken(*args):
            raise RuntimeError("the engine broke")

        monkeypatch.setattr(chat_actions, "_bot_turn", broken)
        ack = await w.say("and another question", "cid-botfail-0002")
        frames = [ack, *await w.frames(timeout=0.5)]
        monkeypatch.undo()
        await w.close()
        return frames

    frames = async_to_sync(scenario)()
    assert frames[0]["t"] == "ack"
    errors = [f for f in frames if f["t"] == "error"]
    assert [e["code"] for e in errors] == ["bot"]
    assert "could not answer" in errors[0]["message"]
    stored = Message.objects.filter(client_id="cid-botfail-0002")
    assert stored.count() == 1 and stored.get().pk == frames[0]["seq"]


@live
def test_a_sensitive_message_is_withheld_in_the_transaction_that_stores_it(desk):  # noqa: F811
    turn = chat_actions.do_start(
        "成績の評価について相談したい", client_id="cid-screen-0001", lang="ja", answer=False
    )
    # Before the bot has answered (or if it never does): already for faculty only.
    first = Message.objects.get(pk=turn.message.pk)
    assert first.restricted
    assert turn.pending
    assert (
        "成績"
        not in turn.conversation.inquiry.__class__.objects.get(
            pk=turn.conversation.inquiry_id
        ).subject
    )
    conversation = Conversation.objects.get(pk=turn.conversation.pk)
    again = chat_actions.do_say(
        conversation, "診断書も関係します", client_id="cid-screen-0002", answer=False
    )
    assert Message.objects.get(pk=again.message.pk).restricted
    replies = chat_actions.do_bot_answer(again)
    assert replies and all(r.kind == MessageKind.BOT for r in replies)
    assert not again.pending
    assert chat_actions.do_bot_answer(again) == replies  # answered once


@live
def test_the_queue_order_gives_each_waiter_the_place_the_database_gives(desk):  # noqa: F811
    available(desk["student"])
    available(desk["faculty"])
    with frozen(IN_HOURS):
        waiting = []
        for i in range(6):
            conversation = _start(f"VPN が使えません {i}")
            chat_actions.do_request_person(conversation)
            waiting.append(conversation)
        # two of them passed to faculty: they count only restricted waiters ahead
        Inquiry.objects.filter(pk__in=[waiting[1].inquiry_id, waiting[4].inquiry_id]).update(
            lane=Lane.FACULTY
        )
        snapshot = chat_queries.queue_snapshot()
        for conversation in waiting:
            fresh = Conversation.objects.select_related("inquiry").get(pk=conversation.pk)
            assert chat_queries.place_from_snapshot(snapshot, fresh.pk) == (
                chat_queries.place_in_queue(fresh)
            )
    places = [chat_queries.place_from_snapshot(snapshot, c.pk).position for c in waiting]
    assert places == [1, 1, 3, 4, 2, 6]
    assert chat_queries.place_from_snapshot(snapshot, 10**9) is None


@live
def test_a_waiting_widget_moves_up_when_the_chat_ahead_is_taken(desk, monkeypatch):  # noqa: F811
    student = desk["student"]
    available(student, max_chats=1)

    async def scenario() -> list[dict]:
        ahead = await database_sync_to_async(_start)("VPN が使えません")
        await database_sync_to_async(chat_actions.do_request_person)(ahead)
        w = Widget()
        await w.open()
        await w.say("人と話したい", "cid-moveup-0001")
        await w.expect("welcome")
        await w.send({"t": "person"})
        await w.expect("offer")
        states = [await w.expect("state")]

        def no_reads(pk):  # the move is told by the desk's queue order, not read per widget
            raise AssertionError("a waiting widget read its state from the database")

        monkeypatch.setattr(chat_consumers, "_state", no_reads)
        await database_sync_to_async(chat_actions.do_accept)(student, ahead.inquiry.reference)
        states.append(await w.expect("state", timeout=5))
        await w.close()
        return states

    with frozen(IN_HOURS):
        states = async_to_sync(scenario)()
    assert [(s["state"], s["position"]) for s in states] == [("queued", 2), ("queued", 1)]
    assert states[1]["wait_minutes"] >= 1 and states[1]["email"] is False


@live
def test_the_screening_follows_an_edited_sensitive_rule(desk):  # noqa: F811
    from madoguchi.kb.models import BotRule

    turn = chat_actions.do_start("Zoomにログインできない", client_id="cid-rule-00001", lang="ja")
    conversation = Conversation.objects.get(pk=turn.conversation.pk)
    plain = chat_actions.do_say(conversation, "奨学金の書類 zqx", client_id="cid-rule-00002")
    assert not Message.objects.get(pk=plain.message.pk).restricted
    # The seeded rule (a flushed database in a transactional run has none: one like it).
    rule, _created = BotRule.objects.get_or_create(
        name="sensitive",
        defaults={"order": 10, "patterns_ja": "成績", "message_ja": "…", "message_en": "…"},
    )
    rule.patterns_ja += "\n奨学金"
    rule.save()
    again = chat_actions.do_say(
        conversation, "奨学金の書類 zqx 2", client_id="cid-rule-00003", answer=False
    )
    assert Message.objects.get(pk=again.message.pk).restricted
