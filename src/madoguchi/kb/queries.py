"""Reads for the staff pages: finding articles, which translations exist, deflection
figures over a date range. Staff see internal articles too; the public FAQ does not use
these."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from madoguchi.core.clock import desk_zone
from madoguchi.core.i18n import LANG_CHOICES

from . import search
from .models import Article, ArticleDay, BotQuestion

FIGURES = ("views", "suggested", "answered", "helpful", "not_helpful", "handed_over")


def find_articles(qs: QuerySet[Article], text: str, lang: str, limit: int = 200) -> list[Article]:
    """Articles of ``qs`` matching ``text``: the bot's ranking first (it knows the other
    phrasings and both languages), then plain substring matches."""
    text = text.strip()[:200]
    if not text:
        return list(qs[:limit])
    ranked = [a.pk for a in search.staff_matches(text, lang)]
    matches = qs.filter(
        Q(pk__in=ranked)
        | Q(question__icontains=text)
        | Q(answer__icontains=text)
        | Q(topic__icontains=text)
        | Q(section__icontains=text)
        | Q(external_id__icontains=text)
    )[: limit + len(ranked)]
    order = {pk: i for i, pk in enumerate(ranked)}
    return sorted(matches, key=lambda a: (order.get(a.pk, len(order)), a.topic, a.lang))[:limit]


def languages_by_topic(topics: set[str]) -> dict[str, dict[str, int]]:
    """For each topic, the languages it is written in and the article id of each."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for topic, lang, pk in Article.objects.filter(topic__in=topics).values_list(
        "topic", "lang", "id"
    ):
        out[topic][lang] = pk
    return out


def translation_row(langs: dict[str, int]) -> list[tuple[str, str, int | None]]:
    """(code, label, article id or None) for each desk language."""
    return [(code, label, langs.get(code)) for code, label in LANG_CHOICES]


@dataclass
class FigureRow:
    article: Article | None
    views: int = 0
    suggested: int = 0
    answered: int = 0
    helpful: int = 0
    not_helpful: int = 0
    handed_over: int = 0


def figures(
    start: dt.date, end: dt.date, *, order: str = "views"
) -> tuple[list[FigureRow], FigureRow]:
    """Per article and in total, the counts of ``ArticleDay`` from ``start`` to ``end``
    (both included); articles with nothing in the range are left out."""
    sums = {name: Sum(name) for name in FIGURES}
    days = ArticleDay.objects.filter(day__gte=start, day__lte=end)
    order = order if order in FIGURES else "views"
    rows = list(days.values("article").annotate(**sums).order_by(f"-{order}", "article")[:1000])
    articles = Article.objects.in_bulk([r["article"] for r in rows])
    table = [
        FigureRow(article=articles.get(r["article"]), **{n: r[n] or 0 for n in FIGURES})
        for r in rows
    ]
    totals = days.aggregate(**sums)
    return table, FigureRow(article=None, **{n: totals[n] or 0 for n in FIGURES})


def bot_decisions(user: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """How the bot's questions in the range were handled, by decision (days where the
    desk is, as the article counters count them): only the questions ``user`` may see, so
    restricted chats are not counted for student staff."""
    from madoguchi.inquiries.access import visible_bot_questions

    zone = desk_zone()
    since = dt.datetime.combine(start, dt.time(), tzinfo=zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    rows = (
        visible_bot_questions(user, BotQuestion.objects.all())
        .filter(created_at__gte=since, created_at__lt=until)
        .values("decision")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["decision"]: row["n"] for row in rows}
    return {
        "answer": counts.get("answer", 0),
        "handover": counts.get("handover", 0),
        "rule": counts.get("rule", 0),
        "total": sum(counts.values()),
    }
