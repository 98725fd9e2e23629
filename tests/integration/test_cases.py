"""Case studies (issue 15): start from a solved inquiry, review each redaction, edit,
approve, export; faculty staff and administrators only; audited."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.cases import actions as case_actions
from madoguchi.cases.models import CaseStatus, CaseStudy
from madoguchi.inquiries import actions
from madoguchi.inquiries.actions import do_create_inquiry
from madoguchi.privacy.models import AuditEvent
from tests.integration.conftest import make_user, new_inquiry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(english):
    """English texts are asserted (the shared ``english`` fixture)."""


BODY = (
    "工学部2年の山田太郎と申します。共通ID：０１２３４５６７８９\n"
    "2026年11月24日（火）3限の「情報科学概論」（田中先生）に Zoom で入れません。\n"
    "エラー番号 12345 です。電話 090-1234-5678 まで。\n\nよろしくお願いします。\n山田 太郎\n"
)


@pytest.fixture
def staff(db):
    return {
        "student": make_user("stu", "student"),
        "faculty": make_user("fac", "faculty"),
        "admin": make_user("adm", superuser=True),
    }


def _solved(staff, *, sensitive: bool = False, solve: bool = True):
    data = new_inquiry(
        name="山田 太郎",
        email="taro.yamada@st.univ.example",
        subject="山田です：Zoom に入れません",
        body=BODY,
        common_id="0123456789",
        details={"class_subject": "情報科学概論", "class_instructor": "田中 一郎"},
        sensitive=sensitive,
        sensitive_part="p" if sensitive else "",
        sensitive_reason="r" if sensitive else "",
    )
    inquiry, _ = do_create_inquiry(
        data, channel="form", files=[SimpleUploadedFile("screenshot-zqx.png", b"png")]
    )
    actions.do_add_note(inquiry, "internal-note-zqx 佐藤さんに確認", acting_user=staff["faculty"])
    actions.do_reply(
        inquiry,
        "山田様\n\nUTOL に掲載された URL から入室してください。\n\n> 工学部2年の山田太郎と申します。",
        acting_user=staff["faculty"],
    )
    if solve:
        actions.do_change_status(inquiry, "solved", acting_user=staff["faculty"])
    inquiry.refresh_from_db()
    return inquiry


def test_a_faculty_member_starts_a_case_study_from_a_solved_inquiry(client, staff):
    inquiry = _solved(staff)
    client.force_login(staff["faculty"])
    response = client.post(f"/console/cases/start/{inquiry.reference}/")
    case = CaseStudy.objects.get(inquiry=inquiry)
    assert response.status_code == 302 and response["Location"] == f"/console/cases/{case.pk}/"
    # The public thread only: no internal note, no file, no quoted history.
    assert "internal-note-zqx" not in case.source_text
    assert "screenshot-zqx" not in case.source_text
    assert case.source_text.count("工学部2年の") == 1
    assert "UTOL に掲載された" in case.text
    for secret in (
        "山田",
        "太郎",
        "0123456789",
        "０１２３４５６７８９",
        "090-1234-5678",
        "24日",
        "情報科学概論",
        "田中",
    ):
        assert secret not in case.text, secret
        assert secret not in case.title, secret
    assert "2026年11月" in case.text and "エラー番号 12345" in case.text
    assert case.status == CaseStatus.DRAFT and case.created_by == staff["faculty"]
    assert AuditEvent.objects.filter(verb="case_study.started", inquiry=inquiry).exists()
    page = client.get(response["Location"]).content.decode()
    assert "090-1234-5678" in page  # the reviewer sees each original fragment
    assert 'name="accept"' in page and "<textarea" in page


def test_only_solved_inquiries(client, staff):
    inquiry = _solved(staff, solve=False)
    client.force_login(staff["faculty"])
    page = client.get(f"/console/i/{inquiry.reference}/").content.decode()
    assert "/console/cases/start/" not in page
    response = client.post(f"/console/cases/start/{inquiry.reference}/", follow=True)
    assert not CaseStudy.objects.exists()
    assert "solved inquiries" in response.content.decode()
    actions.do_change_status(inquiry, "closed", acting_user=staff["faculty"])
    page = client.get(f"/console/i/{inquiry.reference}/").content.decode()
    assert f'action="/console/cases/start/{inquiry.reference}/"' in page
    client.post(f"/console/cases/start/{inquiry.reference}/")
    assert CaseStudy.objects.count() == 1


@pytest.mark.parametrize("sensitive", [False, True])
def test_student_staff_get_404_for_everything(client, staff, sensitive):
    inquiry = _solved(staff, sensitive=sensitive)
    case = case_actions.do_start_case_study(inquiry, acting_user=staff["faculty"])
    client.force_login(staff["student"])
    if not sensitive:
        page = client.get(f"/console/i/{inquiry.reference}/").content.decode()
        assert "/console/cases/" not in page
    for method, url in [
        ("get", "/console/cases/"),
        ("post", f"/console/cases/start/{inquiry.reference}/"),
        ("get", f"/console/cases/{case.pk}/"),
        ("post", f"/console/cases/{case.pk}/"),
        ("get", f"/console/cases/{case.pk}/export.txt"),
    ]:
        response = getattr(client, method)(
            url, {"do": "approve", "text": "x"} if method == "post" else None
        )
        assert response.status_code == 404, url
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT and CaseStudy.objects.count() == 1
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied from the action itself
        case_actions.do_start_case_study(inquiry, acting_user=staff["student"])


def test_restricted_lanes_are_for_faculty(client, staff):
    inquiry = _solved(staff, sensitive=True)
    for role in ("faculty", "admin"):
        client.force_login(staff[role])
        response = client.post(f"/console/cases/start/{inquiry.reference}/")
        assert response.status_code == 302
    assert CaseStudy.objects.filter(inquiry=inquiry).count() == 2
    # The audit entries of a restricted inquiry are restricted too.
    assert all(e.restricted for e in AuditEvent.objects.filter(verb__startswith="case_study."))


def _review(client, case, step, **data):
    post = {"do": step, "title": data.pop("title", case.title), "text": data.pop("text", case.text)}
    post["accept"] = data.pop(
        "accept", [i for i, r in enumerate(case.redactions) if r.get("accepted")]
    )
    return client.post(f"/console/cases/{case.pk}/", post)


def test_review_undo_edit_approve_export(client, staff):
    inquiry = _solved(staff)
    client.force_login(staff["faculty"])
    client.post(f"/console/cases/start/{inquiry.reference}/")
    case = CaseStudy.objects.get()
    kinds = [r["kind"] for r in case.redactions]
    assert {"name", "id", "phone", "date", "class", "instructor"} <= set(kinds)
    # Undo the class-name redactions: the original comes back in the rebuilt text.
    keep = [i for i, r in enumerate(case.redactions) if r["kind"] != "class"]
    assert _review(client, case, "apply", accept=keep).status_code == 302
    case.refresh_from_db()
    assert "情報科学概論" in case.text
    assert not [r for r in case.redactions if r["kind"] == "class" and r["accepted"]]
    # An edit that puts a mail address back: saved, but not approved.
    text = case.text.replace("情報科学概論", "ある授業") + "\n連絡先 taro@st.univ.example\n"
    assert _review(client, case, "save", text=text).status_code == 302
    case.refresh_from_db()
    assert case.text == text
    page = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert "taro@st.univ.example" in page and "must be removed before approval" in page
    response = _review(client, case, "approve", text=text)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'role="alert"' in body and "taro@st.univ.example" in body
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT
    # Export before approval: there is nothing to export.
    assert client.get(f"/console/cases/{case.pk}/export.txt").status_code == 404
    # The clean text is approved, and what identified someone is gone from the record.
    clean = text.replace("連絡先 taro@st.univ.example\n", "")
    assert (
        _review(client, case, "approve", text=clean, title="Zoom に入れない事例").status_code == 302
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED and case.approved_by == staff["faculty"]
    assert case.approved_at is not None and case.source_text == ""
    assert all("original" not in r and "start" not in r for r in case.redactions)
    # An approved case study is no longer edited.
    _review(client, case, "save", text=clean + "山田太郎")
    case.refresh_from_db()
    assert "山田" not in case.text
    for fmt, content_type in (("txt", "text/plain"), ("md", "text/markdown")):
        response = client.get(f"/console/cases/{case.pk}/export.{fmt}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith(content_type)
        assert (
            response["Content-Disposition"] == f'attachment; filename="case-study-{case.pk}.{fmt}"'
        )
        assert response["X-Content-Type-Options"] == "nosniff"
        exported = response.content.decode()
        assert "ある授業" in exported and "Zoom に入れない事例" in exported
        assert inquiry.reference not in exported and "山田" not in exported
    assert exported.startswith("# Zoom に入れない事例")
    verbs = list(
        AuditEvent.objects.filter(inquiry=inquiry, verb__startswith="case_study.").values_list(
            "verb", flat=True
        )
    )
    assert {
        "case_study.started",
        "case_study.redactions_chosen",
        "case_study.edited",
        "case_study.approved",
        "case_study.exported",
    } <= set(verbs)
    listing = client.get("/console/cases/").content.decode()
    assert "Zoom に入れない事例" in listing and f"/console/cases/{case.pk}/export.md" in listing


def test_export_refused_when_the_redactor_finds_something_certain(client, staff):
    inquiry = _solved(staff)
    case = case_actions.do_start_case_study(inquiry, acting_user=staff["faculty"])
    case_actions.do_approve_case_study(
        case, title="t", text=case.text, acting_user=staff["faculty"]
    )
    # The approved text changed behind the desk's back (or the redactor learned more).
    CaseStudy.objects.filter(pk=case.pk).update(text=case.text + "\nTEL 03-5841-0000\n")
    client.force_login(staff["admin"])
    response = client.get(f"/console/cases/{case.pk}/export.md")
    assert response.status_code == 409
    assert "Content-Disposition" not in response
    assert (
        "03-5841-0000" in response.content.decode() and 'role="alert"' in response.content.decode()
    )
    assert AuditEvent.objects.filter(verb="case_study.export_refused", inquiry=inquiry).exists()
    assert not AuditEvent.objects.filter(verb="case_study.exported").exists()


def test_the_review_page_in_english(client, staff):
    inquiry = _solved(staff)
    case = case_actions.do_start_case_study(inquiry, acting_user=staff["faculty"])
    client.force_login(staff["faculty"])
    page = client.get(f"/console/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Proposed redactions (" in page
    assert '<label for="accept-0"' in page and 'for="id_text"' in page


def test_an_english_thread_gets_english_headings_and_tokens(staff):
    data = new_inquiry(
        name="Emily Carter",
        email="emily.carter@st.univ.example",
        subject="Cannot join the lecture",
        body="Hello, I could not join on Nov 24, 2026 at 10:25. My ID is 0000000001.\n\nBest regards,\nEmily Carter",
        lang="en",
    )
    inquiry, _ = do_create_inquiry(data, channel="form")
    actions.do_reply(
        inquiry, "Dear Ms. Carter,\nPlease sign in to Zoom first.", acting_user=staff["faculty"]
    )
    actions.do_change_status(inquiry, "closed", acting_user=staff["faculty"])
    case = case_actions.do_start_case_study(inquiry, acting_user=staff["admin"])
    assert case.lang == "en"
    assert case.text.startswith("Subject: Cannot join the lecture\n\n[Requester]\n")
    assert "[Desk]\nDear Ms. [name]," in case.text
    assert "November 2026" in case.text and "[ID]" in case.text
    assert "Emily" not in case.text and "Carter" not in case.text


def test_anonymising_an_inquiry_deletes_its_drafts_and_keeps_what_was_approved(staff):
    from django.db import transaction

    from madoguchi.retention.anonymise import anonymise

    inquiry = _solved(staff)
    draft = case_actions.do_start_case_study(inquiry, acting_user=staff["faculty"])
    approved = case_actions.do_start_case_study(inquiry, acting_user=staff["faculty"])
    case_actions.do_approve_case_study(
        approved, title="t", text=approved.text, acting_user=staff["faculty"]
    )
    with transaction.atomic():
        assert anonymise(inquiry, reason="test", actor=staff["admin"])
    assert not CaseStudy.objects.filter(pk=draft.pk).exists()
    kept = CaseStudy.objects.get(pk=approved.pk)
    assert kept.status == CaseStatus.APPROVED and kept.source_text == ""
