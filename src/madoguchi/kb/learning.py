"""Learning from what requesters ask the bot.

The chat calls ``record_question`` for every requester question the bot handles and
``record_outcome`` when an article answered (or failed to keep someone from a person).
Staff then see the questions the bot handed over, grouped (``unanswered_groups``), and
teach the bot: attach a group's phrasings to an article (``do_teach_questions``), write a
new article from it, or dismiss it (``do_dismiss_questions``).

What is kept: the question text, the bot's decision and, for a chat, the message it came
from, so that a question is shown only to those who may read that message (access's
``visible_bot_questions``: a chat passed to faculty or marked sensitive, or a message the
bot withheld, hides it from student staff, and teaching uses only what the teacher may
see). Nothing else about who asked. Before
storing, e-mail addresses become ``＜メール＞`` (Japanese questions) or ``⟨email⟩``
(English) and runs of seven or more digits — phone numbers, student and staff ID
numbers, also written with hyphens, spaces or full-width digits — become ``＜番号＞`` /
``⟨number⟩``; shorter numbers such as error codes (1001, 5003, 104103) and ``0x…``
codes stay, since they are what matches an article. Placeholders are removed again
before a phrasing is taught to an article. Rows are deleted after ``BOT_LOG_DAYS``
days by ``purge_old`` (worker housekeeping); ``BOT_LOG_DAYS=0`` turns the log off.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from madoguchi.bot import Decision
from madoguchi.core.clock import now
from madoguchi.core.i18n import desk_lang
from madoguchi.privacy import audit

from . import counters
from .actions import article_values, do_save_article
from .models import Article, BotDecision, BotQuestion
from .provider import articles_by_bot_id

MAX_TEXT = 500
OUTCOMES = ("answered", "handed_over")
# A hand-over whose best candidate explained at least this share of the question had a
# weak candidate (the bot answers from 0.295 on): such questions are grouped by it.
WEAK_COVERAGE = 0.15
# The unanswered page looks at this many of the newest open questions.
MAX_OPEN_ROWS = 5000

PLACEHOLDERS = {"ja": ("＜メール＞", "＜番号＞"), "en": ("⟨email⟩", "⟨number⟩")}
_WIDE = "Ａ-Ｚａ-ｚ０-９"
_LOCAL = rf"A-Za-z0-9{_WIDE}._%+\-．＿－"
# The look-behind makes a match start only where a local part starts: linear time.
_EMAIL = re.compile(
    rf"(?<![{_LOCAL}])[{_LOCAL}]+\s?[@＠]\s?[A-Za-z0-9{_WIDE}\-－]+(?:[.．][A-Za-z0-9{_WIDE}\-－]+)+"
)
# Seven or more digits, single separators allowed between them; not inside 0x… codes.
_DIGITS = re.compile(r"(?<!\d)(?<!0x)(?<!0X)\d(?:[ \-‐－ー.．()（）]?\d){6,}")
_PLACEHOLDER = re.compile("|".join(re.escape(p) for pair in PLACEHOLDERS.values() for p in pair))


def scrub(text: str, lang: str) -> str:
    """The text as it may be stored: one line, no e-mail addresses, no long numbers."""
    text = text[: MAX_TEXT * 4]  # what is stored is cut to MAX_TEXT anyway
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs") or ch in "\t\n\r"
    )
    text = " ".join(text.split())
    email, number = PLACEHOLDERS["en" if lang == "en" else "ja"]
    text = _EMAIL.sub(email, text)
    return _DIGITS.sub(number, text)[:MAX_TEXT].strip()


def strip_placeholders(text: str) -> str:
    return " ".join(_PLACEHOLDER.sub(" ", text).split())


def normalise_key(text: str) -> str:
    """NFKC, case-folded, without punctuation, symbols, spaces or controls: the key under
    which near-duplicate phrasings are grouped."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")[:MAX_TEXT]


