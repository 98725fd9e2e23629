"""Translated names of the redaction kinds and of the rules that found them (the kinds
and rules themselves are stable English strings in ``redaction``)."""

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
    redaction.SECRET: pgettext_lazy("redaction", "Passcode or password"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


RULE_LABELS = {
    "mail address": pgettext_lazy("redaction rule", "Shape of a mail address"),
    "URL with user information": pgettext_lazy("redaction rule", "User name in a URL"),
    "URL path": pgettext_lazy("redaction rule", "Path of a URL with user information"),
    "personal URL path": pgettext_lazy("redaction rule", "URL path with a user or an ID"),
    "IPv4 address": pgettext_lazy("redaction rule", "Shape of an IP address"),
    "IPv6 address": pgettext_lazy("redaction rule", "Shape of an IP address"),
    "phone number": pgettext_lazy("redaction rule", "Shape of a phone number"),
    "extension": pgettext_lazy("redaction rule", "Extension number"),
    "10-digit ID": pgettext_lazy("redaction rule", "Ten digits (common ID or student number)"),
    "meeting ID": pgettext_lazy("redaction rule", "Meeting ID"),
    "date (to the month)": pgettext_lazy("redaction rule", "Date: only the month is kept"),
    "day of the month": pgettext_lazy("redaction rule", "Day of the month"),
    "time of day": pgettext_lazy("redaction rule", "Time of day"),
    "postal address": pgettext_lazy("redaction rule", "Postal address"),
    "postal code": pgettext_lazy("redaction rule", "Postal code"),
    "passcode or password": pgettext_lazy("redaction rule", "After “passcode” or “password”"),
    "name before an honorific": pgettext_lazy("redaction rule", "Name before an honorific"),
    "name after a title": pgettext_lazy("redaction rule", "Name after a title (Mr., Dr., Prof.)"),
    "name after Dear": pgettext_lazy("redaction rule", "Name after “Dear”"),
    "self-introduction": pgettext_lazy("redaction rule", "Self-introduction"),
    "laboratory name": pgettext_lazy("redaction rule", "Laboratory named after a person"),
    "display name of a mail address": pgettext_lazy("redaction rule", "Name beside a mail address"),
    "mail header": pgettext_lazy("redaction rule", "Name in a quoted mail header"),
    "name on a line of its own": pgettext_lazy("redaction rule", "Name on a line of its own"),
    "signature": pgettext_lazy("redaction rule", "Signature"),
    "class of the inquiry": pgettext_lazy("redaction rule", "Class given in the inquiry"),
    "class name in quotes": pgettext_lazy("redaction rule", "Class name in quotation marks"),
    "class name": pgettext_lazy("redaction rule", "Shape of a class name"),
    "known value of the inquiry": pgettext_lazy(
        "redaction rule", "Mail address or ID given in the inquiry"
    ),
    "known name": pgettext_lazy("redaction rule", "Name of the requester or a staff member"),
    "instructor of the inquiry": pgettext_lazy("redaction rule", "Instructor given in the inquiry"),
    "name found elsewhere in the text": pgettext_lazy(
        "redaction rule", "Name found elsewhere in the text"
    ),
}


def rule_label(rule: str) -> str:
    return str(RULE_LABELS.get(rule, rule))
