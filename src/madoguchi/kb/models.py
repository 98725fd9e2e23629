"""The knowledge base: articles in Japanese and English (translations share a topic),
public or internal, with a version history. The bot reads them through kb.provider."""

from __future__ import annotations

from typing import Any

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
    external_id = models.CharField(
        _("external id"), max_length=120, unique=True, null=True, blank=True
    )
    topic = models.SlugField(
        _("topic"),
        max_length=120,
        db_index=True,
        help_text=_("Articles with the same topic are translations of each other."),
    )
    lang = models.CharField(_("language"), max_length=8, choices=LANG_CHOICES)
    kind = models.CharField(
        _("kind"), max_length=8, choices=ArticleKind.choices, default=ArticleKind.FAQ
    )
    section = models.CharField(_("section"), max_length=200, blank=True)
    question = models.CharField(_("question"), max_length=500)
    answer = models.TextField(_("answer (Markdown)"))
    alt_questions = models.JSONField(_("other phrasings"), default=list, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    public = models.BooleanField(
        _("public"),
        default=True,
        help_text=_("Internal articles are never shown to requesters nor used for them."),
    )
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
    # Null in versions made before these were kept: restoring such a version leaves them.
    section = models.CharField(max_length=200, null=True, blank=True)
    kind = models.CharField(max_length=8, null=True, blank=True)
    tags = models.JSONField(null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["article", "version"], name="articleversion_unique")
        ]

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
    # The bot answered with this article / the bot offered it, but the requester still
    # went to a person (see kb.learning.record_outcome).
    answered = models.PositiveIntegerField(default=0)
    handed_over = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "day"], name="articleday_unique")]

    def __str__(self) -> str:
        return f"{self.article_id} {self.day}"


class BotDecision(models.TextChoices):
    ANSWER = "answer", pgettext_lazy("bot decision", "Answered")
    HANDOVER = "handover", pgettext_lazy("bot decision", "Handed over")
    RULE = "rule", pgettext_lazy("bot decision", "Topic rule")


class BotQuestion(models.Model):
    """One question a requester asked the bot, scrubbed of e-mail addresses and long
    numbers (kb.learning). Kept ``BOT_LOG_DAYS`` days. It names the chat message it came
    from only so that access can show it to those who may see that message (a question
    from a chat later made restricted, or one the bot withheld, is for faculty staff only);
    it goes when the inquiry goes."""

    text = models.CharField(_("question"), max_length=500)
    # NFKC, case-folded, punctuation and spaces removed: near-duplicates share it.
    norm = models.CharField(max_length=500, db_index=True)
    lang = models.CharField(_("language"), max_length=8, choices=LANG_CHOICES)
    decision = models.CharField(_("decision"), max_length=16, choices=BotDecision.choices)
    rule = models.CharField(_("rule"), max_length=60, null=True, blank=True)
    top_ids = models.JSONField(_("best candidates"), default=list, blank=True)
    # How much of the question the best candidate explained (0..1), to tell a weak
    # candidate from noise.
    coverage = models.FloatField(null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16)
    created_at = models.DateTimeField(_("asked"), default=now, db_index=True)
    resolved = models.BooleanField(default=False)
    taught_article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="taught_questions"
    )
    dismissed = models.BooleanField(default=False)
    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="bot_questions",
    )
    message = models.ForeignKey(
        "inquiries.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="bot_questions",
    )

    class Meta:
        verbose_name = _("bot question")
        verbose_name_plural = _("bot questions")
        indexes = [
            models.Index(
                fields=["decision", "resolved", "dismissed", "created_at"], name="botquestion_open"
            )
        ]

    def __str__(self) -> str:
        return self.text


class BotRule(models.Model):
    """A topic rule the bot checks before searching articles (see madoguchi.bot.rules).
    Edited by administrators in the Django admin; the first active rule in ``order``
    that matches wins."""

    name = models.SlugField(pgettext_lazy("bot rule", "name"), max_length=60, unique=True)
    order = models.IntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    patterns_ja = models.TextField(
        _("patterns (Japanese)"), blank=True, help_text=_("One regular expression per line.")
    )
    patterns_en = models.TextField(
        _("patterns (English)"), blank=True, help_text=_("One regular expression per line.")
    )
    exclude_ja = models.TextField(
        _("exceptions (Japanese)"),
        blank=True,
        help_text=_(
            "One regular expression per line; a match here cancels a "
            "pattern match on the same stretch of text."
        ),
    )
    exclude_en = models.TextField(
        _("exceptions (English)"),
        blank=True,
        help_text=_(
            "One regular expression per line; a match here cancels a "
            "pattern match on the same stretch of text."
        ),
    )
    message_ja = models.TextField(_("message (Japanese)"))
    message_en = models.TextField(_("message (English)"))
    link = models.CharField(_("link"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=now)

    PATTERN_FIELDS = ("patterns_ja", "patterns_en", "exclude_ja", "exclude_en")

    class Meta:
        verbose_name = _("bot topic rule")
        verbose_name_plural = _("bot topic rules")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.updated_at = now()  # part of the bot's cache key
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from django.utils.translation import gettext

        from .rules import pattern_errors

        errors = {name: pattern_errors(getattr(self, name)) for name in self.PATTERN_FIELDS}
        errors = {name: errs for name, errs in errors.items() if errs}
        if not any(getattr(self, name).strip() for name in ("patterns_ja", "patterns_en")):
            errors.setdefault("patterns_ja", []).append(gettext("Give at least one pattern."))
        if errors:
            from django.core.exceptions import ValidationError

            raise ValidationError(errors)
