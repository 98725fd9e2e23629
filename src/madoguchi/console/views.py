"""The staff console. Thin: parse, call one access function or action, render."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.roles import sees_restricted
from madoguchi.calls import queries as call_queries
from madoguchi.cases import queries as case_queries
from madoguchi.chat import queries as chat_queries
from madoguchi.inquiries import access, actions, queries
from madoguchi.inquiries.models import Category, Channel, HandbackStatus, Priority, Status
from madoguchi.mail import outbox
from madoguchi.privacy import audit
from madoguchi.sla.models import SlaPolicy
from madoguchi.web.decorators import staff_required
from madoguchi.web.files import attachment_response
from madoguchi.web.forms import MultipleFileField, TextCheckedForm


def _views_for(user: Any) -> list[tuple[str, Any]]:
    names = [
        ("due", gettext_lazy("Due soon")),
        ("unassigned", gettext_lazy("Unassigned")),
        ("mine", gettext_lazy("Mine")),
        ("open", gettext_lazy("All open")),
        ("pending", gettext_lazy("Pending requester")),
    ]
    if sees_restricted(user):
        names += [
            ("sensitive", gettext_lazy("Sensitive")),
            ("triage", gettext_lazy("Faculty triage")),
            ("faculty", pgettext_lazy("lane", "Faculty only")),
        ]
    names += [("solved", gettext_lazy("Solved")), ("all", gettext_lazy("All"))]
    return names


def _list_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    views = _views_for(user)
    allowed = [v for v, _label in views]
    view = request.GET.get("view", "open")
    if view not in allowed:
        view = "open"
    filters = queries.Filters(
        q=request.GET.get("q", "")[:200],
        status=request.GET.get("status", "")[:16],
        priority=request.GET.get("priority", "")[:2],
        category=request.GET.get("category", "")[:40],
        channel=request.GET.get("channel", "")[:16],
    )
    qs = queries.apply_filters(queries.inbox(user, view), filters, user=user)
    if view == "due":
        rows, cursor = queries.by_urgency(qs), ""
    else:
        rows, cursor = queries.page(qs, request.GET.get("before", "")[:80])
    params = request.GET.copy()
    params.pop("before", None)
    counts = queries.view_counts(user, tuple(allowed))
    return {
        "view_links": [(key, label, counts[key]) for key, label in views],
        "view": view,
        "filters": filters,
        "rows": rows,
        "next_cursor": cursor,
        "base_query": params.urlencode(),
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "channels": Channel.choices,
        "categories": Category.objects.all(),
    }


@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "console/inbox.html", _list_context(request))


@staff_required
def inbox_rows(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_rows.html", _list_context(request))


class ActionForm(TextCheckedForm):
    body = forms.CharField(required=False, max_length=20000, strip=False)
    value = forms.CharField(required=False, max_length=64)
    attachments = MultipleFileField()


def consent_ledger(inquiry: Any, handbacks: list[Any], *, has_call: bool) -> list[dict[str, Any]]:
    """The inquiry's consent ledger, oldest first: the call terms each call accepted and
    every screenshot asked, allowed, denied, stored and deleted (calls.models.Consent: only
    an inquiry with a call has any), and each hand-back asked and how the requester
    answered."""
    from madoguchi.calls.models import ConsentKind

    entries: list[dict[str, Any]] = []
    for consent in call_queries.consent_ledger(inquiry) if has_call else []:
        detail = ""
        if consent.kind == ConsentKind.TERMS:
            detail = _("Terms of use, version %(version)s") % {
                "version": consent.detail.get("version", "?")
            }
        entries.append(
            {"at": consent.created_at, "label": consent.get_kind_display(), "detail": detail}
        )
    for proposal in handbacks:
        entries.append(
            {
                "at": proposal.created_at,
                "label": _("Hand-back to student staff asked"),
                "detail": "",
            }
        )
        if proposal.decided_at is not None:
            entries.append(
                {"at": proposal.decided_at, "label": proposal.get_status_display(), "detail": ""}
            )
    return sorted(entries, key=lambda e: e["at"])


def _detail_context(request: HttpRequest, reference: str) -> dict[str, Any]:
    inquiry = access.access_inquiry(request.user, reference)
    calls = call_queries.inquiry_page_context(request.user, inquiry)
    handbacks = list(inquiry.handbacks.all())
    User = get_user_model()
    candidates = User.objects.filter(is_active=True).exclude(tier="").order_by("username")
    user = request.user
    return {
        "inquiry": inquiry,
        "thread": access.visible_messages(user, inquiry),
        "hidden_count": access.hidden_message_count(user, inquiry),
        "audit": access.visible_audit_events(user)
        .filter(inquiry=inquiry)
        .select_related("actor")[:50],
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "categories": Category.objects.all(),
        # Only the assignment buttons that work (access.can_assign decides).
        "assignees": [
            u for u in candidates if u.pk != user.pk and access.can_assign(user, inquiry, u)
        ],
        "can_claim": inquiry.assignee_id != user.pk and access.can_assign(user, inquiry, user),
        "can_unassign": inquiry.assignee_id is not None and access.can_assign(user, inquiry, None),
        "sees_sensitive_fields": access.sees_sensitive_fields(user),
        "handbacks": handbacks,
        "consents": consent_ledger(inquiry, handbacks, has_call=calls["call"] is not None),
        "handback_pending": any(h.status == HandbackStatus.PROPOSED for h in handbacks),
        "is_faculty": sees_restricted(request.user),
        # A held mail names the inquiry it claimed to answer: only for those who may see it.
        "held_reply_to": _visible_reference(user, (inquiry.details or {}).get("held_reply_to")),
        # The lines the desk puts around a reply (no real link: staff need not see it).
        "reply_frame": outbox.reply_frame(
            inquiry.lang,
            {
                "reference": inquiry.reference,
                "name": inquiry.requester_name,
                "subject": inquiry.subject,
                "link": "https://…",
            },
        ),
        **chat_queries.inquiry_page_context(request.user, inquiry),
        **calls,
        "call_page_url": settings.SITE_URL + reverse("call-page"),
        "call_code_minutes": settings.CALL_CODE_MINUTES,
        "can_write_case_study": access.can_write_case_study(user, inquiry),
        "case_studies": case_queries.of_inquiry(user, inquiry)
        if access.sees_case_studies(user)
        else [],
    }


def _visible_reference(user: Any, reference: Any) -> str:
    if not isinstance(reference, str) or not reference:
        return ""
    return reference if access.visible_inquiries(user).filter(reference=reference).exists() else ""


@staff_required
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    context = _detail_context(request, reference)
    actions.record_view(context["inquiry"], acting_user=request.user)
    return render(request, "console/detail.html", context)


@staff_required
def detail_thread(request: HttpRequest, reference: str) -> HttpResponse:
    """The thread alone (live refresh); with ``?after=ID`` only the entries after that one,
    so a busy chat costs a few rows per update, not the whole page's context."""
    inquiry = access.access_inquiry(request.user, reference)
    thread = access.visible_messages(request.user, inquiry)
    after = request.GET.get("after", "")
    if after.isdigit():
        return render(
            request, "console/_thread_items.html", {"thread": thread.filter(pk__gt=int(after))}
        )
    return render(
        request,
        "console/_thread.html",
        {
            "inquiry": inquiry,
            "thread": thread,
            "hidden_count": access.hidden_message_count(request.user, inquiry),
        },
    )


