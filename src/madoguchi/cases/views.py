"""Case studies in the console (faculty staff and administrators; 404 for student staff).
Thin: parse, call one query or action, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.inquiries import access
from madoguchi.web.decorators import staff_required

from . import actions, queries, redaction
from .forms import ReviewForm
from .labels import KIND_LABELS, kind_label, rule_label
from .models import CaseStudy

FORMATS = {"txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8"}


def _faculty(request: HttpRequest) -> None:
    if not access.sees_case_studies(request.user):
        raise Http404


@staff_required
def case_list(request: HttpRequest) -> HttpResponse:
    _faculty(request)
    return render(
        request,
        "cases/list.html",
        {
            "approved": queries.approved(request.user)[:200],
            "drafts": queries.drafts(request.user)[:200],
        },
    )


@staff_required
@require_POST
def start(request: HttpRequest, reference: str) -> HttpResponse:
    _faculty(request)
    with transaction.atomic():
        inquiry = access.access_inquiry(request.user, reference, for_update=True)
        try:
            case = actions.do_start_case_study(inquiry, acting_user=request.user)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect("console:detail", reference=reference)
    messages.success(request, _("A draft case study was made. Review each redaction."))
    return redirect("cases:review", pk=case.pk)


def _findings(found: list[redaction.Redaction]) -> list[dict[str, Any]]:
    return [
        {
            "kind": kind_label(f.kind),
            "original": f.original,
            "certain": f.kind in redaction.CERTAIN_KINDS,
        }
        for f in found
    ]


def _rows(case: CaseStudy) -> list[dict[str, Any]]:
    return [
        dict(r, index=i, label=kind_label(r["kind"]), why=rule_label(r["rule"]))
        for i, r in enumerate(case.redactions)
    ]


@staff_required
def review(request: HttpRequest, pk: int) -> HttpResponse:
    _faculty(request)
    case = queries.access_case_study(request.user, pk)
    if request.method == "POST":
        return _review_post(request, case)
    form = ReviewForm(
        initial={
            "title": case.title,
            "text": case.text,
            "accept": [i for i, r in enumerate(case.redactions) if r.get("accepted")],
        },
        count=len(case.redactions),
    )
    return _review_page(request, case, form)


def _review_page(
    request: HttpRequest, case: CaseStudy, form: ReviewForm, refused: Any = None, status: int = 200
) -> HttpResponse:
    draft = access.can_review_case_study(request.user, case)
    text = form["text"].value() if form.is_bound else case.text
    title = form["title"].value() if form.is_bound else case.title
    return render(
        request,
        "cases/review.html",
        {
            "case": case,
            "form": form,
            "draft": draft,
            "rows": _rows(case),
            "edited": draft and case.text != actions.generated_text(case),
            "remaining": _findings(actions.remaining(case, str(text or ""), str(title or ""))),
            "refused": _findings(refused) if refused else None,
            "kinds": KIND_LABELS,
        },
        status=status,
    )


def _review_post(request: HttpRequest, case: CaseStudy) -> HttpResponse:
    form = ReviewForm(request.POST, count=len(case.redactions))
    step = request.POST.get("do", "")
    if step not in ("apply", "save", "approve"):
        raise PermissionDenied
    if not form.is_valid():
        return _review_page(request, case, form, status=400)
    user = request.user
    data = form.cleaned_data
    with transaction.atomic():
        case = queries.access_case_study(user, case.pk, for_update=True)
        try:
            if step == "apply":
                actions.do_choose_redactions(case, set(data["accept"]), acting_user=user)
                messages.success(request, _("The text was rebuilt from your choices."))
            elif step == "save":
                actions.do_edit_case_study(
                    case, title=data["title"], text=data["text"], acting_user=user
                )
                messages.success(request, _("Saved."))
            else:
                actions.do_approve_case_study(
                    case, title=data["title"], text=data["text"], acting_user=user
                )
                messages.success(request, _("Approved. The case study can now be exported."))
        except actions.Refused as exc:
            return _review_page(request, case, form, refused=exc.findings, status=400)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
    return redirect("cases:review", pk=case.pk)


@staff_required
def export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    _faculty(request)
    if fmt not in FORMATS:
        raise Http404
    case = queries.access_case_study(request.user, pk)
    if not case.is_approved:
        raise Http404
    try:
        actions.record_export(case, fmt, acting_user=request.user)
    except actions.Refused as exc:
        form = ReviewForm(initial={"title": case.title, "text": case.text}, count=0)
        return _review_page(request, case, form, refused=exc.findings, status=409)
    title = case.title.strip()
    if fmt == "md":
        body = (f"# {title}\n\n" if title else "") + case.text
    else:
        body = (f"{title}\n\n" if title else "") + case.text
    response = HttpResponse(body.encode("utf-8"), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="case-study-{case.pk}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
