import re

from django import template
from django.conf import settings
from django.utils.translation import pgettext_lazy

from madoguchi.privacy.labels import verb_label

register = template.Library()


@register.filter
def audit_label(verb: str) -> str:
    return verb_label(verb)


@register.filter
def language_name(code: str) -> str:
    from django.utils.translation import gettext

    names = dict(settings.LANGUAGES)
    return gettext(str(names[code])) if code in names else code


FLAG_LABELS = {
    "bot": pgettext_lazy("flag", "Chat answered by the bot only"),
    "possible_hijack": pgettext_lazy(
        "flag", "Possible hijack: sender is not the requester of the referenced inquiry"
    ),
    "unverified_sender": pgettext_lazy("flag", "Unverified sender"),
    "held_unverified_reply": pgettext_lazy(
        "flag", "Held: sent as a reply to another inquiry, but the sender could not be verified"
    ),
    "requester_address_bounces": pgettext_lazy("flag", "Requester address bounces"),
    "automated": pgettext_lazy("flag", "Automated mail"),
    "exam_related": pgettext_lazy("flag", "Exam-related"),
    "mail_withheld": pgettext_lazy(
        "flag", "Confirmation not sent: limit of mails to this address reached"
    ),
}


@register.filter
def flag_label(flag: str) -> str:
    return str(FLAG_LABELS.get(flag, flag))


_QUOTE_START = re.compile(
    r"^(>|On .{1,200} wrote:\s*$|-{2,} ?(Original Message|元のメッセージ|転送されたメッセージ|Forwarded message) ?-{2,}|"
    r"\d{4}年\d{1,2}月\d{1,2}日.{0,80}:\s*$|From: .+$)",
    re.MULTILINE,
)


@register.filter
def split_quoted(body: str) -> tuple[str, str]:
    """(what the sender wrote, the quoted history below it) for display; nothing is removed."""
    match = _QUOTE_START.search(body or "")
    if not match or match.start() == 0:
        return body, ""
    return body[: match.start()].rstrip(), body[match.start() :]


@register.simple_tag
def due_info(inquiry) -> dict[str, str]:  # noqa: ANN001
    """How much time is left on the inquiry's most urgent target, for the console."""
    from django.utils.translation import gettext

    from madoguchi.core.clock import now

    if inquiry.sla_paused_at and inquiry.status == "pending":
        return {"css": "due-paused", "text": gettext("paused")}
    if not inquiry.due_at:
        return {"css": "", "text": ""}
    seconds = (inquiry.due_at - now()).total_seconds()
    minutes = int(abs(seconds) // 60)
    hours, mins = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        span = gettext("%(d)dd %(h)dh") % {"d": days, "h": hours}
    elif hours:
        span = gettext("%(h)dh %(m)dm") % {"h": hours, "m": mins}
    else:
        span = gettext("%(m)dm") % {"m": mins}
    if seconds < 0:
        return {"css": "due-over", "text": gettext("overdue %(span)s") % {"span": span}}
    css = "due-soon" if seconds < 3600 * 2 else ""
    return {"css": css, "text": gettext("%(span)s left") % {"span": span}}


_CID_IMG = re.compile(r'<img\b([^>]*?)\sdata-cid="([^"]*)"', re.IGNORECASE)


@register.simple_tag
def mail_html(message) -> str:  # noqa: ANN001
    """The message's sanitised HTML with cid: images pointing at the access-checked
    inline-image route of this message's own attachments; unknown ids stay blank."""
    from urllib.parse import unquote

    from django.urls import reverse

    html = message.body_html or ""
    if "data-cid" not in html:
        return html
    inline = {
        a.content_id: a.pk for a in message.attachments.all() if a.inline_type and a.content_id
    }

    def swap(match: re.Match[str]) -> str:
        cid = unquote(match.group(2))
        pk = inline.get(cid) or inline.get(cid.strip("<>"))
        if pk is None:
            return match.group(0)
        return f'<img{match.group(1)} src="{reverse("console:inline-image", args=[pk])}" data-cid="{match.group(2)}"'

    return _CID_IMG.sub(swap, html)
