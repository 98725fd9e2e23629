"""Proposing redactions for a case study: pure Python, no Django.

``propose(text, known)`` returns the fragments of ``text`` that could identify someone,
each with its kind, its span in ``text``, the replacement and the rule that found it (so
a reviewer can see why). ``apply(text, redactions)`` replaces the accepted ones.

How it works, and why it stays linear-ish:

- Matching runs on a *view* of the text in which every character is NFKC-normalised on
  its own (full-width digits, letters, ``＠`` and spaces become ASCII; half-width kana
  become full-width), with a map from each view position back to the original. Spans
  found in the view are mapped back, so the original text is never rewritten except by
  the replacements.
- Every rule is one compiled regular expression without nested unbounded repetition,
  run once over the view (names found by a pattern, e.g. ``佐藤さん``, are looked for
  again everywhere in one more pass). A 200 kB thread takes well under a second.
- Overlaps: candidates are taken by rule priority (a URL before a mail address inside
  it, a mail address before a name inside it), then the longer one; a candidate that
  overlaps one already taken is dropped.
- Replacements are in the language of the line they stand on: a line with kana or
  kanji gets ``［氏名］``, a line without gets ``[name]``. Dates are not replaced by a
  token but narrowed to the month (``2026年11月24日(火) 14:30`` → ``2026年11月``,
  ``Nov 24, 2026`` → ``November 2026``, ``11/24`` → ``11月``); times next to a date
  go with it, a time on its own becomes ``［時刻］``.

Certain kinds (``CERTAIN_KINDS``: mail addresses, phone numbers, IDs) are found by shape
alone; a text in which ``certain_findings`` finds one must not be published.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

NAME = "name"
INSTRUCTOR = "instructor"
CLASS = "class"
EMAIL = "email"
ID = "id"
PHONE = "phone"
URL = "url"
DATE = "date"
TIME = "time"
IP = "ip"
ADDRESS = "address"
SECRET = "secret"  # noqa: S105 - the name of a kind, not a password
KEEP = "keep"  # a span no redaction may touch (a URL's scheme and host); never proposed

KINDS = (NAME, INSTRUCTOR, CLASS, EMAIL, ID, PHONE, URL, DATE, TIME, IP, ADDRESS, SECRET)
CERTAIN_KINDS = frozenset({EMAIL, PHONE, ID})

TOKENS = {
    NAME: ("［氏名］", "[name]"),
    INSTRUCTOR: ("［教員名］", "[instructor]"),
    CLASS: ("［授業名］", "[class]"),
    EMAIL: ("［メールアドレス］", "[email]"),
    ID: ("［ID］", "[ID]"),
    PHONE: ("［電話番号］", "[phone]"),
    URL: ("［パス］", "[path]"),
    TIME: ("［時刻］", "[time]"),
    IP: ("［IPアドレス］", "[IP address]"),
    ADDRESS: ("［住所］", "[address]"),
    SECRET: ("［パスコード］", "[passcode]"),
}

# Lower number: taken first where candidates overlap.
PRIORITY = {
    URL: 0,
    EMAIL: 1,
    IP: 2,
    PHONE: 3,
    ID: 4,
    ADDRESS: 5,
    DATE: 6,
    NAME: 7,
    INSTRUCTOR: 7,
    CLASS: 8,
    TIME: 9,
    SECRET: 2,
    KEEP: -1,
}


@dataclass(frozen=True)
class Known:
    """What the desk knows about the inquiry: the requester's and staff members' names,
    the class subject and instructor from the intake details, and literal values
    (the requester's mail address, common ID) to be found whatever their shape."""

    names: Sequence[str] = ()
    instructors: Sequence[str] = ()
    classes: Sequence[str] = ()
    values: Sequence[tuple[str, str]] = ()  # (kind, literal)


@dataclass(frozen=True)
class Redaction:
    start: int
    end: int
    kind: str
    replacement: str
    rule: str
    original: str = field(default="", compare=False)


# --- the normalised view ------------------------------------------------------------------


def _normalised(c: str) -> str:
    if c in "〜～ー－―‐−":  # dashes and the long-vowel mark: one hyphen for matching
        return "ー" if c == "ー" else "-"
    return unicodedata.normalize("NFKC", c) or c


class _View:
    """The text with each character NFKC-normalised on its own, and the way back."""

    def __init__(self, text: str) -> None:
        self.length = len(text)
        self.back: list[int] | None = None
        self.ends: list[int] = []
        # Usually every character stays one character: one translate, positions unchanged.
        table: dict[int, str] = {}
        for c in set(text):
            if c.isascii():
                continue
            n = _normalised(c)
            if len(n) != 1 or n in ("\u3099", "\u309a"):
                break
            if n != c:
                table[ord(c)] = n
        else:
            self.text = text.translate(table)
            self.lines = _Lines(self.text)
            return
        self._build(text)
        self.lines = _Lines(self.text)

    def _build(self, text: str) -> None:
        chars: list[str] = []
        back: list[int] = []
        ends: list[int] = []
        for i, c in enumerate(text):
            n = c if c.isascii() else _normalised(c)
            if n in ("\u3099", "\u309a") and chars:
                # Half-width ﾀﾞ is two characters: the voiced mark joins the kana before it.
                joined = unicodedata.normalize("NFC", chars[-1] + n)
                if len(joined) == 1:
                    chars[-1] = joined
                    ends[-1] = i + 1
                    continue
            for ch in n:
                chars.append(ch)
                back.append(i)
                ends.append(i + 1)
        self.text = "".join(chars)
        self.back = back
        self.ends = ends

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.back is None:
            return start, end
        if start >= len(self.back):
            return self.length, self.length
        return self.back[start], self.ends[end - 1] if end > start else self.back[start]


class _Lines:
    """The language of each line of the view, found once per line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.cache: dict[int, int] = {}

    def lang(self, pos: int) -> int:
        """0 for a Japanese line, 1 for an English one (an index into TOKENS)."""
        i = bisect.bisect_right(self.starts, pos) - 1
        if i not in self.cache:
            end = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.text)
            self.cache[i] = 0 if JA_CHAR.search(self.text, self.starts[i], end) else 1
        return self.cache[i]


# --- patterns -----------------------------------------------------------------------------

KANJI = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶ"
KATA = r"\u30a1-\u30fa\u30fc"
HIRA = r"\u3041-\u3096"
JA_CHAR = re.compile(rf"[{KANJI}{KATA}{HIRA}]")
HYPHEN = r"[-‐‑–—ーｰ]"

EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}\s?@\s?[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"
)
URL_RE = re.compile(
    r"\b(?:https?|ftp)://([A-Za-z0-9.\-_~%:@!$&'*+,;=\[\]]{1,255})([/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]{0,2000})?"
)
IPV4_RE = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\d|\.\d)"
)
IPV6_RE = re.compile(
    r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])"
    r"|(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?(?![0-9A-Fa-f:])"
)
# Phones: +81 or a leading 0, 10 or 11 digits in all, in groups; checked in _phones.
PHONE_RE = re.compile(
    rf"(?<![\d+])(?:\+\s?\d{{1,3}}[\s.]?(?:\(0\))?[\s.-]?|\(0\d{{1,4}}\)\s?|0)\d{{1,4}}(?:(?:\s?{HYPHEN}\s?|[\s.()]|\)\s?)\d{{1,4}}){{1,3}}(?![\d])"
)
PHONE_CONTIGUOUS_RE = re.compile(r"(?<![\d+])0\d{9,10}(?!\d)")
EXTENSION_RE = re.compile(r"(?:内線|ext\.?|extension|x)\s?:?\s?(\d{3,5})(?!\d)", re.IGNORECASE)
DIGITS10_RE = re.compile(r"(?<![\d])\d(?:[ -]?\d){9}(?![\d])")
MEETING_ID_RE = re.compile(
    r"(?:ミーティング\s?ID|会議\s?ID|meeting\s?ID|ID)\s?[:：]?\s?(\d{3}[ -]?\d{3,4}[ -]?\d{3,4})(?!\d)",
    re.IGNORECASE,
)
ID_CONTEXT = re.compile(
    r"(ID|共通|学籍|学生証|番号|student|number|No\.?)\s*[:：]?\s*$", re.IGNORECASE
)
PHONE_CONTEXT = re.compile(r"(電話|TEL|Tel|phone|携帯|FAX|Fax|☎|📞)", re.IGNORECASE)

WEEKDAY_JA = r"\s?[(（]\s?[月火水木金土日](?:曜日?)?(?:・祝)?\s?[)）]"
TIME_JA = r"(?:\s?(?:午前|午後|AM|PM|am|pm)?\s?\d{1,2}(?:[:：]\d{2}(?:[:：]\d{2})?|時(?:\d{1,2}分|半)?)(?:\s?(?:AM|PM|am|pm))?(?:\s?(?:頃|ごろ|過ぎ))?)"
TIME_RANGE = rf"(?:{TIME_JA}(?:\s?(?:[-~]|から)\s?{TIME_JA})?)"
ERA = r"(?:令和|平成|昭和|R|H)"
# The class period after a date (3限, 第2時限目) narrows it as much as a time does.
PERIOD = r"\s?(?:第\s?)?\d\s?(?:時限|限)(?:目)?"
DATE_JA_RE = re.compile(
    rf"((?:\d{{4}}|{ERA}\s?(?:\d{{1,2}}|元))\s?年\s?)?(\d{{1,2}})\s?月\s?(\d{{1,2}})\s?日(?:{WEEKDAY_JA})?(?:{PERIOD})?{TIME_RANGE}?"
)
DATE_ISO_RE = re.compile(
    rf"(?<![\d/.-])(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}})(?![\d/.-])(?:{WEEKDAY_JA})?(?:T?{TIME_RANGE})?"
)
DATE_MD_RE = re.compile(
    rf"(?<![\d/.\w-])(\d{{1,2}})/(\d{{1,2}})(?![\d/-]|\.\d)(?:{WEEKDAY_JA})?{TIME_RANGE}?"
)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTH_NAME = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
WEEKDAY_EN = (
    r"(?:(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)(?:day|nesday|sday|urday|rsday)?\.?,?\s)?"
)
TIME_EN = r"(?:,?\s(?:at\s)?\d{1,2}(?::\d{2})?\s?(?:AM|PM|am|pm|a\.m\.|p\.m\.)|,?\s(?:at\s)?\d{1,2}:\d{2})?"
DATE_EN_MD_RE = re.compile(
    rf"\b{WEEKDAY_EN}{MONTH_NAME}\s(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s(\d{{4}}))?{TIME_EN}"
)
DATE_EN_DM_RE = re.compile(
    rf"\b{WEEKDAY_EN}(\d{{1,2}})(?:st|nd|rd|th)?\s(?:of\s)?{MONTH_NAME}(?:,?\s(\d{{4}}))?{TIME_EN}"
)
TIME_ALONE_RE = re.compile(
    r"(?<![\d:.])(?:(?:午前|午後)\s?\d{1,2}時(?:\d{1,2}分|半)?|\d{1,2}時\d{1,2}分|(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s?(?:AM|PM|am|pm))?)(?![\d:])"
)
DAY_ALONE_RE = re.compile(
    rf"(?<![\d月/年.])(\d{{1,2}})日(?:{WEEKDAY_JA})?(?=\s?[(（]|に|の|は|から|まで|、|。|,|\s|$)"
)
PREFECTURE = r"(?:東京都|北海道|大阪府|京都府|[\u4e00-\u9fff]{2,3}県)"
ADDRESS_RE = re.compile(
    rf"(?:〒\s?\d{{3}}-?\d{{4}}\s?)?{PREFECTURE}[{KANJI}{KATA}{HIRA}]{{1,20}}?[市区町村郡][{KANJI}{KATA}{HIRA}]{{0,15}}?\d{{1,4}}(?:(?:-|丁目|番地?|号)\d{{1,4}}){{0,3}}(?:号|番地?)?"
)
SECRET_RE = re.compile(
    r"(?:パスコード|パスワード|暗証番号|passcode|password|PIN)\s?(?:は|is)?\s?[:：=]\s?([^\s、。,)）]{4,64})",
    re.IGNORECASE,
)
POSTCODE_RE = re.compile(r"(?:〒|郵便番号\s?[:：]?)\s?\d{3}-?\d{4}(?!\d)")

# Names from context. Japanese: a kanji or katakana run before an honorific; the kinds of
# people who are not one person are left alone.
HONORIFIC_NAME = ("様", "さま", "さん", "君", "くん", "殿", "氏", "ちゃん")
HONORIFIC_TEACHER = ("先生", "教授", "准教授", "助教", "講師", "教官")
JA_HONORIFIC_RE = re.compile(
    rf"(?<![{KANJI}])([{KANJI}]{{1,6}}|[{KATA}]{{2,12}})([ \u3000]?[{KANJI}]{{1,4}})?[ \u3000]?(准教授|教授|先生|助教|講師|教官|様(?!々)|さま|さん|君|くん|殿|氏(?!名)|ちゃん)"
)
NOT_A_PERSON = {
    "皆",
    "皆様",
    "皆さん",
    "各位",
    "お客",
    "客",
    "利用者",
    "担当者",
    "ご担当者",
    "担当",
    "学生",
    "先生方",
    "関係者",
    "事務",
    "職員",
    "教員",
    "教職員",
    "受講者",
    "参加者",
    "申請者",
    "依頼者",
    "保護者",
    "神",
    "奥",
    "王",
    "窓口",
    "係",
    "御中",
    "社長",
    "部長",
    "課長",
    "方",
    "各",
    "皆々",
    "先方",
    "相手",
    "同僚",
    "友人",
    "友達",
    "本人",
    "ご本人",
    "当事者",
    "教授",
    "准教授",
    "先生",
    "講師",
    "助教",
    "非常勤講師",
    "指導教員",
    "指導教官",
    "担当教員",
    "主任",
    "管理者",
    "作成者",
    "スタッフ",
    "オペレーター",
    "オペレータ",
    "サポーター",
    "コモンサポーター",
    "ユーザー",
    "ユーザ",
    "メンバー",
    "ゲスト",
    "ホスト",
    "カスタマー",
    "サポート",
    "チーム",
    "エンジニア",
    "お医者",
    "医者",
    "業者",
    "店員",
    "大家",
    "お父",
    "お母",
    "兄",
    "姉",
    "弟",
    "妹",
}
NOT_A_PERSON |= {
    "仕",
    "同",
    "模",
    "多",
    "各",
    "異",
    "一",
    "神",
    "殿",
    "上",
    "貴",
    "若",
    "今",
    "左",
    "右",
    "有",
    "外",
    "仏",
    "様",
    "彼",
    "某",
    "両",
    "諸",
    "父",
    "母",
    "小学校",
    "中学校",
    "高校",
    "学校",
    "大学",
    "デスク",
    "サポートデスク",
    "ヘルプデスク",
    "センター",
    "事務室",
    "研究室",
}  # words before 様・氏・君 that are no one (仕様, 同様, 彼氏, 諸君)
AFFILIATION_END = re.compile(r".*[部科院所室課係局館府環校]$")
AFFILIATION_CHAR = re.compile(r"[部科院所室課係局館府環校]")
EN_TITLE_RE = re.compile(
    r"\b(Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Professor|Sensei|Dean)\.?\s([A-Z][a-zA-Z'’-]+(?:\s[A-Z][a-zA-Z'’-]+)?)"
)
EN_SUFFIX_RE = re.compile(r"\b([A-Z][a-z'’-]{1,20})[- ](san|sama|sensei|kun|chan)\b")
EN_DEAR_RE = re.compile(r"\bDear\s([A-Z][a-zA-Z'’-]+(?:\s[A-Z][a-zA-Z'’-]+){0,2})\s?,")
EN_SELF_RE = re.compile(
    r"\b(?:My name is|I am|I'm|This is)\s([A-Z][a-z'’-]+(?:\s[A-Z][a-zA-Z'’-]+){0,2})\b"
)
JA_SELF_RE = re.compile(
    rf"([{KANJI}]{{2,6}}|[{KATA}]{{2,12}})[ \u3000]?([{KANJI}]{{1,4}})?(?:と申します|といいます|と言います)"
    rf"|\d年の([{KANJI}]{{2,6}})(?:です|と申します)"
)
LAB_RE = re.compile(rf"(?<![{KANJI}])([{KANJI}]{{1,4}})(研究室|研(?![{KANJI}]))")
DISPLAY_NAME_RE = re.compile(
    r"(?:^|[\s:：,\"'])([^\s<>\"':：,][^<>\"\n:：]{0,60}?)\s?<[^<>\s@]+@[^<>\s]+>"
)
HEADER_LINE_RE = re.compile(
    r"^[> ]*(From|To|Cc|Sender|Reply-To|差出人|送信者|宛先|送信元|CC)\s?[:：]\s?(.{1,200})$",
    re.MULTILINE | re.IGNORECASE,
)
NOT_A_DISPLAY_NAME = re.compile(
    r"^(support|help ?desk|info|no-?reply|mailer-daemon|postmaster|admin|窓口|サポート|ヘルプデスク)",
    re.IGNORECASE,
)
CLOSING_RE = re.compile(
    r"^[> ]*(best regards|kind regards|regards|sincerely|thanks|thank you|many thanks|cheers|best|yours|"
    r"よろしくお願い(?:いた|致)?します|宜しくお願い(?:いた|致)?します|以上(?:、?よろしくお願いします)?|"
    r"どうぞよろしくお願い(?:いた|致)?します)[,.。、!！]*\s*$",
    re.IGNORECASE | re.MULTILINE,
)
SIGNATURE_RULE_RE = re.compile(r"^[> ]*(?:--\s?|[-=_*━─―ー]{4,})\s*$", re.MULTILINE)
EN_NAME_LINE = re.compile(
    r"^[> ]*([A-Z][a-z'’-]+(?:\s[A-Z][a-zA-Z'’-]+){1,2}|[A-Z]{2,}\s[A-Z][a-z]+|[A-Z][a-z]+\s[A-Z]{2,})\s*$"
)
JA_NAME_TAIL = re.compile(
    rf"([{KANJI}]{{1,4}}[ \u3000]?[{KANJI}]{{1,4}}|[{KATA}]{{2,8}}[ \u3000][{KATA}]{{2,8}})\s*$"
)
# Class names by shape.
CLASS_QUOTED_RE = re.compile(
    r"[「『]([^「」『』\n]{2,40})[」』]\s?(?:の|という)?\s?(?:授業|講義|ゼミ|演習|科目|クラス|実習|実験)"
)
CLASS_SUFFIX_RE = re.compile(
    rf"(?<![{KANJI}{KATA}])([{KANJI}{KATA}]{{1,14}}(?:概論|入門|特論|演習|実習|実験|セミナー|ゼミナール|ゼミ|総論|各論|講読)(?:[IVXⅠ-Ⅻ]{{1,4}}|[0-9]{{1,3}}|[ABC])?)"
)
CLASS_EN_RE = re.compile(
    r"[\"“]([^\"“”\n]{2,60})[\"”]\s(?:class|course|lecture|seminar)"
    r"|\b((?:Introduction|Intro|Advances?|Topics|Seminar)\s(?:to|in|on)\s[A-Z][\w&-]*(?:\s(?:and|of|&|[A-Z][\w&-]*)){0,5}(?:\s[IVX]{1,4}|\s\d{1,3})?)"
)
GENERIC_CLASSES = {"授業", "講義", "演習", "ゼミ", "実習", "実験", "入門", "概論"}
TECH_WORDS = {
    "Zoom",
    "Moodle",
    "VPN",
    "Teams",
    "Google",
    "Microsoft",
    "Outlook",
    "Gmail",
    "Webex",
    "Slack",
    "UTOL",
    "UTAS",
    "Windows",
    "Mac",
    "Apple",
    "Chrome",
    "Safari",
    "Edge",
    "Firefox",
    "Office",
    "Word",
    "Excel",
    "PowerPoint",
    "Drive",
    "OneDrive",
    "Box",
    "Wi-Fi",
    "WiFi",
    "ECCS",
    "MFA",
    "Support",
    "Help",
    "Desk",
    "Team",
    "Sir",
    "Madam",
    "All",
    "Everyone",
    "Customer",
    "Colleagues",
    "Staff",
    "Operator",
    "Student",
    "Students",
    "Teacher",
    "Professor",
    "The",
    "Thanks",
    "Thank",
    "Best",
    "Regards",
    "Hello",
    "Hi",
    "Dear",
    "Yes",
    "No",
    "OK",
    "Error",
    "Account",
    "Sign",
    "Attendee",
    "Host",
    "Guest",
    "User",
    "Admin",
    "Administrator",
    "Faculty",
    "University",
}


# --- known names --------------------------------------------------------------------------

_SPLIT = re.compile(r"[\s\u3000・·.,]+")


def _name_parts(name: str) -> list[list[str]]:
    """Ways to split a name into family and given parts (several for an unspaced CJK name)."""
    name = unicodedata.normalize("NFKC", name).strip()
    parts = [p for p in _SPLIT.split(name) if p]
    if len(parts) >= 2:
        return [parts]
    if not parts:
        return []
    one = parts[0]
    if JA_CHAR.match(one) and 3 <= len(one) <= 6 and all(re.match(rf"[{KANJI}]", c) for c in one):
        return [[one[:k], one[k:]] for k in range(1, len(one)) if 1 <= k and len(one) - k >= 1]
    return [[one]]


def _is_latin(s: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z'’-]+", s))


def _known_name_regex(names: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation for every form of every known name, longest first."""
    full: set[str] = set()
    latin_parts: set[str] = set()
    cjk_parts: set[str] = set()
    for name in names:
        if not name or not name.strip():
            continue
        for parts in _name_parts(name):
            if len(parts) >= 2:
                for order in (parts, list(reversed(parts))):
                    form = r"[ \t\u3000・･]*(?:\n[> \t]*)?".join(re.escape(p) for p in order)
                    # A name in Latin letters in any case (taro yamada, TARO YAMADA).
                    full.add(f"(?i:{form})" if all(_is_latin(p) for p in order) else form)
            for p in parts:
                if _is_latin(p):
                    if len(p) >= 3 and p.capitalize() not in TECH_WORDS:
                        latin_parts.add(p)
                elif len(p) >= 2 and p not in NOT_A_PERSON:
                    cjk_parts.add(p)
    alternatives = sorted(full, key=len, reverse=True)
    pieces = []
    if alternatives:
        pieces.append(rf"(?:{'|'.join(alternatives)})")
    kanji = sorted(
        (p for p in cjk_parts if not re.fullmatch(rf"[{KATA}]+", p)), key=len, reverse=True
    )
    kana = sorted((p for p in cjk_parts if re.fullmatch(rf"[{KATA}]+", p)), key=len, reverse=True)
    if kanji:
        pieces.append("|".join(re.escape(p) for p in kanji))
    if kana:
        # A katakana name is a word of its own: アン is not in アンインストール.
        pieces.append(
            rf"(?<![{KATA}])(?:" + "|".join(re.escape(p) for p in kana) + rf")(?![{KATA}])"
        )
    if latin_parts:
        forms = set()
        for p in latin_parts:
            forms.update({p.capitalize(), p.upper(), p})
        pieces.append(
            r"(?<![A-Za-z])(?:"
            + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
            + r")(?![A-Za-z])"
        )
    if not pieces:
        return None
    # Latin full names case-insensitively; the parts alone as written (see forms).
    return re.compile("|".join(pieces))


def names_from_address(address: str) -> list[str]:
    """``taro.yamada@…`` → ``Taro Yamada``: the romanised name a Japanese requester signs
    an English mail with, which the intake's kanji name cannot give."""
    local = address.split("@", 1)[0]
    parts = [p for p in re.split(r"[._-]", local) if p]
    if len(parts) == 2 and all(re.fullmatch(r"[A-Za-z]{3,20}", p) for p in parts):
        return [" ".join(p.capitalize() for p in parts)]
    return []


# --- the rules ----------------------------------------------------------------------------


@dataclass
class _Candidate:
    start: int  # in the view
    end: int
    kind: str
    rule: str
    replacement: str | None = None  # None: the kind's token


PLACEHOLDER_LOCAL = re.compile(
    r"(?:x{2,}|example|sample|id|digits-id|your[-_.]?(?:id|name|address|account)?|user(?:name)?|"
    r"hoge|foo|name|account)",
    re.IGNORECASE,
)


def _emails(v: str) -> Iterable[_Candidate]:
    for m in EMAIL_RE.finditer(v):
        if PLACEHOLDER_LOCAL.fullmatch(m.group(0).split("@", 1)[0].strip()):
            continue  # the shape of an address in an explanation (xxxx@…, ID@…), no one's
        yield _Candidate(m.start(), m.end(), EMAIL, "mail address")


def _personal_path(host: str, path: str) -> bool:
    if "@" in host:  # user information before the host
        return True
    p = path.lower()
    if re.search(
        r"/(?:file|document|spreadsheets|presentation|forms|drawings)/d/|/drive/(?:u/\d+/)?folders/|"
        r"/(?:users?|people|profiles?|members?|home|share|my|personal)/[^/?#]|/[jw]/\d|~|"
        r"[?&](?:id|uid|user|usp|email|mail|token|key|pwd|code|sid|session|name)=",
        p,
    ):
        return True
    # A segment that looks like an identifier: long, with letters and digits mixed.
    for seg in re.split(r"[/?&=#]", path):
        if len(re.findall(r"(?:^|-)[A-Za-z]{3,}(?=-|$)", seg)) >= 2:
            continue  # a slug of words (an article's title), public by nature
        if (
            re.fullmatch(r"[A-Za-z0-9_-]{16,}", seg)
            and len(re.findall(r"\d", seg)) >= 3
            and len(re.findall(r"[A-Za-z]", seg)) >= 3
        ):
            return True
        if re.fullmatch(r"\d{8,}", seg):
            return True
        if "@" in seg:
            return True
    return False


def _urls(v: str) -> Iterable[_Candidate]:
    for m in URL_RE.finditer(v):
        host, path = m.group(1), m.group(2) or ""
        path = path.rstrip(".,;:!?'")
        while path.endswith(")") and path.count(")") > path.count("("):
            path = path[:-1].rstrip(".,;:!?'")  # a link in parentheses (or Markdown)
        if "@" in host:
            # https://user:secret@host/… : drop what is before the host, and the path.
            at = m.start(1) + host.rindex("@") + 1
            yield _Candidate(at, m.end(1), KEEP, "host")
            yield _Candidate(m.start(1), at, URL, "URL with user information", "")
            if path:
                yield _Candidate(m.start(2), m.start(2) + len(path), URL, "URL path")
            continue
        yield _Candidate(m.start(), m.end(1), KEEP, "host")
        if path and _personal_path(host, path):
            end = m.start(2) + len(path)
            yield _Candidate(
                m.start(2) + (1 if path.startswith("/") else 0), end, URL, "personal URL path"
            )


def _ips(v: str) -> Iterable[_Candidate]:
    for m in IPV4_RE.finditer(v):
        yield _Candidate(m.start(), m.end(), IP, "IPv4 address")
    for m in IPV6_RE.finditer(v):
        if m.group(0).count(":") >= 3:
            yield _Candidate(m.start(), m.end(), IP, "IPv6 address")


def _phones(v: str) -> Iterable[_Candidate]:
    for m in PHONE_RE.finditer(v):
        s = m.group(0)
        digits = re.sub(r"\D", "", s)
        intl = s.lstrip().startswith("+")
        if intl:
            if not 9 <= len(digits) <= 15:
                continue
        elif not (10 <= len(digits) <= 11 and digits.startswith("0")):
            continue
        groups = [g for g in re.split(r"\D+", s) if g]
        if not intl and len(groups) == 1 and len(digits) == 10:
            # Ten digits in a row: an ID unless the line says it is a phone number.
            before = v[max(0, m.start() - 20) : m.start()]
            if not PHONE_CONTEXT.search(before):
                continue
        if not intl and len(groups) >= 2 and len(groups[-1]) < 3:
            continue
        yield _Candidate(m.start(), m.end(), PHONE, "phone number")
    for m in PHONE_CONTIGUOUS_RE.finditer(v):
        # Ten digits in a row are an ID unless the line says phone (eleven: a mobile).
        if len(m.group(0)) == 10 and not PHONE_CONTEXT.search(v, max(0, m.start() - 20), m.start()):
            continue
        yield _Candidate(m.start(), m.end(), PHONE, "phone number")
    for m in EXTENSION_RE.finditer(v):
        if m.group(0)[0] in "xX" and m.start() > 0 and v[m.start() - 1].isalnum():
            continue
        yield _Candidate(m.start(1), m.end(1), PHONE, "extension")


def _ids(v: str) -> Iterable[_Candidate]:
    for m in DIGITS10_RE.finditer(v):
        s = m.group(0)
        before = v[max(0, m.start() - 20) : m.start()]
        if " " in s or "-" in s:
            # Grouped: a phone number's shape (0 + 2 or 3 groups) unless called an ID.
            groups = re.split(r"[ -]", s)
            if (
                s.startswith("0")
                and 2 <= len(groups) <= 3
                and len(groups[-1]) == 4
                and not ID_CONTEXT.search(before)
            ):
                continue
            if len(groups) > 4 and not ID_CONTEXT.search(before):
                continue
        elif PHONE_CONTEXT.search(before) and s.startswith("0"):
            continue
        yield _Candidate(m.start(), m.end(), ID, "10-digit ID")
    for m in MEETING_ID_RE.finditer(v):
        yield _Candidate(m.start(1), m.end(1), ID, "meeting ID")


def _month_text(month: int, year: str | None, en: bool, era: str | None = None) -> str:
    if en:
        name = MONTHS[month - 1] if 1 <= month <= 12 else str(month)
        return f"{name} {year}" if year else name
    if era:
        return f"{era}{month}月"
    return f"{year}年{month}月" if year else f"{month}月"


def _month_of(name: str) -> int:
    key = name[:3].lower()
    return [m[:3].lower() for m in MONTHS].index(key) + 1


def _dates(v: str, lines: _Lines) -> Iterable[_Candidate]:
    for m in DATE_JA_RE.finditer(v):
        month, day = int(m.group(2)), int(m.group(3))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        year = m.group(1)
        text = (year.strip() if year else "") + f"{month}月"
        yield _Candidate(m.start(), m.end(), DATE, "date (to the month)", text)
    for m in DATE_ISO_RE.finditer(v):
        month, day = int(m.group(3)), int(m.group(4))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        sep = m.group(2)
        yield _Candidate(
            m.start(), m.end(), DATE, "date (to the month)", f"{m.group(1)}{sep}{month:02d}"
        )
    for m in DATE_MD_RE.finditer(v):
        a, b = int(m.group(1)), int(m.group(2))
        if 1 <= a <= 12 and 1 <= b <= 31:
            month = a
        elif 1 <= b <= 12 and 13 <= a <= 31:
            month = b
        else:
            continue
        # "Windows 10/11", "1/2 of": a word right before is not a date's preposition.
        before = v[max(0, m.start() - 12) : m.start()]
        w = re.search(r"([A-Za-z]+)\s?$", before)
        if w and w.group(1).lower() not in {
            "on",
            "by",
            "until",
            "since",
            "from",
            "to",
            "at",
            "before",
            "after",
            "of",
            "date",
            "due",
            "till",
        }:
            continue
        en = lines.lang(m.start()) == 1
        yield _Candidate(
            m.start(), m.end(), DATE, "date (to the month)", _month_text(month, None, en)
        )
    for m in DATE_EN_MD_RE.finditer(v):
        day = int(m.group(2))
        if not 1 <= day <= 31:
            continue
        yield _Candidate(
            m.start(),
            m.end(),
            DATE,
            "date (to the month)",
            _month_text(_month_of(m.group(1)), m.group(3), True),
        )
    for m in DATE_EN_DM_RE.finditer(v):
        day = int(m.group(1))
        if not 1 <= day <= 31:
            continue
        yield _Candidate(
            m.start(),
            m.end(),
            DATE,
            "date (to the month)",
            _month_text(_month_of(m.group(2)), m.group(3), True),
        )
    for m in DAY_ALONE_RE.finditer(v):
        if 1 <= int(m.group(1)) <= 31:
            yield _Candidate(m.start(), m.end(), DATE, "day of the month", "")
    for m in TIME_ALONE_RE.finditer(v):
        yield _Candidate(m.start(), m.end(), TIME, "time of day")


def _secrets(v: str) -> Iterable[_Candidate]:
    for m in SECRET_RE.finditer(v):
        yield _Candidate(m.start(1), m.end(1), SECRET, "passcode or password")


def _addresses(v: str) -> Iterable[_Candidate]:
    for m in ADDRESS_RE.finditer(v):
        yield _Candidate(m.start(), m.end(), ADDRESS, "postal address")
    for m in POSTCODE_RE.finditer(v):
        yield _Candidate(m.start(), m.end(), ADDRESS, "postal code")


def _person(run: str) -> str:
    """A kanji run before an honorific, without the affiliations in front (工学部阿部 →
    阿部, 大学院工学系研究科田中 → 田中); a name ending in one (長谷部, 服部) stays whole."""
    while len(run) > 2:
        cut = AFFILIATION_CHAR.search(run)
        if cut is None or cut.end() >= len(run):
            break
        run = run[cut.end() :]
    return run


def _pattern_names(v: str, found: set[str]) -> Iterable[_Candidate]:
    for m in JA_HONORIFIC_RE.finditer(v):
        first, second, honorific = m.group(1), m.group(2), m.group(3)
        kind = INSTRUCTOR if honorific in HONORIFIC_TEACHER else NAME
        person = _person(first)
        start = m.start(1) + (len(first) - len(person))
        if person in NOT_A_PERSON or (second and second.strip() in NOT_A_PERSON):
            continue
        if not second and person.endswith(("の", "お")):
            continue
        if person.startswith("ご") or person.startswith("お"):
            continue
        end = m.end(2) if second else m.end(1)
        if len(person) >= 2:
            found.add(person)
        if second and len(second.strip()) >= 2:
            found.add(second.strip())
        yield _Candidate(start, end, kind, "name before an honorific")
    for m in EN_TITLE_RE.finditer(v):
        title, who = m.group(1), m.group(2)
        who = re.sub(r"['’]s$", "", who)
        words = [w for w in who.split() if w not in TECH_WORDS]
        if not words:
            continue
        kind = INSTRUCTOR if title.startswith("Prof") or title == "Sensei" else NAME
        end = (
            m.start(2) + len(who)
            if len(words) == len(who.split())
            else m.start(2) + len(who.split()[0])
        )
        found.update(w for w in words if len(w) >= 3)
        yield _Candidate(m.start(2), end, kind, "name after a title")
    for m in EN_SUFFIX_RE.finditer(v):
        if m.group(1) in TECH_WORDS:
            continue
        found.add(m.group(1))
        kind = INSTRUCTOR if m.group(2) == "sensei" else NAME
        yield _Candidate(m.start(1), m.end(1), kind, "name before an honorific")
    for rx, rule in ((EN_DEAR_RE, "name after Dear"), (EN_SELF_RE, "self-introduction")):
        for m in rx.finditer(v):
            words = m.group(1).split()
            if words[0] in TECH_WORDS:
                continue
            keep = []
            for w in words:
                if w in TECH_WORDS:
                    break
                keep.append(w)
            found.update(w for w in keep if len(w) >= 3)
            yield _Candidate(m.start(1), m.start(1) + len(" ".join(keep)), NAME, rule)
    for m in JA_SELF_RE.finditer(v):
        if m.group(3):
            yield _Candidate(m.start(3), m.end(3), NAME, "self-introduction")
            found.add(m.group(3))
            continue
        first = _person(m.group(1))
        start = m.start(1) + len(m.group(1)) - len(first)
        end = m.end(2) if m.group(2) else m.end(1)
        if first in NOT_A_PERSON:
            continue
        found.add(first)
        yield _Candidate(start, end, NAME, "self-introduction")
    for m in LAB_RE.finditer(v):
        person = _person(m.group(1))
        if person in NOT_A_PERSON or len(person) < 2:
            continue
        found.add(person)
        yield _Candidate(
            m.start(1) + len(m.group(1)) - len(person), m.end(1), INSTRUCTOR, "laboratory name"
        )
    for m in DISPLAY_NAME_RE.finditer(v):
        name = m.group(1).strip().strip("\"'")
        if not name or NOT_A_DISPLAY_NAME.match(name) or "@" in name:
            continue
        offset = m.group(1).find(name) if name in m.group(1) else 0
        start = m.start(1) + offset
        # "On Tue, Nov 24, 2026 at 10:00 Taro Yamada <…> wrote:": only the name at the end.
        tail = re.search(
            rf"([A-Z][a-zA-Z'’-]+(?:\s[A-Z][a-zA-Z'’-]+){{0,2}}|[{KANJI}{KATA}]{{1,6}}(?:[ \u3000][{KANJI}{KATA}]{{1,6}})?)$",
            name,
        )
        if tail is None:
            continue
        for w in _SPLIT.split(tail.group(1)):
            if len(w) >= 2 and w not in TECH_WORDS:
                found.add(w)
        yield _Candidate(
            start + tail.start(1), start + len(name), NAME, "display name of a mail address"
        )
    for m in HEADER_LINE_RE.finditer(v):
        value = m.group(2)
        # The value's names (the addresses are found by their own rule).
        for part in re.split(r"[,;、]", value):
            bare = re.sub(r"<[^>]*>|\S+@\S+", "", part).strip().strip("\"'")
            if bare and not NOT_A_DISPLAY_NAME.match(bare) and not re.search(r"\d{2}", bare):
                idx = v.find(bare, m.start(2), m.end(2))
                if idx >= 0:
                    found.update(
                        w for w in _SPLIT.split(bare) if len(w) >= 2 and w not in TECH_WORDS
                    )
                    yield _Candidate(idx, idx + len(bare), NAME, "mail header")
    # A line that is only a name, closing a paragraph: how staff sign a short reply.
    yield from _name_lines(v, found)
    # Signatures: the short lines after a closing phrase or a signature rule.
    for rx in (CLOSING_RE, SIGNATURE_RULE_RE):
        for m in rx.finditer(v):
            pos = m.end()
            for _ in range(3):
                nl = v.find("\n", pos)
                if nl < 0:
                    break
                line_start = nl + 1
                line_end = v.find("\n", line_start)
                if line_end < 0:
                    line_end = len(v)
                line = v[line_start:line_end]
                pos = line_end
                if not line.strip().lstrip(">").strip():
                    continue
                if len(line) > 60:
                    break
                en = EN_NAME_LINE.match(line)
                if en and not any(w in TECH_WORDS for w in en.group(1).split()):
                    found.update(w for w in en.group(1).split() if len(w) >= 3)
                    yield _Candidate(
                        line_start + en.start(1), line_start + en.end(1), NAME, "signature"
                    )
                    break
                ja = JA_NAME_TAIL.search(line)
                if ja and len(line.split()) <= 5:
                    name = ja.group(1)
                    parts = _SPLIT.split(name)
                    if any(p in NOT_A_PERSON for p in parts) or AFFILIATION_END.match(name):
                        continue
                    found.update(p for p in parts if len(p) >= 2)
                    yield _Candidate(
                        line_start + ja.start(1), line_start + ja.end(1), NAME, "signature"
                    )
                    break


JA_NAME_LINE = re.compile(
    rf"^[> ]*([{KANJI}]{{1,4}}[ \u3000][{KANJI}]{{1,4}}|[{KATA}]{{2,8}}[ \u3000][{KATA}]{{2,8}})\s*$"
)
NOT_A_NAME_LINE = {"以上", "敬具", "草々", "不一", "前略"}


def _name_lines(v: str, found: set[str]) -> Iterable[_Candidate]:
    lines = v.split("\n")
    pos = 0
    previous = ""
    for i, line in enumerate(lines):
        start = pos
        pos += len(line) + 1
        bare = line.lstrip("> ").rstrip()
        following = lines[i + 1].lstrip("> ").strip() if i + 1 < len(lines) else ""
        if bare and not following and previous.endswith(tuple(".?!:,。！？：、")):
            m = EN_NAME_LINE.match(line) or JA_NAME_LINE.match(line)
            if m is not None:
                words = _SPLIT.split(m.group(1))
                if not any(
                    w in TECH_WORDS or w in NOT_A_PERSON or w in NOT_A_NAME_LINE for w in words
                ):
                    found.update(w for w in words if len(w) >= 2)
                    yield _Candidate(
                        start + m.start(1), start + m.end(1), NAME, "name on a line of its own"
                    )
        if bare:
            previous = bare


def _classes(v: str, known: Known) -> Iterable[_Candidate]:
    for literal in known.classes:
        literal = unicodedata.normalize("NFKC", literal).strip()
        if len(literal) >= 2:
            for m in re.finditer(re.escape(literal), v):
                yield _Candidate(m.start(), m.end(), CLASS, "class of the inquiry")
    for m in CLASS_QUOTED_RE.finditer(v):
        yield _Candidate(m.start(1), m.end(1), CLASS, "class name in quotes")
    for m in CLASS_SUFFIX_RE.finditer(v):
        if m.group(1) in GENERIC_CLASSES:
            continue
        yield _Candidate(m.start(1), m.end(1), CLASS, "class name")
    for m in CLASS_EN_RE.finditer(v):
        g = 1 if m.group(1) else 2
        yield _Candidate(m.start(g), m.end(g), CLASS, "class name")


def _known_values(v: str, known: Known) -> Iterable[_Candidate]:
    for kind, literal in known.values:
        literal = unicodedata.normalize("NFKC", literal).strip()
        if len(literal) < 4:
            continue
        if kind == ID and literal.isdigit():
            pattern = r"(?<!\d)" + r"[ -]?".join(literal) + r"(?!\d)"
        else:
            pattern = re.escape(literal)
        for m in re.finditer(pattern, v, re.IGNORECASE):
            yield _Candidate(m.start(), m.end(), kind, "known value of the inquiry")


def _names(v: str, rx: re.Pattern[str] | None, kind: str, rule: str) -> Iterable[_Candidate]:
    if rx is None:
        return
    for m in rx.finditer(v):
        if m.end() > m.start():
            yield _Candidate(m.start(), m.end(), kind, rule)
            # Each part on its own as well: where the whole loses to an overlapping mail
            # address ("Yamada taro.yamada@…"), the part outside the address still goes.
            for part in re.finditer(r"[^\s\u3000・･>]{2,}", m.group(0)):
                if part.end() - part.start() < m.end() - m.start():
                    yield _Candidate(m.start() + part.start(), m.start() + part.end(), kind, rule)


# --- proposing and applying ----------------------------------------------------------------


def propose(text: str, known: Known | None = None) -> list[Redaction]:
    """The redactions proposed for ``text``, in text order, none overlapping."""
    known = known or Known()
    view = _View(text)
    v = view.text
    candidates: list[_Candidate] = []
    found: set[str] = set()
    for gen in (
        _urls(v),
        _emails(v),
        _ips(v),
        _phones(v),
        _ids(v),
        _addresses(v),
        _secrets(v),
        _dates(v, view.lines),
        _known_values(v, known),
        _classes(v, known),
        _pattern_names(v, found),
        _names(v, _known_name_regex(known.names), NAME, "known name"),
        _names(v, _known_name_regex(known.instructors), INSTRUCTOR, "instructor of the inquiry"),
    ):
        candidates.extend(gen)
    # Names found by a pattern are names wherever else they appear.
    found -= set(NOT_A_PERSON) | TECH_WORDS
    found = {f for f in found if len(f) >= 2 and not f.isdigit()}
    candidates.extend(
        _names(v, _known_name_regex(sorted(found)), NAME, "name found elsewhere in the text")
    )
    return _resolve(text, view, candidates)


def _resolve(text: str, view: _View, candidates: list[_Candidate]) -> list[Redaction]:
    candidates.sort(key=lambda c: (PRIORITY[c.kind], -(c.end - c.start), c.start))
    occupied = bytearray(len(view.text) + 1)
    taken: list[_Candidate] = []
    for c in candidates:
        if c.end <= c.start or occupied.find(1, c.start, c.end) >= 0:
            continue
        occupied[c.start : c.end] = b"\x01" * (c.end - c.start)
        taken.append(c)
    taken.sort(key=lambda c: c.start)
    out = []
    for c in taken:
        if c.kind == KEEP:
            continue
        start, end = view.span(c.start, c.end)
        if c.replacement is None:
            ja, en = TOKENS[c.kind]
            replacement = en if view.lines.lang(c.start) else ja
        else:
            replacement = c.replacement
        out.append(Redaction(start, end, c.kind, replacement, c.rule, text[start:end]))
    return out


def apply(text: str, redactions: Iterable[Redaction]) -> str:
    """``text`` with the given (non-overlapping) redactions replaced."""
    parts = []
    pos = 0
    for r in sorted(redactions, key=lambda r: r.start):
        if r.start < pos:
            continue
        parts.append(text[pos : r.start])
        parts.append(r.replacement)
        pos = r.end
    parts.append(text[pos:])
    return "".join(parts)


def redact(text: str, known: Known | None = None) -> str:
    """Every proposal applied."""
    return apply(text, propose(text, known))


def certain_findings(text: str, known: Known | None = None) -> list[Redaction]:
    """What a text still holds of the kinds found by shape alone (mail, phone, ID)."""
    return [r for r in propose(text, known) if r.kind in CERTAIN_KINDS]
