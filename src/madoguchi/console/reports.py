"""The console's Reports: figures over a period, every one an aggregate query.

Each section is a function of (user, period) returning a :class:`Section`: a title, its
columns and a few rows (one per channel, per hour, per day…). Every number comes from
``values().annotate(Count/Avg/Percentile…)`` or ``aggregate()`` in the database; no
inquiry, chat or call row is ever loaded. What a figure counts goes through access:
``report_inquiries`` for inquiries, ``report_related`` for chats and calls,
``visible_bot_questions`` for the bot's log, so a student's figures are the general
lane's only. Days, weekdays and hours are the desk's (``core.clock.desk_zone``).

Times: elapsed (wall-clock) time from receipt, as the median and 90th percentile of the
inquiries that have it; whether a target was *met* is the SLA's own verdict
(``first_response_met`` / ``resolution_met``, computed in business hours by ``sla``), so
the share met and the elapsed times can disagree for inquiries received out of hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, F, Q, QuerySet, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.accounts.models import Tier
from madoguchi.calls.models import Call, CallState
from madoguchi.chat.models import ChatState, Conversation
from madoguchi.core.aggregates import Percentile, Seconds
from madoguchi.core.clock import desk_zone, today
from madoguchi.inquiries import access
from madoguchi.inquiries.models import Category, Channel, Inquiry, MemberCategory, Priority
from madoguchi.kb.models import ArticleDay, BotDecision, BotQuestion

DEFAULT_DAYS = 30
MAX_DAYS = 731  # two years and a day: the backlog chart has one point a day


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last`` inclusive, in the desk's time zone."""

    first: dt.date
    last: dt.date

    @classmethod
    def default(cls) -> Period:
        last = today()
        return cls(last - dt.timedelta(days=DEFAULT_DAYS - 1), last)

    @classmethod
    def parse(cls, first: str | None, last: str | None) -> Period:
        """From ``YYYY-MM-DD`` strings (either may be missing or malformed: the default
        fills in); reversed dates are swapped, a period longer than ``MAX_DAYS`` ends
        ``MAX_DAYS`` after its first day."""
        given_start, given_end = _date(first), _date(last)
        span = dt.timedelta(days=DEFAULT_DAYS - 1)
        if given_start is not None:
            start = given_start
            end = given_end if given_end is not None else start + span
        elif given_end is not None:
            end = given_end
            start = end - span
        else:
            return cls.default()
        if end < start:
            start, end = end, start
        if (end - start).days >= MAX_DAYS:
            end = start + dt.timedelta(days=MAX_DAYS - 1)
        return cls(start, end)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=desk_zone())

    @property
    def end(self) -> dt.datetime:
        """The first moment after the period."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=desk_zone())

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


@dataclass
class Section:
    key: str
    title: Any
    columns: list[tuple[str, Any]]  # (key, label); the first is the row's label
    rows: list[dict[str, Any]]
    chart: str = ""  # "bar", "line" or "" (table only)
    chart_value: str = ""  # the column the chart draws
    note: Any = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def chart_items(self) -> list[tuple[str, float]]:
        return [(str(r["label"]), float(r.get(self.chart_value) or 0)) for r in self.rows]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": str(self.title),
            "columns": [{"key": k, "label": str(label)} for k, label in self.columns],
            "rows": [{k: _plain(v) for k, v in row.items()} for row in self.rows],
            **{k: _plain(v) for k, v in self.extra.items()},
        }


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (int, float, bool)):
        return value
    return str(value)


# --- inquiries by … --------------------------------------------------------------------------


def _inquiries(user: Any, period: Period) -> QuerySet[Inquiry]:
    return access.report_inquiries(user).filter(
        created_at__gte=period.start, created_at__lt=period.end
    )


def _breakdown(
    key: str,
    title: Any,
    label: Any,
    counts: dict[Any, int],
    labels: Iterable[tuple[Any, Any]],
    *,
    keep_zero: bool = True,
) -> Section:
    """Rows in the order of ``labels`` (every known value, with its zero), then any value
    the database has that ``labels`` does not know."""
    rows = []
    seen = set()
    for value, text in labels:
        seen.add(value)
        n = counts.get(value, 0)
        if n or keep_zero:
            rows.append({"key": "" if value is None else value, "label": text, "count": n})
    for value, n in counts.items():
        if value not in seen:
            rows.append({"key": "" if value is None else value, "label": str(value), "count": n})
    return Section(
        key=key,
        title=title,
        columns=[
            ("key", pgettext_lazy("report column", "Code")),
            ("label", label),
            ("count", _("Inquiries")),
        ],
        rows=rows,
        chart="bar",
        chart_value="count",
    )


def _counts(qs: QuerySet[Any], expression: Any) -> dict[Any, int]:
    return {
        row["k"]: row["n"]
        for row in qs.annotate(k=expression).values("k").annotate(n=Count("id")).order_by()
    }


def by_channel(user: Any, period: Period) -> Section:
    counts = _counts(_inquiries(user, period), F("channel"))
    return _breakdown("channel", _("Inquiries by channel"), _("Channel"), counts, Channel.choices)


def by_category(user: Any, period: Period) -> Section:
    counts = _counts(_inquiries(user, period), F("category"))
    known = [(c.pk, c.label()) for c in Category.objects.filter(pk__in=[k for k in counts if k])]
    actives = [
        (c.pk, c.label()) for c in Category.objects.filter(active=True).exclude(pk__in=counts)
    ]
    section = _breakdown(
        "category",
        _("Inquiries by category"),
        _("Category"),
        counts,
        [*known, *actives, (None, _("No category"))],
        keep_zero=True,
    )
    slugs = dict(Category.objects.values_list("pk", "slug"))
    for row in section.rows:
        row["key"] = slugs.get(row["key"], "") if row["key"] != "" else ""
    section.rows.sort(key=lambda r: (-r["count"], r["key"] == "", str(r["label"])))
    return section


def by_member_category(user: Any, period: Period) -> Section:
    counts = _counts(_inquiries(user, period), F("member_category"))
    return _breakdown(
        "member_category",
        _("Inquiries by member category"),
        _("Member category"),
        counts,
        [*MemberCategory.choices, ("", _("Not given"))],
    )


def by_language(user: Any, period: Period) -> Section:
    counts = _counts(_inquiries(user, period), F("lang"))
    return _breakdown(
        "lang",
        _("Inquiries by language"),
        _("Language"),
        counts,
        [
            ("ja", pgettext_lazy("language", "Japanese")),
            ("en", pgettext_lazy("language", "English")),
        ],
    )


WEEKDAYS = [
    (1, pgettext_lazy("weekday", "Monday")),
    (2, pgettext_lazy("weekday", "Tuesday")),
    (3, pgettext_lazy("weekday", "Wednesday")),
    (4, pgettext_lazy("weekday", "Thursday")),
    (5, pgettext_lazy("weekday", "Friday")),
    (6, pgettext_lazy("weekday", "Saturday")),
    (7, pgettext_lazy("weekday", "Sunday")),
]


def by_weekday(user: Any, period: Period) -> Section:
    counts = _counts(_inquiries(user, period), ExtractIsoWeekDay("created_at", tzinfo=desk_zone()))
    return _breakdown("weekday", _("Inquiries by weekday"), _("Weekday"), counts, WEEKDAYS)


def by_hour(user: Any, period: Period) -> Section:
    counts = _counts(_inquiries(user, period), ExtractHour("created_at", tzinfo=desk_zone()))
    return _breakdown(
        "hour",
        _("Inquiries by hour of the day"),
        _("Hour"),
        counts,
        [(h, f"{h:02}:00") for h in range(24)],
    )


# --- service levels --------------------------------------------------------------------------

HOUR = 3600.0


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 1)


def _share(met: int, measured: int) -> float | None:
    return round(100.0 * met / measured, 1) if measured else None


SLA_COLUMNS: list[tuple[str, Any]] = [
    ("key", pgettext_lazy("report column", "Code")),
    ("label", ""),
    ("count", _("Inquiries")),
    ("first_measured", _("First response: measured")),
    ("first_met", _("First response: met")),
    ("first_met_pct", _("First response: met (%)")),
    ("first_median_h", _("First response: median (h)")),
    ("first_p90_h", _("First response: 90th percentile (h)")),
    ("resolution_measured", _("Resolution: measured")),
    ("resolution_met", _("Resolution: met")),
    ("resolution_met_pct", _("Resolution: met (%)")),
    ("resolution_median_h", _("Resolution: median (h)")),
    ("resolution_p90_h", _("Resolution: 90th percentile (h)")),
]


def _sla(
    user: Any, period: Period, *, key: str, title: Any, label: Any, by: str, labels: list[Any]
) -> Section:
    first = Seconds("first_response_at", "created_at")
    resolution = Seconds("solved_at", "created_at")
    rows = (
        _inquiries(user, period)
        .values(by)
        .annotate(
            count=Count("id"),
            first_measured=Count("id", filter=Q(first_response_met__isnull=False)),
            first_met=Count("id", filter=Q(first_response_met=True)),
            first_median=Percentile(first, 0.5),
            first_p90=Percentile(first, 0.9),
            resolution_measured=Count("id", filter=Q(resolution_met__isnull=False)),
            resolution_met=Count("id", filter=Q(resolution_met=True)),
            resolution_median=Percentile(resolution, 0.5),
            resolution_p90=Percentile(resolution, 0.9),
        )
        .order_by()
    )
    found = {row[by]: row for row in rows}
    out = []
    for value, text in labels:
        row = found.pop(value, None)
        if row is None:
            continue
        out.append(_sla_row(value, text, row))
    for value, row in found.items():
        out.append(_sla_row(value, str(value), row))
    section = Section(
        key=key,
        title=title,
        columns=[
            ("key", pgettext_lazy("report column", "Code")),
            ("label", label),
            *SLA_COLUMNS[2:],
        ],
        rows=out,
        chart="bar",
        chart_value="first_met_pct",
        note=_(
            "Met: the SLA's verdict, in business hours; targets still open are not counted. "
            "Median and 90th percentile: elapsed time from receipt."
        ),
    )
    return section


def _sla_row(value: Any, text: Any, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": "" if value is None else value,
        "label": text,
        "count": row["count"],
        "first_measured": row["first_measured"],
        "first_met": row["first_met"],
        "first_met_pct": _share(row["first_met"], row["first_measured"]),
        "first_median_h": _hours(row["first_median"]),
        "first_p90_h": _hours(row["first_p90"]),
        "resolution_measured": row["resolution_measured"],
        "resolution_met": row["resolution_met"],
        "resolution_met_pct": _share(row["resolution_met"], row["resolution_measured"]),
        "resolution_median_h": _hours(row["resolution_median"]),
        "resolution_p90_h": _hours(row["resolution_p90"]),
    }


def sla_by_priority(user: Any, period: Period) -> Section:
    return _sla(
        user,
        period,
        key="sla_priority",
        title=_("Response and resolution times by priority"),
        label=_("Priority"),
        by="priority",
        labels=list(Priority.choices),
    )


def sla_by_channel(user: Any, period: Period) -> Section:
    return _sla(
        user,
        period,
        key="sla_channel",
        title=_("Response and resolution times by channel"),
        label=_("Channel"),
        by="channel",
        labels=list(Channel.choices),
    )


def sla_by_tier(user: Any, period: Period) -> Section:
    return _sla(
        user,
        period,
        key="sla_tier",
        title=_("Response and resolution times by the assignee's tier"),
        label=_("Assignee"),
        by="assignee__tier",
        labels=[
            (Tier.STUDENT, Tier.STUDENT.label),
            (Tier.FACULTY, Tier.FACULTY.label),
            (Tier.NONE, _("Administrator (no tier)")),
            (None, _("Unassigned")),
        ],
    )


# --- backlog ---------------------------------------------------------------------------------


def backlog(user: Any, period: Period) -> Section:
    """Open inquiries at the end of each day: those open when the period began, plus
    those received, minus those solved, day by day. Three aggregate queries; an inquiry
    reopened counts as open from receipt until its latest solution."""
    zone = desk_zone()
    seen = access.report_inquiries(user)
    at_start = (
        seen.filter(created_at__lt=period.start)
        .filter(Q(solved_at__isnull=True) | Q(solved_at__gte=period.start))
        .count()
    )
    received = {
        row["day"]: row["n"]
        for row in _inquiries(user, period)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    }
    solved = {
        row["day"]: row["n"]
        for row in seen.filter(solved_at__gte=period.start, solved_at__lt=period.end)
        .annotate(day=TruncDate("solved_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    }
    rows = []
    open_now = at_start
    for day in period.days:
        new, done = received.get(day, 0), solved.get(day, 0)
        open_now += new - done
        rows.append(
            {
                "key": day.isoformat(),
                "label": day.isoformat(),
                "received": new,
                "solved": done,
                "open": open_now,
            }
        )
    return Section(
        key="backlog",
        title=_("Backlog: open inquiries at the end of each day"),
        columns=[
            ("key", pgettext_lazy("report column", "Code")),
            ("label", _("Day")),
            ("received", _("Received")),
            ("solved", _("Solved")),
            ("open", _("Open at the end of the day")),
        ],
        rows=rows,
        chart="line",
        chart_value="open",
        note=_("Open at the start of the period: %(n)s.") % {"n": at_start},
        extra={"open_at_start": at_start},
    )


# --- chat, bot, calls ------------------------------------------------------------------------


def _figure(key: str, label: Any, value: Any) -> dict[str, Any]:
    return {"key": key, "label": label, "value": value}


FIGURE_COLUMNS: list[tuple[str, Any]] = [
    ("key", pgettext_lazy("report column", "Code")),
    ("label", _("Figure")),
    ("value", _("Value")),
]

MINUTE = 60.0


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / MINUTE, 1)


def chat_figures(user: Any, period: Period) -> Section:
    chats = access.report_related(
        user,
        Conversation.objects.filter(created_at__gte=period.start, created_at__lt=period.end),
    )
    wait = Seconds("accepted_at", "queued_at")
    f = chats.aggregate(
        total=Count("id"),
        handed=Count("id", filter=Q(queued_at__isnull=False)),
        accepted=Count("id", filter=Q(accepted_at__isnull=False)),
        abandoned=Count(
            "id",
            filter=Q(queued_at__isnull=False, accepted_at__isnull=True, closed_at__isnull=False),
        ),
        by_mail=Count("id", filter=Q(state=ChatState.EMAIL)),
        wait_median=Percentile(wait, 0.5),
        wait_p90=Percentile(wait, 0.9),
        rated=Count("rating"),
        rating=Avg("rating"),
    )
    rating = None if f["rating"] is None else round(float(f["rating"]), 2)
    return Section(
        key="chat",
        title=_("Chat"),
        columns=FIGURE_COLUMNS,
        rows=[
            _figure("conversations", _("Conversations"), f["total"]),
            _figure("handed_over", _("Handed over to an operator (queued)"), f["handed"]),
            _figure("accepted", _("Taken by an operator"), f["accepted"]),
            _figure("abandoned", _("Left the queue before an operator took it"), f["abandoned"]),
            _figure("continued_by_mail", _("Continued by mail"), f["by_mail"]),
            _figure(
                "wait_median_min",
                _("Wait for an operator: median (min)"),
                _minutes(f["wait_median"]),
            ),
            _figure(
                "wait_p90_min",
                _("Wait for an operator: 90th percentile (min)"),
                _minutes(f["wait_p90"]),
            ),
            _figure("rated", _("Rated"), f["rated"]),
            _figure("rating_mean", _("Rating: mean (1–5)"), rating),
        ],
    )


def bot_figures(user: Any, period: Period) -> Section:
    questions = access.visible_bot_questions(
        user, BotQuestion.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    )
    f = questions.aggregate(
        total=Count("id"),
        answered=Count("id", filter=Q(decision=BotDecision.ANSWER)),
        handed=Count("id", filter=Q(decision=BotDecision.HANDOVER)),
        rule=Count("id", filter=Q(decision=BotDecision.RULE)),
    )
    # Votes are counted per article and day (kb.counters), with no inquiry behind them:
    # the same for every member of staff, as on the knowledge base's own figures page.
    votes = ArticleDay.objects.filter(day__gte=period.first, day__lte=period.last).aggregate(
        helpful=Sum("helpful"), not_helpful=Sum("not_helpful")
    )
    return Section(
        key="bot",
        title=_("Chatbot"),
        columns=FIGURE_COLUMNS,
        rows=[
            _figure("questions", _("Questions asked"), f["total"]),
            _figure("answered", _("Answered from the FAQ"), f["answered"]),
            _figure("handed_over", _("Handed over to a person"), f["handed"]),
            _figure("topic_rule", _("Redirected by a topic rule"), f["rule"]),
            _figure("helpful", _("“Helpful” votes"), votes["helpful"] or 0),
            _figure("not_helpful", _("“Not helpful” votes"), votes["not_helpful"] or 0),
        ],
    )


def call_figures(user: Any, period: Period) -> Section:
    calls = access.report_related(
        user, Call.objects.filter(queued_at__gte=period.start, queued_at__lt=period.end)
    )
    wait = Seconds("admitted_at", "queued_at")
    length = Seconds("ended_at", "admitted_at")
    f = calls.aggregate(
        total=Count("id"),
        admitted=Count("id", filter=Q(admitted_at__isnull=False)),
        wait_median=Percentile(wait, 0.5),
        length_median=Percentile(length, 0.5),
        time_limit=Count("id", filter=Q(ended_by="time_limit")),
        by_mail=Count("id", filter=Q(state=CallState.EMAIL) | Q(ended_by="email")),
        abandoned=Count("id", filter=Q(admitted_at__isnull=True, ended_at__isnull=False)),
    )
    return Section(
        key="calls",
        title=_("Online calls"),
        columns=FIGURE_COLUMNS,
        rows=[
            _figure("calls", _("Calls"), f["total"]),
            _figure("admitted", _("Admitted by an operator"), f["admitted"]),
            _figure("not_admitted", _("Ended in the waiting room"), f["abandoned"]),
            _figure(
                "wait_median_min",
                _("Wait in the waiting room: median (min)"),
                _minutes(f["wait_median"]),
            ),
            _figure(
                "length_median_min",
                _("Length of a call: median (min)"),
                _minutes(f["length_median"]),
            ),
            _figure("time_limit", _("Ended by the time limit"), f["time_limit"]),
            _figure("continued_by_mail", _("Switched to an email answer"), f["by_mail"]),
        ],
    )


SECTIONS: dict[str, Callable[[Any, Period], Section]] = {
    "channel": by_channel,
    "category": by_category,
    "member_category": by_member_category,
    "lang": by_language,
    "weekday": by_weekday,
    "hour": by_hour,
    "sla_priority": sla_by_priority,
    "sla_channel": sla_by_channel,
    "sla_tier": sla_by_tier,
    "backlog": backlog,
    "chat": chat_figures,
    "bot": bot_figures,
    "calls": call_figures,
}


def compute_report(user: Any, period: Period, only: Iterable[str] | None = None) -> list[Section]:
    """The sections (all, or those named in ``only``), in the page's order. The caller
    has checked ``access.can_view_reports``."""
    keys = list(SECTIONS) if only is None else [k for k in SECTIONS if k in set(only)]
    return [SECTIONS[k](user, period) for k in keys]
