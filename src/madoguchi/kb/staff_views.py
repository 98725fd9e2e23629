"""The knowledge base in the staff console: articles (list, editor, versions), the
questions the bot could not answer, and the deflection figures. Every desk staff
member may use these (``staff_required``); administrators edit the bot's topic rules in
the Django admin. Thin: parse, call one query or action, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from madoguchi.core import clock
from madoguchi.core.i18n import LANG_CHOICES, desk_lang
from madoguchi.web.decorators import staff_required

from . import learning, queries
from .actions import do_restore_version, do_save_article
from .forms import ArticleForm, DateRangeForm, initial_for
from .models import Article, ArticleKind, ArticleVersion
from .rendering import render as render_markdown

PAGE_SIZE = 50


def _article(pk: int) -> Article:
    return get_object_or_404(Article, pk=pk)


# -- articles ------------------------------------------------------------------------------


@staff_required
def articles(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:200]
    lang = request.GET.get("lang_filter", "")
    visibility = request.GET.get("visibility", "")
    section = request.GET.get("section", "")[:200]
    qs = Article.objects.all()
    if lang in dict(LANG_CHOICES):
        qs = qs.filter(lang=lang)
    if visibility in ("public", "internal"):
        qs = qs.filter(public=visibility == "public")
    if section:
        qs = qs.filter(section=section)
    # The reader's language first (then sections and topics), not whatever sorts first.
    reader = desk_lang()
    own_first = Case(When(lang=reader, then=Value(0)), default=Value(1))
    rows = queries.find_articles(
        qs.order_by(own_first, "section", "topic", "lang"), q, reader, limit=1000
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    langs = queries.languages_by_topic({a.topic for a in page})
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "kb/staff/articles.html",
        {
            "page": page,
            "rows": [(a, queries.translation_row(langs[a.topic])) for a in page],
            "q": q,
            "lang_filter": lang,
            "visibility": visibility,
            "section": section,
            # Section names of one language: the filtered one, else the reader's.
            "sections": Article.objects.exclude(section="")
            .filter(lang=lang if lang in dict(LANG_CHOICES) else reader)
            .order_by("section")
            .values_list("section", flat=True)
            .distinct()[:300],
            "languages": LANG_CHOICES,
            "base_query": params.urlencode(),
        },
    )


def _editor(request: HttpRequest, *, article: Article | None) -> HttpResponse:
    source = None  # the article being translated
    group = None  # the unanswered questions a new article is written for
    if request.method == "POST":
        form = ArticleForm(request.POST, article=article)
        if form.is_valid():
            current = article.version if article else None
            if article is not None and form.cleaned_data["version"] not in (None, current):
                form.add_error(
                    None,
                    _(
                        "Someone else saved this article meanwhile (now version %(version)d). "
                        "Your text is kept below: compare it with the history, then save again."
                    )
                    % {"version": current},
                )
                data = request.POST.copy()
                data["version"] = str(current)
                form.data = data
            elif "preview" not in request.POST:
                with transaction.atomic():
                    saved, what = do_save_article(
                        form.values(), acting_user=request.user, article=article
                    )
                    ids = learning.parse_ids(form.cleaned_data["from_questions"])
                    if ids:
                        learning.do_teach_questions(ids, saved, acting_user=request.user)
                if what == "unchanged":
                    messages.info(request, _("Nothing was changed."))
                else:
                    messages.success(
                        request, _("Saved as version %(version)d.") % {"version": saved.version}
                    )
                return redirect("kb_staff:edit", pk=saved.pk)
    elif article is not None:
        form = ArticleForm(initial=initial_for(article), article=article)
    else:
        initial: dict[str, Any] = {"lang": desk_lang(), "public": True, "kind": ArticleKind.FAQ}
        translate = request.GET.get("translate", "")
        from_question = request.GET.get("from", "")
        if translate.isdigit():
            source = _article(int(translate))
            other = "en" if source.lang == "ja" else "ja"
            twin = Article.objects.filter(topic=source.topic, lang=other).first()
            if twin is not None:
                return redirect("kb_staff:edit", pk=twin.pk)
            initial.update(initial_for(source))
            initial.update(lang=other, version=None)
        elif from_question.isdigit():
            group = learning.group_of(int(from_question), request.user)
            if group is not None:
                texts = [learning.strip_placeholders(p.text) for p in group.phrasings]
                texts = [t for t in texts if t]
                initial.update(
                    lang=group.lang,
                    question=texts[0] if texts else "",
                    alt_questions="\n".join(texts[1:]),
                    from_questions=group.ids_value,
                )
        form = ArticleForm(initial=initial, article=None)
    preview = None
    if form.is_bound and "preview" in request.POST and form.is_valid():
        preview = render_markdown(form.cleaned_data["answer"])
    twins = Article.objects.filter(topic=article.topic).exclude(pk=article.pk) if article else []
    return render(
        request,
        "kb/staff/edit.html",
        {
            "form": form,
            "article": article,
            "preview": preview,
            "source": source,
            "group": group,
            "twins": twins,
            "missing_langs": _missing_langs(article),
        },
    )


def _missing_langs(article: Article | None) -> list[tuple[str, str]]:
    if article is None:
        return []
    have = set(Article.objects.filter(topic=article.topic).values_list("lang", flat=True))
    return [(code, label) for code, label in LANG_CHOICES if code not in have]


@staff_required
def article_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, article=None)


@staff_required
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, article=_article(pk))


@staff_required
def article_versions(request: HttpRequest, pk: int) -> HttpResponse:
    article = _article(pk)
    versions = article.versions.select_related("edited_by").order_by("-version")[:200]
    return render(
        request,
        "kb/staff/versions.html",
        {
            "article": article,
            "versions": [(v, render_markdown(v.answer)) for v in versions],
        },
    )


@staff_required
@require_POST
def article_restore(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    article = _article(pk)
    old = get_object_or_404(ArticleVersion, article=article, version=version)
    saved, what = do_restore_version(article, old, acting_user=request.user)
    if what == "unchanged":
        messages.info(
            request, _("Version %(version)d is already the current text.") % {"version": version}
        )
    else:
        messages.success(
            request,
            _("Version %(old)d restored as version %(new)d.")
            % {"old": version, "new": saved.version},
        )
    return redirect("kb_staff:versions", pk=saved.pk)


# -- questions the bot could not answer ----------------------------------------------------

MAX_GROUPS = 50


@staff_required
def unanswered(request: HttpRequest) -> HttpResponse:
    groups = learning.unanswered_groups(request.user)
    shown = groups[:MAX_GROUPS]
    learning.attach_candidates(shown)
    return render(
        request,
        "kb/staff/unanswered.html",
        {
            "groups": shown,
            "more": len(groups) - len(shown),
            "total": sum(g.count for g in groups),
        },
    )


@staff_required
def teach(request: HttpRequest) -> HttpResponse:
    """GET: choose any article for a group (search); POST: attach the chosen phrasings."""
    if request.method == "POST":
        ids = learning.parse_ids(request.POST.get("ids", ""))
        phrasings = learning.parse_ids(",".join(request.POST.getlist("phrasing")))
        pk = request.POST.get("article", "")
        article = (
            Article.objects.filter(pk=int(pk)).first() if pk.isdigit() and len(pk) < 19 else None
        )
        back = (
            reverse("kb_staff:teach") + f"?group={ids[0]}"
            if ids
            else reverse("kb_staff:unanswered")
        )
        if article is None:
            messages.error(request, _("Choose the article that answers these questions."))
            return redirect(back)
        if not set(phrasings) & set(ids):
            messages.error(request, _("Choose at least one phrasing to add."))
            return redirect(back)
        result = learning.do_teach_questions(
            ids, article, phrasing_ids=phrasings, acting_user=request.user
        )
        if result.questions == 0:
            messages.info(request, _("These questions were already handled by someone else."))
        else:
            messages.success(
                request,
                _(
                    "%(added)d phrasing(s) added to “%(question)s”; the bot answers them from "
                    "now on."
                )
                % {"added": len(result.added), "question": article.question},
            )
        return redirect("kb_staff:unanswered")
    anchor = request.GET.get("group", "")
    group = (
        learning.group_of(int(anchor), request.user)
        if anchor.isdigit() and len(anchor) < 19
        else None
    )
    if group is None:
        messages.info(request, _("These questions were already handled by someone else."))
        return redirect("kb_staff:unanswered")
    find = request.GET.get("find", "")[:200]
    found = (
        queries.find_articles(Article.objects.order_by("topic", "lang"), find, group.lang, limit=30)
        if find
        else []
    )
    choices = list(group.candidates) + [a for a in found if a not in group.candidates]
    return render(
        request, "kb/staff/teach.html", {"group": group, "find": find, "choices": choices}
    )


@staff_required
@require_POST
def dismiss(request: HttpRequest) -> HttpResponse:
    count = learning.do_dismiss_questions(
        learning.parse_ids(request.POST.get("ids", "")), acting_user=request.user
    )
    if count:
        messages.success(request, _("%(n)d question(s) dismissed.") % {"n": count})
    return redirect("kb_staff:unanswered")


# -- deflection figures --------------------------------------------------------------------


@staff_required
def figures(request: HttpRequest) -> HttpResponse:
    today = clock.today()
    form = DateRangeForm(request.GET or None)
    start, end = today - dt.timedelta(days=29), today
    if form.is_bound and form.is_valid():
        start = form.cleaned_data["start"] or start
        end = form.cleaned_data["end"] or end
    elif not form.is_bound:
        form = DateRangeForm(initial={"start": start, "end": end})
    order = request.GET.get("order", "views")
    rows, totals = queries.figures(start, end, order=order)
    return render(
        request,
        "kb/staff/figures.html",
        {
            "form": form,
            "start": start,
            "end": end,
            "rows": rows,
            "totals": totals,
            "order": order if order in queries.FIGURES else "views",
            "decisions": queries.bot_decisions(request.user, start, end),
            "time_zone": settings.TIME_ZONE,
            "columns": _figure_columns(),
        },
    )


def _figure_columns() -> list[tuple[str, str]]:
    return [
        ("views", pgettext("article figures", "Views")),
        ("suggested", _("Suggested")),
        ("answered", _("Answered by the bot")),
        ("helpful", _("Helpful")),
        ("not_helpful", _("Not helpful")),
        ("handed_over", _("Handed over")),
    ]
