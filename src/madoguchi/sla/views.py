from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

from madoguchi.core.clock import now
from madoguchi.core.i18n import desk_lang
from madoguchi.hours import UnknownScheduleError, resolve_schedule

from . import ical
from .models import BusinessSchedule


def schedule_calendar(request: HttpRequest, name: str) -> HttpResponse:
    """Closures and special days of a schedule, for calendar apps (public)."""
    try:
        schedule = resolve_schedule(name)
    except UnknownScheduleError:
        raise Http404 from None
    lang = desk_lang()
    row = BusinessSchedule.objects.filter(name=name).first()
    title = row.label(lang) if row else name
    today = now().astimezone(schedule.zone).date()
    body = ical.calendar(
        schedule,
        name=name,
        title=title,
        start=today - dt.timedelta(days=31),
        days=31 + 400,
        lang=lang,
        domain=settings.MAIL_DOMAIN,
        stamp=now(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{name}.ics"'
    return response
