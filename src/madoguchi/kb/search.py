"""Finding public articles for requesters: the bot's ranking over the knowledge base,
built once per process and rebuilt when an article changes."""

from __future__ import annotations

import threading

from django.db.models import Count, Max

from madoguchi.bot import Engine

from .models import Article
from .provider import articles_from_database

_lock = threading.Lock()
_engine: tuple[tuple, Engine] | None = None


def engine() -> Engine:
    global _engine
    stamp = Article.objects.aggregate(n=Count("id"), at=Max("updated_at"), v=Max("version"))
    key = (stamp["n"], stamp["at"], stamp["v"])
    with _lock:
        if _engine is None or _engine[0] != key:
            _engine = (key, Engine.build(articles_from_database()))
        return _engine[1]


def public_matches(text: str, lang: str, limit: int = 5) -> list[Article]:
    """Public articles for ``text``, best first, one per topic, in ``lang`` when it exists."""
    text = text.strip()[:500]
    if not text:
        return []
    decision = engine().ask(text, lang=lang, audience="requester")
    if decision.decision == "handover" and not decision.results:
        return []
    ids = [article_id for article_id, _score in decision.results[:limit]]
    by_id = {a.external_id or f"{a.topic}-{a.lang}": a for a in Article.objects.filter(public=True)
             .filter(external_id__in=ids)}
    found = [by_id[i] for i in ids if i in by_id]
    return [prefer_language(a, lang) for a in found]


def prefer_language(article: Article, lang: str) -> Article:
    if article.lang == lang:
        return article
    twin = Article.objects.filter(topic=article.topic, lang=lang, public=True).first()
    return twin or article
