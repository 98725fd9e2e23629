"""The answer bot's engine: pure Python, no Django, no models to download.

Public API::

    from madoguchi.bot import Article, Engine, default_rules
    engine = Engine.build(articles, rules=default_rules())
    decision = engine.ask("Zoomにサインインできない", audience="requester")
    decision.decision   # "answer" | "handover" | "rule"
    decision.results    # ((external id, score), ...) best first, at most 5

See ``engine`` for how retrieval and the hand-over decision work, ``rules`` for the topic
rules (editable data) and ``glossary`` for the bilingual concept list.
"""

from .articles import Article, article_from_dict, load_articles_jsonl
from .engine import HANDOVER_MESSAGE, Decision, Engine, Params
from .rules import RuleHit, RuleSet, default_rules

__all__ = [
    "HANDOVER_MESSAGE",
    "Article",
    "Decision",
    "Engine",
    "Params",
    "RuleHit",
    "RuleSet",
    "article_from_dict",
    "default_rules",
    "load_articles_jsonl",
]
