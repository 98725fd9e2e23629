"""The article record the engine reads, and the default articles provider (JSONL files)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Article:
    """One knowledge-base entry as the bot sees it.

    ``id`` is the external id (stable across imports); entries sharing ``topic`` are
    translations of each other. ``public=False`` marks an internal (staff-only) article.
    """

    id: str
    lang: str
    topic: str
    question: str
    answer: str
    kind: str = "faq"
    section: str = ""
    alt_questions: tuple[str, ...] = field(default_factory=tuple)
    public: bool = True


def article_from_dict(data: dict) -> Article:
    """Build an Article from the utelecon/kb JSONL shape (extra keys are ignored)."""
    return Article(
        id=str(data["id"]),
        lang=str(data.get("lang") or "ja"),
        topic=str(data.get("topic") or data["id"]),
        question=str(data.get("question") or ""),
        answer=str(data.get("answer") or ""),
        kind=str(data.get("kind") or "faq"),
        section=str(data.get("section") or ""),
        alt_questions=tuple(str(q) for q in data.get("alt_questions") or ()),
        public=bool(data.get("public", True)),
    )


def load_articles_jsonl(path: str | Path) -> list[Article]:
    """Read one article per non-blank line; raises ValueError naming the bad line."""
    articles = []
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                articles.append(article_from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not an article: {exc}") from exc
    return articles
