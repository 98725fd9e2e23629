"""Live chat: the widget's channel through the real consumer and channel layer, the
bot's turns, the queue, operators, and the HTTP side (loader, frame, files)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.http import Http404

from madoguchi.chat import actions as chat_actions
from madoguchi.chat import queries as chat_queries
from madoguchi.chat import validation as chat_validation
from madoguchi.chat.consumers import WidgetConsumer
from madoguchi.chat.models import ChatState, Conversation, OperatorStatus
from madoguchi.console.consumers import ConsoleConsumer
from madoguchi.core.clock import frozen
from madoguchi.inquiries import actions
from madoguchi.inquiries.models import Inquiry, Lane, Message, MessageKind, Status
from madoguchi.mail.models import OutboundMail
from tests.conftest import HOSTILE_STRINGS, hostile_strings, require_shared, shared_params

from .conftest import make_user

realtime = pytest.mark.django_db(transaction=True)

IN_HOURS = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Tokyo
OUT_OF_HOURS = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)  # Tuesday 21:00 in Tokyo


@pytest.fixture
def articles(db):
    from madoguchi.kb.models import Article

    Article.objects.create(
        topic="zoom-signin",
        lang="ja",
        external_id="t-zoom-ja",
        section="Zoom",
        question="Zoom にサインインできません",
        answer="大学のアカウントで SSO を選んでサインインしてください。",
        alt_questions=["Zoomにログインできない"],
    )
    Article.objects.create(
        topic="zoom-signin",
        lang="en",
        external_id="t-zoom-en",
        section="Zoom",
        question="I cannot sign in to Zoom",
        answer="Choose SSO and sign in with your university account.",
    )
    Article.objects.create(
        topic="wifi",
        lang="ja",
        external_id="t-wifi-ja",
        section="Network",
        question="学内 Wi-Fi(eduroam)に接続できません",
        answer="eduroam のプロファイルを入れ直してください。",
    )


@pytest.fixture
def desk(db, articles):
    student = make_user("student1", "student")
    faculty = make_user("faculty1", "faculty")
    return {"student": student, "faculty": faculty}


def available(user, max_chats: int = 3) -> None:
    OperatorStatus.objects.update_or_create(
        user=user, defaults={"available": True, "max_chats": max_chats}
    )


class Widget:
    """A requester's widget over the real consumer."""

    def __init__(self) -> None:
        self.ws = WebsocketCommunicator(WidgetConsumer.as_asgi(), "/ws/chat/")
        self.token: str | None = None

    async def open(self, token: str | None = None, lang: str = "ja", after: int = 0) -> dict:
        connected, _ = await self.ws.connect()
        assert connected
        await self.send(
            {
                "t": "hello",
                "token": token,
                "lang": lang,
                "page": "https://www.example.ac.jp/it/",
                "after": after,
            }
        )
        return await self.expect("welcome")

    async def send(self, data: dict) -> None:
        await self.ws.send_to(text_data=json.dumps(data))

    async def frames(self, timeout: float = 0.3) -> list[dict]:
        out = []
        while not await self.ws.receive_nothing(timeout=timeout):
            out.append(json.loads(await self.ws.receive_from()))
        return out

    async def expect(self, kind: str, timeout: float = 10) -> dict:
        while True:
            data = json.loads(await self.ws.receive_from(timeout=timeout))
            if data.get("token") and data["t"] == "token":
                self.token = data["token"]
            if data["t"] == kind:
                return data
            if data["t"] == "error":
                raise AssertionError(f"expected {kind}, got {data}")

    async def say(self, body: str, cid: str) -> dict:
        await self.send({"t": "msg", "cid": cid, "body": body})
        return await self.expect("ack")

    async def close(self) -> None:
        await self.ws.disconnect()


def first_turn(text: str, cid: str, lang: str = "ja") -> dict:
    """A new widget's first message; returns the welcome with the transcript so far."""

    async def scenario():
        w = Widget()
        await w.open(lang=lang)
        await w.say(text, cid)
        welcome = await w.expect("welcome")
        await w.close()
        return welcome

    return async_to_sync(scenario)()


def run(coro_fn):
    return async_to_sync(coro_fn)()


# --- bot first -----------------------------------------------------------------------------


@realtime
def test_first_message_starts_a_conversation_and_the_bot_answers_from_the_faq(desk):
    async def scenario():
        w = Widget()
        welcome = await w.open()
        assert welcome["state"] == "new"
        ack = await w.say("Zoomにログインできないです", "cid-0000000001")
        assert w.token
        full = await w.expect("welcome")
        await w.close()
        return ack, full

    ack, full = run(scenario)
    kinds = [m["kind"] for m in full["messages"]]
    assert kinds == ["requester", "bot"]
    assert (
        full["messages"][0]["seq"] == ack["seq"] and full["messages"][0]["cid"] == "cid-0000000001"
    )
    bot = full["messages"][1]
    assert bot["meta"]["article"] == "zoom-signin" and "SSO" in bot["body"]
    assert bot["meta"]["link"].startswith("/faq/zoom-signin/")
    inquiry = Inquiry.objects.get()
    assert inquiry.channel == "chat" and inquiry.status == Status.SOLVED and "bot" in inquiry.flags
    assert inquiry.chat.state == ChatState.BOT


