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

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncHour
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


# --- the shared queries --------------------------------------------------------------------


class Figures:
    """One report's queries, each run once however many sections read it: the counts by
    (channel, category, member category, language) — four breakdowns are its margins —,
    by (weekday, hour) in the desk's time zone, and the SLA verdicts by (priority, channel,
    assignee tier). The cells are aggregates (a few thousand at most), never inquiries."""

    def __init__(self, user: Any, period: Period) -> None:
        self.user = user
        self.period = period
        self._cache: dict[str, Any] = {}

    def inquiries(self) -> QuerySet[Inquiry]:
        return access.report_inquiries(self.user).filter(
            created_at__gte=self.period.start, created_at__lt=self.period.end
        )

    def _once(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def cells(self) -> list[dict[str, Any]]:
        return self._once(
            "cells",
            lambda: list(
                self.inquiries()
                .values("channel", "category", "member_category", "lang")
                .annotate(n=Count("id"))
                .order_by()
            ),
        )

    def clock_cells(self) -> list[dict[str, Any]]:
        """Counts per hour of the period, on the desk's clock: weekday, hour of the day and
        the day's total are margins of these (at most 24 a day), so one pass over the
        period's inquiries with one time-zone conversion each serves three figures."""
        zone = desk_zone()

        def compute() -> list[dict[str, Any]]:
            cells = []
            for row in (
                self.inquiries()
                .annotate(at=TruncHour("created_at", tzinfo=zone))
                .values("at")
                .annotate(n=Count("id"))
                .order_by()
            ):
                local = row["at"].astimezone(zone)
                cells.append(
                    {
                        "day": local.date(),
                        "weekday": local.isoweekday(),
                        "hour": local.hour,
                        "n": row["n"],
                    }
                )
            return cells

        return self._once("clock", compute)

    def sla_cells(self) -> list[dict[str, Any]]:
        return self._once(
            "sla",
            lambda: list(
                self.inquiries()
                .values("priority", "channel", "assignee__tier")
                .annotate(**_SLA_COUNTS)
                .order_by()
            ),
        )

    def margin(self, cells: list[dict[str, Any]], key: str, *values: str) -> dict[Any, Any]:
        """Sum ``values`` (default: the count ``n``) of the cells by ``key``."""
        values = values or ("n",)
        out: dict[Any, Any] = {}
        for cell in cells:
            total = out.setdefault(cell[key], dict.fromkeys(values, 0))
            for v in values:
                total[v] += cell[v]
        return {k: (v["n"] if values == ("n",) else v) for k, v in out.items()}


# --- inquiries by … --------------------------------------------------------------------------


def _breakdown(
    key: str,
    title: Any,
    label: Any,
    counts: dict[Any, int],
    labels: Iterable[tuple[Any, Any]],
) -> Section:
    """Rows in the order of ``labels`` (every known value, with its zero), then any value
    the database has that ``labels`` does not know."""
    rows = []
    seen = set()
    for value, text in labels:
        seen.add(value)
        rows.append(
            {"key": "" if value is None else value, "label": text, "count": counts.get(value, 0)}
        )
    for value, n in counts.items():
        if value not in seen:
            rows.append({"key": "" if value is None else value, "label": str(value), "count": n})
    return Section(
        key=key,
        title=title,
        columns=[
            ("key", pgettext_lazy("report column", "Code")),
            ("label", label),
            ("count", pgettext_lazy("report column", "Inquiries")),
        ],
        rows=rows,
        chart="bar",
        chart_value="count",
    )


def by_channel(f: Figures) -> Section:
    counts = f.margin(f.cells(), "channel")
    return _breakdown("channel", _("Inquiries by channel"), _("Channel"), counts, Channel.choices)


def by_category(f: Figures) -> Section:
    counts = f.margin(f.cells(), "category")
    categories = list(Category.objects.filter(Q(pk__in=[k for k in counts if k]) | Q(active=True)))
    section = _breakdown(
        "category",
        _("Inquiries by category"),
        _("Category"),
        counts,
        [*((c.pk, c.label()) for c in categories), (None, _("No category"))],
    )
    slugs = {c.pk: c.slug for c in categories}
    for row in section.rows:
        row["key"] = slugs.get(row["key"], "") if row["key"] != "" else ""
    section.rows.sort(key=lambda r: (-r["count"], r["key"] == "", str(r["label"])))
    return section


def by_member_category(f: Figures) -> Section:
    return _breakdown(
        "member_category",
        _("Inquiries by member category"),
        _("Member category"),
        f.margin(f.cells(), "member_category"),
        [*MemberCategory.choices, ("", _("Not given"))],
    )


def by_language(f: Figures) -> Section:
    return _breakdown(
        "lang",
        _("Inquiries by language"),
        _("Language"),
        f.margin(f.cells(), "lang"),
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


def by_weekday(f: Figures) -> Section:
    counts = f.margin(f.clock_cells(), "weekday")
    return _breakdown("weekday", _("Inquiries by weekday"), _("Weekday"), counts, WEEKDAYS)


def by_hour(f: Figures) -> Section:
    return _breakdown(
        "hour",
        _("Inquiries by hour of the day"),
        _("Hour"),
        f.margin(f.clock_cells(), "hour"),
        [(h, f"{h:02}:00") for h in range(24)],
    )


# --- service levels --------------------------------------------------------------------------

HOUR = 3600.0

_SLA_COUNTS: dict[str, Any] = {
    "n": Count("id"),
    "first_measured": Count("id", filter=Q(first_response_met__isnull=False)),
    "first_met": Count("id", filter=Q(first_response_met=True)),
    "resolution_measured": Count("id", filter=Q(resolution_met__isnull=False)),
    "resolution_met": Count("id", filter=Q(resolution_met=True)),
}


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 1)


def _share(met: int, measured: int) -> float | None:
    return round(100.0 * met / measured, 1) if measured else None


SHARE_COLUMNS: list[tuple[str, Any]] = [
    ("count", pgettext_lazy("report column", "Inquiries")),
    ("first_measured", _("First response: measured")),
    ("first_met", _("First response: met")),
    ("first_met_pct", _("First response: met (%)")),
    ("resolution_measured", _("Resolution: measured")),
    ("resolution_met", _("Resolution: met")),
    ("resolution_met_pct", _("Resolution: met (%)")),
]
TIME_COLUMNS: list[tuple[str, Any]] = [
    ("first_median_h", _("First response: median (h)")),
    ("first_p90_h", _("First response: 90th percentile (h)")),
    ("resolution_median_h", _("Resolution: median (h)")),
    ("resolution_p90_h", _("Resolution: 90th percentile (h)")),
]
SLA_NOTE = _("Met: the SLA's verdict, in business hours; targets still open are not counted.")
TIME_NOTE = _(
    "Met: the SLA's verdict, in business hours; targets still open are not counted. "
    "Median and 90th percentile: elapsed time from receipt, of the inquiries that have "
    "a first response or a solution."
)


def _share_row(value: Any, text: Any, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": "" if value is None else value,
        "label": text,
        "count": row["n"],
        "first_measured": row["first_measured"],
        "first_met": row["first_met"],
        "first_met_pct": _share(row["first_met"], row["first_measured"]),
        "resolution_measured": row["resolution_measured"],
        "resolution_met": row["resolution_met"],
        "resolution_met_pct": _share(row["resolution_met"], row["resolution_measured"]),
    }


def _rows_in_order(
    found: dict[Any, dict[str, Any]], labels: list[tuple[Any, Any]], make: Callable[..., Any]
) -> list[dict[str, Any]]:
    found = dict(found)
    rows = [make(value, text, found.pop(value)) for value, text in labels if value in found]
    rows += [make(value, str(value), row) for value, row in found.items()]
    return rows


def sla_by_priority(f: Figures) -> Section:
    """Shares met and elapsed times (median, 90th percentile) per priority: the targets
    are per priority. One query; the percentiles sort in the database."""
    first = Seconds("first_response_at", "created_at")
    resolution = Seconds("solved_at", "created_at")
    found = {
        row["priority"]: row
        for row in f.inquiries()
        .values("priority")
        .annotate(
            **_SLA_COUNTS,
            first_median=Percentile(first, 0.5),
            first_p90=Percentile(first, 0.9),
            resolution_median=Percentile(resolution, 0.5),
            resolution_p90=Percentile(resolution, 0.9),
        )
        .order_by()
    }

    def make(value: Any, text: Any, row: dict[str, Any]) -> dict[str, Any]:
        return {
            **_share_row(value, text, row),
            "first_median_h": _hours(row["first_median"]),
            "first_p90_h": _hours(row["first_p90"]),
            "resolution_median_h": _hours(row["resolution_median"]),
            "resolution_p90_h": _hours(row["resolution_p90"]),
        }

    return Section(
        key="sla_priority",
        title=_("Response and resolution times by priority"),
        columns=[
            ("key", pgettext_lazy("report column", "Code")),
            ("label", _("Priority")),
            *SHARE_COLUMNS,
            *TIME_COLUMNS,
        ],
        rows=_rows_in_order(found, list(Priority.choices), make),
        chart="bar",
        chart_value="first_met_pct",
        note=TIME_NOTE,
    )


def _sla_share(
    f: Figures, *, key: str, title: Any, label: Any, by: str, labels: list[tuple[Any, Any]]
) -> Section:
    found = f.margin(f.sla_cells(), by, *_SLA_COUNTS)
    return Section(
        key=key,
        title=title,
        columns=[("key", pgettext_lazy("report column", "Code")), ("label", label), *SHARE_COLUMNS],
        rows=_rows_in_order(found, labels, _share_row),
        chart="bar",
        chart_value="first_met_pct",
        note=SLA_NOTE,
    )


def sla_by_channel(f: Figures) -> Section:
    return _sla_share(
        f,
        key="sla_channel",
        title=_("Response and resolution targets met, by channel"),
        label=_("Channel"),
        by="channel",
        labels=list(Channel.choices),
    )


def sla_by_tier(f: Figures) -> Section:
    return _sla_share(
        f,
        key="sla_tier",
        title=_("Response and resolution targets met, by the assignee's tier"),
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


def backlog(f: Figures) -> Section:
    """Open inquiries at the end of each day: those open when the period began, plus
    those received, minus those solved, day by day. Open at the start = received before
    it and (not solved, or solved since): both parts are small ranges of an index
    (``solved_at``), not a scan of everything received before. Received per day is a
    margin of the hourly counts (``Figures.clock_cells``). An inquiry reopened
    counts as open from receipt until its latest solution."""
    zone = desk_zone()
    period = f.period
    seen = access.report_inquiries(f.user)
    before = seen.filter(created_at__lt=period.start)
    at_start = (
        before.filter(solved_at__isnull=True).count()
        + before.filter(solved_at__gte=period.start).count()
    )
    received = f.margin(f.clock_cells(), "day")
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
            ("received", pgettext_lazy("report column", "Received")),
            ("solved", pgettext_lazy("report column", "Solved")),
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


def chat_figures(figures: Figures) -> Section:
    user, period = figures.user, figures.period
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


def bot_figures(figures: Figures) -> Section:
    user, period = figures.user, figures.period
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


def call_figures(figures: Figures) -> Section:
    user, period = figures.user, figures.period
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


SECTIONS: dict[str, Callable[[Figures], Section]] = {
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
    figures = Figures(user, period)
    return [SECTIONS[k](figures) for k in keys]
