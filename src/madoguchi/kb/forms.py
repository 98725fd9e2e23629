"""The staff article editor's form: it checks what the database would refuse (a topic
already written in that language, a bot id taken by an imported article) and turns the
text fields into the article's values."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.i18n import LANG_CHOICES
from madoguchi.core.validation import single_line
from madoguchi.web.forms import TextCheckedForm

from .models import Article, ArticleKind

MAX_PHRASINGS = 200
_TAG_SPLIT = re.compile(r"[,、，]")


class ArticleForm(TextCheckedForm):
    lang = forms.ChoiceField(label=_("Language"), choices=LANG_CHOICES)
    topic = forms.SlugField(
        label=_("Topic"),
        max_length=120,
        required=False,
        help_text=_(
            "Letters, digits and hyphens. Translations share the topic. Left empty, one is made from "
            "the question."
        ),
    )
    kind = forms.ChoiceField(
        label=pgettext_lazy("knowledge base", "Kind"),
        choices=ArticleKind.choices,
        initial=ArticleKind.FAQ,
    )
    # single_line returns the value for direct use; django-stubs types a validator as returning
    # None (Django ignores the value), hence the type: ignore[list-item] on the validators below.
    section = forms.CharField(
        label=_("Section"),
        max_length=200,
        required=False,
        validators=[single_line],  # type: ignore[list-item]
    )
    question = forms.CharField(label=_("Question"), max_length=500, validators=[single_line])  # type: ignore[list-item]
    answer = forms.CharField(
        label=pgettext_lazy("knowledge base", "Answer"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "Markdown: blank line between paragraphs, “- ” for lists, **bold**, [text](https://…) for "
            "links."
        ),
    )
    alt_questions = forms.CharField(
        label=_("Other phrasings"),
        required=False,
        max_length=50000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "One per line: other ways people ask this question. The bot matches them like the "
            "question."
        ),
    )
    tags = forms.CharField(
        label=_("Tags"),
        max_length=500,
        required=False,
        validators=[single_line],  # type: ignore[list-item]
        help_text=_("Separated by commas."),
    )
    public = forms.BooleanField(
        label=pgettext_lazy("knowledge base", "Public"),
        required=False,
        initial=True,
        help_text=_(
            "Public articles are shown in the FAQ and used by the bot for requesters; internal ones "
            "only for staff."
        ),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    from_questions = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100000)

    def __init__(self, *args: Any, article: Article | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.article = article
        if article is not None:
            # The language of an article stays; a translation is another article.
            self.fields["lang"].disabled = True
            self.fields["lang"].initial = article.lang

    def clean_alt_questions(self) -> list[str]:
        lines = [" ".join(line.split()) for line in self.cleaned_data["alt_questions"].splitlines()]
        lines = [line for line in lines if line]
        if len(lines) > MAX_PHRASINGS:
            raise ValidationError(
                _("At most %(n)d other phrasings.") % {"n": MAX_PHRASINGS}, code="too_many"
            )
        for line in lines:
            if len(line) > 500:
                raise ValidationError(
                    _("Each phrasing must be at most 500 characters."), code="max_length"
                )
        return list(dict.fromkeys(lines))

    def clean_tags(self) -> list[str]:
        tags = [" ".join(t.split()) for t in _TAG_SPLIT.split(self.cleaned_data["tags"])]
        return list(dict.fromkeys(t[:60] for t in tags if t))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # BaseForm.clean returns cleaned_data
        lang = data.get("lang") or (self.article.lang if self.article else None)
        if not lang or "question" not in data:
            return data
        topic = data.get("topic") or ""
        if not topic:
            topic = self.article.topic if self.article else _new_topic(data["question"])
            data["topic"] = topic
        others = (
            Article.objects.exclude(pk=self.article.pk) if self.article else Article.objects.all()
        )
        if others.filter(topic=topic, lang=lang).exists():
            self.add_error(
                "topic",
                ValidationError(
                    _(
                        "An article with this topic already exists in this language. Edit that one, or choose "
                        "another topic."
                    ),
                    code="topic_taken",
                ),
            )
        elif others.filter(external_id=f"{topic}-{lang}").exists():
            self.add_error(
                "topic",
                ValidationError(
                    _("This topic is used as the id of an imported article. Choose another topic."),
                    code="id_taken",
                ),
            )
        return data

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "external_id": self.article.external_id if self.article else None,
            "lang": self.article.lang if self.article else data["lang"],
            "kind": data["kind"],
            "topic": data["topic"],
            "section": data["section"],
            "question": data["question"],
            "answer": data["answer"],
            "alt_questions": data["alt_questions"],
            "tags": data["tags"],
            "public": data["public"],
        }


def initial_for(article: Article) -> dict[str, Any]:
    return {
        "lang": article.lang,
        "topic": article.topic,
        "kind": article.kind,
        "section": article.section,
        "question": article.question,
        "answer": article.answer,
        "alt_questions": "\n".join(article.alt_questions),
        "tags": ", ".join(article.tags),
        "public": article.public,
        "version": article.version,
    }


def _new_topic(question: str) -> str:
    base = slugify(question)[:60].strip("-") or "article"
    topic = base
    while Article.objects.filter(topic=topic).exists():
        topic = f"{base}-{secrets.token_hex(3)}"
    return topic


class DateRangeForm(forms.Form):
    start = forms.DateField(
        label=pgettext_lazy("date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # BaseForm.clean returns cleaned_data
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("The start date must not be after the end date."), code="order")
        return data
