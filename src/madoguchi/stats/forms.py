from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .fields import FIELDS
from .tables import FIELD_LABELS


def _choices() -> list[tuple[str, Any]]:
    return [(f, FIELD_LABELS[f]) for f in FIELDS]


class ReleaseForm(forms.Form):
    period_from = forms.DateField(
        label=pgettext_lazy("date range", "From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_to = forms.DateField(
        label=pgettext_lazy("date range", "To"), widget=forms.DateInput(attrs={"type": "date"})
    )
    rows = forms.ChoiceField(label=pgettext_lazy("statistics", "Rows by"), choices=_choices)
    columns = forms.ChoiceField(
        label=pgettext_lazy("statistics", "Columns by (optional)"),
        choices=lambda: [("", pgettext_lazy("statistics", "None (a one-way table)")), *_choices()],
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # BaseForm.clean returns cleaned_data
        start, end = data.get("period_from"), data.get("period_to")
        if start and end and start > end:
            raise ValidationError(_("The start date must not be after the end date."), code="order")
        if data.get("rows") and data.get("rows") == data.get("columns"):
            raise ValidationError(
                pgettext_lazy("statistics", "Choose two different breakdowns."), code="same"
            )
        return data

    def breakdowns(self) -> list[str]:
        by = [self.cleaned_data["rows"]]
        if self.cleaned_data.get("columns"):
            by.append(self.cleaned_data["columns"])
        return by
