"""Topic rules: checked before retrieval, defined as plain data an administrator can edit.

A rule is a dict::

    {"name": "exam",
     "patterns": {"ja": [regex, ...], "en": [regex, ...]},
     "exclude":  {"ja": [regex, ...], "en": [regex, ...]},   # optional
     "message_ja": "...", "message_en": "...", "link": "/..."}

Patterns are regular expressions matched (case-insensitively) against the NFKC-normalised
message; both languages' patterns are tried whatever the message's language, because
chat messages mix them. A pattern hit is cancelled when an ``exclude`` pattern matches the
same stretch of text (e.g. テスト in テスト用のミーティング is not an exam). The first rule in
list order that matches wins, so put the most protective rule (sensitive) first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

RuleData = Mapping[str, Any]


def default_rules() -> list[dict[str, Any]]:
    """The shipped rules (a fresh copy each call, so callers may edit it)."""
    return [
        {
            "name": "sensitive",
            "patterns": {
                "ja": [
                    r"成績",
                    r"gpa",
                    r"評定",
                    r"(?<!授業)(?<!講義)評価(?!アンケート)",
                    r"点数",
                    r"単位(?:認定|取得|を落|落と|が取れ|が足り)",
                    r"合否",
                    r"マイナンバー",
                    r"病歴|診断書",
                ],
                "en": [
                    r"\bgrades?\b",
                    r"\bgrading\b",
                    r"\bgpa\b",
                    r"\btranscripts?\b",
                    r"\bmy (?:score|marks?|results?)\b",
                    r"\bpass(?:ed)? or fail(?:ed)?\b",
                    r"\bmedical (?:certificate|record)s?\b",
                ],
            },
            "exclude": {
                "ja": [],
                "en": [r"\bupgrade", r"\bdowngrade"],
            },
            "message_ja": (
                "成績・評価などの個人的な情報は、このチャットには書かないでください。"
                "このようなご相談は、機微情報用のフォームからお送りください。"
            ),
            "message_en": (
                "Please do not share grades or other personal information here. "
                "Use the form for sensitive inquiries instead."
            ),
            "link": "/form/sensitive/",
        },
        {
            "name": "exam",
            "patterns": {
                "ja": [
                    r"試験",
                    r"期末",
                    r"中間(?:テスト|考査)",
                    r"追試",
                    r"再試",
                    r"受験",
                    r"考査",
                    r"カンニング|不正行為",
                    r"テスト",
                    r"小テスト",
                ],
                "en": [
                    r"\bexams?\b",
                    r"\bexamination",
                    r"\bmid-?terms?\b",
                    r"\bfinals\b",
                    r"\bfinal (?:test|exam)",
                    r"\bquiz(?:zes)?\b",
                    r"\b(?:take|taking|took|sit|sitting|failed|pass|passed) (?:a |the |my |an )?test\b",
                    r"\btest (?:results?|answers?|questions?|paper)\b",
                    r"\bcheat(?:ing)?\b",
                ],
            },
            "exclude": {
                # テスト as in "test meeting / test mail / connection test" is not an exam.
                "ja": [
                    r"テスト(?:用|で|的|送信|メール|ミーティング|会議|配信|録画|通話|環境|アカウント|ページ|投稿|中)",
                    r"(?:接続|動作|音声|マイク|カメラ|スピーカー|通信|速度|回線|画面共有)(?:の)?テスト",
                    r"テストして",
                    r"(?:入学|入試).*(?:サイト|システム)",
                ],
                "en": [
                    r"\btest (?:meeting|call|mail|email|message|account|room|page|run|session|link)s?\b",
                    r"\b(?:speed|connection|audio|mic|microphone|camera|speaker|video) test\b",
                ],
            },
            "message_ja": (
                "試験に関するご質問・ご相談は、まず担当教員または開講学部・研究科にご連絡ください。"
                "このサポート窓口では、試験に関するお問い合わせはメールフォームでのみ受け付けています。"
            ),
            "message_en": (
                "For questions about exams, please first contact your instructor or the "
                "faculty offering the course. This desk accepts exam-related inquiries only "
                "through the email form."
            ),
            "link": "/form/?category=exam",
        },
        {
            "name": "human",
            "patterns": {
                "ja": [
                    r"(?:人|人間|担当者|担当の方|スタッフ|職員|オペレー?ター?|係の人|誰か)(?:と|に|さん)(?:話|はな|相談|つな|繋|代わ|かわ|替わ|変わ|対応)",
                    r"(?:有人|オペレー?ター?)(?:対応|チャット)?(?:に|へ|と)(?:つな|繋|切り?替|きりか|代わ|かわ|変え|話|はな|相談)",
                    r"(?:人|人間|オペレー?ター?|担当者|スタッフ)(?:を|に)?(?:呼|よん)",
                    r"^\s*(?:オペレー?ター?|有人|人間|担当者)(?:さん)?(?:で|を|に)?(?:お願い|おねがい|頼|希望)?[。!！?？\s]*$",
                    r"(?:ボット|bot|ロボット|機械)(?:じゃ|では|で)?(?:なく|はなく|ではなく)",
                ],
                "en": [
                    r"\b(?:talk|speak|chat|connect me|put me through)(?: to| with)? (?:a |an |the |some |real )*(?:person|human|agent|operator|staff|someone|somebody|people|representative)\b",
                    r"\b(?:real|live) (?:person|human|agent|operator)\b",
                    r"^\s*(?:agent|operator|human|representative)(?: please)?[.!?\s]*$",
                    r"\bnot (?:a |the )?(?:bot|robot|machine)\b",
                ],
            },
            "exclude": {"ja": [], "en": []},
            "message_ja": "担当者におつなぎします。少々お待ちください。",
            "message_en": "Connecting you to a member of staff. Please wait a moment.",
            "link": "",
        },
    ]


@dataclass(frozen=True)
class RuleHit:
    name: str
    message_ja: str
    message_en: str
    link: str

    def message(self, lang: str) -> str:
        return self.message_ja if lang == "ja" else self.message_en


class RuleSet:
    """Compiled rules. Raises ValueError on an invalid rule (bad regex, missing field)."""

    def __init__(self, rules: Iterable[RuleData]) -> None:
        self._rules: list[tuple[RuleHit, list[re.Pattern[str]], list[re.Pattern[str]]]] = []
        for data in rules:
            try:
                name = str(data["name"])
                patterns = [
                    re.compile(_prep(p), re.IGNORECASE)
                    for lang in ("ja", "en")
                    for p in data.get("patterns", {}).get(lang, [])
                ]
                excludes = [
                    re.compile(_prep(p), re.IGNORECASE)
                    for lang in ("ja", "en")
                    for p in (data.get("exclude") or {}).get(lang, [])
                ]
                hit = RuleHit(
                    name=name,
                    message_ja=str(data["message_ja"]),
                    message_en=str(data["message_en"]),
                    link=str(data.get("link", "")),
                )
            except (KeyError, TypeError, re.error) as exc:
                raise ValueError(f"invalid bot rule {data!r}: {exc}") from exc
            self._rules.append((hit, patterns, excludes))

    def match(self, text: str) -> RuleHit | None:
        norm = unicodedata.normalize("NFKC", text)
        for hit, patterns, excludes in self._rules:
            spans = [(m.start(), m.end()) for ex in excludes for m in ex.finditer(norm)]
            for pattern in patterns:
                for m in pattern.finditer(norm):
                    if not any(s <= m.start() < e or s < m.end() <= e for s, e in spans):
                        return hit
        return None


def _prep(pattern: str) -> str:
    # Rules are written in ordinary (full-width katakana) form; match NFKC text.
    return unicodedata.normalize("NFKC", pattern)