@realtime
def test_a_resent_message_is_stored_once_and_acknowledged_again(desk):
    async def scenario():
        w = Widget()
        await w.open()
        first = await w.say("Zoomにログインできない", "cid-resend-0001")
        token = w.token
        await w.close()
        again = Widget()
        welcome = await again.open(token=token, after=first["seq"])
        second = await again.say("Zoomにログインできない", "cid-resend-0001")
        await again.close()
        return first, second, welcome

    first, second, welcome = run(scenario)
    assert first["seq"] == second["seq"]
    assert Message.objects.filter(client_id="cid-resend-0001").count() == 1
    # the reconnect caught up only what came after the last message the widget had
    assert [m["kind"] for m in welcome["messages"]] == ["bot"]


@realtime
def test_messages_arrive_in_order_after_a_reconnect(desk):
    async def scenario():
        w = Widget()
        await w.open()
        await w.say("Wi-Fi に繋がりません", "cid-order-0001")
        token = w.token
        await w.expect("welcome")
        await w.close()
        # while the requester is away, an operator would write: simulate desk-side messages
        conversation = await database_sync_to_async(
            Conversation.objects.select_related("inquiry").get
        )()
        for i in range(3):
            await database_sync_to_async(chat_actions.do_add_entry)(
                conversation, kind=MessageKind.EVENT, body=f"event {i}"
            )
        back = Widget()
        welcome = await back.open(token=token, after=0)
        await back.close()
        return welcome

    welcome = run(scenario)
    seqs = [m["seq"] for m in welcome["messages"]]
    assert seqs == sorted(seqs) and len(seqs) == 5
    assert [m["body"] for m in welcome["messages"][2:]] == ["event 0", "event 1", "event 2"]


@realtime
def test_an_unknown_token_starts_over_without_leaking(desk):
    async def scenario():
        w = Widget()
        welcome = await w.open(token="x" * 43)
        await w.close()
        return welcome

    welcome = run(scenario)
    assert welcome["state"] == "new" and welcome["reset"] is True and "messages" not in welcome


@realtime
@pytest.mark.parametrize(
    ("text", "rule", "link"),
    [
        ("期末試験の日程を教えてください", "exam", "/form/?category=exam"),
        ("What time is the final exam?", "exam", "/form/?category=exam"),
        ("成績が間違っている気がします", "sensitive", "/form/sensitive/"),
    ],
)
def test_topic_rules_answer_before_retrieval(desk, text, rule, link):
    welcome = first_turn(text, "cid-rule-00001", "en" if text.isascii() else "ja")
    bot = welcome["messages"][1]
    assert bot["meta"]["rule"] == rule and bot["meta"]["link"] == link
    requester = Message.objects.get(kind=MessageKind.REQUESTER)
    assert requester.restricted is (rule == "sensitive")


@realtime
def test_a_sensitive_chat_message_is_withheld_from_student_staff(client, desk):
    async def scenario():
        w = Widget()
        await w.open()
        await w.say("成績評価について相談したいです 秘密-zqx", "cid-sens-00001")
        await w.say("Zoom にも入れません 公開-zqx", "cid-sens-00002")
        await w.close()

    run(scenario)
    inquiry = Inquiry.objects.get()
    client.force_login(desk["student"])
    page = client.get(f"/console/i/{inquiry.reference}/").content.decode()
    assert "秘密-zqx" not in page
    assert "公開-zqx" in page  # the rest of the conversation is theirs to see
    client.force_login(desk["faculty"])
    assert "秘密-zqx" in client.get(f"/console/i/{inquiry.reference}/").content.decode()


@realtime
def test_human_rule_offers_a_person(desk):
    available(desk["student"])
    with frozen(IN_HOURS):
        welcome = first_turn("人と話したいです", "cid-human-0001")
    assert len(welcome["messages"]) == 2  # one answer, not a promise and then a question
    reply = welcome["messages"][1]
    assert reply["meta"]["rule"] == "human" and reply["meta"]["offer"] == ["person", "form"]
    assert welcome["person"] == "open"


@realtime
def test_human_rule_out_of_hours_tells_the_truth_first(desk):
    available(desk["student"])
    with frozen(OUT_OF_HOURS):
        welcome = first_turn("人と話したいです", "cid-human-0002")
    assert len(welcome["messages"]) == 2
    reply = welcome["messages"][1]
    assert reply["meta"]["offer"] == ["form", "mail"]
    assert "おつなぎします" not in reply["body"] and "お待ちになりますか" not in reply["body"]
    assert "対応していません" in reply["body"] and re.search(r"\d+月\d+日", reply["body"])
    assert welcome["person"] == "closed_hours" and welcome["operators_next"]


@realtime
def test_human_rule_with_nobody_on_duty_says_so(desk):
    with frozen(IN_HOURS):
        welcome = first_turn("オペレーターと話したい", "cid-human-0003")
    reply = welcome["messages"][1]
    assert reply["meta"]["offer"] == ["form", "mail"] and reply["meta"]["availability"] == "busy"
    assert "おつなぎします" not in reply["body"]


