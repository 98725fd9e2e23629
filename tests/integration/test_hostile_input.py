"""Hostile strings from ../shared/data/bad-input/strings through every form field:
stored exactly as typed, or refused with a clear error on that field and nothing
stored — never an exception, never a changed query, never an extra mail header."""

from __future__ import annotations

import json

import pytest

from madoguchi.inquiries.models import Inquiry
from tests.conftest import HOSTILE_STRINGS, hostile_strings, shared_params
from tests.integration.test_intake import form_data

pytestmark = pytest.mark.django_db

FIELDS = {
    "name": "name",
    "subject": "subject",
    "body": "body",
    "student_id": "common_id",
    "email": "email",
}
ONE_LINE = {"name", "subject"}
# Why a field may refuse a string: the rule that refused it must be one of these.
ACCEPTABLE_REFUSALS = {
    "invalid_text",
    "single_line",
    "null_characters_not_allowed",
    "max_length",
    "required",
    "common_id",
    "email",
    "mismatch",
}


def cases():
    rows = hostile_strings(collecting=True)
    if not rows:
        return [
            pytest.param(None, None, marks=p.marks, id=p.id)
            for p in shared_params([], path=HOSTILE_STRINGS)
        ]
    out = []
    for row in rows:
        for target in row["targets"]:
            if target in FIELDS:
                out.append(pytest.param(row, target, id=f"{row['id']}-{target}"))
    return out


@pytest.mark.parametrize(("row", "target"), cases())
def test_form_field(client, categories, row, target):
    field = FIELDS[target]
    payload = row["payload"]
    data = form_data(**{field: payload})
    if field == "email":
        data["email_confirm"] = payload
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError:
        # Not text a browser can send in a form; JSON can carry it as an escape.
        api = dict(
            name="n",
            email="a@example.ac.jp",
            category="other",
            subject="s",
            member_category="staff",
            body="b",
            lang="en",
        )
        api["common_id" if field == "common_id" else field] = payload
        response = client.post(
            "/api/v1/inquiries", json.dumps(api), content_type="application/json"
        )
        assert response.status_code == 400 and response.json()["errors"]
        assert Inquiry.objects.count() == 0
        return
    response = client.post("/form/?lang=en", data)
    if response.status_code == 302:
        inquiry = Inquiry.objects.get()
        if field == "body":
            assert inquiry.messages.get().body == payload
        elif field in ONE_LINE:
            assert (
                getattr(inquiry, "requester_name" if field == "name" else "subject")
                == payload.strip()
            )
        assert row["expect"] not in ("reject",), f"{row['id']} should have been refused"
        return
    assert response.status_code == 200
    assert Inquiry.objects.count() == 0
    errors = response.context["form"].errors.as_data()
    assert field in errors or (field == "email" and "email_confirm" in errors), errors
    codes = {e.code for e in errors.get(field, errors.get("email_confirm", []))}
    assert codes <= ACCEPTABLE_REFUSALS, (row["id"], codes)
    # Nothing typed is lost: the other fields come back filled in.
    html = response.content.decode()
    if field != "body":
        assert "エラー: invalid_grant" in html or "invalid_grant" in html
    if row["expect"] == "inert" and field == "body":
        # The details field keeps any text; it refuses only NUL (which no database text
        # column can hold faithfully), blank-only text and text over the length limit.
        assert codes <= {"null_characters_not_allowed", "required", "max_length"}, (
            row["id"],
            codes,
        )


@pytest.mark.parametrize(
    "row",
    shared_params(
        [
            r
            for r in hostile_strings(collecting=True)
            if "form_api" in r["targets"] or "body" in r["targets"]
        ],
        path=HOSTILE_STRINGS,
        ids=lambda r: r["id"],
    ),
)
def test_api_body(client, categories, row):
    payload = {
        "name": "n",
        "email": "a@example.ac.jp",
        "category": "other",
        "subject": "s",
        "member_category": "staff",
        "body": row["payload"],
        "lang": "en",
    }
    response = client.post(
        "/api/v1/inquiries", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code in (201, 400), response.status_code
    if response.status_code == 201:
        assert Inquiry.objects.get().messages.get().body == row["payload"]
    else:
        assert response.json()["errors"]["body"]


@pytest.mark.parametrize(
    "row",
    shared_params(
        [
            r
            for r in hostile_strings(collecting=True)
            if {"search", "sort", "filter_api"} & set(r["targets"])
        ],
        path=HOSTILE_STRINGS,
        ids=lambda r: r["id"],
    ),
)
def test_console_search_and_filters(client, create, student, row):
    create()
    create(subject="other one", email="x@example.ac.jp")
    client.force_login(student)
    payload = row["payload"][:5000]
    for params in (
        {"q": payload},
        {"status": payload},
        {"priority": payload},
        {"category": payload},
        {"view": payload},
        {"before": payload},
    ):
        response = client.get("/console/", params)
        assert response.status_code == 200
    # The wildcard-only search must not match everything.
    response = client.get("/console/", {"q": "%%%___", "view": "all"})
    assert response.context["view_links"] and len(response.context["rows"]) == 0
    response = client.get("/api/v1/inquiries", {"q": payload, "view": payload, "before": payload})
    assert response.status_code == 200
    assert Inquiry.objects.count() == 2
