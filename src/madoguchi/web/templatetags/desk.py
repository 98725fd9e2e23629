from django import template
from django.conf import settings

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