def test_bot_answers_carry_their_links_as_links(desk):
    from madoguchi.kb.rendering import links, plain

    answer = "Use the [email form](/form/?category=zoom) or [the guide](https://example.ac.jp/g)."
    assert plain(answer) == "Use the email form or the guide."
    assert links(answer) == [
        {"text": "email form", "href": "/form/?category=zoom"},
        {"text": "the guide", "href": "https://example.ac.jp/g"},
    ]


@realtime
def test_unanswerable_question_offers_the_form_and_mail_out_of_hours(desk):
    with frozen(OUT_OF_HOURS):
        welcome = first_turn("学食の今日のメニューは何ですか", "cid-none-00001")
    bot = welcome["messages"][1]
    assert bot["meta"]["unanswered"] is True and bot["meta"]["offer"] == ["form", "mail"]


@realtime
def test_helpful_feedback_is_counted_once(desk):
    from madoguchi.kb.models import ArticleDay

    async def scenario():
        w = Widget()
        await w.open()
        await w.say("Zoomにログインできない", "cid-help-00001")
        welcome = await w.expect("welcome")
        bot_seq = welcome["messages"][1]["seq"]
        for _ in range(3):
            await w.send({"t": "helpful", "seq": bot_seq, "helpful": True})
        await w.frames()
        await w.close()

    run(scenario)
    day = ArticleDay.objects.get(article__lang="ja", article__topic="zoom-signin")
    assert day.helpful == 1


# --- hand-over and the queue -----------------------------------------------------------------


def _start(text: str = "Zoomにログインできない") -> Conversation:
    turn = chat_actions.do_start(
        text, client_id="cid-start-" + str(Conversation.objects.count()).zfill(6), lang="ja"
    )
    return turn.conversation


@realtime
def test_hand_over_queues_with_position_and_wait_then_an_operator_accepts(desk):
    student = desk["student"]
    available(student)

    async def scenario():
        w = Widget()
        await w.open()
        await w.say("人と話したい", "cid-queue-0001")
        await w.expect("welcome")
        await w.send({"t": "person"})
        offer = await w.expect("offer")
        state = await w.expect("state")
        # a second requester queues behind
        second = await database_sync_to_async(_start)("VPN が使えません")
        await database_sync_to_async(chat_actions.do_request_person)(second)
        # the operator takes the first chat: the widget learns it live
        ref = (
            await database_sync_to_async(
                Conversation.objects.select_related("inquiry").order_by("pk").first
            )()
        ).inquiry.reference
        await database_sync_to_async(chat_actions.do_accept)(student, ref)
        active = await w.expect("state")
        while active["state"] != "active":
            active = await w.expect("state")
        # the operator writes; the requester sees it
        await database_sync_to_async(chat_actions.do_operator_say)(
            student, ref, "こんにちは、担当の者です", client_id="op-000000001"
        )
        message = await w.expect("message")
        while message["message"]["kind"] != "reply":
            message = await w.expect("message")
        await w.close()
        return offer, state, active, message, second

    with frozen(IN_HOURS):
        offer, state, active, message, second = run(scenario)
    assert offer["outcome"] == "queued"
    assert state["state"] == "queued" and state["position"] == 1 and state["wait_minutes"] >= 1
    assert active["operator"] == str(student)
    assert message["message"]["body"] == "こんにちは、担当の者です" and message["message"][
        "author"
    ] == str(student)
    second.refresh_from_db()
    assert chat_queries.place_in_queue(second).position == 1  # moved up when the first was taken
    first = Conversation.objects.order_by("pk").first()
    assert first.inquiry.assignee == student and first.inquiry.status == Status.OPEN
    assert first.inquiry.first_response_at is not None


@realtime
def test_hand_over_out_of_hours_tells_when_operators_are_back(desk):
    available(desk["student"])
    with frozen(OUT_OF_HOURS):
        conversation = _start()
        offer = chat_actions.do_request_person(conversation)
    assert offer.outcome == "closed_hours" and "11月25日" in offer.next_open
    conversation.refresh_from_db()
    assert conversation.state == ChatState.BOT


@realtime
def test_hand_over_without_operators_or_with_a_long_queue_offers_the_form(desk, settings):
    with frozen(IN_HOURS):
        assert chat_actions.do_request_person(_start()).outcome == "busy"  # nobody on duty
        available(desk["student"])
        settings.CHAT_MAX_QUEUE = 1
        assert chat_actions.do_request_person(_start()).outcome == "queued"
        assert chat_actions.do_request_person(_start()).outcome == "busy"


@realtime
def test_entitlement_limits_who_may_wait_for_an_operator(desk):
    from madoguchi.sla.models import Entitlement

    Entitlement.objects.create(
        audience="other",
        channels=["form"],
        note_ja="一般の方はフォームをご利用ください。",
        note_en="Please use the form.",
    )
    available(desk["student"])
    with frozen(IN_HOURS):
        offer = chat_actions.do_request_person(_start(), member_category="other")
        assert offer.outcome == "not_entitled" and "フォーム" in offer.message
        assert (
            chat_actions.do_request_person(_start(), member_category="student_current").outcome
            == "queued"
        )


