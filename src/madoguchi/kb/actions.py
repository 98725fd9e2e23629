"""Writes to the knowledge base: every change makes a new version and an audit entry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from madoguchi.core.clock import now
from madoguchi.privacy import audit

from .models import Article, ArticleKind, ArticleVersion

FIELDS = ("id", "lang", "kind", "topic", "section", "question", "answer")


class ImportError_(ValueError):
    """A line that cannot become an article; the message names the field."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors or [],
        }


def _clean(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ImportError_("expected a JSON object")
    for key in ("id", "lang", "topic", "question", "answer"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ImportError_(f"{key}: required text")
    if data["lang"] not in ("ja", "en"):
        raise ImportError_("lang: expected ja or en")
    kind = data.get("kind") or ArticleKind.FAQ
    if kind not in ArticleKind.values:
        raise ImportError_(f"kind: expected one of {', '.join(ArticleKind.values)}")
    alt = data.get("alt_questions", [])
    if not isinstance(alt, list) or not all(isinstance(a, str) for a in alt):
        raise ImportError_("alt_questions: expected a list of text")
    return {
        "external_id": data["id"].strip()[:120],
        "lang": data["lang"],
        "kind": kind,
        "topic": data["topic"].strip()[:120],
        "section": str(data.get("section") or "")[:200],
        "question": data["question"].strip()[:500],
        "answer": data["answer"],
        "alt_questions": alt,
        "public": bool(data.get("public", True)),
    }


EDITABLE = (
    "external_id",
    "lang",
    "kind",
    "topic",
    "section",
    "question",
    "answer",
    "alt_questions",
    "tags",
    "public",
)


def article_values(article: Article) -> dict[str, Any]:
    """The article's editable fields, to change a few and pass to ``do_save_article``."""
    return {key: getattr(article, key) for key in EDITABLE}


@transaction.atomic
def do_save_article(
    values: dict[str, Any], *, acting_user: Any = None, article: Article | None = None
) -> tuple[Article, str]:
    """Create or update. Returns (article, "created" | "updated" | "unchanged").

    With ``article`` that article is updated (the editor: its topic or external id may
    change); without, the article is found by external id, then by topic+language (the
    importers), or created."""
    if article is not None:
        article = Article.objects.select_for_update().get(pk=article.pk)
    elif values.get("external_id"):
        article = (
            Article.objects.select_for_update().filter(external_id=values["external_id"]).first()
        )
    if article is None:
        article = (
            Article.objects.select_for_update()
            .filter(topic=values["topic"], lang=values["lang"])
            .first()
        )
    if article is None:
        article = Article.objects.create(**values)
        what = "created"
    else:
        changed = [k for k, v in values.items() if getattr(article, k) != v]
        if not changed:
            return article, "unchanged"
        for key in changed:
            setattr(article, key, values[key])
        article.version += 1
        article.updated_at = now()
        article.save()
        what = "updated"
    ArticleVersion.objects.create(
        article=article,
        version=article.version,
        question=article.question,
        answer=article.answer,
        alt_questions=article.alt_questions,
        public=article.public,
        section=article.section,
        kind=article.kind,
        tags=article.tags,
        edited_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
    )
    audit.record(
        f"kb.article_{what}",
        actor=acting_user,
        actor_kind="system",
        article=article.pk,
        topic=article.topic,
        lang=article.lang,
    )
    return article, what


@transaction.atomic
def do_restore_version(
    article: Article, version: ArticleVersion, *, acting_user: Any
) -> tuple[Article, str]:
    """Make the text of an old version current again, as a new version."""
    if version.article_id != article.pk:
        raise ValueError("the version belongs to another article")
    values = article_values(article)
    values.update(
        question=version.question,
        answer=version.answer,
        alt_questions=version.alt_questions,
        public=version.public,
    )
    for key in ("section", "kind", "tags"):
        if getattr(version, key) is not None:  # versions from before these were kept
            values[key] = getattr(version, key)
    saved, what = do_save_article(values, acting_user=acting_user, article=article)
    if what == "updated":
        audit.record(
            "kb.article_restored",
            actor=acting_user,
            article=saved.pk,
            from_version=version.version,
            version=saved.version,
        )
    return saved, what


def import_jsonl(lines: Any, *, acting_user: Any = None) -> ImportReport:
    """Import lines of the utelecon FAQ format; a bad line is reported, the rest goes in."""
    report = ImportReport(errors=[])
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            values = _clean(json.loads(line))
        except (json.JSONDecodeError, ImportError_) as exc:
            report.errors.append(f"line {number}: {exc}")
            continue
        _article, what = do_save_article(values, acting_user=acting_user)
        setattr(report, what, getattr(report, what) + 1)
    return report


def export_jsonl() -> list[str]:
    return [
        json.dumps(
            {
                "id": a.external_id or f"{a.topic}-{a.lang}",
                "lang": a.lang,
                "kind": a.kind,
                "topic": a.topic,
                "section": a.section,
                "question": a.question,
                "answer": a.answer,
                "alt_questions": a.alt_questions,
                "public": a.public,
            },
            ensure_ascii=False,
        )
        for a in Article.objects.order_by("topic", "lang")
    ]
