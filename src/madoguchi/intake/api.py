"""The public JSON API (django-ninja; OpenAPI at /api/v1/docs)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import SessionAuth

from madoguchi.accounts.roles import is_desk_staff
from madoguchi.core.i18n import desk_lang
from madoguchi.core.ratelimit import client_address, hit
from madoguchi.inquiries import access, actions, queries
from madoguchi.inquiries.models import Category

from .forms import InquiryForm, SensitiveInquiryForm

api = NinjaAPI(title="madoguchi", version="1", urls_namespace="api", docs_url="/docs")


class CategoryOut(Schema):
    slug: str
    name_ja: str
    name_en: str
    extra_fields: list[str]
    form_only: bool


class InquiryIn(Schema):
    name: str = ""
    email: str = ""
    common_id: str = ""
    affiliation: str = ""
    member_category: str = ""
    member_category_other: str = ""
    year_or_title: str = ""
    category: str = ""
    subject: str = ""
    body: str = ""
    class_date: str = ""
    class_period: str = ""
    class_subject: str = ""
    class_instructor: str = ""
    zoom_signin_email: str = ""
    zoom_signin_unknown: bool = False
    lang: str = "ja"
    sensitive: bool = False
    sensitive_part: str = ""
    sensitive_reason: str = ""
    submission_key: str = ""

    model_config = {"extra": "forbid"}


class InquiryCreated(Schema):
    reference: str
    status: str
    lane: str
    created: bool
    # A re-submission: the inquiry received the first time, and how many of the files
    # sent now were new to it (and added).
    duplicate: bool = False
    files_added: int = 0


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class InquiryOut(Schema):
    reference: str
    subject: str
    status: str
    priority: int
    lane: str
    channel: str
    category: str | None
    created_at: str
    updated_at: str


@api.get("/categories", response=list[CategoryOut], tags=["intake"])
def list_categories(request: HttpRequest) -> Any:
    return [
        CategoryOut(
            slug=c.slug,
            name_ja=c.name_ja,
            name_en=c.name_en,
            extra_fields=list(c.extra_fields),
            form_only=c.form_only,
        )
        for c in Category.objects.filter(active=True)
    ]


@api.post(
    "/inquiries",
    response={201: InquiryCreated, 400: ErrorOut, 429: ErrorOut},
    tags=["intake"],
    auth=None,
)
def create_inquiry(request: HttpRequest, payload: InquiryIn) -> Any:
    lang = desk_lang(payload.lang)
    with translation.override(lang):
        if not hit("intake", client_address(request), settings.INTAKE_RATE_LIMIT):
            return Status(
                429, ErrorOut(detail=_("Too many submissions. Please wait a while and try again."))
            )
        data = payload.dict()
        data["email_confirm"] = data["email"]
        data["zoom_signin_unknown"] = "on" if payload.zoom_signin_unknown else ""
        form_class = SensitiveInquiryForm if payload.sensitive else InquiryForm
        form = form_class(data=data)
        if not form.is_valid():
            errors = {field: [str(m) for m in msgs] for field, msgs in form.errors.items()}
            return Status(400, ErrorOut(detail=_("Some fields are not valid."), errors=errors))
        try:
            submission = actions.do_create_inquiry(
                form.to_new_inquiry(lang),
                channel="sensitive_form" if payload.sensitive else "api",
                submission_key=form.cleaned_data.get("submission_key") or None,
            )
        except ValidationError as exc:
            return Status(400, ErrorOut(detail=" ".join(exc.messages)))
    inquiry = submission.inquiry
    return Status(
        201,
        InquiryCreated(
            reference=inquiry.reference,
            status=inquiry.status,
            lane=inquiry.lane,
            created=submission.created,
            duplicate=not submission.created,
            files_added=submission.files_added,
        ),
    )


class StaffSession(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and is_desk_staff(user) else None


class StaffRequest(HttpRequest):
    """The request of a route with ``auth=StaffSession()``: ninja sets ``auth``."""

    auth: Any


def _out(i: Any) -> InquiryOut:
    return InquiryOut(
        reference=i.reference,
        subject=i.subject,
        status=i.status,
        priority=i.priority,
        lane=i.lane,
        channel=i.channel,
        category=i.category.slug if i.category else None,
        created_at=i.created_at.isoformat(),
        updated_at=i.updated_at.isoformat(),
    )


@api.get("/inquiries", response=list[InquiryOut], auth=StaffSession(), tags=["staff"])
def list_inquiries(
    request: StaffRequest, response: HttpResponse, view: str = "all", q: str = "", before: str = ""
) -> Any:
    """Newest first, 25 at a time; the ``X-Next-Cursor`` header is the ``before`` value of
    the next page (absent on the last page)."""
    if view not in queries.VIEWS:
        view = "all"
    qs = queries.apply_filters(
        queries.inbox(request.auth, view), queries.Filters(q=q[:200]), user=request.auth
    )
    rows, cursor = queries.page(qs, before[:80])
    if cursor:
        response["X-Next-Cursor"] = cursor
    return [_out(i) for i in rows]


@api.get("/inquiries/{reference}", response=InquiryOut, auth=StaffSession(), tags=["staff"])
def get_inquiry(request: StaffRequest, reference: str) -> Any:
    return _out(access.access_inquiry(request.auth, reference))


@api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, exc: Any) -> Any:
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload")]
        field = loc[0] if loc else "__all__"
        if err.get("type") == "extra_forbidden":
            message = _("Unknown field.")
        else:
            message = _("This value is not valid.")
        errors.setdefault(field, []).append(message)
    return api.create_response(
        request, {"detail": _("Some fields are not valid."), "errors": errors}, status=400
    )