ACTIONS = {
    "reply",
    "note",
    "claim",
    "unassign",
    "assign",
    "status",
    "priority",
    "category",
    "escalate",
    "sensitive",
    "handback",
    "release",
    "revoke_link",
    "hold",
    "unhold",
}


@staff_required
@require_POST
def act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise PermissionDenied
    from django.db import transaction

    form = ActionForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("console:detail", reference=reference)
    body = form.cleaned_data["body"]
    value = form.cleaned_data["value"]
    user = request.user
    with transaction.atomic():
        inquiry = access.access_inquiry(user, reference, for_update=True)
        try:
            if action in ("reply", "note") and not body.strip():
                messages.error(request, _("Write something first."))
            elif action == "reply":
                actions.do_reply(
                    inquiry, body, acting_user=user, files=form.cleaned_data["attachments"]
                )
                messages.success(request, _("Reply sent."))
            elif action == "note":
                actions.do_add_note(inquiry, body, acting_user=user)
                messages.success(request, _("Note added."))
            elif action == "claim":
                actions.do_claim(inquiry, acting_user=user)
                messages.success(request, _("You are now the assignee."))
            elif action == "unassign":
                actions.do_assign(inquiry, None, acting_user=user)
            elif action == "assign":
                target = (
                    get_user_model()
                    .objects.filter(pk=int(value) if value.isdigit() else 0, is_active=True)
                    .first()
                )
                actions.do_assign(inquiry, target, acting_user=user)
            elif action == "status":
                if value not in Status.values:
                    raise ValueError(value)
                actions.do_change_status(inquiry, value, acting_user=user)
            elif action == "priority":
                actions.do_change_priority(inquiry, int(value), acting_user=user)
            elif action == "category":
                category = Category.objects.filter(slug=value).first() if value else None
                actions.do_change_category(inquiry, category, acting_user=user)
            elif action == "escalate":
                actions.do_escalate(inquiry, body, acting_user=user)
                messages.success(request, _("Escalated to faculty."))
            elif action == "sensitive":
                actions.do_mark_sensitive(inquiry, body, acting_user=user)
                messages.success(
                    request, _("Marked as sensitive. Student staff can no longer see it.")
                )
            elif action == "handback":
                actions.do_propose_handback(inquiry, body, acting_user=user)
                messages.success(request, _("The requester was asked for consent."))
            elif action == "release":
                actions.do_release_to_general(inquiry, acting_user=user, reason=body)
                messages.success(request, _("Released to student staff."))
            elif action in ("hold", "unhold"):
                actions.do_set_legal_hold(inquiry, action == "hold", reason=body, acting_user=user)
                messages.success(
                    request,
                    _("Legal hold placed.") if action == "hold" else _("Legal hold released."),
                )
            elif action == "revoke_link":
                actions.do_revoke_requester_link(inquiry, acting_user=user)
                messages.success(
                    request,
                    _("The requester's old links no longer work. The next mail has a new one."),
                )
        except ValueError:
            messages.error(request, _("The input was not accepted."))
        except PermissionDenied as exc:
            # Visible but not allowed (e.g. another member's assignment): say why.
            messages.error(request, str(exc) or _("You cannot act on this inquiry."))
    if not access.can_see(user, inquiry) or (action == "sensitive" and not sees_restricted(user)):
        return redirect("console:inbox")
    return redirect("console:detail", reference=reference)


