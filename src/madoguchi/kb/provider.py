"""The bot's articles from the knowledge base (replaces the JSONL provider of bot.cli)."""

from __future__ import annotations

from collections.abc import Sequence

from madoguchi.bot import Article as BotArticle

from .models import Article


def articles_from_database() -> Sequence[BotArticle]:
    return [
        BotArticle(
            id=a.external_id or f"{a.topic}-{a.lang}", lang=a.lang, topic=a.topic, question=a.question,
            answer=a.answer, kind=a.kind, section=a.section, alt_questions=tuple(a.alt_questions), public=a.public,
        )
        for a in Article.objects.all()
    ]