@realtime
def test_a_desk_that_keeps_operators_for_signed_in_requesters(desk, settings):
    """The bot answers everyone; a person only a signed-in requester, whose member
    category (from the identity provider) decides the entitlement, not what they chose."""
    from madoguchi.accounts.requester import RequesterIdentity
    from madoguchi.sla.models import Entitlement

    settings.CHAT_REQUIRE_SIGNIN = True
    Entitlement.objects.create(audience="other", channels=["form"], note_en="Form, please.")
    available(desk["student"])
    member = RequesterIdentity(
        email="hanako@example.ac.jp",
        via="oidc",
        member_category="student_current",
        signed_in_at=dt.datetime.now(dt.UTC).isoformat(),
    )
    visitor = RequesterIdentity(
        email="guest@example.com",
        via="oidc",
        member_category="other",
        signed_in_at=dt.datetime.now(dt.UTC).isoformat(),
    )
    with frozen(IN_HOURS):
        anonymous = chat_actions.do_request_person(_start(), member_category="student_current")
        chose_wrongly = chat_actions.do_request_person(
            _start(), member_category="student_current", requester=visitor
        )
        queued = chat_actions.do_request_person(_start(), member_category="other", requester=member)
    assert anonymous.outcome == "signin" and "サインイン" in anonymous.message
    assert chose_wrongly.outcome == "not_entitled"
    assert queued.outcome == "queued"


@realtime
def test_operator_limits_transfer_to_faculty_and_back(desk):
    student, faculty = desk["student"], desk["faculty"]
    available(student, max_chats=1)
    available(faculty)
    with frozen(IN_HOURS):
        a, b = _start(), _start()
        chat_actions.do_request_person(a)
        chat_actions.do_request_person(b)
        chat_actions.do_accept(student, a.inquiry.reference)
        with pytest.raises(chat_validation.ChatError) as limit:
            chat_actions.do_accept(student, b.inquiry.reference)
        assert limit.value.code == "limit"
        chat_actions.do_transfer(student, a.inquiry.reference, to_faculty=True)
        a.refresh_from_db()
        assert a.state == ChatState.QUEUED and a.faculty_only and a.operator is None
        assert a.inquiry.lane == Lane.FACULTY
        with pytest.raises(Http404):  # passed to faculty: it does not exist for students
            chat_actions.do_accept(student, a.inquiry.reference)
        assert a.inquiry.reference not in [
            c.inquiry.reference for c in chat_queries.queue(for_user=student)
        ]
        chat_actions.do_accept(faculty, a.inquiry.reference)
        a.refresh_from_db()
        assert a.state == ChatState.ACTIVE and a.operator == faculty
        chat_actions.do_transfer(faculty, b.inquiry.reference, to_user=student)
        b.refresh_from_db()
        assert b.operator == student and b.state == ChatState.ACTIVE
    events = list(
        Message.objects.filter(inquiry=a.inquiry, kind=MessageKind.EVENT).values_list(
            "meta__event", flat=True
        )
    )
    assert events == ["queued", "joined", "to_faculty", "joined"]


@realtime
def test_marking_a_live_chat_sensitive_takes_it_from_the_student_at_once(desk):
    student, faculty = desk["student"], desk["faculty"]
    available(student)

    async def listen_then(user, trigger):
        ws = WebsocketCommunicator(ConsoleConsumer.as_asgi(), "/ws/console/")
        ws.scope["user"] = user
        await ws.connect()
        await ws.receive_json_from()
        await database_sync_to_async(trigger)()
        events = []
        while not await ws.receive_nothing(timeout=0.3):
            events.append(await ws.receive_json_from())
        await ws.disconnect()
        return events

    with frozen(IN_HOURS):
        c = _start()
        chat_actions.do_request_person(c)
        chat_actions.do_accept(student, c.inquiry.reference)
        inquiry = Inquiry.objects.get(pk=c.inquiry_id)
        events = async_to_sync(listen_then)(
            student, lambda: actions.do_mark_sensitive(inquiry, "grades", acting_user=faculty)
        )
    assert {"kind": "inquiry.revoked", "inquiry": inquiry.reference} in events
    assert all(
        e.get("kind") != "chat.queue" for e in events
    )  # a faculty-only queue change is not theirs
    c.refresh_from_db()
    assert c.state == ChatState.QUEUED and c.faculty_only and c.operator is None
    assert chat_queries.active_chats(student) == []
    with pytest.raises(Exception):  # noqa: B017 - Http404 from access
        chat_actions.do_operator_say(
            student, inquiry.reference, "still here?", client_id="op-000000002"
        )


