"""The audit log: append-only for the application, browsed and exported by faculty staff
and administrators in the console; the consent ledger on each inquiry's page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from madoguchi.core.clock import frozen
from madoguchi.inquiries import actions
from madoguchi.privacy import audit
from madoguchi.privacy.models import AppendOnly, AuditEvent

from .conftest import make_user

pytestmark = pytest.mark.django_db


def test_nothing_in_the_application_changes_or_removes_an_entry(create):
    staff = make_user("auditstaff", "faculty")
    inquiry = create()
    event = audit.record("inquiry.noted", actor=staff, inquiry=inquiry, message=1)
    event.verb = "inquiry.viewed"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(verb="x")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    # Who and what an entry names cannot be deleted from under it.
    with pytest.raises(ProtectedError):
        staff.delete()
    with pytest.raises(ProtectedError):
        inquiry.delete()
    assert AuditEvent.objects.get(pk=event.pk).verb == "inquiry.noted"


def test_on_postgresql_the_table_itself_refuses_update_and_delete(create):
    if connection.vendor != "postgresql":
        print("SKIP: the trigger is PostgreSQL's (the scaled phase of scripts/test runs this)")
        pytest.skip("PostgreSQL only: this run is on " + connection.vendor)
    event = audit.record("inquiry.viewed", inquiry=create(), actor_kind="system")
    for sql in (
        "UPDATE privacy_auditevent SET verb = 'x' WHERE id = %s",
        "DELETE FROM privacy_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).verb == "inquiry.viewed"


def _history(create):
    faculty = make_user("auditfac", "faculty")
    student = make_user("auditstu", "student")
    hostile = make_user("=HYPERLINK(1)", "faculty")
    with frozen(dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)):
        general = create(subject="general-audit")
        actions.do_add_note(general, "n1", acting_user=student)
    with frozen(dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)):
        secret = create(
            subject="secret-audit", sensitive=True, sensitive_part="p", sensitive_reason="r"
        )
        actions.do_add_note(secret, "n2", acting_user=hostile)
    return faculty, student, general, secret


def test_faculty_browse_filter_and_export_the_log(client, create):
    faculty, student, general, secret = _history(create)
    client.force_login(faculty)
    page = client.get("/console/audit/?lang=en").content.decode()
    assert general.reference in page and secret.reference in page
    only = client.get(f"/console/audit/?inquiry={general.reference.lower()}").content.decode()
    assert general.reference in only and secret.reference not in only
    notes = client.get("/console/audit/?verb=inquiry.noted&actor=auditstu").content.decode()
    assert general.reference in notes and secret.reference not in notes
    late = client.get("/console/audit/?since=2026-11-10&until=2026-11-30").content.decode()
    assert secret.reference in late and general.reference not in late
    export = client.get("/console/audit/export.csv?verb=inquiry.noted")
    assert export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    body = b"".join(export.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffat,verb,label,actor")
    assert "'=HYPERLINK(1)" in body and ",=HYPERLINK" not in body  # no formula
    assert general.reference in body and secret.reference in body


@pytest.mark.parametrize("who", ["student", "anonymous"])
def test_the_log_pages_are_not_for_student_staff(client, create, who):
    _faculty, student, _general, _secret = _history(create)
    if who == "student":
        client.force_login(student)
    for url in ("/console/audit/", "/console/audit/export.csv"):
        response = client.get(url)
        assert response.status_code == (404 if who == "student" else 302), url


@pytest.mark.django_db(transaction=True)
def test_the_inquiry_page_shows_its_consent_ledger(client):
    from madoguchi.calls import actions as call_actions
    from madoguchi.calls import queries as call_queries
    from madoguchi.chat.models import OperatorStatus

    student = make_user("ledgerstu", "student")
    OperatorStatus.objects.create(user=student, available=True)
    with frozen(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)):
        started = call_actions.do_start(
            "Zoom の音", lang="ja", terms_version=call_queries.current_terms().version
        )
    client.force_login(student)
    page = client.get(f"/console/i/{started.call.inquiry.reference}/?lang=en").content.decode()
    assert "Consent ledger" in page and "Terms of use accepted" in page
    assert f"version {call_queries.current_terms().version}" in page
