from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from madoguchi.core.i18n import desk_lang
from madoguchi.core.ratelimit import client_address, hit

from . import counters, search
from .models import Article
from .rendering import render as render_markdown


def _lang() -> str:
    return desk_lang()


def faq(request: HttpRequest) -> HttpResponse:
    lang = _lang()
    q = request.GET.get("q", "")[:200]
    if q.strip():
        results = search.public_matches(q, lang, limit=10)
        return render(request, "kb/faq.html", {"q": q, "results": results, "sections": None})
    sections: dict[str, list[Article]] = defaultdict(list)
    seen = set()
    for article in Article.objects.filter(public=True).order_by("section", "id"):
        if article.topic in seen:
            continue
        shown = search.prefer_language(article, lang)
        seen.add(article.topic)
        sections[shown.section or "—"].append(shown)
    return render(request, "kb/faq.html", {"q": "", "results": None, "sections": dict(sections)})


def article(request: HttpRequest, topic: str) -> HttpResponse:
    lang = _lang()
    found = (
        Article.objects.filter(topic=topic, public=True, lang=lang).first()
        or Article.objects.filter(topic=topic, public=True).first()
    )
    if found is None:
        raise Http404
    counters.count(found, "views")
    return render(
        request,
        "kb/article.html",
        {
            "article": found,
            "answer": render_markdown(found.answer),
            "other_language": found.lang != lang,
            "voted": request.GET.get("voted"),
        },
    )


@require_POST
def feedback(request: HttpRequest, topic: str) -> HttpResponse:
    # The vote is for the article shown, which is the one in the reader's language.
    found = (
        Article.objects.filter(topic=topic, public=True, lang=_lang()).first()
        or Article.objects.filter(topic=topic, public=True).first()
    )
    if found is None:
        raise Http404
    vote = request.POST.get("helpful")
    if vote in ("yes", "no") and hit("kb-feedback", f"{client_address(request)}:{topic}", "3/3600"):
        with transaction.atomic():
            counters.count(found, "helpful" if vote == "yes" else "not_helpful")
    return redirect(
        f"{request.path.rsplit('/feedback/', 1)[0]}/?voted={'yes' if vote == 'yes' else 'no'}"
    )


def suggestions(request: HttpRequest) -> HttpResponse:
    """Related public articles while a requester types the form's subject (deflection)."""
    lang = _lang()
    q = request.GET.get("q", "")[:200]
    if not hit("kb-suggest", client_address(request), settings.KB_SUGGEST_RATE_LIMIT):
        return HttpResponse(status=429)
    results = search.public_matches(q, lang, limit=3) if len(q.strip()) >= 2 else []
    for item in results:
        counters.count(item, "suggested")
    return render(request, "kb/_suggestions.html", {"results": results})