@realtime
def test_typing_goes_both_ways_only_to_the_chat(desk):
    student = desk["student"]
    available(student)

    async def scenario(ref, token):
        w = Widget()
        await w.open(token=token)
        staff = WebsocketCommunicator(ConsoleConsumer.as_asgi(), "/ws/console/")
        staff.scope["user"] = student
        await staff.connect()
        await staff.receive_json_from()
        await w.send({"t": "typing", "on": True})
        seen_by_staff = await staff.receive_json_from(timeout=3)
        await staff.send_json_to({"kind": "typing", "inquiry": ref, "on": True})
        seen_by_requester = await w.expect("typing")
        await staff.disconnect()
        await w.close()
        return seen_by_staff, seen_by_requester

    with frozen(IN_HOURS):
        turn = chat_actions.do_start("人と話したい", client_id="cid-typing-001", lang="ja")
        chat_actions.do_request_person(turn.conversation)
        chat_actions.do_accept(student, turn.conversation.inquiry.reference)
        staff_event, requester_event = async_to_sync(scenario)(
            turn.conversation.inquiry.reference, turn.secret
        )
    assert staff_event == {
        "kind": "chat.typing",
        "inquiry": turn.conversation.inquiry.reference,
        "on": True,
    }
    assert requester_event == {"t": "typing", "on": True}


@realtime
def test_round_robin_gives_chats_to_the_least_busy_operator(desk, settings):
    settings.CHAT_ROUTING = "round_robin"
    student, faculty = desk["student"], desk["faculty"]
    available(student)
    available(faculty)
    with frozen(IN_HOURS):
        chats = [_start() for _ in range(4)]
        for c in chats:
            chat_actions.do_request_person(c)
        chat_actions.do_dispatch()
    owners = [Conversation.objects.get(pk=c.pk).operator for c in chats]
    assert None not in owners
    assert owners.count(student) == 2 and owners.count(faculty) == 2


# --- ending: mail, close, rating -----------------------------------------------------------


@realtime
def test_switch_to_mail_then_the_requester_leaves_an_address(desk):
    student = desk["student"]
    available(student)
    with frozen(IN_HOURS):
        c = _start()
        chat_actions.do_request_person(c)
        chat_actions.do_accept(student, c.inquiry.reference)
        chat_actions.do_switch_to_mail(student, c.inquiry.reference)
        c.refresh_from_db()
        assert c.state == ChatState.EMAIL
        with pytest.raises(chat_validation.ChatError):
            chat_actions.do_say(c, "まだいますか", client_id="cid-after-mail-1")
    inquiry = Inquiry.objects.get(pk=c.inquiry_id)
    assert inquiry.status == Status.OPEN  # stays open: staff answer by mail
    with pytest.raises(ValueError):  # no address yet: no mail can be sent
        actions.do_reply(inquiry, "reply", acting_user=student)


@realtime
def test_a_waiting_requester_leaves_an_address_and_gets_a_confirmation(desk):
    available(desk["student"])
    with frozen(IN_HOURS):
        c = _start()
        chat_actions.do_request_person(c)
        with pytest.raises(chat_validation.ChatError):
            chat_actions.do_continue_by_mail(c, "not-an-address")
        chat_actions.do_continue_by_mail(c, "Taro@Example.AC.JP", "山田 太郎")
    c.refresh_from_db()
    assert c.state == ChatState.EMAIL
    assert (
        c.inquiry.requester_email == "taro@example.ac.jp"
        and c.inquiry.requester_name == "山田 太郎"
    )
    mail = OutboundMail.objects.get(kind="confirmation")
    assert mail.to == "taro@example.ac.jp" and c.inquiry.reference in mail.subject
    assert chat_queries.queue() == []
    actions.do_reply(Inquiry.objects.get(pk=c.inquiry_id), "答えです", acting_user=desk["student"])
    assert OutboundMail.objects.filter(kind="reply", to="taro@example.ac.jp").exists()


@realtime
def test_close_and_rate(desk):
    with frozen(IN_HOURS):
        c = _start()
        with pytest.raises(chat_validation.ChatError):
            chat_actions.do_rate(c, 5)  # not before it ends
        chat_actions.do_close_by_requester(c)
        for bad in (0, 6, "5", True, None):
            with pytest.raises(chat_validation.ChatError):
                chat_actions.do_rate(c, bad)
        chat_actions.do_rate(c, 4, "分かりやすかったです")
        chat_actions.do_rate(c, 1)  # a second rating is ignored
    c.refresh_from_db()
    assert (
        c.state == ChatState.CLOSED and c.rating == 4 and c.rating_comment == "分かりやすかったです"
    )
    assert c.inquiry.status == Status.SOLVED


@realtime
def test_sweep_closes_idle_chats_and_drops_requesters_who_left_the_queue(desk, settings):
    available(desk["student"])
    with frozen(IN_HOURS):
        idle = _start()
        waiting = _start()
        chat_actions.do_request_person(waiting)
        chat_actions.do_mark_connected(waiting.pk, False)
    with frozen(IN_HOURS + dt.timedelta(seconds=settings.CHAT_QUEUE_GRACE_SECONDS + 5)):
        assert chat_actions.do_sweep() == 1
    waiting.refresh_from_db()
    assert waiting.state == ChatState.CLOSED and waiting.closed_by == "abandoned"
    with frozen(IN_HOURS + dt.timedelta(minutes=settings.CHAT_IDLE_MINUTES + 1)):
        assert chat_actions.do_sweep() == 1
    idle.refresh_from_db()
    assert idle.state == ChatState.CLOSED and idle.closed_by == "idle"


