"""Statistics releases and ``madoguchi stats`` (issue 15): counts in the database, by
lane through the access module, suppressed; a release built, previewed, published
(audited) and read by anyone; its CSV and JSON; the command line."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from madoguchi.core.clock import frozen
from madoguchi.inquiries import access
from madoguchi.inquiries.actions import do_create_inquiry
from madoguchi.inquiries.models import Category, Inquiry, Lane
from madoguchi.privacy.models import AuditEvent
from madoguchi.stats import actions
from madoguchi.stats.models import StatisticsRelease
from madoguchi.stats.tables import Period, build_table, count_table
from tests.integration.conftest import make_user, new_inquiry

pytestmark = pytest.mark.django_db

# 2026-11-23 is a Monday. 15:30 UTC on Monday is 00:30 on Tuesday in Tokyo.
MONDAY_NOON_JST = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)
TUESDAY_0030_JST = dt.datetime(2026, 11, 23, 15, 30, tzinfo=dt.UTC)
_serial = iter(range(10_000))


def make(n: int, *, at: dt.datetime = MONDAY_NOON_JST, channel: str = "form", **fields) -> None:
    """``n`` inquiries through the real action (each its own requester: no duplicates)."""
    lane = fields.pop("lane", None)
    for _ in range(n):
        i = next(_serial)
        with frozen(at):
            inquiry, _ = do_create_inquiry(
                new_inquiry(
                    email=f"req{i}@example.ac.jp",
                    subject=f"secret-subject-{i}",
                    body=f"secret-body-{i}",
                    **fields,
                ),
                channel=channel,
            )
        if lane:
            Inquiry.objects.filter(pk=inquiry.pk).update(lane=lane)


@pytest.fixture
def people(db):
    return {
        "student": make_user("stu", "student"),
        "faculty": make_user("fac", "faculty"),
        "admin": make_user("adm", superuser=True),
        "plain": make_user("plain"),
    }


@pytest.fixture
def data(db):
    zoom = Category.objects.create(slug="zoom", name_ja="Zoom", name_en="Zoom")
    evil = Category.objects.create(slug="evil", name_ja='=HYPERLINK("x")', name_en="-2+3")
    make(12, lang="ja", category=zoom, member_category="student_current")
    make(3, lang="en", category=zoom, member_category="staff")
    make(11, lang="ja", channel="mail", category=evil, member_category="student_current")
    make(2, lang="ja", lane=Lane.SENSITIVE, member_category="faculty_fulltime")
    make(1, lang="ja", at=TUESDAY_0030_JST)
    return {"zoom": zoom, "evil": evil}


def test_counts_are_one_aggregate_query_and_in_the_desk_time_zone(
    data, people, django_assert_num_queries
):
    qs = access.statistics_inquiries(people["faculty"])
    with django_assert_num_queries(1):
        by_day = count_table(qs, ["weekday", "hour"], Period())
    assert by_day == {(1, 12): 28, (2, 0): 1}
    with django_assert_num_queries(1):
        assert count_table(qs, ["channel"], Period()) == {("form",): 18, ("mail",): 11}
    # Period days are the desk's: Tuesday 00:30 in Tokyo is Monday in UTC.
    tuesday = Period(dt.date(2026, 11, 24), dt.date(2026, 11, 24))
    assert count_table(qs, ["lang"], tuesday) == {("ja",): 1}
    assert count_table(qs, ["category"], Period()) == {("zoom",): 15, ("evil",): 11, ("",): 3}


def test_only_who_may_build_a_release_counts_and_they_count_every_lane(data, people):
    assert access.statistics_inquiries(people["student"]).count() == 0
    assert access.statistics_inquiries(people["plain"]).count() == 0
    assert access.statistics_inquiries(people["faculty"]).count() == 29
    assert access.statistics_inquiries(people["admin"]).filter(lane=Lane.SENSITIVE).count() == 2
    assert access.command_line_statistics_inquiries().count() == 29


def test_build_table_suppresses_and_holds_only_counts_and_labels(data, people):
    table = build_table(
        access.statistics_inquiries(people["faculty"]),
        ["member_category"],
        Period(),
        threshold=10,
    )
    by_key = {r["key"]: v for r, v in zip(table["rows"], table["cells"], strict=True)}
    assert by_key["student_current"] == 23
    assert by_key["staff"] == "<10" and by_key["faculty_fulltime"] == "<10"
    assert by_key["student_new"] == 0  # zeros are shown
    assert table["total"] == 29
    text = json.dumps(table, ensure_ascii=False)
    assert "secret" not in text and "example.ac.jp" not in text and "山田" not in text


def _release(user, by=("channel", "lang")) -> StatisticsRelease:
    return actions.do_create_release(
        dt.date(2026, 11, 1), dt.date(2026, 11, 30), list(by), acting_user=user
    )


def test_build_preview_publish_and_read(client, data, people, settings):
    settings.STATS_MIN_CELL = 10
    client.force_login(people["faculty"])
    response = client.post(
        "/console/statistics/",
        {
            "period_from": "2026-11-01",
            "period_to": "2026-11-30",
            "rows": "channel",
            "columns": "lang",
        },
    )
    release = StatisticsRelease.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/console/statistics/{release.pk}/"
    )
    assert release.breakdowns == ["channel", "lang"] and release.threshold == 10
    assert AuditEvent.objects.filter(verb="stats.release_created", actor=people["faculty"]).exists()

    preview = client.get(f"/console/statistics/{release.pk}/")
    page = preview.content.decode()
    assert preview.status_code == 200
    assert 'data-suppressed="small"' in page and "&lt; 10" in page
    assert "<caption>" in page and 'scope="col"' in page and 'scope="row"' in page
    # A draft is not public, not even to its author.
    assert client.get(f"/statistics/{release.pk}/").status_code == 404

    assert client.post(f"/console/statistics/{release.pk}/publish/").status_code == 302
    release.refresh_from_db()
    assert release.published_by == people["faculty"] and release.published_at is not None
    event = AuditEvent.objects.get(verb="stats.release_published")
    assert event.actor == people["faculty"] and event.data["release"] == release.pk
    assert event.data["breakdowns"] == ["channel", "lang"] and event.data["threshold"] == 10
    frozen_table = release.table
    assert frozen_table["threshold"] == 10
    # Publishing again changes nothing.
    client.post(f"/console/statistics/{release.pk}/publish/")
    assert AuditEvent.objects.filter(verb="stats.release_published").count() == 1

    # Later inquiries do not change a published release.
    make(40, lang="en", at=dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC))
    release.refresh_from_db()
    assert release.table == frozen_table

    client.logout()
    public = client.get(f"/statistics/{release.pk}/")
    assert public.status_code == 200
    body = public.content.decode()
    assert 'data-suppressed="small"' in body
    assert "secret" not in body and "example.ac.jp" not in body
    assert str(release.pk) in client.get("/statistics/").content.decode()


def test_the_public_page_shows_only_the_suppressed_figures(client, data, people):
    release = _release(people["faculty"], by=("member_category",))
    actions.do_publish_release(release, acting_user=people["faculty"])
    response = client.get(f"/statistics/{release.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    cells = response.context["table"]["rows"]
    shown = {row["label"]: row["cells"][0] for row in cells}
    assert shown["Staff"] == ("< 10", "small")  # 3 inquiries
    assert shown["Faculty (full-time)"] == ("< 10", "small")  # 2, sensitive lane
    body = response.content.decode()
    for i in range(1, 10):
        assert f'num">{i}<' not in body  # no count from 1 to 9 anywhere in the table


def test_csv_has_a_bom_neutralises_formulas_and_streams(client, data, people):
    release = _release(people["faculty"], by=("category",))
    actions.do_publish_release(release, acting_user=people["faculty"])
    response = client.get(f"/statistics/{release.pk}/csv/", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[0] == "カテゴリー"  # (the count's heading is a new msgid)
    assert "Zoom,15" in lines
    # Quoted by csv, neutralised by us; 11, but hidden: else 29 - 15 - 11 gives the 3 away.
    assert '"\'=HYPERLINK(""x"")",x' in lines
    assert "Not given,<10" in lines or "未記入,<10" in lines
    assert lines[-1] == "合計,29"
    # English labels for an English reader; the evil English name is neutralised too.
    english = b"".join(
        client.get(f"/statistics/{release.pk}/csv/", HTTP_ACCEPT_LANGUAGE="en").streaming_content
    ).decode("utf-8-sig")
    assert "'-2+3,x" in english.splitlines()


def test_json_is_the_frozen_table(client, data, people):
    release = _release(people["admin"], by=("weekday", "hour"))
    actions.do_publish_release(release, acting_user=people["admin"])
    release.refresh_from_db()
    body = client.get(f"/statistics/{release.pk}/json/").json()
    assert body["id"] == release.pk
    assert body["cells"] == release.table["cells"]
    assert body["breakdowns"] == ["weekday", "hour"]
    assert body["rows"][0]["label"]["ja"] == "月曜日"


def test_a_release_cannot_be_made_or_published_by_student_staff(data, people):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _release(people["student"])
    release = _release(people["faculty"])
    with pytest.raises(PermissionDenied):
        actions.do_publish_release(release, acting_user=people["student"])
    release.refresh_from_db()
    assert release.published_at is None


def test_the_form_refuses_bad_periods_and_twice_the_same_breakdown(client, people):
    client.force_login(people["faculty"])
    for data in (
        {"period_from": "2026-12-01", "period_to": "2026-11-01", "rows": "channel"},
        {"period_from": "2026-11-01", "period_to": "2026-11-30", "rows": "lang", "columns": "lang"},
        {"period_from": "2026-11-01", "period_to": "2026-11-30", "rows": "nope"},
    ):
        response = client.post("/console/statistics/", data)
        assert response.status_code == 200 and response.context["form"].errors
    assert not StatisticsRelease.objects.exists()


# --- madoguchi stats --------------------------------------------------------------------


def test_cli_csv_and_json(data, capsys, settings):
    from madoguchi.cli import main

    settings.STATS_MIN_CELL = 10
    assert main(["stats", "--by", "channel"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "channel,count"
    assert "form,18" in lines and "mail,11" in lines and "chat,0" in lines
    assert lines[-1] == "*,29"

    assert main(["stats", "--by", "member_category,lang", "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["breakdowns"] == ["member_category", "lang"]
    flat = [v for row in table["cells"] for v in row]
    assert "<10" in flat and not any(isinstance(v, int) and 0 < v < 10 for v in flat)

    assert main(["stats", "--from", "2026-11-24", "--to", "2026-11-24", "--by", "hour"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "0,<10" in out and out[-1] == "*,<10"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stats"], "--by"),
        (["stats", "--by", "nope"], "unknown field 'nope'"),
        (["stats", "--by", "lang,lang"], "must differ"),
        (["stats", "--by", "lang", "--from", "2026-13-01"], "not a date"),
        (["stats", "--by", "lang", "--format", "xml"], "invalid choice"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    from madoguchi.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_period_backwards_exits_2(capsys):
    from madoguchi.cli import main

    assert main(["stats", "--by", "lang", "--from", "2026-12-01", "--to", "2026-11-01"]) == 2
    assert "--from must not be after --to" in capsys.readouterr().err


def test_the_installed_command_refuses_bad_arguments_with_status_2(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "madoguchi", "stats", "--by", "channel,nope"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown field 'nope'" in done.stderr and done.stdout == ""
