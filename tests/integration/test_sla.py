"""Service levels on business hours: due times, pausing while waiting for the requester,
policies by lane, recomputation after a change, and the requester-facing hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from madoguchi.core.clock import frozen
from madoguchi.inquiries import actions
from madoguchi.inquiries.models import Status
from madoguchi.mail.models import OutboundMail
from tests.integration.conftest import run_tasks

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


@pytest.fixture
def policies(db):
    from madoguchi.demo import _load_hours_and_policies

    _load_hours_and_policies()


def test_due_times_on_the_operators_schedule(policies, create):
    # Friday 27 Nov 2026, 17:00: 90 minutes left that day; P3 is one business day (605 min).
    with frozen(at(2026, 11, 27, 17, 0)):
        inquiry = create()
    assert inquiry.first_response_due == at(2026, 11, 30, 17, 0)  # Monday 8:25 + 515 min
    assert inquiry.due_at == inquiry.first_response_due
    assert inquiry.sla_policy.name.startswith("標準")
    with frozen(at(2026, 11, 27, 17, 5)):
        actions.do_change_priority(inquiry, 1, acting_user=_staff())
    inquiry.refresh_from_db()
    assert inquiry.first_response_due == at(2026, 11, 27, 18, 0)


def test_year_end_closure_and_holidays(policies, create):
    # 28 Dec 2026 (Mon) 18:00: the desk closes 18:30, then Dec 29 - Jan 3 closed, Jan 4 Mon.
    with frozen(at(2026, 12, 28, 18, 0)):
        inquiry = create()
    assert inquiry.first_response_due == at(2027, 1, 4, 18, 0)  # 30 min + 575 min


def test_clock_pauses_while_waiting_for_the_requester(policies, create, student):
    with frozen(at(2026, 11, 24, 9, 0)):  # Tuesday
        inquiry = create()
    resolution = inquiry.resolution_due
    with frozen(at(2026, 11, 24, 10, 0)):
        actions.do_reply(inquiry, "please try again", acting_user=student)
    inquiry.refresh_from_db()
    assert inquiry.status == Status.PENDING and inquiry.first_response_due is None
    assert inquiry.sla_paused_at is not None and inquiry.due_at is None
    # The requester answers the next day at 10:00: 24 business hours... one business day later.
    with frozen(at(2026, 11, 25, 10, 0)):
        actions.do_requester_reply(inquiry, "still broken")
    inquiry.refresh_from_db()
    assert inquiry.sla_paused_at is None
    assert inquiry.next_response_due == at(
        2026, 11, 26, 10, 0
    )  # P3 next response: one business day
    # The resolution target moved by exactly the business time spent waiting (605 min).
    assert inquiry.resolution_due > resolution


def test_sensitive_lane_takes_about_a_week(policies, create):
    with frozen(at(2026, 11, 24, 9, 0)):
        inquiry = create(sensitive=True, sensitive_part="p", sensitive_reason="r")
    assert "Sensitive" in inquiry.sla_policy.label("en")
    assert inquiry.first_response_due.date() == dt.date(2026, 12, 1)


def test_confirmation_tells_when_to_expect_an_answer(policies, create):
    with frozen(at(2026, 11, 27, 17, 0)):
        inquiry = create()
    mail = OutboundMail.objects.get(inquiry=inquiry)
    assert "11月30日（月）17:00" in mail.body


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("queued_before_the_move", [False, True])
def test_changing_a_schedule_recomputes_open_inquiries(policies, create, queued_before_the_move):
    """With ``queued_before_the_move``, the task is stored under the path it had until the
    packages were layered (design note 49), as an installation from before then has it:
    it runs all the same, under its new path."""
    from django_tasks_db.models import DBTaskResult

    from madoguchi.inquiries.sla_tasks import recompute_open_inquiries
    from madoguchi.sla.models import BusinessSchedule

    with frozen(at(2026, 11, 27, 17, 0)):
        inquiry = create()
    operators = BusinessSchedule.objects.get(name="operators")
    definition = dict(operators.definition)
    definition["exceptions"] = [
        *definition.get("exceptions", []),
        {"date": "2026-11-30", "kind": "closed", "hours": [], "label": "closed"},
    ]
    operators.definition = definition
    operators.save()  # sla.signals.levels_changed: inquiries queue the recompute
    new = recompute_open_inquiries.module_path
    queued = list(DBTaskResult.objects.filter(task_path=new).values_list("pk", flat=True))
    assert queued
    if queued_before_the_move:
        old = "madoguchi.sla.tasks.recompute_open_inquiries"
        DBTaskResult.objects.filter(pk__in=queued).update(task_path=old)
    with frozen(at(2026, 11, 27, 17, 10)):
        run_tasks()
    rows = DBTaskResult.objects.filter(pk__in=queued)
    assert {(row.task_path, row.status) for row in rows} == {(new, "SUCCESSFUL")}
    inquiry.refresh_from_db()
    assert inquiry.first_response_due == at(2026, 12, 1, 17, 0)  # Monday closed: Tuesday


def test_every_moved_task_points_at_a_task_and_its_old_path_at_nothing():
    from django.utils.module_loading import import_string
    from django_tasks.base import Task

    from madoguchi.core.worker import MOVED_TASKS

    assert "madoguchi.sla.tasks.recompute_open_inquiries" in MOVED_TASKS
    for old, new in MOVED_TASKS.items():
        assert isinstance(import_string(new), Task), new
        with pytest.raises(ImportError):
            import_string(old)


def test_invalid_schedule_is_refused_by_the_admin_form(policies):
    from django.core.exceptions import ValidationError

    from madoguchi.sla.models import BusinessSchedule

    bad = BusinessSchedule(
        name="bad",
        label_ja="x",
        label_en="x",
        definition={"tz": "Asia/Tokyo", "weekly": {"mon": ["25:00-26:00"]}},
    )
    with pytest.raises(ValidationError) as error:
        bad.full_clean()
    assert "weekly" in str(error.value)


@pytest.mark.parametrize(
    ("moment", "expected_ja", "expected_en"),
    [
        (at(2026, 11, 24, 10, 0), "オペレーターが対応中です", "Operators are available now"),
        (at(2026, 12, 30, 10, 0), "2027年1月4日（月）8:25", "Mon 4 Jan 2027 8:25"),
    ],
)
def test_portal_shows_operator_availability(policies, client, moment, expected_ja, expected_en):
    with frozen(moment):
        ja = client.get("/?lang=ja").content.decode()
        en = client.get("/?lang=en").content.decode()
    assert expected_ja in ja and expected_en in en


def _staff():
    from tests.integration.conftest import make_user

    return make_user("fac", "faculty")


def test_due_soon_view_sorts_by_urgency(policies, create, client, faculty):
    with frozen(at(2026, 11, 24, 9, 0)):
        later = create(subject="later")
        sooner = create(subject="sooner", email="x@example.ac.jp")
        actions.do_change_priority(sooner, 1, acting_user=faculty)
    client.force_login(faculty)
    with frozen(at(2026, 11, 24, 9, 30)):
        rows = client.get("/console/?view=due").context["rows"]
    assert [r.subject for r in rows][:2] == ["sooner", "later"]
    assert later.reference


@pytest.mark.django_db(transaction=True)
def test_warning_then_breach_notify_once(policies, create, faculty, student):
    from madoguchi.core.events import GROUP_FACULTY_STAFF, GROUP_STUDENT_STAFF
    from madoguchi.inquiries import sla_monitor
    from madoguchi.privacy.models import AuditEvent
    from tests.integration.test_actions import GROUPS, capture, kinds

    with frozen(at(2026, 11, 24, 9, 0)):
        inquiry = create()
        actions.do_change_priority(inquiry, 1, acting_user=faculty)  # P1: first response due 10:00
    inquiry.refresh_from_db()
    assert inquiry.due_at == at(2026, 11, 24, 10, 0)

    with frozen(at(2026, 11, 24, 9, 30)):  # half the target left: no warning yet (25 %)
        assert sla_monitor.check_due_times() == {"warned": 0, "breached": 0}
    with frozen(at(2026, 11, 24, 9, 46)):
        got = capture(GROUPS, sla_monitor.check_due_times)
    assert kinds(got[GROUP_STUDENT_STAFF]) == ["sla.warning"]
    with frozen(at(2026, 11, 24, 9, 50)):
        assert sla_monitor.check_due_times() == {"warned": 0, "breached": 0}  # once per due time
    with frozen(at(2026, 11, 24, 10, 1)):
        got = capture(GROUPS, sla_monitor.check_due_times)
    assert kinds(got[GROUP_FACULTY_STAFF]) == ["sla.breached"]
    assert got[GROUP_STUDENT_STAFF] == []  # supervisors are told, not the whole student team
    with frozen(at(2026, 11, 24, 10, 5)):
        assert sla_monitor.check_due_times() == {"warned": 0, "breached": 0}
    assert AuditEvent.objects.filter(inquiry=inquiry, verb="sla.breached").count() == 1

    with frozen(at(2026, 11, 24, 10, 30)):
        actions.do_reply(inquiry, "sorry for the wait", acting_user=student)
    inquiry.refresh_from_db()
    assert inquiry.first_response_met is False


def test_attainment_report(policies, create, client, faculty, student):
    with frozen(at(2026, 11, 24, 9, 0)):
        on_time, late = create(subject="a"), create(subject="b", email="b@example.ac.jp")
    with frozen(at(2026, 11, 24, 10, 0)):
        actions.do_reply(on_time, "ok", acting_user=faculty)
    with frozen(at(2026, 11, 27, 10, 0)):
        actions.do_reply(late, "late", acting_user=faculty)
    client.force_login(faculty)
    rows = client.get("/console/reports/sla/").context["rows"]
    assert [(r["first_met"], r["first_measured"], r["first_pct"]) for r in rows] == [(1, 2, 50)]
    client.force_login(student)
    assert client.get("/console/reports/sla/").status_code == 404


def test_icalendar_feed_of_closures_and_special_days(policies, client):
    with frozen(at(2026, 12, 1, 10, 0)):
        response = client.get("/hours/operators.ics?lang=ja")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    # The year end (Dec 29 - Jan 3) and a national holiday (Jan 1 is inside it; Jan 12,
    # 2027 is Coming-of-Age Day) are all-day closures; weekends are not listed.
    assert "DTSTART;VALUE=DATE:20261229" in body and "DTSTART;VALUE=DATE:20270101" in body
    assert "DTSTART;VALUE=DATE:20270111" in body
    assert "DTSTART;VALUE=DATE:20261205" not in body  # a Saturday: regular, not an event
    assert "SUMMARY:休業: 年末年始" in body
    assert client.get("/hours/no-such-schedule.ics").status_code == 404


def test_icalendar_special_opening(policies, client):
    from madoguchi.sla.models import BusinessSchedule

    operators = BusinessSchedule.objects.get(name="operators")
    definition = dict(operators.definition)
    definition["exceptions"] = [
        {"date": "2027-01-11", "kind": "open", "hours": ["09:00-12:00"], "label": "特別対応日"}
    ]
    operators.definition = definition
    operators.save()
    with frozen(at(2026, 12, 1, 10, 0)):
        body = client.get("/hours/operators.ics?lang=en").content.decode()
    assert "DTSTART:20270111T000000Z" in body and "DTEND:20270111T030000Z" in body
    assert "SUMMARY:Special opening: 特別対応日" in body


def test_portal_offers_only_the_entitled_channels_and_says_why(policies, client):
    page = client.get("/?lang=en&audience=other").content.decode()
    assert "Chat and online calls are for members of the university" in page
    assert client.cookies["madoguchi_audience"].value == "other"
    # The choice is remembered; a member sees no restriction.
    assert "for members of the university" in client.get("/?lang=en").content.decode()
    member = client.get("/?lang=en&audience=student_current").content.decode()
    assert "for members of the university" not in member


def test_form_refuses_a_requester_not_entitled_to_it(policies, client, categories):
    from madoguchi.inquiries.models import Inquiry
    from madoguchi.sla.models import Entitlement
    from tests.integration.test_intake import form_data

    Entitlement.objects.create(
        audience="plan:free", channels=[], note_en="Free users: self-service only."
    )
    Entitlement.objects.update_or_create(
        audience="other",
        defaults={
            "channels": ["sensitive_form"],
            "note_en": "Members only.",
            "note_ja": "構成員のみ",
        },
    )
    response = client.post(
        "/form/?lang=en", form_data(member_category="other", member_category_other="visitor")
    )
    assert response.status_code == 200 and "Members only." in response.content.decode()
    assert Inquiry.objects.count() == 0
    assert client.post("/form/?lang=en", form_data()).status_code == 302