# --- the edge: frames, rates, hostile text -------------------------------------------------


@realtime
def test_frames_are_checked(desk, settings):
    settings.CHAT_RATE_BURST = 2
    settings.CHAT_RATE_PER_SECOND = 0.01

    async def scenario():
        w = Widget()
        await w.open()
        await w.ws.send_to(text_data="not json")
        bad_json = await w.expect("error")
        await w.send({"t": "msg", "cid": "short", "body": "x"})
        bad_cid = await w.expect("error")
        await w.send({"t": "msg", "cid": "cid-empty-00001", "body": "   "})
        empty = await w.expect("error")
        await w.send(
            {
                "t": "msg",
                "cid": "cid-long-000001",
                "body": "あ" * (settings.CHAT_MAX_MESSAGE_CHARS + 1),
            }
        )
        too_long = await w.expect("error")
        # the bucket (2) is spent by now: the next message is refused, not stored
        await w.send({"t": "msg", "cid": "cid-rate-000001", "body": "hello"})
        rate = await w.expect("error")
        await w.ws.send_to(text_data="x" * (settings.CHAT_MAX_MESSAGE_CHARS * 6 + 4096))
        closed = await w.ws.receive_output(timeout=3)
        return bad_json, bad_cid, empty, too_long, rate, closed

    bad_json, bad_cid, empty, too_long, rate, closed = run(scenario)
    assert bad_json["code"] == "invalid" and bad_cid["code"] == "invalid"
    assert empty["code"] == "empty" and too_long["code"] == "too_long"
    assert rate["code"] == "rate" and rate["cid"] == "cid-rate-000001"
    assert closed == {"type": "websocket.close", "code": 1009}
    assert not Message.objects.exists()


@realtime
def test_error_messages_follow_the_widget_language(desk):
    async def scenario(lang):
        w = Widget()
        await w.open(lang=lang)
        await w.send({"t": "msg", "cid": "cid-empty-00001", "body": ""})
        error = await w.expect("error")
        await w.close()
        return error["message"]

    assert async_to_sync(scenario)("en") == "The message is empty."
    assert async_to_sync(scenario)("ja") != "The message is empty."


CHAT_ROWS = [r for r in hostile_strings(collecting=True) if "chat" in r["targets"]]
WS_ROWS = [r for r in hostile_strings(collecting=True) if "ws" in r["targets"]]


@realtime
def test_hostile_chat_messages_are_refused_or_stored_as_text_and_rendered_inert(
    client, desk, settings
):
    require_shared(HOSTILE_STRINGS)
    settings.CHAT_RATE_BURST = 10_000
    settings.CHAT_NEW_RATE_LIMIT = "0/60"
    student = desk["student"]
    available(student)

    async def scenario():
        w = Widget()
        await w.open()
        await w.say("人と話したい", "cid-hostile-start")
        await w.expect("welcome")
        outcomes = {}
        for i, row in enumerate(CHAT_ROWS):
            cid = f"cid-hostile-{i:05d}"
            try:
                frame = json.dumps(
                    {"t": "msg", "cid": cid, "body": row["payload"]}, ensure_ascii=True
                )
            except UnicodeEncodeError:
                continue
            if len(frame) > settings.CHAT_MAX_MESSAGE_CHARS * 6 + 2048:
                continue  # an oversized frame closes the connection (test_frames_are_checked)
            await w.ws.send_to(text_data=frame)
            while True:
                reply = json.loads(await w.ws.receive_from(timeout=5))
                if reply.get("cid") == cid and reply["t"] in ("ack", "error"):
                    outcomes[row["id"]] = reply
                    break
        await w.close()
        return outcomes

    with frozen(IN_HOURS):
        outcomes = run(scenario)
    conversation = Conversation.objects.get()
    stored = {
        m.client_id: m.body
        for m in Message.objects.filter(inquiry=conversation.inquiry_id, kind=MessageKind.REQUESTER)
    }
    for i, row in enumerate(CHAT_ROWS):
        reply = outcomes.get(row["id"])
        if reply is None:
            continue
        cid = f"cid-hostile-{i:05d}"
        if reply["t"] == "ack":
            assert stored[cid] == row["payload"].strip().replace("\r\n", "\n"), row["id"]
        else:  # refused with a reason (empty, too long, not valid text): nothing stored
            assert reply["message"] and cid not in stored, row["id"]
    assert sum(1 for r in outcomes.values() if r["t"] == "ack") > len(CHAT_ROWS) // 2
    chat_actions.do_request_person(conversation)
    client.force_login(desk["faculty"])
    page = client.get(f"/console/i/{conversation.inquiry.reference}/").content.decode()
    for body in stored.values():
        if "<" in body:
            assert body not in page
    # "reject" rows for chat (javascript:, data: URLs, prototype keys) may be said, but as
    # text: nothing in a chat becomes a link or an object.
    assert 'href="javascript:' not in page and 'href="data:text' not in page


