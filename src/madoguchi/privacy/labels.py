"""Human-readable, translated names for audit verbs (the verbs themselves are stable slugs)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

VERB_LABELS = {
    "inquiry.created": pgettext_lazy("audit", "Inquiry received"),
    "inquiry.replied": pgettext_lazy("audit", "Replied to the requester"),
    "inquiry.noted": pgettext_lazy("audit", "Internal note added"),
    "inquiry.assigned": pgettext_lazy("audit", "Assignee changed"),
    "inquiry.status_changed": pgettext_lazy("audit", "Status changed"),
    "inquiry.priority_changed": pgettext_lazy("audit", "Priority changed"),
    "inquiry.category_changed": pgettext_lazy("audit", "Category changed"),
    "inquiry.escalated": pgettext_lazy("audit", "Escalated to faculty"),
    "inquiry.marked_sensitive": pgettext_lazy("audit", "Marked sensitive"),
    "inquiry.released": pgettext_lazy("audit", "Released to student staff"),
    "inquiry.requester_replied": pgettext_lazy("audit", "The requester replied"),
    "inquiry.viewed": pgettext_lazy("audit", "Viewed (restricted inquiry)"),
    "handback.proposed": pgettext_lazy("audit", "Hand-back proposed to the requester"),
    "handback.consented": pgettext_lazy("audit", "The requester consented to the hand-back"),
    "handback.declined": pgettext_lazy("audit", "The requester declined the hand-back"),
    "inquiry.auto_mail": pgettext_lazy("audit", "Automatic mail received"),
    "inquiry.bounced": pgettext_lazy("audit", "Our mail bounced"),
    "sla.warned": pgettext_lazy("audit", "Target due soon (warning sent)"),
    "sla.breached": pgettext_lazy("audit", "Target missed (supervisors notified)"),
    "mail.withheld": pgettext_lazy("audit", "Mail to the requester withheld (limit)"),
    "auth.locked_out": pgettext_lazy("audit", "Sign-in locked after failed attempts"),
    "auth.2fa_enrolled": pgettext_lazy("audit", "Two-factor sign-in turned on"),
    "auth.2fa_disabled": pgettext_lazy("audit", "Two-factor sign-in turned off"),
    "auth.2fa_reset": pgettext_lazy("audit", "Two-factor sign-in reset by an administrator"),
    "auth.recovery_code_used": pgettext_lazy("audit", "Signed in with a recovery code"),
    "auth.recovery_codes_renewed": pgettext_lazy("audit", "New recovery codes made"),
    "auth.password_reset": pgettext_lazy("audit", "Password reset through the mailed link"),
    "inquiry.files_added": pgettext_lazy("audit", "The requester sent the form again with files"),
    "inquiry.link_revoked": pgettext_lazy("audit", "The requester's link was revoked"),
}


def verb_label(verb: str) -> str:
    return str(VERB_LABELS.get(verb, verb))
