"""The bot's articles from the knowledge base (replaces the JSONL provider of bot.cli).

The bot knows an article by its *bot id*: the external id, or ``<topic>-<lang>`` for an
article written in the desk (which has none); ``bot_id`` and ``articles_by_bot_id`` are
the two directions of that mapping."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Q

from madoguchi.bot import Article as BotArticle

from .models import Article


def bot_id(article: Article) -> str:
    return article.external_id or f"{article.topic}-{article.lang}"


def articles_by_bot_id(ids: Iterable[str]) -> dict[str, Article]:
    """The articles the bot calls ``ids`` (one query); unknown ids are left out."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    derived = [(i[:-3], i[-2:]) for i in wanted if len(i) > 3 and i[-3:] in ("-ja", "-en")]
    query = Q(external_id__in=wanted)
    for topic, lang in derived:
        query |= Q(topic=topic, lang=lang)
    return {key: a for a in Article.objects.filter(query) if (key := bot_id(a)) in wanted}


def articles_from_database() -> Sequence[BotArticle]:
    return [
        BotArticle(
            id=bot_id(a),
            lang=a.lang,
            topic=a.topic,
            question=a.question,
            answer=a.answer,
            kind=a.kind,
            section=a.section,
            alt_questions=tuple(a.alt_questions),
            public=a.public,
        )
        for a in Article.objects.all()
    ]


def rules_from_database() -> list[dict] | None:
    """The administrator's topic rules (None while there are none: the defaults apply)."""
    from .rules import rules_from_database as rules

    return rules()
