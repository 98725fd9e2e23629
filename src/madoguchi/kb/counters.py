from __future__ import annotations

from django.db.models import F

from madoguchi.core.clock import today

from .models import Article, ArticleDay


def count(article: Article, field: str, by: int = 1) -> None:
    """Add to today's figure for the article (one small upsert)."""
    day = today()
    updated = ArticleDay.objects.filter(article=article, day=day).update(**{field: F(field) + by})
    if not updated:
        row, created = ArticleDay.objects.get_or_create(article=article, day=day)
        if not created or not getattr(row, field):
            ArticleDay.objects.filter(pk=row.pk).update(**{field: F(field) + by})
