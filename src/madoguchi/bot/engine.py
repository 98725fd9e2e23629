"""The bot's brain: topic rules, then retrieval, then the answer-or-hand-over decision.

Retrieval is BM25F over three fields (question + alternative phrasings, section, answer)
with four kinds of terms (Japanese character bigrams, English words, English character
trigrams, glossary concepts; see ``_text`` and ``glossary``). A question's English typos
are corrected against the knowledge base's words first, and its trigrams are only used
for words the knowledge base does not know. Scores are normalised by what the question
could score at best in the article's language: in the question's own language every
known term counts; in another language only the terms that occur there and the
language-free concepts, which puts an English question's match against a Japanese-only
article on the same 0..1 scale as its match against English articles. A question that
names systems (``glossary.SYSTEMS``) ranks articles whose section is about other systems
lower. Translations (same ``topic``) are ranked as one topic; the article shown is the
one in the question's language when the audience may see it.

The hand-over decision asks how much of the question the best topic explains. The
question is cut into units of meaning (glossary concepts, English words, runs of kanji
or katakana; everyday words weigh less) and the bot answers only when the best topic
explains enough of their weight, explains every name of a thing the question uses (an
unknown product name such as Slack or MATLAB is what the question is about), and the
question says anything at all (see ``Params`` and ``_question``).

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
from .glossary import GLOSSARY, SYSTEMS
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
    kind_weights: tuple[tuple[str, float], ...] = (
        ("j", 0.5),
        ("k", 1.0),
        ("w", 1.0),
        ("t", 0.5),
        ("c", 2.0),
    )
    twin_bonus: float = 0.15
    cross_factor: float = 0.9
    cross_gamma: float = 1.0
    scope_penalty: float = 0.8
    id_weight: float = 3.0
    # hand-over: answer only when the best topic explains enough of the question
    # (``ucov``: weighted share of the question's units it explains), explains every
    # name of a thing the question uses (``nmiss``: the most specific unexplained name,
    # 0..1) and the question says something at all (``info``: weight of its units).
    min_unit_coverage: float = 0.4
    max_name_miss: float = 0.75
    min_info: float = 1.0
    light_unit: float = 0.3
    latin_in_ja_unit: float = 1.5


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


# A link target runs to ")" or, in a page cut short inside a link, to the next space.
_MD_LINK_TARGET = re.compile(r"\]\([^)\s]*\)?")
_URL = re.compile(r"https?://\S+")
# A question term that is an identifier: letters and digits mixed, 6+ characters
# (AADSTS50105, 0x80070005).
_ID = re.compile(r"w:(?=[a-z0-9]*[a-z])(?=[a-z0-9]*[0-9])[a-z0-9]{6,}")


def _clean_markdown(text: str) -> str:
    text = _MD_LINK_TARGET.sub("]", text)
    return _URL.sub(" ", text)


class _Concepts:
    """Finds glossary concepts in normalised text. A form written with a leading "-" is
    a context in which the concept's other forms do not count ("-microsoft
    authenticator" keeps the authenticator app from meaning Microsoft 365)."""

    def __init__(self, glossary: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> None:
        self._patterns: list[tuple[str, re.Pattern[str], re.Pattern[str] | None]] = []
        self._needles: list[tuple[str, ...]] = []
        for name, ja_forms, en_forms in glossary:
            alts: list[str] = []
            nots: list[str] = []
            for form in ja_forms:
                target = nots if form.startswith("-") else alts
                # A form that starts or ends in Latin letters/digits (zoom, word, ta, 300人)
                # must not match inside a longer Latin word (password, data, 1300人).
                norm = _text.normalise(form.removeprefix("-"))
                pat = re.escape(norm)
                if norm[:1].isascii() and norm[:1].isalnum():
                    pat = r"(?<![a-z0-9])" + pat
                if norm[-1:].isascii() and norm[-1:].isalnum():
                    pat += r"(?![a-z0-9])"
                target.append(pat)
            for form in en_forms:
                target = nots if form.startswith("-") else alts
                words = [
                    re.escape(w)
                    for w in re.split(r"[\s\-]+", _text.normalise(form.removeprefix("-")))
                    if w
                ]
                body = r"[\s\-]?".join(words)
                target.append(rf"(?<![a-z0-9]){body}(?:s|es|ed|ing|d)?(?![a-z0-9])")
            alts.sort(key=len, reverse=True)
            neg = re.compile("|".join(nots)) if nots else None
            self._patterns.append((name, re.compile("|".join(alts)), neg))
            # Literal pieces one of which any match contains: a cheap test first.
            needles = {_text.normalise(f) for f in ja_forms if not f.startswith("-")}
            needles |= {
                re.split(r"[\s\-]+", _text.normalise(f))[0]
                for f in en_forms
                if not f.startswith("-")
            }
            self._needles.append(tuple(n for n in needles if n))

    def find(self, norm: str) -> list[str]:
        out = []
        for (name, pat, neg), needles in zip(self._patterns, self._needles, strict=True):
            if not any(n in norm for n in needles):
                continue
            if neg is None:
                if pat.search(norm):
                    out.append("c:" + name)
                continue
            blocked = [(m.start(), m.end()) for m in neg.finditer(norm)]
            if any(
                m.end() > m.start() and not any(a <= m.start() and m.end() <= b for a, b in blocked)
                for m in pat.finditer(norm)
            ):
                out.append("c:" + name)
        return out

    def spans(self, norm: str) -> list[tuple[str, int, int]]:
        """(concept term, start, end) of every match."""
        out = []
        for (name, pat, neg), needles in zip(self._patterns, self._needles, strict=True):
            if not any(n in norm for n in needles):
                continue
            blocked = [(m.start(), m.end()) for m in neg.finditer(norm)] if neg else []
            for m in pat.finditer(norm):
                if m.end() > m.start() and not any(
                    a <= m.start() and m.end() <= b for a, b in blocked
                ):
                    out.append(("c:" + name, m.start(), m.end()))
        return out


class Engine:
    # Set by Engine.build (on an instance it creates, so declared here).
    rules: RuleSet
    _concepts: _Concepts
    _glossary: Sequence[tuple[str, Sequence[str], Sequence[str]]]
    _systems: dict[str, int]
    _kind_w: dict[str, float]
    _by_topic: dict[str, list[int]]

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
        systems: Sequence[Sequence[str]] = SYSTEMS,
    ) -> Engine:
        self = cls()
        self.params = params or Params()
        self.rules = RuleSet(default_rules() if rules is None else rules)
        self._concepts = _Concepts(glossary)
        self._glossary = glossary
        self._systems = {"c:" + name: i for i, group in enumerate(systems) for name in group}
        self._kind_w = dict(self.params.kind_weights)
        seen: set[str] = set()
        self.articles = []
        for art in articles:
            if art.id in seen:
                raise ValueError(f"duplicate article id {art.id!r}")
            seen.add(art.id)
            self.articles.append(art)
        self._by_topic = defaultdict(list)
        for i, art in enumerate(self.articles):
            self._by_topic[art.topic].append(i)
        self._index()
        return self

    # -- indexing -----------------------------------------------------------------------

    def _terms(self, text: str) -> list[str]:
        keep = _text.normalise_keep_kana(text)
        return _text.tokens(keep) + self._concepts.find(_text.fold_kana(keep))

    def _question(self, text: str) -> tuple[list[str], list[tuple[float, bool, tuple[str, ...]]]]:
        """A question's terms and its units: the pieces of meaning a good answer must
        explain, as (weight, names a thing, terms). A unit is a glossary concept (the
        words it spans form no unit of their own), an English word, or a one-script run
        of kanji or katakana; hiragana is grammar and forms none. Everyday words weigh
        less (``_text.is_light``). A unit "names a thing" when it is a Latin word written
        like a name (``_text.names_in``) or a katakana word of 4+ letters in a Japanese
        message: what such a unit names, an answer must be about. English typos are corrected first
        (``_text.Speller``)."""
        names = _text.names_in(text)
        keep = _text.normalise_keep_kana(text)
        keep = _text.LATIN_WORD.sub(
            lambda m: m.group() if m.group() in names else self._speller.correct(m.group()),
            keep,
        )
        folded = _text.fold_kana(keep)
        spans = self._concepts.spans(folded)
        concepts = sorted({c for c, _, _ in spans})
        terms = _text.tokens(keep, self._idf.__contains__) + concepts
        # The words a concept spans form no unit of their own: blank them out.
        chars = list(keep)
        for _, a, b in spans:
            chars[a:b] = " " * (b - a)
        rest = "".join(chars)
        units: list[tuple[float, bool, tuple[str, ...]]] = [(1.0, False, (c,)) for c in concepts]
        p = self.params
        ja = _text.detect_lang(text) == "ja"
        for m in _text.UNIT_RE.finditer(rest):
            word = m.group()
            unit = tuple(t for t in _text.tokens(word) if t[0] in "wk")
            if not unit or _text.is_particular(word):
                continue
            light = _text.is_light(word)
            if light:
                weight = p.light_unit
            elif ja and word.isascii():
                weight = p.latin_in_ja_unit  # a Latin word in Japanese text names something
            else:
                weight = 1.0
            name = not light and (
                word in names or (ja and "\u30a1" <= word[0] <= "\u30fa" and len(word) >= 4)
            )
            units.append((weight, name, unit))
        return terms, units

    def _index(self) -> None:
        p = self.params
        n = len(self.articles)
        fields: list[tuple[dict[str, int], int, dict[str, int], int, dict[str, int]]] = []
        vocab: dict[str, int] = defaultdict(int)
        for art in self.articles:
            for part in (art.question, *art.alt_questions, art.section, art.answer):
                for w in _text.latin_words(_text.normalise_keep_kana(part)):
                    vocab[w] += 1
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
        self._doc_terms = [
            frozenset(qc) | frozenset(sc) | frozenset(ac) for qc, _, sc, _, ac in fields
        ]
        # The systems an article's section is about (its scope, see ``_rank``).
        self._scope = [
            frozenset(self._systems[t] for t in sc if t in self._systems)
            for _, _, sc, _, _ in fields
        ]
        for _, _, en_forms in self._glossary:
            for form in en_forms:
                for w in _text.latin_words(_text.normalise(form)):
                    vocab[w] += 1
        self._speller = _text.Speller(dict(vocab))
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

    def matches(self, decision: Decision) -> bool:
        """Whether the top results really answer the question (what the bot needs before it
        answers), whatever the decision was: a topic rule may fire on a question the
        articles answer too."""
        return bool(decision.results) and self._confident(decision.features)

    def _confident(self, f: dict[str, float]) -> bool:
        p = self.params
        return (
            f["ucov"] >= p.min_unit_coverage
            and f["nmiss"] < p.max_name_miss
            and f["info"] >= p.min_info
        )

    def _rank(
        self, text: str, lang: str, audience: str
    ) -> tuple[list[tuple[int, float]], dict[str, float]]:
        q_terms, units = self._question(text)
        terms = _count(q_terms)
        kind_w = self._kind_w
        qw = {t: kind_w.get(t[0], 1.0) * math.sqrt(c) for t, c in terms.items()}
        for t in qw:
            if _ID.fullmatch(t):  # an error code or other identifier the user pasted
                qw[t] *= self.params.id_weight
        raw: dict[int, float] = defaultdict(float)
        for term, w in qw.items():
            term_idf = self._idf.get(term)
            if term_idf is None:
                continue
            wi = w * term_idf
            for doc, sat in self._postings[term]:
                raw[doc] += wi * sat
        # What an article can score at best: in the question's language, every term any
        # article knows (a name such as UTOL that only Japanese articles mention is still
        # something an English article fails to explain); in another language, the terms
        # that occur in that language plus the language-free concepts (an English word
        # cannot occur in a Japanese article, so it does not count against one).
        known = [(t, w * self._idf[t]) for t, w in qw.items() if t in self._idf]
        reach = {
            lg: sum(v for t, v in known if lg == lang or t[0] == "c" or t in self._df_lang[lg])
            for lg in self._langs
        }
        allow_internal = audience == "staff"
        gamma = self.params.cross_gamma
        q_scope = frozenset(self._systems[t] for t in qw if t in self._systems)
        per_topic: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for doc, s in raw.items():
            art = self.articles[doc]
            if not art.public and not allow_internal:
                continue
            r = reach.get(art.lang) or 1.0
            if art.lang != lang:
                r = r**gamma * (reach.get(lang) or r) ** (1 - gamma)
            if q_scope and self._scope[doc] and not q_scope & self._scope[doc]:
                # the question names systems and the article's section is about others
                # (an ECCS password article for a UTokyo Account password question)
                s *= self.params.scope_penalty
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
        feats = {
            "score": 0.0,
            "margin": 0.0,
            "coverage": 0.0,
            "raw": 0.0,
            "ucov": 0.0,
            "nmiss": 0.0,
            "info": 0.0,
        }
        if ranked:
            top = ranked[0][1]
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            top_doc = ranked[0][0]
            twins = self._by_topic[self.articles[top_doc].topic]
            seen: frozenset[str] = frozenset().union(*(self._doc_terms[d] for d in twins))
            idf, oov = self._idf, self._idf_oov
            content = {t: w * idf.get(t, oov) for t, w in qw.items() if t[0] in "kwc"}
            explained = sum(v for t, v in content.items() if t in seen)
            unknown = sum(v for t, v in content.items() if t not in idf)
            full = sum(content.values())
            u_all = u_expl = n_miss = 0.0
            for lw, name, unit in units:
                ws = [idf.get(t, oov) for t in unit]
                e = sum(w for t, w in zip(unit, ws, strict=True) if t in seen) / sum(ws)
                wu = lw * max(ws)
                u_all += wu
                u_expl += wu * e
                if name:
                    # a name the corpus knows but this article lacks counts as much as
                    # an unknown one unless it is common (idf below half the maximum)
                    n_miss = max(n_miss, min(1.0, 2 * max(ws) / oov) * (1 - e))
            feats = {
                "score": top,
                "margin": (top - second) / top if top else 0.0,
                "coverage": explained / full if full else 0.0,
                "unknown": unknown / full if full else 0.0,
                "raw": ranked[0][2],
                "ucov": u_expl / u_all if u_all else 0.0,
                "nmiss": n_miss,
                "info": sum(lw for lw, _, _ in units),
            }
        return [(d, s) for d, s, _ in ranked], feats


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for it in items:
        out[it] = out.get(it, 0) + 1
    return out
