from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.web.forms import TextCheckedForm


class ReviewForm(TextCheckedForm):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    text = forms.CharField(
        label=_("Text of the case study"),
        max_length=200_000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text=_("Edit freely: what you approve here is exactly what can be exported."),
    )
    accept = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args: Any, count: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accept"].choices = [(i, str(i)) for i in range(count)]  # type: ignore[attr-defined]  # a ChoiceField
