from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from madoguchi.accounts import requester
from madoguchi.core.i18n import desk_lang
from madoguchi.core.ratelimit import client_address, hit
from madoguchi.inquiries import access, actions
from madoguchi.inquiries.models import Category, HandbackProposal, HandbackStatus, Lane
from madoguchi.inquiries.queries import category_field_map
from madoguchi.web.files import attachment_response

from .forms import InquiryForm, RequesterReplyForm, SensitiveInquiryForm


def operator_availability(lang: str) -> dict[str, object]:
    """Whether operators (chat and calls) are available now, and if not, when next."""
    from madoguchi.core.clock import now
    from madoguchi.hours import describe_next_open, is_open
    from madoguchi.sla.schedules import channel_schedule

    schedule = channel_schedule("chat")
    at = now()
    if is_open(schedule, at):
        return {"open": True, "next": None}
    return {"open": False, "next": describe_next_open(schedule, at, lang)}


AUDIENCE_COOKIE = "madoguchi_audience"


def portal(request: HttpRequest) -> HttpResponse:
    """The requester's front door. "You are ..." (kept in a cookie) decides which channels
    are offered; those not available say why."""
    from madoguchi.inquiries.models import MemberCategory
    from madoguchi.sla.entitlements import channels_for

    audience = request.GET.get("audience", request.COOKIES.get(AUDIENCE_COOKIE, ""))
    if audience not in MemberCategory.values:
        audience = ""
    response = render(
        request,
        "intake/portal.html",
        {
            "categories": Category.objects.filter(active=True),
            "operators": operator_availability(_lang()),
            "audience": audience,
            "audiences": MemberCategory.choices,
            "entitled": channels_for(audience, _lang()),
        },
    )
    if "audience" in request.GET:
        response.set_cookie(
            AUDIENCE_COOKIE,
            audience,
            max_age=180 * 86400,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def _lang() -> str:
    return desk_lang()


def _form_page(request: HttpRequest, form_class: type[InquiryForm], template: str) -> HttpResponse:
    identity = requester.current(request)
    if request.method == "POST":
        if not hit("intake", client_address(request), settings.INTAKE_RATE_LIMIT):
            return render(request, "intake/rate_limited.html", status=429)
        form = form_class(request.POST, request.FILES)
        if form.is_valid():
            data = form.to_new_inquiry(_lang())
            if identity is not None and data.email.lower() == identity.email:
                data.requester_key = identity.key  # theirs, also after a change of address
            submission = actions.do_create_inquiry(
                data,
                channel="sensitive_form" if form.sensitive else "form",
                files=form.cleaned_data.get("attachments") or [],
                submission_key=form.cleaned_data.get("submission_key") or None,
            )
            request.session["submitted_reference"] = submission.inquiry.reference
            request.session["submitted_sensitive"] = submission.inquiry.lane == Lane.SENSITIVE
            request.session["submitted_duplicate"] = not submission.created
            request.session["submitted_files_added"] = submission.files_added
            return redirect("form-done")
    else:
        initial = {"submission_key": secrets.token_urlsafe(24)}
        if identity is not None:  # what the sign-in told: the requester need not type it
            initial.update(email=identity.email, email_confirm=identity.email)
            if identity.name:
                initial["name"] = identity.name
            if identity.member_category:
                initial["member_category"] = identity.member_category
            if identity.common_id:
                initial["common_id"] = identity.common_id
        if request.GET.get("category"):
            initial["category"] = request.GET["category"][:40]
        # Pre-filled from a chat that moved to the form (the widget's "send by the form").
        if request.GET.get("subject"):
            initial["subject"] = " ".join(request.GET["subject"].split())[:200]
        if request.GET.get("body"):
            initial["body"] = request.GET["body"][:4000]
        form = form_class(initial=initial)
    return render(
        request,
        template,
        {
            "form": form,
            "category_fields": category_field_map(),
            "max_files": settings.MAX_ATTACHMENTS,
            "max_mb": settings.MAX_ATTACHMENT_BYTES // 1048576,
        },
    )


@require_http_methods(["GET", "POST"])
def inquiry_form(request: HttpRequest) -> HttpResponse:
    return _form_page(request, InquiryForm, "intake/form.html")


@require_http_methods(["GET", "POST"])
def sensitive_form(request: HttpRequest) -> HttpResponse:
    return _form_page(request, SensitiveInquiryForm, "intake/sensitive_form.html")


def form_done(request: HttpRequest) -> HttpResponse:
    reference = request.session.get("submitted_reference")
    if not reference:
        return redirect("inquiry-form")
    return render(
        request,
        "intake/done.html",
        {
            "reference": reference,
            "sensitive": request.session.get("submitted_sensitive", False),
            "duplicate": request.session.get("submitted_duplicate", False),
            "files_added": request.session.get("submitted_files_added", 0),
        },
    )


@require_http_methods(["GET", "POST"])
def requester_thread(request: HttpRequest, token: str) -> HttpResponse:
    inquiry = access.access_inquiry_by_token(token)
    if request.method == "POST":
        if not hit("requester-reply", client_address(request), settings.INTAKE_RATE_LIMIT):
            return render(request, "intake/rate_limited.html", status=429)
        form = RequesterReplyForm(request.POST, request.FILES)
        if form.is_valid():
            actions.do_requester_reply(
                inquiry, form.cleaned_data["body"], files=form.cleaned_data.get("attachments") or []
            )
            messages.success(request, _("Your reply was added."))
            return redirect("requester-thread", token=token)
    else:
        form = RequesterReplyForm()
    pending = inquiry.handbacks.filter(status=HandbackStatus.PROPOSED).first()
    return render(
        request,
        "intake/thread.html",
        {
            "inquiry": inquiry,
            "thread": access.requester_messages(inquiry),
            "form": form,
            "token": token,
            "pending_handback": pending,
        },
    )


def requester_attachment(request: HttpRequest, token: str, attachment_id: int) -> FileResponse:
    inquiry = access.access_inquiry_by_token(token)
    attachment = access.access_requester_attachment(inquiry, attachment_id)
    return attachment_response(attachment)


@require_http_methods(["GET", "POST"])
def handback_consent(request: HttpRequest, token: str) -> HttpResponse:
    proposal = HandbackProposal.objects.select_related("inquiry").filter(token=token[:64]).first()
    if proposal is None:
        raise Http404
    if request.method == "POST" and proposal.status == HandbackStatus.PROPOSED:
        choice = request.POST.get("decision")
        if choice not in ("consent", "decline"):
            return render(
                request, "intake/handback.html", {"proposal": proposal, "error": True}, status=400
            )
        try:
            actions.do_decide_handback(proposal, consent=choice == "consent")
        except PermissionDenied:
            pass
        proposal.refresh_from_db()
    return render(request, "intake/handback.html", {"proposal": proposal})


def my_inquiries(request: HttpRequest) -> HttpResponse:
    """A signed-in requester's inquiries from every channel, newest first, each with its
    status and the link to its page (the same page the mails link to)."""
    identity = requester.current(request)
    if identity is None:
        return redirect(reverse("requester-signin") + "?" + urlencode({"next": request.path}))
    rows = [
        {"inquiry": inquiry, "token": access.requester_token(inquiry)}
        for inquiry in access.requester_inquiries(identity)[:200]
    ]
    response = render(request, "intake/my.html", {"identity": identity, "rows": rows})
    response["Cache-Control"] = "private, no-store"
    return response
