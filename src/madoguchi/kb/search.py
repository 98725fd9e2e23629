"""Finding articles: the bot's ranking over the knowledge base, with the administrator's
topic rules, built once per process and rebuilt when an article or a rule changes."""

from __future__ import annotations

import threading

from django.db.models import Count, Max

from madoguchi.bot import Engine
from madoguchi.bot.rules import RuleSet, default_rules

from .models import Article, BotRule
from .provider import articles_by_bot_id, articles_from_database, rules_from_database

_lock = threading.Lock()
_engine: tuple[tuple, Engine] | None = None


def _stamp() -> tuple:
    articles = Article.objects.aggregate(n=Count("id"), at=Max("updated_at"), v=Max("version"))
    rules = BotRule.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    return (articles["n"], articles["at"], articles["v"], rules["n"], rules["at"])


def engine() -> Engine:
    global _engine
    key = _stamp()
    with _lock:
        if _engine is None or _engine[0] != key:
            _engine = (key, Engine.build(articles_from_database(), rules=rules_from_database()))
        return _engine[1]


_rules: tuple[tuple, RuleSet] | None = None


def _rules_stamp() -> tuple:
    rules = BotRule.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    return (rules["n"], rules["at"])


def rules() -> RuleSet:
    """The topic rules alone (what a requester's message is screened with as it is
    stored): checked against the rules table only, not the whole knowledge base."""
    global _rules
    key = _rules_stamp()
    with _lock:
        if _rules is None or _rules[0] != key:
            found = rules_from_database()
            _rules = (key, RuleSet(default_rules() if found is None else found))
        return _rules[1]


# A result is listed when it is at least this relevant relative to the best one: search
# shows what matches, not always ``limit`` articles.
RELATIVE_FLOOR = 0.5


def public_matches(text: str, lang: str, limit: int = 5) -> list[Article]:
    """Public articles that match ``text``, best first, one per topic, in ``lang`` when it
    exists; none when nothing in the FAQ covers the question."""
    text = text.strip()[:500]
    if not text:
        return []
    bot = engine()
    # Ranked in the writer's language (detected); shown in the reader's (``lang``).
    decision = bot.ask(text, lang=None, audience="requester")
    if not bot.matches(decision):
        return []
    best = decision.results[0][1]
    ids = [i for i, score in decision.results[:limit] if score >= RELATIVE_FLOOR * best]
    by_id = articles_by_bot_id(ids)
    found = [by_id[i] for i in ids if i in by_id and by_id[i].public]
    return [prefer_language(a, lang) for a in found]


def staff_matches(text: str, lang: str, limit: int = 20) -> list[Article]:
    """Every article (internal ones too) the bot ranks for ``text``, best first."""
    text = text.strip()[:500]
    if not text:
        return []
    decision = engine().ask(text, lang=lang, audience="staff")
    ids = [article_id for article_id, _score in decision.results[:limit]]
    by_id = articles_by_bot_id(ids)
    return [by_id[i] for i in ids if i in by_id]


def prefer_language(article: Article, lang: str) -> Article:
    if article.lang == lang:
        return article
    twin = Article.objects.filter(topic=article.topic, lang=lang, public=True).first()
    return twin or article
