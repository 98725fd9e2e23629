from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from madoguchi.core.validation import normalise_common_id, normalise_email, single_line, valid_text
from madoguchi.inquiries.actions import NewInquiry
from madoguchi.inquiries.models import Category, MemberCategory
from madoguchi.web.forms import MultipleFileField, TextCheckedForm


def period_choices() -> list[tuple[str, str]]:
    """Built per form, so the labels follow the request's language."""
    return [("", "—")] + [
        (str(i), pgettext("class period", "Period %(n)s") % {"n": i}) for i in range(1, 8)
    ]


def _text(
    label: Any, max_length: int, *, required: bool = True, one_line: bool = True, **kw: Any
) -> forms.CharField:
    validators = [single_line] if one_line else []
    # single_line and valid_text return the value for direct use; django-stubs types a
    # validator as returning None (Django ignores the value), hence the type: ignore[arg-type].
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        validators=validators,  # type: ignore[arg-type]
        strip=True,
        **kw,
    )


class InquiryForm(TextCheckedForm):
    """The email form, with the intake template of the desk."""

    submission_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    name = _text(_("Name"), 100)
    common_id = forms.CharField(
        label=_("Common ID (10 digits)"),
        required=False,
        max_length=40,
        help_text=_("Optional. Full-width digits are fine."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    affiliation = _text(_("Faculty / graduate school"), 100, required=False)
    member_category = forms.ChoiceField(
        label=_("You are"), choices=[("", "—"), *MemberCategory.choices]
    )
    member_category_other = _text(_("If other, please specify"), 100, required=False)
    year_or_title = _text(_("Year / job title"), 100, required=False)
    email = forms.CharField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("The confirmation and the answer are sent here."),
    )
    email_confirm = forms.CharField(
        label=_("Email address (again)"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.filter(active=True),
        to_field_name="slug",
        empty_label="—",
    )
    class_date = forms.DateField(
        label=_("Class date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    class_period = forms.ChoiceField(label=_("Period"), choices=period_choices, required=False)
    class_subject = _text(_("Course name"), 200, required=False)
    class_instructor = _text(_("Instructor"), 100, required=False)
    zoom_signin_email = forms.CharField(
        label=_("Sign-in email address shown on Zoom's profile page"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(),
    )
    zoom_signin_unknown = forms.BooleanField(label=_("I cannot check it"), required=False)
    subject = _text(_("Subject"), 200)
    body = forms.CharField(
        label=_("Details"),
        max_length=20000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "What you tried to do, what happened, the exact error message, and the documents you consulted."
        ),
    )
    attachments = MultipleFileField(label=_("Attachments"))

    sensitive = False

    def clean_common_id(self) -> str:
        return normalise_common_id(valid_text(self.cleaned_data.get("common_id", "")))

    def clean_email(self) -> str:
        return normalise_email(valid_text(self.cleaned_data.get("email", "")))

    def clean_zoom_signin_email(self) -> str:
        value = self.cleaned_data.get("zoom_signin_email", "")
        return normalise_email(value) if value.strip() else ""

    def clean_submission_key(self) -> str:
        key = self.cleaned_data.get("submission_key", "")
        return key if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key or "") else ""

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body", "")
        if not body.strip():
            raise ValidationError(_("This field is required."), code="required")
        return body

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # BaseForm.clean returns cleaned_data
        email = data.get("email")
        confirm = (data.get("email_confirm") or "").strip()
        if email and confirm:
            try:
                confirm = normalise_email(confirm)
            except ValidationError:
                confirm = ""
            if confirm != email:
                self.add_error(
                    "email_confirm",
                    ValidationError(_("The two email addresses differ."), code="mismatch"),
                )
        member = data.get("member_category")
        if member:
            from django.utils.translation import get_language

            from madoguchi.sla.entitlements import check

            verdict = check(
                member, "sensitive_form" if self.sensitive else "form", get_language() or "ja"
            )
            if not verdict.allowed:
                message = verdict.note or _("This channel is not available to you.")
                self.add_error("member_category", ValidationError(message, code="not_entitled"))
        if data.get("member_category") == MemberCategory.OTHER and not data.get(
            "member_category_other"
        ):
            self.add_error(
                "member_category_other", ValidationError(_("Please specify."), code="required")
            )
        category: Category | None = data.get("category")
        extra = category.extra_fields if category else []
        if "class" in extra:
            for name in ("class_date", "class_period", "class_subject", "class_instructor"):
                if not data.get(name):
                    self.add_error(
                        name, ValidationError(_("This field is required."), code="required")
                    )
        if (
            "zoom" in extra
            and not data.get("zoom_signin_email")
            and not data.get("zoom_signin_unknown")
        ):
            self.add_error(
                "zoom_signin_email",
                ValidationError(
                    _("Enter the address, or tick “I cannot check it”."), code="required"
                ),
            )
        return data

    def to_new_inquiry(self, lang: str) -> NewInquiry:
        d = self.cleaned_data
        category: Category | None = d.get("category")
        extra = category.extra_fields if category else []
        details: dict[str, Any] = {}
        if "class" in extra:
            details.update(
                class_date=d["class_date"].isoformat() if d.get("class_date") else "",
                class_period=d.get("class_period", ""),
                class_subject=d.get("class_subject", ""),
                class_instructor=d.get("class_instructor", ""),
            )
        if "zoom" in extra:
            details.update(
                zoom_signin_email=d.get("zoom_signin_email", ""),
                zoom_signin_unknown=bool(d.get("zoom_signin_unknown")),
            )
        return NewInquiry(
            name=d["name"],
            email=d["email"],
            subject=d["subject"],
            body=d["body"],
            lang=lang,
            category=category,
            common_id=d.get("common_id", ""),
            affiliation=d.get("affiliation", ""),
            member_category=d.get("member_category", ""),
            member_category_other=d.get("member_category_other", "")
            if d.get("member_category") == MemberCategory.OTHER
            else "",
            year_or_title=d.get("year_or_title", ""),
            details=details,
            sensitive=self.sensitive,
            sensitive_part=d.get("sensitive_part", ""),
            sensitive_reason=d.get("sensitive_reason", ""),
        )


class SensitiveInquiryForm(InquiryForm):
    """The sensitive form: handled by faculty staff only."""

    sensitive = True
    sensitive_part = forms.CharField(
        label=_("Which part is sensitive?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    sensitive_reason = forms.CharField(
        label=_("Why should student staff not see it?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].required = False


class RequesterReplyForm(TextCheckedForm):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=20000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    attachments = MultipleFileField(label=_("Attachments"))

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body", "")
        if not body.strip():
            raise ValidationError(_("This field is required."), code="required")
        return body