@staff_required
def live_panel(request: HttpRequest) -> HttpResponse:
    """The operators' live page: availability, the chat queue and the call queue (one
    availability switch counts for both)."""
    return render(
        request,
        "console/chat_panel.html",
        {
            **chat_queries.panel_context(request.user),
            "call_queue": call_queries.console_queue(request.user),
        },
    )


@staff_required
def attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    found = access.access_attachment(request.user, attachment_id)
    if found.message is not None and found.message.meta.get("screenshot"):
        # A call's screenshot: every view is in the audit log (and the inquiry's history).
        audit.record(
            "call.screenshot_viewed", actor=request.user, inquiry=found.inquiry, attachment=found.pk
        )
    return attachment_response(found)


@staff_required
def mail_review(request: HttpRequest) -> HttpResponse:
    if not sees_restricted(request.user):
        raise Http404
    rows = access.visible_unrouted_mail(request.user).order_by("-received_at")[:200]
    return render(request, "console/mail_review.html", {"rows": rows})


@staff_required
def sla_report(request: HttpRequest) -> HttpResponse:
    """Attainment of first-response and resolution targets per week, policy, priority
    and channel (faculty supervisors)."""
    if not sees_restricted(request.user):
        raise Http404
    from django.db.models import Count, Q
    from django.db.models.functions import TruncWeek

    rows = (
        access.visible_inquiries(request.user)
        .filter(sla_policy__isnull=False)
        .annotate(week=TruncWeek("created_at"))
        .values("week", "sla_policy__name", "sla_policy__name_en", "priority", "channel")
        .annotate(
            total=Count("id"),
            first_measured=Count("id", filter=Q(first_response_met__isnull=False)),
            first_met=Count("id", filter=Q(first_response_met=True)),
            resolution_measured=Count("id", filter=Q(resolution_met__isnull=False)),
            resolution_met=Count("id", filter=Q(resolution_met=True)),
            breached=Count("id", filter=Q(sla_breached=True)),
        )
        .order_by("-week", "sla_policy__name", "priority", "channel")[:500]
    )
    table = []
    for row in rows:
        row = dict(row)
        row["policy"] = SlaPolicy(
            name=row["sla_policy__name"], name_en=row.pop("sla_policy__name_en") or ""
        ).label()
        row["first_pct"] = (
            round(100 * row["first_met"] / row["first_measured"]) if row["first_measured"] else None
        )
        row["resolution_pct"] = (
            round(100 * row["resolution_met"] / row["resolution_measured"])
            if row["resolution_measured"]
            else None
        )
        table.append(row)
    return render(
        request, "console/sla_report.html", {"rows": table, "channels": dict(Channel.choices)}
    )


@staff_required
def inline_image(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """A raster image from an HTML mail, for the sandboxed mail view: only attachments
    the mail marked as inline images, served with their image type and nothing else."""
    attachment = access.access_attachment(request.user, attachment_id)
    if not attachment.inline_type.startswith("image/"):
        raise Http404
    from madoguchi.inquiries import storage

    try:
        data = storage.path_of(attachment.stored_name).read_bytes()
    except (OSError, ValueError):
        raise Http404 from None
    response = HttpResponse(data, content_type=attachment.inline_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
