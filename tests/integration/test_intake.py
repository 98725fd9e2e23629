"""The email form and the public API, through HTTP, down to the mail a requester gets."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.inquiries.models import Attachment, Inquiry, Lane, MessageKind
from madoguchi.mail.models import OutboundMail, OutboundStatus
from madoguchi.privacy.models import AuditEvent
from tests.integration.conftest import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def form_data(**overrides):
    data = {
        "submission_key": "k" * 32,
        "name": "山田 太郎",
        "common_id": "０１２３４５６７８９",
        "affiliation": "工学部",
        "member_category": "student_current",
        "year_or_title": "2年",
        "email": "Taro@Example.ac.jp",
        "email_confirm": "taro@example.ac.jp",
        "category": "account",
        "subject": "パスワードを忘れました",
        "body": "ログインできません。\nエラー: invalid_grant",
    }
    data.update(overrides)
    return data


def test_form_creates_inquiry_and_confirmation_mail_arrives(client, categories, smtp_settings):
    response = client.post("/form/?lang=ja", form_data())
    assert response.status_code == 302 and response["Location"] == "/form/done/"
    inquiry = Inquiry.objects.get()
    assert inquiry.common_id == "0123456789"
    assert inquiry.requester_email == "taro@example.ac.jp"
    assert inquiry.lane == Lane.GENERAL and inquiry.lang == "ja"
    assert inquiry.messages.get().kind == MessageKind.REQUESTER
    done = client.get("/form/done/")
    assert inquiry.reference in done.content.decode()
    assert AuditEvent.objects.filter(verb="inquiry.created", inquiry=inquiry).exists()

    run_tasks()
    [mail] = smtp_settings.wait_for(1)
    assert mail["To"] == "taro@example.ac.jp"
    assert f"[{inquiry.reference}]" in mail["Subject"]
    assert mail["Message-ID"] == inquiry.root_message_id
    body = mail.get_content()
    assert "受付番号" in body and inquiry.reference in body
    link = next(line for line in body.splitlines() if line.startswith("http://testserver/t/"))
    page = client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert "ログインできません" in page.content.decode()
    assert OutboundMail.objects.get().status == OutboundStatus.SENT


def test_confirmation_in_english_when_the_form_was_english(client, categories, smtp_settings):
    client.post("/form/?lang=en", form_data(subject="Forgot my password"))
    run_tasks()
    [mail] = smtp_settings.wait_for(1)
    assert "We received your inquiry" in mail["Subject"]
    assert "Reference:" in mail.get_content()


def test_same_form_twice_creates_one_inquiry(client, categories, smtp_settings):
    client.post("/form/", form_data())
    client.post("/form/", form_data())
    # A new one-time key but the same content within the window: still one inquiry.
    client.post("/form/", form_data(submission_key="z" * 32))
    assert Inquiry.objects.count() == 1
    run_tasks()
    assert len(smtp_settings.wait_for(1, timeout=1)) == 1
    # Different content is a different inquiry.
    client.post("/form/", form_data(submission_key="y" * 32, subject="別の件"))
    assert Inquiry.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email_confirm": "tar0@example.ac.jp"}, "email_confirm"),
        ({"common_id": "012345678"}, "common_id"),
        ({"member_category": "other"}, "member_category_other"),
        ({"category": "class-entry"}, "class_subject"),
        ({"category": "zoom"}, "zoom_signin_email"),
        ({"body": "   "}, "body"),
        ({"subject": "a\r\nBcc: victim@evil.example"}, "subject"),
        ({"name": "x" * 101}, "name"),
        ({"category": "no-such-category"}, "category"),
    ],
)
def test_invalid_form_is_rejected_field_by_field(client, categories, overrides, field):
    response = client.post("/form/", form_data(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Inquiry.objects.count() == 0


def test_category_fields_are_stored_when_asked_for(client, categories):
    client.post(
        "/form/",
        form_data(
            category="class-entry",
            class_date="2026-11-30",
            class_period="2",
            class_subject="情報科学",
            class_instructor="田中",
            zoom_signin_email="ignored@example.ac.jp",
        ),
    )
    inquiry = Inquiry.objects.get()
    assert inquiry.details == {
        "class_date": "2026-11-30",
        "class_period": "2",
        "class_subject": "情報科学",
        "class_instructor": "田中",
    }
    client.post(
        "/form/",
        form_data(
            submission_key="q" * 32, subject="zoom", category="zoom", zoom_signin_unknown="on"
        ),
    )
    assert Inquiry.objects.get(subject="zoom").details == {
        "zoom_signin_email": "",
        "zoom_signin_unknown": True,
    }


def test_attachments_within_limits(client, categories, settings):
    settings.MAX_ATTACHMENTS = 2
    files = [
        SimpleUploadedFile("../../etc/passwd", b"hello"),
        SimpleUploadedFile("画面.png", b"\x89PNG..."),
    ]
    response = client.post("/form/", {**form_data(), "attachments": files})
    assert response.status_code == 302
    names = sorted(Attachment.objects.values_list("original_name", flat=True))
    assert names == ["passwd", "画面.png"]
    for a in Attachment.objects.all():
        assert (settings.UPLOAD_DIR / a.stored_name).read_bytes() in (b"hello", b"\x89PNG...")
    too_many = [SimpleUploadedFile(f"{i}.txt", b"x") for i in range(3)]
    response = client.post(
        "/form/", {**form_data(submission_key="m" * 32, subject="2"), "attachments": too_many}
    )
    assert "attachments" in response.context["form"].errors


def test_sensitive_form_creates_faculty_only_inquiry(client, categories, smtp_settings):
    page = client.get("/form/sensitive/?lang=ja")
    assert "1週間" in page.content.decode() or "week" in page.content.decode()
    response = client.post(
        "/form/sensitive/",
        form_data(category="", sensitive_part="成績の部分", sensitive_reason="利益相反のため"),
    )
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert inquiry.lane == Lane.SENSITIVE and inquiry.channel == "sensitive_form"
    assert inquiry.sensitive_part == "成績の部分"
    run_tasks()
    [mail] = smtp_settings.wait_for(1)
    assert inquiry.reference in mail["Subject"]


def test_sensitive_form_requires_part_and_reason(client, categories):
    response = client.post("/form/sensitive/", form_data(category=""))
    errors = response.context["form"].errors
    assert "sensitive_part" in errors and "sensitive_reason" in errors


def test_rate_limit_on_the_form(client, categories, settings):
    settings.INTAKE_RATE_LIMIT = "2/600"
    for i in range(2):
        assert (
            client.post(
                "/form/", form_data(submission_key=f"{i}" * 32, subject=f"s{i}")
            ).status_code
            == 302
        )
    assert (
        client.post("/form/", form_data(submission_key="9" * 32, subject="s9")).status_code == 429
    )
    assert Inquiry.objects.count() == 2


# --- API ------------------------------------------------------------------------------------


def api_payload(**overrides):
    data = {
        "name": "Emily Clark",
        "email": "emily@example.ac.jp",
        "member_category": "faculty_parttime",
        "category": "account",
        "subject": "MFA",
        "body": "Lost my phone.",
        "lang": "en",
    }
    data.update(overrides)
    return data


def test_api_creates_inquiry(client, categories, smtp_settings):
    response = client.post(
        "/api/v1/inquiries", json.dumps(api_payload()), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    inquiry = Inquiry.objects.get(reference=reference)
    assert inquiry.channel == "api" and inquiry.lang == "en"
    run_tasks()
    [mail] = smtp_settings.wait_for(1)
    assert reference in mail["Subject"]


def test_api_errors_are_field_by_field_in_the_requested_language(client, categories):
    response = client.post(
        "/api/v1/inquiries",
        json.dumps(api_payload(email="nope", common_id="123", lang="en")),
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) >= {"email", "common_id"}
    assert "10 digits" in errors["common_id"][0]
    response = client.post(
        "/api/v1/inquiries",
        json.dumps(api_payload(email="nope", lang="ja")),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "メールアドレス" in response.json()["errors"]["email"][0]


@pytest.mark.parametrize(
    "extra",
    [{"lane": "general"}, {"status": "solved"}, {"assignee": 1}, {"reference": "Q-00000000"}],
)
def test_api_rejects_mass_assignment(client, categories, extra):
    response = client.post(
        "/api/v1/inquiries", json.dumps(api_payload(**extra)), content_type="application/json"
    )
    assert response.status_code == 400
    assert Inquiry.objects.count() == 0


def test_api_sensitive(client, categories):
    response = client.post(
        "/api/v1/inquiries",
        json.dumps(
            api_payload(sensitive=True, sensitive_part="grades", sensitive_reason="conflict")
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Inquiry.objects.get().lane == Lane.SENSITIVE


def test_api_categories(client, categories):
    data = client.get("/api/v1/categories").json()
    exam = next(c for c in data if c["slug"] == "exam")
    assert exam["form_only"] is True and exam["name_ja"] and exam["name_en"]
    assert next(c for c in data if c["slug"] == "class-entry")["extra_fields"] == ["class"]


def test_openapi_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/inquiries" in schema["paths"]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_resubmission_with_an_added_file_keeps_it(client, categories, settings):
    """The same form sent again with one more file: one inquiry, the new file on it (the
    repeated one stored once), audited, and the requester told what happened."""
    first = SimpleUploadedFile("screen.png", b"\x89PNG one")
    assert client.post("/form/?lang=en", {**form_data(), "attachments": [first]}).status_code == 302
    again = [SimpleUploadedFile("screen.png", b"\x89PNG one"), SimpleUploadedFile("log.txt", b"E1")]
    response = client.post("/form/?lang=en", {**form_data(), "attachments": again})
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    names = sorted(a.original_name for a in inquiry.attachments.all())
    assert names == ["log.txt", "screen.png"]
    added = inquiry.attachments.get(original_name="log.txt")
    assert (settings.UPLOAD_DIR / added.stored_name).read_bytes() == b"E1"
    assert added.sha256 == hashlib.sha256(b"E1").hexdigest()
    first_message = inquiry.messages.get()
    assert set(first_message.attachments.values_list("original_name", flat=True)) == set(names)
    event = AuditEvent.objects.get(verb="inquiry.files_added", inquiry=inquiry)
    assert event.data["count"] == 1
    done = client.get("/form/done/?lang=en").content.decode()
    assert inquiry.reference in done
    assert "already been received" in done and "1 file was added" in done

    # The same files a third time (a new one-time key, same content): nothing to add.
    third = [SimpleUploadedFile("x.png", b"\x89PNG one"), SimpleUploadedFile("y.txt", b"E1")]
    client.post("/form/?lang=en", {**form_data(submission_key="n" * 32), "attachments": third})
    assert inquiry.attachments.count() == 2
    done = client.get("/form/done/?lang=en").content.decode()
    assert "already been received" in done and "added" not in done


def test_api_says_a_resubmission_is_a_duplicate(client, categories):
    payload = {k: v for k, v in form_data().items() if k != "email_confirm"}
    first = client.post("/api/v1/inquiries", payload, content_type="application/json").json()
    assert first["created"] is True and first["duplicate"] is False
    again = client.post("/api/v1/inquiries", payload, content_type="application/json").json()
    assert again["reference"] == first["reference"]
    assert again["duplicate"] is True and again["files_added"] == 0