def record_question(
    text: str, lang: str, decision: Decision, *, channel: str, message: Any | None = None
) -> BotQuestion | None:
    """Log one requester question and what the bot did with it (``decision`` is the
    engine's ``Decision``; ``message`` the thread entry it came from, if any). Returns None
    when nothing was stored: the log is off (``BOT_LOG_DAYS=0``) or nothing is left of the
    text once scrubbed."""
    if settings.BOT_LOG_DAYS <= 0:
        return None
    lang = desk_lang(lang or decision.lang)
    stored = scrub(text, lang)
    if not stored:
        return None
    if decision.decision not in BotDecision.values:
        raise ValueError(f"unknown decision {decision.decision!r}")
    coverage = decision.features.get("coverage") if decision.results else None
    return BotQuestion.objects.create(
        text=stored,
        norm=normalise_key(stored),
        lang=lang,
        decision=decision.decision,
        rule=(decision.rule or None) if decision.decision == BotDecision.RULE else None,
        top_ids=[str(article_id)[:120] for article_id, _score in decision.results[:5]],
        coverage=round(float(coverage), 4) if coverage is not None else None,
        channel=str(channel)[:16],
        message=message,
        inquiry_id=message.inquiry_id if message is not None else None,
    )


def record_outcome(article: Article | str, outcome: str) -> None:
    """Count, for today, that the bot answered with ``article`` ("answered"), or offered it
    and the requester still went to a person ("handed_over"). ``article`` is an Article
    or the bot's id for one (``Decision.results``); an unknown id is ignored."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
    if isinstance(article, str):
        found = articles_by_bot_id([article]).get(article)
        if found is None:
            return
        article = found
    counters.count(article, outcome)


def purge_old() -> int:
    """Delete questions older than ``BOT_LOG_DAYS`` days (all of them when it is 0).
    Returns how many were deleted."""
    days = settings.BOT_LOG_DAYS
    rows = BotQuestion.objects.all()
    if days > 0:
        rows = rows.filter(created_at__lt=now() - timedelta(days=days))
    deleted, _by_model = rows.delete()
    return deleted


# -- unanswered questions, grouped -------------------------------------------------------


def open_questions(user: Any) -> Any:
    """Hand-overs (not topic rules) nobody has resolved or dismissed yet, that ``user``
    may see."""
    from madoguchi.inquiries import access

    return access.visible_bot_questions(user, BotQuestion.objects.all()).filter(
        decision=BotDecision.HANDOVER, resolved=False, dismissed=False
    )


@dataclass
class Phrasing:
    text: str
    count: int
    question_id: int


@dataclass
class Group:
    ids: list[int]
    last_asked: datetime
    lang: str
    phrasings: list[Phrasing]
    candidate_ids: list[str]
    candidates: list[Article] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def anchor(self) -> int:
        """The newest question: names the group in links."""
        return self.phrasings[0].question_id if self.phrasings else self.ids[0]

    @property
    def ids_value(self) -> str:
        return ",".join(str(i) for i in self.ids)

    @property
    def text(self) -> str:
        return self.phrasings[0].text if self.phrasings else ""


def unanswered_groups(user: Any) -> list[Group]:
    """Open hand-overs ``user`` may see, grouped by normalised text and, where the bot had
    a weak candidate, by that candidate; the most asked first."""
    rows = list(
        open_questions(user)
        .order_by("-created_at", "-id")
        .values("id", "text", "norm", "lang", "top_ids", "coverage", "created_at")[:MAX_OPEN_ROWS]
    )
    parent = {row["id"]: row["id"] for row in rows}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_with: dict[str, int] = {}
    for row in rows:
        keys = ["t:" + (row["norm"] or str(row["id"]))]
        if row["top_ids"] and (row["coverage"] or 0) >= WEAK_COVERAGE:
            keys.append("a:" + str(row["top_ids"][0]))
        for key in keys:
            other = first_with.setdefault(key, row["id"])
            parent[find(row["id"])] = find(other)

    members: dict[int, list[dict]] = {}
    for row in rows:  # newest first, so each group's rows stay newest first
        members.setdefault(find(row["id"]), []).append(row)
    groups = []
    for items in members.values():
        by_norm: dict[str, list[dict]] = {}
        for row in items:
            by_norm.setdefault(row["norm"], []).append(row)
        phrasings = sorted(
            (
                Phrasing(text=same[0]["text"], count=len(same), question_id=same[0]["id"])
                for same in by_norm.values()
            ),
            key=lambda p: (-p.count, -p.question_id),
        )
        best = Counter(str(r["top_ids"][0]) for r in items if r["top_ids"])
        anywhere = Counter(str(i) for r in items for i in r["top_ids"][:3])
        candidate_ids = sorted(anywhere, key=lambda i: (-best[i], -anywhere[i], i))[:3]
        groups.append(
            Group(
                ids=[r["id"] for r in items],
                last_asked=items[0]["created_at"],
                lang=Counter(r["lang"] for r in items).most_common(1)[0][0],
                phrasings=phrasings,
                candidate_ids=candidate_ids,
            )
        )
    groups.sort(key=lambda g: (-g.count, -g.last_asked.timestamp()))
    return groups


def attach_candidates(groups: Iterable[Group]) -> None:
    """Fill each group's ``candidates`` with its articles, in the group's language where
    a translation exists (two queries for all groups)."""
    groups = list(groups)
    by_id = articles_by_bot_id({i for g in groups for i in g.candidate_ids})
    twins = {
        (a.topic, a.lang): a
        for a in Article.objects.filter(topic__in={a.topic for a in by_id.values()})
    }
    for group in groups:
        chosen: dict[str, Article] = {}
        for article in (by_id[i] for i in group.candidate_ids if i in by_id):
            chosen.setdefault(article.topic, twins.get((article.topic, group.lang), article))
        group.candidates = list(chosen.values())


def group_of(question_id: int, user: Any) -> Group | None:
    for group in unanswered_groups(user):
        if question_id in group.ids:
            attach_candidates([group])
            return group
    return None


def parse_ids(value: str, *, limit: int = MAX_OPEN_ROWS) -> list[int]:
    """Question ids from a form's comma-separated ``ids`` (bad parts are dropped)."""
    out = []
    for part in value.split(",")[:limit]:
        part = part.strip()
        if part.isdigit() and len(part) < 19:
            out.append(int(part))
    return out


