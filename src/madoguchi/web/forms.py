"""Form plumbing every app's views share: text fields that refuse invalid characters
before any other rule, and a file field that takes several files within the upload limits."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from madoguchi.core.validation import valid_text


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        if len(cleaned) > settings.MAX_ATTACHMENTS:
            raise ValidationError(
                _("Attach at most %(n)d files.") % {"n": settings.MAX_ATTACHMENTS},
                code="too_many_files",
            )
        total = 0
        for f in cleaned:
            if f.size > settings.MAX_ATTACHMENT_BYTES:
                raise ValidationError(
                    _("Each file must be at most %(mb)d MB.")
                    % {"mb": settings.MAX_ATTACHMENT_BYTES // 1048576},
                    code="file_too_big",
                )
            total += f.size
        if total > settings.MAX_ATTACHMENTS_TOTAL_BYTES:
            raise ValidationError(
                _("Attachments must be at most %(mb)d MB in total.")
                % {"mb": settings.MAX_ATTACHMENTS_TOTAL_BYTES // 1048576},
                code="files_too_big",
            )
        return cleaned


class TextCheckedForm(forms.Form):
    """Every text field refuses lone surrogates before any other rule runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.validators.insert(0, valid_text)  # type: ignore[arg-type]  # valid_text returns the value


def active_user(value: str) -> Any | None:
    """The active account a form's ``to`` field names by id (None: no such account)."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(pk=int(value) if value.isdigit() else 0, is_active=True)
        .first()
    )
