"""The bot's brain: topic rules, then retrieval, then the answer-or-hand-over decision.

Retrieval is BM25F over three fields (question + alternative phrasings, section, answer)
with four kinds of terms (Japanese character bigrams, English words, English character
trigrams, glossary concepts; see ``_text`` and ``glossary``). Scores are normalised by
what the question could score at best *in the article's language* (the idf mass of the
question's terms that occur at all in that language's articles), which puts an English
question's match against a Japanese-only article on the same 0..1 scale as its match
against English articles. Translations (same ``topic``) are ranked as one topic; the
article shown is the one in the question's language when the audience may see it.

The engine is immutable after ``Engine.build`` and safe to share between threads.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _text
from .articles import Article
from .glossary import GLOSSARY
from .rules import RuleHit, RuleSet, default_rules

AUDIENCES = ("requester", "staff")

HANDOVER_MESSAGE = {
    "ja": (
        "申し訳ありません。このご質問にはFAQからお答えできませんでした。"
        "担当者におつなぎしますので、少々お待ちください。"
    ),
    "en": (
        "Sorry, I could not find an answer to this in the FAQ. "
        "I will pass your question to a member of staff."
    ),
}


@dataclass(frozen=True)
class Params:
    """Tunable weights; the defaults are what ``bench/bot_eval.py`` was tuned to."""

    k1: float = 1.2
    w_question: float = 5.0
    w_section: float = 0.7
    w_answer: float = 1.0
    b_question: float = 0.5
    b_answer: float = 0.5
    kind_weights: tuple[tuple[str, float], ...] = (("j", 1.0), ("k", 1.0), ("w", 1.0), ("t", 0.5), ("c", 2.0))
    twin_bonus: float = 0.15
    cross_factor: float = 0.9
    cross_gamma: float = 1.0
    # hand-over: answer only when the best topic is strong enough
    min_score: float = 0.0
    min_coverage: float = 0.295
    min_margin: float = 0.0


@dataclass(frozen=True)
class Decision:
    decision: str  # "answer" | "handover" | "rule"
    rule: str | None
    results: tuple[tuple[str, float], ...]
    lang: str
    articles: tuple[Article, ...] = ()
    message: str = ""
    link: str = ""
    features: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "rule": self.rule,
            "results": [{"id": i, "score": round(s, 4)} for i, s in self.results],
            "lang": self.lang,
        }


_MD_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")


def _clean_markdown(text: str) -> str:
    text = _MD_LINK_TARGET.sub("]", text)
    return _URL.sub(" ", text)


class _Concepts:
    def __init__(self, glossary: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> None:
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for name, ja_forms, en_forms in glossary:
            alts = []
            for form in ja_forms:
                alts.append(re.escape(_text.normalise(form)))
            for form in en_forms:
                words = [re.escape(w) for w in re.split(r"[\s\-]+", _text.normalise(form)) if w]
                body = r"[\s\-]?".join(words)
                alts.append(rf"(?<![a-z0-9]){body}(?:s|es|ed|ing|d)?(?![a-z0-9])")
            alts.sort(key=len, reverse=True)
            self._patterns.append((name, re.compile("|".join(alts))))

    def find(self, norm: str) -> list[str]:
        return ["c:" + name for name, pat in self._patterns if pat.search(norm)]


class Engine:
    def __init__(self) -> None:  # use Engine.build
        self.articles: list[Article] = []
        self.params = Params()

    @classmethod
    def build(
        cls,
        articles: Iterable[Article],
        rules: Iterable[dict[str, Any]] | None = None,
        *,
        params: Params | None = None,
        glossary: Sequence[tuple[str, Sequence[str], Sequence[str]]] = GLOSSARY,
    ) -> Engine:
        self = cls()
        self.params = params or Params()
        self.rules = RuleSet(default_rules() if rules is None else rules)
        self._concepts = _Concepts(glossary)
        self._kind_w = dict(self.params.kind_weights)
        seen: set[str] = set()
        self.articles = []
        for art in articles:
            if art.id in seen:
                raise ValueError(f"duplicate article id {art.id!r}")
            seen.add(art.id)
            self.articles.append(art)
        self._by_topic: dict[str, list[int]] = defaultdict(list)
        for i, art in enumerate(self.articles):
            self._by_topic[art.topic].append(i)
        self._index()
        return self

    # -- indexing -----------------------------------------------------------------------

    def _terms(self, text: str) -> list[str]:
        keep = _text.normalise_keep_kana(text)
        return _text.tokens(keep) + self._concepts.find(_text.fold_kana(keep))

    def _index(self) -> None:
        p = self.params
        n = len(self.articles)
        fields: list[tuple[dict[str, int], int, dict[str, int], int, dict[str, int]]] = []
        for art in self.articles:
            q_terms = self._terms(" \n ".join((art.question, *art.alt_questions)))
            s_terms = self._terms(art.section)
            a_terms = self._terms(_clean_markdown(art.answer))
            fields.append(
                (_count(q_terms), len(q_terms), _count(s_terms), len(a_terms), _count(a_terms))
            )
        avg_q = sum(f[1] for f in fields) / n if n else 1.0
        avg_a = sum(f[3] for f in fields) / n if n else 1.0
        df: dict[str, int] = defaultdict(int)
        self._df_lang: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, (qc, ql, sc, al, ac) in enumerate(fields):
            norm_q = 1 - p.b_question + p.b_question * ql / (avg_q or 1.0)
            norm_a = 1 - p.b_answer + p.b_answer * al / (avg_a or 1.0)
            lang = self.articles[i].lang
            for term in set(qc) | set(sc) | set(ac):
                tf = (
                    p.w_question * qc.get(term, 0) / norm_q
                    + p.w_section * min(sc.get(term, 0), 1)
                    + p.w_answer * ac.get(term, 0) / norm_a
                )
                postings[term].append((i, tf / (p.k1 + tf)))
                df[term] += 1
                self._df_lang[lang][term] += 1
        self._postings = dict(postings)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._idf_oov = math.log(1 + (n + 0.5) / 0.5)
        self._langs = sorted(self._df_lang)

    # -- asking -------------------------------------------------------------------------

    def ask(self, text: str, lang: str | None = None, *, audience: str = "requester") -> Decision:
        if audience not in AUDIENCES:
            raise ValueError(f"unknown audience {audience!r}")
        lang = lang if lang in ("ja", "en") else _text.detect_lang(text)
        rule = self.rules.match(text)
        ranked, feats = self._rank(text, lang, audience)
        results = tuple((self.articles[i].id, s) for i, s in ranked[:5])
        if rule is not None:
            return self._rule_decision(rule, lang, results, feats)
        if ranked and self._confident(feats):
            best = self.articles[ranked[0][0]]
            return Decision("answer", None, results, lang, (best,), "", "", feats)
        return Decision("handover", None, results, lang, (), HANDOVER_MESSAGE[lang], "", feats)

    def _rule_decision(
        self, rule: RuleHit, lang: str, results: tuple[tuple[str, float], ...], feats: dict
    ) -> Decision:
        return Decision("rule", rule.name, results, lang, (), rule.message(lang), rule.link, feats)

    def _confident(self, f: dict[str, float]) -> bool:
        p = self.params
        return (
            f["score"] >= p.min_score
            and f["coverage"] >= p.min_coverage
            and f["margin"] >= p.min_margin
        )

    def _rank(
        self, text: str, lang: str, audience: str
    ) -> tuple[list[tuple[int, float]], dict[str, float]]:
        terms = _count(self._terms(text))
        kind_w = self._kind_w
        qw = {t: kind_w.get(t[0], 1.0) * math.sqrt(c) for t, c in terms.items()}
        raw: dict[int, float] = defaultdict(float)
        for term, w in qw.items():
            idf = self._idf.get(term)
            if idf is None:
                continue
            wi = w * idf
            for doc, sat in self._postings[term]:
                raw[doc] += wi * sat
        # What the question can score at best, per article language, and overall
        # (terms no article has count fully there: they are what we cannot answer).
        reach = {
            lg: sum(w * self._idf[t] for t, w in qw.items() if t in self._df_lang[lg])
            for lg in self._langs
        }
        full = sum(w * self._idf.get(t, self._idf_oov) for t, w in qw.items())
        allow_internal = audience == "staff"
        gamma = self.params.cross_gamma
        per_topic: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for doc, s in raw.items():
            art = self.articles[doc]
            if not art.public and not allow_internal:
                continue
            r = reach.get(art.lang) or 1.0
            if art.lang != lang:
                r = r**gamma * (reach.get(lang) or r) ** (1 - gamma)
            per_topic[art.topic].append((s / r, doc))
        ranked: list[tuple[int, float, float]] = []
        bonus = self.params.twin_bonus
        for items in per_topic.values():
            items.sort(reverse=True)
            same = [(s, d) for s, d in items if self.articles[d].lang == lang]
            other = [(s, d) for s, d in items if self.articles[d].lang != lang]
            if same:
                score, shown = same[0]
                if other:
                    score += bonus * min(other[0][0], score)
            else:
                score, shown = other[0]
                score *= self.params.cross_factor
            ranked.append((shown, score, raw[shown]))
        ranked.sort(key=lambda x: (-x[1], self.articles[x[0]].id))
        feats = {"score": 0.0, "margin": 0.0, "coverage": 0.0, "raw": 0.0}
        if ranked:
            top = ranked[0][1]
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            top_doc = ranked[0][0]
            twins = self._by_topic[self.articles[top_doc].topic]
            content = {t: w * self._idf.get(t, self._idf_oov) for t, w in qw.items() if t[0] in "kwc"}
            explained = sum(
                v
                for t, v in content.items()
                if t in self._idf and any(d in twins for d, _ in self._postings[t])
            )
            unknown = sum(v for t, v in content.items() if t not in self._idf)
            full = sum(content.values())
            feats = {
                "score": top,
                "margin": (top - second) / top if top else 0.0,
                "coverage": explained / full if full else 0.0,
                "unknown": unknown / full if full else 0.0,
                "raw": ranked[0][2],
            }
        return [(d, s) for d, s, _ in ranked], feats


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for it in items:
        out[it] = out.get(it, 0) + 1
    return out
