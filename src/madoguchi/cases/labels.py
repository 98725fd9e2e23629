"""Translated names of the redaction kinds (the kinds themselves are stable slugs)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from . import redaction

KIND_LABELS = {
    redaction.NAME: pgettext_lazy("redaction", "Name"),
    redaction.INSTRUCTOR: pgettext_lazy("redaction", "Instructor"),
    redaction.CLASS: pgettext_lazy("redaction", "Class"),
    redaction.EMAIL: pgettext_lazy("redaction", "Mail address"),
    redaction.ID: pgettext_lazy("redaction", "ID number"),
    redaction.PHONE: pgettext_lazy("redaction", "Phone number"),
    redaction.URL: pgettext_lazy("redaction", "Personal URL path"),
    redaction.DATE: pgettext_lazy("redaction", "Date (narrowed to the month)"),
    redaction.TIME: pgettext_lazy("redaction", "Time of day"),
    redaction.IP: pgettext_lazy("redaction", "IP address"),
    redaction.ADDRESS: pgettext_lazy("redaction", "Postal address"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))
