"""Reports: the figures of a known data set, for student and faculty staff; CSV and JSON.

The data set (November 2026, Asia/Tokyo): nine inquiries in the period, five in the
general lane and four restricted (sensitive, triage, a chat passed to faculty, a call
marked sensitive); one received in October and solved in November (the backlog's start);
one received at 00:10 on 1 December in Tokyo, which is still 30 November in UTC, and so
outside the period. Inquiries are made and answered through the real actions under a
frozen clock; the live state of the chats and calls, the bot's log and the votes are
rows written directly (the chat and call tests drive those actions; here only the
figures matter).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest

from madoguchi.calls.models import Call, CallState, CallTerms
from madoguchi.chat.models import ChatState, Conversation
from madoguchi.core.clock import frozen
from madoguchi.inquiries import actions
from madoguchi.inquiries.actions import do_create_inquiry
from madoguchi.kb.models import Article, ArticleDay, BotQuestion
from tests.integration.conftest import new_inquiry

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")
PERIOD = "from=2026-11-01&to=2026-11-30"


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


@pytest.fixture
def policies(db):
    from madoguchi.demo import _load_hours_and_policies

    _load_hours_and_policies()


@pytest.fixture
def desk(policies, categories, student, faculty):
    n = iter(range(100))

    def make(when, channel="form", **overrides):
        overrides.setdefault("email", f"r{next(n)}@example.ac.jp")
        with frozen(when):
            inquiry, _ = do_create_inquiry(new_inquiry(**overrides), channel=channel)
        return inquiry

    zoom, account = categories["zoom"], categories["account"]
    g1 = make(at(2026, 11, 3, 0, 30), category=zoom, member_category="student_current")
    g2 = make(at(2026, 11, 4, 10, 15), category=zoom, member_category="student_new", lang="en")
    make(at(2026, 11, 6, 23, 50), "api", category=account, member_category="faculty_fulltime")
    old = make(at(2026, 10, 20, 10, 0))
    late = make(at(2026, 12, 1, 0, 10))
    s1 = make(
        at(2026, 11, 4, 12, 0),
        "sensitive_form",
        category=zoom,
        member_category="staff",
        sensitive=True,
        sensitive_part="p",
        sensitive_reason="r",
    )
    make(at(2026, 11, 10, 9, 0), "mail", lane="triage", lang="en")
    c1 = make(at(2026, 11, 5, 14, 0), "chat")
    c2 = make(at(2026, 11, 5, 15, 0), "chat", lane="faculty")
    k1 = make(at(2026, 11, 9, 11, 0), "call")
    k2 = make(at(2026, 11, 9, 13, 0), "call", lane="sensitive")

    actions.do_claim(g1, acting_user=student)
    actions.do_claim(g2, acting_user=student)
    actions.do_claim(s1, acting_user=faculty)
    with frozen(at(2026, 11, 3, 1, 30)):
        actions.do_reply(g1, "1 h", acting_user=student)
    with frozen(at(2026, 11, 3, 3, 30)):
        actions.do_change_status(g1, "solved", acting_user=student)
    with frozen(at(2026, 11, 4, 12, 15)):
        actions.do_reply(g2, "2 h", acting_user=student)
    with frozen(at(2026, 11, 4, 16, 0)):
        actions.do_reply(s1, "4 h", acting_user=faculty)
    with frozen(at(2026, 11, 5, 12, 0)):
        actions.do_change_status(old, "solved", acting_user=faculty)

    def chat(inquiry, created, **fields):
        Conversation.objects.create(
            inquiry=inquiry, secret_hash=f"s{inquiry.pk}", created_at=created, **fields
        )

    chat(
        c1,
        at(2026, 11, 5, 14, 0),
        state=ChatState.CLOSED,
        queued_at=at(2026, 11, 5, 14, 1),
        accepted_at=at(2026, 11, 5, 14, 5),
        closed_at=at(2026, 11, 5, 14, 20),
        rating=4,
    )
    chat(
        c2,
        at(2026, 11, 5, 15, 0),
        state=ChatState.CLOSED,
        queued_at=at(2026, 11, 5, 15, 0),
        closed_at=at(2026, 11, 5, 15, 10),
        closed_by="abandoned",
        rating=2,
    )
    terms = CallTerms.objects.create(version=99, text_ja="規約", text_en="Terms")

    def call(inquiry, queued, admitted, ended, **fields):
        Call.objects.create(
            inquiry=inquiry,
            secret_hash=f"c{inquiry.pk}",
            terms=terms,
            queued_at=queued,
            admitted_at=admitted,
            ended_at=ended,
            created_at=queued,
            **fields,
        )

    call(
        k1,
        at(2026, 11, 9, 11, 0),
        at(2026, 11, 9, 11, 2),
        at(2026, 11, 9, 11, 42),
        state=CallState.ENDED,
        ended_by="time_limit",
    )
    call(
        k2,
        at(2026, 11, 9, 13, 0),
        at(2026, 11, 9, 13, 6),
        at(2026, 11, 9, 13, 16),
        state=CallState.EMAIL,
        ended_by="email",
    )
    # The bot's log: two questions from the general chat, one from the faculty-only one.
    m1, m2 = c1.messages.first(), c2.messages.first()
    for decision, inquiry, message in [
        ("answer", c1, m1),
        ("handover", c1, m1),
        ("rule", c2, m2),
    ]:
        BotQuestion.objects.create(
            text="q",
            norm="q",
            lang="ja",
            decision=decision,
            channel="chat",
            inquiry=inquiry,
            message=message,
            created_at=at(2026, 11, 5, 14, 0),
        )
    article = Article.objects.create(topic="zoom", lang="ja", question="Q", answer="A")
    ArticleDay.objects.create(article=article, day=dt.date(2026, 11, 5), helpful=3, not_helpful=1)
    ArticleDay.objects.create(article=article, day=dt.date(2026, 12, 1), helpful=50)
    return {"late": late}


def report(client, user):
    client.force_login(user)
    response = client.get(f"/console/reports/report.json?{PERIOD}")
    assert response.status_code == 200
    return json.loads(response.content)["sections"]


def counts(section) -> dict:
    return {row["key"]: row["count"] for row in section["rows"] if row["count"]}


def figures(section) -> dict:
    return {row["key"]: row["value"] for row in section["rows"]}


def test_breakdowns_count_every_lane_for_faculty(client, desk, faculty):
    s = report(client, faculty)
    assert counts(s["channel"]) == {
        "form": 2,
        "api": 1,
        "sensitive_form": 1,
        "mail": 1,
        "chat": 2,
        "call": 2,
    }
    assert counts(s["category"]) == {"zoom": 3, "account": 1, "": 5}
    assert counts(s["member_category"]) == {
        "student_current": 1,
        "student_new": 1,
        "faculty_fulltime": 1,
        "staff": 1,
        "": 5,
    }
    assert counts(s["lang"]) == {"ja": 7, "en": 2}
    # Tokyo time: 00:30 on Tuesday 3 Nov is Monday 15:30 in UTC; 23:50 on Friday is 14:50.
    assert counts(s["weekday"]) == {1: 2, 2: 2, 3: 2, 4: 2, 5: 1}
    assert counts(s["hour"]) == {0: 1, 9: 1, 10: 1, 11: 1, 12: 1, 13: 1, 14: 1, 15: 1, 23: 1}
    assert [r["key"] for r in s["weekday"]["rows"]] == [1, 2, 3, 4, 5, 6, 7]
    assert len(s["hour"]["rows"]) == 24


def test_student_figures_are_the_general_lanes_only(client, desk, student, faculty):
    s = report(client, student)
    assert counts(s["channel"]) == {"form": 2, "api": 1, "chat": 1, "call": 1}
    assert counts(s["category"]) == {"zoom": 2, "account": 1, "": 2}
    assert counts(s["lang"]) == {"ja": 4, "en": 1}
    assert counts(s["weekday"]) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
    assert counts(s["hour"]) == {0: 1, 10: 1, 11: 1, 14: 1, 23: 1}
    assert sum(counts(s["member_category"]).values()) == 5
    # The difference is exactly the four restricted inquiries.
    f = report(client, faculty)
    assert sum(counts(f["channel"]).values()) - sum(counts(s["channel"]).values()) == 4


def test_response_and_resolution_times(client, desk, student, faculty):
    f = report(client, faculty)
    (p3,) = [r for r in f["sla_priority"]["rows"] if r["key"] == 3]
    assert p3["count"] == 9
    assert (p3["first_median_h"], p3["first_p90_h"]) == (2.0, 3.6)  # 1 h, 2 h, 4 h
    assert (p3["resolution_median_h"], p3["resolution_p90_h"]) == (3.0, 3.0)
    assert p3["first_measured"] == 3 and p3["first_met"] == 3 and p3["first_met_pct"] == 100.0
    tiers = {r["key"]: r["count"] for r in f["sla_tier"]["rows"]}
    assert tiers == {"student": 2, "faculty": 1, "": 6}
    channels = {r["key"]: (r["first_met"], r["first_measured"]) for r in f["sla_channel"]["rows"]}
    assert channels == {
        "form": (2, 2),
        "api": (0, 0),
        "sensitive_form": (1, 1),
        "mail": (0, 0),
        "chat": (0, 0),
        "call": (0, 0),
    }

    s = report(client, student)
    (p3,) = [r for r in s["sla_priority"]["rows"] if r["key"] == 3]
    assert p3["count"] == 5
    assert (p3["first_median_h"], p3["first_p90_h"]) == (1.5, 1.9)
    assert {r["key"]: r["count"] for r in s["sla_tier"]["rows"]} == {"student": 2, "": 3}


def test_backlog_per_day(client, desk, student, faculty):
    def open_by_day(sections):
        rows = sections["backlog"]["rows"]
        assert len(rows) == 30
        return sections["backlog"]["open_at_start"], {r["key"][-5:]: r["open"] for r in rows}

    start, days = open_by_day(report(client, faculty))
    assert start == 1
    assert [
        days[d] for d in ("11-01", "11-03", "11-04", "11-05", "11-06", "11-09", "11-10", "11-30")
    ] == [
        1,
        1,
        3,
        4,
        5,
        7,
        8,
        8,
    ]
    start, days = open_by_day(report(client, student))
    assert start == 1
    assert [days[d] for d in ("11-01", "11-03", "11-04", "11-05", "11-06", "11-09", "11-30")] == [
        1,
        1,
        2,
        2,
        3,
        4,
        4,
    ]


def test_chat_bot_and_call_figures(client, desk, student, faculty):
    f = report(client, faculty)
    assert figures(f["chat"]) == {
        "conversations": 2,
        "handed_over": 2,
        "accepted": 1,
        "abandoned": 1,
        "continued_by_mail": 0,
        "wait_median_min": 4.0,
        "wait_p90_min": 4.0,
        "rated": 2,
        "rating_mean": 3.0,
    }
    assert figures(f["bot"]) == {
        "questions": 3,
        "answered": 1,
        "handed_over": 1,
        "topic_rule": 1,
        "helpful": 3,
        "not_helpful": 1,
    }
    assert figures(f["calls"]) == {
        "calls": 2,
        "admitted": 2,
        "not_admitted": 0,
        "wait_median_min": 4.0,  # 2 and 6 minutes
        "length_median_min": 25.0,  # 40 and 10 minutes
        "time_limit": 1,
        "continued_by_mail": 1,
    }
    s = report(client, student)
    assert figures(s["chat"])["conversations"] == 1 and figures(s["chat"])["rating_mean"] == 4.0
    assert figures(s["bot"])["questions"] == 2 and figures(s["bot"])["topic_rule"] == 0
    assert figures(s["calls"]) == {
        "calls": 1,
        "admitted": 1,
        "not_admitted": 0,
        "wait_median_min": 2.0,
        "length_median_min": 40.0,
        "time_limit": 1,
        "continued_by_mail": 0,
    }


def test_page_shows_charts_beside_their_tables(client, desk, faculty):
    client.force_login(faculty)
    response = client.get(f"/console/reports/?{PERIOD}&lang=en")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('role="img"') == 10  # six breakdowns, three SLA tables, the backlog
    assert body.count("<caption>") == 13
    assert 'scope="row"' in body and 'scope="col"' in body
    assert "/console/reports/channel.csv?from=2026-11-01&amp;to=2026-11-30" in body


def test_period_defaults_to_the_last_30_days_in_tokyo(client, desk, faculty):
    client.force_login(faculty)
    with frozen(at(2026, 12, 1, 0, 30)):  # 30 Nov in UTC, 1 Dec in Tokyo
        response = client.get("/console/reports/report.json")
    data = json.loads(response.content)
    assert data["period"] == {"from": "2026-11-02", "to": "2026-12-01"}
    # The inquiry received at 00:10 on 1 December in Tokyo (30 November in UTC) is in.
    assert sum(counts(data["sections"]["channel"]).values()) == 10


def test_csv_export_of_a_section(client, desk, faculty):
    client.force_login(faculty)
    response = client.get(f"/console/reports/channel.csv?{PERIOD}&lang=en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="madoguchi-channel-20261101-20261130.csv"'
    )
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["Code", "Channel", "Inquiries"]
    assert ["form", "Email form", "2"] in rows and ["call", "Online call", "2"] in rows
    assert client.get(f"/console/reports/nosuch.csv?{PERIOD}").status_code == 404


def test_csv_neutralises_formula_labels(client, desk, faculty, categories):
    categories["account"].name_en = "=HYPERLINK(1)"
    categories["account"].save()
    client.force_login(faculty)
    raw = b"".join(client.get(f"/console/reports/category.csv?{PERIOD}&lang=en").streaming_content)
    assert "'=HYPERLINK(1)" in raw.decode("utf-8-sig")


def test_json_export(client, desk, faculty, student):
    client.force_login(student)
    response = client.get(f"/console/reports/report.json?{PERIOD}")
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["lanes"] == "general" and data["time_zone"] == "Asia/Tokyo"
    assert set(data["sections"]) == {
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
    }
    section = data["sections"]["channel"]
    assert {"key": "form", "label": "メールフォーム", "count": 2} in section["rows"]
    english = json.loads(client.get(f"/console/reports/report.json?{PERIOD}&lang=en").content)
    section = english["sections"]["channel"]
    assert section["title"] == "Inquiries by channel"
    assert section["columns"] == [
        {"key": "key", "label": "Code"},
        {"key": "label", "label": "Channel"},
        {"key": "count", "label": "Inquiries"},
    ]
    assert {"key": "form", "label": "Email form", "count": 2} in section["rows"]


def test_a_report_is_a_fixed_handful_of_queries(client, desk, faculty, django_assert_num_queries):
    """Every section reads shared aggregate queries: 12 for the whole report (plus the
    session and the user), however many inquiries there are."""
    client.force_login(faculty)
    with django_assert_num_queries(14):
        client.get(f"/console/reports/report.json?{PERIOD}")
