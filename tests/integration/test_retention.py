"""Retention: rules per channel and lane anonymise solved inquiries and delete their files
after their days, in a dry run first, never an inquiry on legal hold, and leave every
statistic as it was."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count
from django.http import Http404

from madoguchi.core.clock import frozen
from madoguchi.inquiries import access, actions, storage
from madoguchi.inquiries.models import Attachment, Inquiry, Message
from madoguchi.mail.models import OutboundMail
from madoguchi.privacy.models import AuditEvent
from madoguchi.retention import policy
from madoguchi.retention.models import RetentionRule, RetentionRun

from .conftest import make_user, new_inquiry

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)


def _solved(days_ago: int, **data) -> Inquiry:
    staff = make_user(f"ret{days_ago}{len(data)}{Inquiry.objects.count()}", "faculty")
    with frozen(NOW - dt.timedelta(days=days_ago + 1)):
        inquiry, _ = actions.do_create_inquiry(
            new_inquiry(
                name="山田 太郎",
                email=f"taro{Inquiry.objects.count()}@example.ac.jp",
                body="学籍番号 0123456789 の山田です。090-1234-5678",
                member_category="student_current",
                **data,
            ),
            channel="form",
            files=[SimpleUploadedFile("screenshot.png", b"\x89PNG personal")],
        )
        actions.do_reply(inquiry, "山田様、手順は次のとおりです。", acting_user=staff)
    with frozen(NOW - dt.timedelta(days=days_ago)):
        actions.do_change_status(inquiry, "solved", acting_user=staff)
    inquiry.refresh_from_db()
    return inquiry


def _figures() -> list[dict]:
    return list(
        Inquiry.objects.values("channel", "lane", "member_category", "lang", "status")
        .annotate(n=Count("id"))
        .order_by("channel", "lane", "member_category", "lang", "status")
    )


@pytest.fixture
def shelf():
    RetentionRule.objects.create(anonymise_after_days=365, files_after_days=30)
    old = _solved(400)
    recent = _solved(40)
    held = _solved(400)
    Inquiry.objects.filter(pk=held.pk).update(legal_hold=True, legal_hold_reason="係争中")
    fresh = _solved(10)
    with frozen(NOW - dt.timedelta(days=500)):
        still_open, _ = actions.do_create_inquiry(new_inquiry(), channel="form")
    return {"old": old, "recent": recent, "held": held, "fresh": fresh, "open": still_open}


def test_a_dry_run_counts_and_changes_nothing(shelf):
    before = _figures()
    with frozen(NOW):
        record = policy.run(dry_run=True)
    assert record.counts == {"anonymise": 1, "delete_files": 1, "held": 1}
    assert Inquiry.objects.filter(anonymised_at__isnull=False).count() == 0
    assert Attachment.objects.count() == 4 and _figures() == before
    assert AuditEvent.objects.filter(verb="retention.dry_run").count() == 1


def test_the_run_anonymises_deletes_files_keeps_the_figures_and_passes_holds(shelf):
    before = _figures()
    old, recent, held = shelf["old"], shelf["recent"], shelf["held"]
    token = access.requester_token(old)
    old_files = [storage.path_of(a.stored_name) for a in Attachment.objects.filter(inquiry=old)]
    recent_files = [
        storage.path_of(a.stored_name) for a in Attachment.objects.filter(inquiry=recent)
    ]
    assert all(p.exists() for p in old_files + recent_files)
    with frozen(NOW):
        record = policy.run()
    assert record.counts["anonymised"] == 1 and record.counts["files_deleted_for"] == 1
    assert _figures() == before  # every statistic as it was

    old.refresh_from_db()
    assert old.anonymised_at is not None
    assert old.requester_email == "" and "山田" not in old.requester_name
    assert old.subject == "—" and old.common_id == "" and old.details == {}
    texts = " ".join(Message.objects.filter(inquiry=old).values_list("body", flat=True))
    assert "山田" not in texts and "0123456789" not in texts and "090" not in texts
    mails = OutboundMail.objects.filter(inquiry=old)
    assert mails.exists() and not any(m.to or m.body or m.subject for m in mails)
    assert not Attachment.objects.filter(inquiry=old).exists()
    assert not any(p.exists() for p in old_files + recent_files)
    with pytest.raises(Http404):
        access.access_inquiry_by_token(token)  # mailed links stop working

    recent.refresh_from_db()
    assert recent.anonymised_at is None and recent.requester_email  # only its files went
    assert not Attachment.objects.filter(inquiry=recent).exists()
    held.refresh_from_db()
    assert held.anonymised_at is None and Attachment.objects.filter(inquiry=held).exists()
    for key in ("fresh", "open"):
        inquiry = Inquiry.objects.get(pk=shelf[key].pk)
        assert inquiry.anonymised_at is None and inquiry.requester_email
    assert AuditEvent.objects.filter(verb="inquiry.anonymised", inquiry=old).count() == 1
    assert AuditEvent.objects.filter(verb="inquiry.files_deleted", inquiry=recent).count() == 1
    # Again: nothing more to do.
    with frozen(NOW):
        again = policy.run()
    assert again.counts["anonymised"] == 0 and again.counts["files_deleted_for"] == 0


def test_the_most_specific_rule_wins_and_housekeeping_runs_once_a_day(shelf):
    RetentionRule.objects.create(channel="form", lane="general", anonymise_after_days=5)
    with frozen(NOW):
        assert policy.plan()["anonymise"] == 3  # old, recent and fresh: 5 days for forms
        assert policy.scheduled() == 3
        assert policy.scheduled() == 0  # not again within RETENTION_INTERVAL_HOURS
    assert RetentionRun.objects.filter(dry_run=False).count() == 1


def test_a_legal_hold_is_for_faculty_and_needs_a_reason(client):
    inquiry, _ = actions.do_create_inquiry(new_inquiry(), channel="form")
    student, faculty = make_user("holdstu", "student"), make_user("holdfac", "faculty")
    client.force_login(student)
    client.post(f"/console/i/{inquiry.reference}/do/hold/", {"body": "理由"})
    inquiry.refresh_from_db()
    assert not inquiry.legal_hold
    client.force_login(faculty)
    client.post(f"/console/i/{inquiry.reference}/do/hold/", {"body": " "})
    inquiry.refresh_from_db()
    assert not inquiry.legal_hold
    client.post(f"/console/i/{inquiry.reference}/do/hold/", {"body": "開示請求への対応"})
    inquiry.refresh_from_db()
    assert inquiry.legal_hold and inquiry.legal_hold_reason == "開示請求への対応"
    page = client.get(f"/console/i/{inquiry.reference}/?lang=en").content.decode()
    assert "Release the hold" in page
    client.post(f"/console/i/{inquiry.reference}/do/unhold/")
    inquiry.refresh_from_db()
    assert not inquiry.legal_hold
    verbs = list(AuditEvent.objects.filter(inquiry=inquiry).values_list("verb", flat=True))
    assert "inquiry.held" in verbs and "inquiry.hold_released" in verbs


def test_the_command_line_runs_the_rules(shelf, capsys):
    from madoguchi.cli import cmd_retention

    class Args:
        dry_run = True

    with frozen(NOW):
        assert cmd_retention(Args()) == 0  # type: ignore[arg-type]
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["dry_run"] is True and printed["anonymise"] == 1


# --- a requester's data ---------------------------------------------------------------------


def test_a_requesters_data_is_exported_then_erased_keeping_holds_and_figures(client):
    import io
    import zipfile

    faculty, student = make_user("datafac", "faculty"), make_user("datastu", "student")
    with frozen(NOW):
        first, _ = actions.do_create_inquiry(
            new_inquiry(email="Hanako@Example.ac.jp", body="学籍番号 0123456789"),
            channel="form",
            files=[SimpleUploadedFile("report.txt", b"personal file")],
        )
        secret, _ = actions.do_create_inquiry(
            new_inquiry(
                email="hanako@example.ac.jp",
                subject="機微な相談",
                sensitive=True,
                sensitive_part="p",
                sensitive_reason="r",
            ),
            channel="sensitive_form",
        )
        held, _ = actions.do_create_inquiry(
            new_inquiry(email="hanako@example.ac.jp"), channel="form"
        )
        other, _ = actions.do_create_inquiry(
            new_inquiry(email="taro@example.ac.jp"), channel="form"
        )
    Inquiry.objects.filter(pk=held.pk).update(legal_hold=True, legal_hold_reason="係争中")
    before = _figures()
    client.force_login(student)
    assert client.get("/console/privacy/requester/?email=hanako@example.ac.jp").status_code == 404
    assert (
        client.post(
            "/console/privacy/requester/erase/", {"email": "x@y.z", "confirm": "yes"}
        ).status_code
        == 404
    )
    client.force_login(faculty)
    page = client.get(
        "/console/privacy/requester/?email=hanako@example.ac.jp&lang=en"
    ).content.decode()
    for inquiry in (first, secret, held):
        assert inquiry.reference in page
    assert other.reference not in page
    exported = client.post("/console/privacy/requester/export/", {"email": "hanako@example.ac.jp"})
    assert exported["Content-Type"] == "application/zip"
    assert exported.streaming  # from a temporary file, not built in a response body
    archive = zipfile.ZipFile(io.BytesIO(b"".join(exported.streaming_content)))
    data = json.loads(archive.read("data.json"))
    assert {d["reference"] for d in data} == {first.reference, secret.reference, held.reference}
    assert any("0123456789" in m["body"] for d in data for m in d["messages"])
    assert archive.read(f"files/{first.reference}/1-report.txt") == b"personal file"
    assert AuditEvent.objects.filter(verb="inquiry.exported").count() == 3
    assert not AuditEvent.objects.filter(data__icontains="hanako").exists()  # no address logged
    # Without the confirmation nothing happens.
    client.post("/console/privacy/requester/erase/", {"email": "hanako@example.ac.jp"})
    assert not Inquiry.objects.filter(anonymised_at__isnull=False).exists()
    client.post(
        "/console/privacy/requester/erase/", {"email": "hanako@example.ac.jp", "confirm": "yes"}
    )
    assert set(
        Inquiry.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True)
    ) == {
        first.pk,
        secret.pk,
    }
    assert Inquiry.objects.get(pk=held.pk).requester_email == "hanako@example.ac.jp"
    assert Inquiry.objects.get(pk=other.pk).anonymised_at is None
    assert _figures() == before