@realtime
@pytest.mark.parametrize("row", shared_params(WS_ROWS, path=HOSTILE_STRINGS, ids=lambda r: r["id"]))
def test_hostile_frames_change_nothing(desk, row):
    async def scenario():
        w = Widget()
        await w.open()
        await w.say("Zoomにログインできない", "cid-frames-0001")
        await w.expect("welcome")
        before = await database_sync_to_async(Message.objects.count)()
        count = 2000 if row["expect"] == "bounded" else 1
        for _ in range(count):
            await w.ws.send_to(text_data=row["payload"])
        frames = []
        try:
            while not await w.ws.receive_nothing(timeout=0.3):
                frames.append(await w.ws.receive_output(timeout=1))
        except Exception:  # noqa: BLE001 - the server may close a flooding client
            pass
        await w.ws.disconnect()
        return before, frames

    before, frames = run(scenario)
    after = Message.objects.count()
    assert after == before  # nothing stored, no one subscribed elsewhere
    texts = [json.loads(f["text"]) for f in frames if f.get("type") == "websocket.send"]
    assert all(t["t"] == "error" for t in texts)
    if row["expect"] == "bounded":
        assert any(f.get("type") == "websocket.close" for f in frames) or len(texts) < 2000


# --- HTTP: loader, frame, files, console routes ---------------------------------------------


def test_loader_and_frame_headers(client, db, settings):
    settings.CHAT_WIDGET_ORIGINS = ["https://www.example.ac.jp"]
    loader = client.get("/widget.js")
    assert loader.status_code == 200 and loader["Content-Type"].startswith("text/javascript")
    assert b"madoguchi:init" in loader.content and len(loader.content) < 8000
    frame = client.get("/chat/embed/?lang=en&color=%23aa0000&title=Help")
    assert frame.status_code == 200
    assert "frame-ancestors 'self' https://www.example.ac.jp" in frame["Content-Security-Policy"]
    assert "X-Frame-Options" not in frame
    html = frame.content.decode()
    assert 'role="log"' in html and 'aria-live="polite"' in html and 'lang="en"' in html
    bad = client.get("/chat/embed/?color=red;background:url(x)&title=<script>x</script>")
    assert (
        'data-color=""' in bad.content.decode() and "<script>x</script>" not in bad.content.decode()
    )
    assert "frame-ancestors 'none'" in client.get("/chat/")["Content-Security-Policy"]


