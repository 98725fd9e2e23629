"""The knowledge base: articles in Japanese and English (translations share a topic),
public or internal, with a version history. The bot reads them through kb.provider."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.clock import now
from madoguchi.core.i18n import LANG_CHOICES


class ArticleKind(models.TextChoices):
    FAQ = "faq", pgettext_lazy("article kind", "Question and answer")
    PAGE = "page", pgettext_lazy("article kind", "Help page")


class Article(models.Model):
    external_id = models.CharField(_("external id"), max_length=120, unique=True, null=True, blank=True)
    topic = models.SlugField(_("topic"), max_length=120, db_index=True,
                             help_text=_("Articles with the same topic are translations of each other."))
    lang = models.CharField(_("language"), max_length=8, choices=LANG_CHOICES)
    kind = models.CharField(_("kind"), max_length=8, choices=ArticleKind.choices, default=ArticleKind.FAQ)
    section = models.CharField(_("section"), max_length=200, blank=True)
    question = models.CharField(_("question"), max_length=500)
    answer = models.TextField(_("answer (Markdown)"))
    alt_questions = models.JSONField(_("other phrasings"), default=list, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    public = models.BooleanField(_("public"), default=True,
                                 help_text=_("Internal articles are never shown to requesters nor used for them."))
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(_("updated"), default=now)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["topic", "lang"]
        constraints = [models.UniqueConstraint(fields=["topic", "lang"], name="article_topic_lang")]

    def __str__(self) -> str:
        return self.question


class ArticleVersion(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    question = models.CharField(max_length=500)
    answer = models.TextField()
    alt_questions = models.JSONField(default=list, blank=True)
    public = models.BooleanField(default=True)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["article", "version"], name="articleversion_unique")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.version}"


class ArticleDay(models.Model):
    """Deflection figures per article and day (no personal data)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    suggested = models.PositiveIntegerField(default=0)
    helpful = models.PositiveIntegerField(default=0)
    not_helpful = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "day"], name="articleday_unique")]

    def __str__(self) -> str:
        return f"{self.article_id} {self.day}"