@dataclass
class TeachResult:
    questions: int
    added: list[str]


@transaction.atomic
def do_teach_questions(
    question_ids: Iterable[int],
    article: Article,
    *,
    phrasing_ids: Iterable[int] = (),
    acting_user: Any,
) -> TeachResult:
    """Resolve the open questions ``question_ids`` with ``article``; the texts of
    ``phrasing_ids`` (among them) become the article's other phrasings, as a new
    version, so the bot answers them from now on. Only questions ``acting_user`` may see
    count: others are left as they are."""
    wanted = set(question_ids)
    visible = open_questions(acting_user).filter(pk__in=wanted).values("pk")
    questions = list(
        BotQuestion.objects.select_for_update().filter(pk__in=visible).order_by("-created_at")
    )
    chosen = set(phrasing_ids)
    known = {normalise_key(t) for t in (article.question, *article.alt_questions)}
    added = []
    for question in questions:
        if question.pk not in chosen:
            continue
        text = strip_placeholders(question.text)
        key = normalise_key(text)
        if text and key and key not in known:
            known.add(key)
            added.append(text)
    if added:
        values = article_values(article)
        values["alt_questions"] = [*article.alt_questions, *added]
        article, _what = do_save_article(values, acting_user=acting_user, article=article)
    BotQuestion.objects.filter(pk__in=[q.pk for q in questions]).update(
        resolved=True, taught_article=article
    )
    if questions:
        audit.record(
            "kb.questions_taught",
            actor=acting_user,
            article=article.pk,
            questions=len(questions),
            phrasings_added=len(added),
        )
    return TeachResult(questions=len(questions), added=added)


@transaction.atomic
def do_dismiss_questions(question_ids: Iterable[int], *, acting_user: Any) -> int:
    """Set open questions aside (off topic, spam, already answered elsewhere)."""
    visible = open_questions(acting_user).filter(pk__in=set(question_ids)).values("pk")
    count = BotQuestion.objects.filter(pk__in=visible).update(dismissed=True)
    if count:
        audit.record("kb.questions_dismissed", actor=acting_user, questions=count)
    return count