@realtime
def test_files_are_exchanged_by_the_conversation_key_only(client, desk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with frozen(IN_HOURS):
        mine = chat_actions.do_start("画面の写真を送ります", client_id="cid-file-000001", lang="ja")
        other = chat_actions.do_start("別の人です", client_id="cid-file-000002", lang="ja")
    upload = SimpleUploadedFile("screen.png", b"\x89PNG....", content_type="image/png")
    response = client.post(
        "/chat/upload/", {"file": upload, "cid": "cid-file-000003"}, HTTP_X_CHAT_TOKEN=mine.secret
    )
    assert response.status_code == 200
    seq = response.json()["seq"]
    message = Message.objects.get(pk=seq)
    attachment = message.attachments.get()
    assert (
        client.get(f"/chat/files/{attachment.pk}/", HTTP_X_CHAT_TOKEN=mine.secret).status_code
        == 200
    )
    assert (
        client.get(f"/chat/files/{attachment.pk}/", HTTP_X_CHAT_TOKEN=other.secret).status_code
        == 404
    )
    assert client.get(f"/chat/files/{attachment.pk}/").status_code == 404
    no_key = client.post(
        "/chat/upload/", {"file": SimpleUploadedFile("a.txt", b"x"), "cid": "cid-file-000004"}
    )
    assert no_key.status_code == 404


@realtime
def test_console_chat_routes(client, desk):
    student, faculty = desk["student"], desk["faculty"]
    plain = make_user("someone")
    assert client.get("/console/chat/").status_code == 302  # sign in first
    client.force_login(plain)
    assert client.get("/console/chat/").status_code == 403
    client.force_login(student)
    response = client.post("/console/chat/availability/", {"available": "1", "max_chats": "2"})
    assert response.status_code == 302
    assert OperatorStatus.objects.get(user=student).available is True
    with frozen(IN_HOURS):
        c = _start("VPN が繋がりません queue-zqx")
        chat_actions.do_request_person(c)
        panel = client.get("/console/chat/").content.decode()
        assert "queue-zqx" in panel
        ref = c.inquiry.reference
        assert client.post(f"/console/chat/{ref}/accept/").status_code == 302
        sent = client.post(
            f"/console/chat/{ref}/send/",
            {"body": "どうされましたか", "cid": "op-0000000001"},
            HTTP_X_REQUESTED_WITH="fetch",
        )
        assert sent.status_code == 200 and sent.json()["ok"] is True
        again = client.post(
            f"/console/chat/{ref}/send/",
            {"body": "どうされましたか", "cid": "op-0000000001"},
            HTTP_X_REQUESTED_WITH="fetch",
        )
        assert again.json()["seq"] == sent.json()["seq"]
        detail = client.get(f"/console/i/{ref}/").content.decode()
        assert 'id="chat-composer"' in detail
        # a faculty-only chat is not in the student's queue and its page does not exist for them
        c2 = _start("成績 secret-queue-zqx")
        chat_actions.do_request_person(c2)
        actions.do_mark_sensitive(Inquiry.objects.get(pk=c2.inquiry_id), "x", acting_user=faculty)
        assert c2.inquiry.reference not in client.get("/console/chat/").content.decode()
        assert client.get(f"/console/i/{c2.inquiry.reference}/").status_code == 404
        assert client.post(f"/console/chat/{c2.inquiry.reference}/accept/").status_code == 404
        client.force_login(faculty)
        assert c2.inquiry.reference in client.get("/console/chat/queue/").content.decode()
        assert Inquiry.objects.get(pk=c2.inquiry_id).lane == Lane.SENSITIVE


@realtime
def test_the_chat_socket_checks_the_origin(desk):
    from madoguchi.asgi import application

    async def attempt(origin: bytes) -> bool:
        ws = WebsocketCommunicator(
            application, "/ws/chat/", headers=[(b"origin", origin), (b"host", b"localhost")]
        )
        connected, _ = await ws.connect()
        await ws.disconnect()
        return connected

    assert async_to_sync(attempt)(b"http://localhost") is True
    assert (
        async_to_sync(attempt)(b"https://www.example.ac.jp") is False
    )  # only the desk's own frame


@realtime
def test_events_reach_only_their_own_conversation(desk):
    async def scenario():
        a, b = Widget(), Widget()
        await a.open()
        await b.open()
        await a.say("Zoomにログインできない 秘密-a-zqx", "cid-aud-a-00001")
        await a.expect("welcome")
        await b.say("Wi-Fi に繋がりません", "cid-aud-b-00001")
        await b.expect("welcome")
        conversation_a = await database_sync_to_async(
            Conversation.objects.select_related("inquiry").order_by("pk").first
        )()
        await database_sync_to_async(chat_actions.do_add_entry)(
            conversation_a, kind=MessageKind.EVENT, body="only for a 秘密-a-zqx"
        )
        got_a = await a.expect("message")
        seen_by_b = await b.frames(timeout=0.5)
        await a.close()
        await b.close()
        return got_a, seen_by_b

    got_a, seen_by_b = run(scenario)
    assert got_a["message"]["body"] == "only for a 秘密-a-zqx"
    assert "秘密-a-zqx" not in json.dumps(seen_by_b, ensure_ascii=False)


@realtime
def test_requester_and_operator_writing_at_once_do_not_deadlock(desk):
    """Both sides lock the inquiry, then the conversation (on PostgreSQL a wrong order
    deadlocked about every second time)."""
    import threading

    from django.db import connection

    student = desk["student"]
    available(student)
    with frozen(IN_HOURS):
        c = _start()
        chat_actions.do_request_person(c)
        chat_actions.do_accept(student, c.inquiry.reference)
    errors: list[BaseException] = []

    def run_in_thread(fn) -> threading.Thread:
        def target():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
            finally:
                connection.close()

        return threading.Thread(target=target)

    for i in range(15):
        barrier = threading.Barrier(2)

        def requester(i=i, barrier=barrier):
            barrier.wait()
            chat_actions.do_say(
                Conversation.objects.get(pk=c.pk), f"requester {i}", client_id=f"cid-race-r-{i:04d}"
            )

        def operator(i=i, barrier=barrier):
            barrier.wait()
            chat_actions.do_operator_say(
                student, c.inquiry.reference, f"operator {i}", client_id=f"cid-race-o-{i:04d}"
            )

        threads = [run_in_thread(requester), run_in_thread(operator)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert errors == []
    assert (
        Message.objects.filter(inquiry=c.inquiry_id, client_id__startswith="cid-race-").count()
        == 30
    )


@realtime
def test_thread_updates_fetch_only_new_entries(client, desk):
    student = desk["student"]
    available(student)
    with frozen(IN_HOURS):
        c = _start("最初の質問 first-zqx")
        chat_actions.do_request_person(c)
        chat_actions.do_accept(student, c.inquiry.reference)
        last = Message.objects.filter(inquiry=c.inquiry_id).order_by("-pk").first().pk
        chat_actions.do_say(c, "新しい質問 new-zqx", client_id="cid-after-000001")
    client.force_login(student)
    url = f"/console/i/{c.inquiry.reference}/thread/"
    newer = client.get(url, {"after": last}).content.decode()
    assert "new-zqx" in newer and "first-zqx" not in newer
    assert "first-zqx" in client.get(url).content.decode()
    client.force_login(desk["faculty"])
    actions.do_mark_sensitive(
        Inquiry.objects.get(pk=c.inquiry_id), "x", acting_user=desk["faculty"]
    )
    client.force_login(student)
    assert client.get(url, {"after": last}).status_code == 404
