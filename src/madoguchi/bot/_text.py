"""Text normalisation and tokenisation for the bot (no dictionary needed).

Japanese is indexed as character bigrams inside runs of one script (kanji, katakana,
hiragana): this needs no dictionary, survives the spelling variation of chat messages
(ずーむ / ズーム, できなぃ) and gives partial credit to typos. Latin-script text is indexed
as lightly stemmed words (plus the parts of compounds such as itc-lms) and character
trigrams of each word (for typos such as "pasword"; ``Speller`` corrects most of them in
questions first). Terms are prefixed by their kind (``j:`` bigram, ``w:`` word, ``t:``
trigram, ``c:`` glossary concept) so the kinds never collide and can be weighted
separately.

For the hand-over decision the module also knows which words are everyday words that say
little about a question's topic (``EN_LIGHT``, ``JA_LIGHT``, ``is_light``) and which Latin
words of a message look like names of things (``names_in``). These lists are general
language, not the support domain (that is ``glossary``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_KATA_START = 0x30A1
_KATA_END = 0x30F6
_SMALL_KANA = str.maketrans("ぁぃぅぇぉゃゅょゎゕゖ", "あいうえおやゆよわかけ")
_SMALL_KATA = str.maketrans("ァィゥェォャュョヮヵヶ", "アイウエオヤユヨワカケ")
# Chat messages use many spellings of the same thing; fold what carries no meaning.
_DROP = str.maketrans("", "", "ー〜~・‐－゛゜")

_LATIN_RE = re.compile(r"[a-z0-9][a-z0-9@._\-+]*[a-z0-9]|[a-z0-9]")
_PARTS = re.compile(r"[@._\-+]+")
LATIN_WORD = re.compile(r"(?<![a-z0-9])[a-z]+(?![a-z0-9])")
# What forms a unit of meaning in a question (see Engine._question).
UNIT_RE = re.compile(
    r"[a-z0-9][a-z0-9@._\-+]*[a-z0-9]|[a-z0-9]|[\u30a1-\u30fa]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆]+"
)
_CJK_RE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆]+")

EN_STOP = frozenset(
    """a about after again all am an and any are as at be been before being but by can
    cant could did do does doing don dont for from get getting got had has have having he
    her here hi hello how i if in into is it its just let like me more most my no not now
    of on once only or other our out over please should so some still such than thank
    thanks that the their them then there these they this those to too under until up
    very was we were what whats when where which while who why will with would you your
    yours im ive id pls plz hey also any anyone one even though much many really
    m s t re ve ll d isn aren wasn weren won didn doesn haven hasn couldn wouldn shouldn
    ok okay us""".split()
)

# Everyday words that seldom name what a question is about (verbs of saying and trying,
# time words, intensifiers, numerals). They still match; they only weigh less as units
# of meaning when the engine asks how much of a question an article explains.
EN_LIGHT = frozenset(
    """say said tell told ask asked keep kept give gave given take took taken make made
    need want try tried find found show shown look see saw seen work run ran use come
    came go went gone put seem happen happened know knew think thought mean hear heard
    feel wonder wondering help fix solve able accept fail stop stay become add done
    doing click tap press type enter close reply answer check checked wait waited
    thing stuff way lot bit problem issue trouble question idea day today tomorrow
    yesterday morning afternoon evening night week month year minute min mins hour
    second moment someone something anything everything nothing real actually
    already yet ever never always forever again instead maybe probably soon ago later
    right sure fine good bad great weird strange possible another extra same own whole
    properly correctly suddenly totally completely quick quickly urgent asap anyway
    anymore between without within via per since during across around through two
    three four five first last next previous uni univ university school college guy
    people person anybody somebody everyone friend classmate mine sorry hello thx web
    os page website site screen""".split()
)
# Kanji words of the same kind in Japanese chat. A lone kanji (the stem of a verb or
# adjective before its okurigana: 聞かれた, 見れる) is light as well.
JA_LIGHT = frozenset(
    """大丈夫 普通 通常 全然 問題 方法 仕方 確認 直接 大学 自分 今 今日 明日 昨日 今朝
    最近 先週 一応 本当 結構 結局 場合 必要 不要 可能 不可 状態 状況 症状 現象 原因
    感じ 手順 説明 質問 対応 解決 利用 使用 操作 選択 表示 画面 以上 以下 全部 一部
    全く 一度 何度 何回 毎回 急 急ぎ 至急 緊急 突然 最初 最後 初 同 何 誰 時 事 中 前
    後 上 下 他 別 何か 色々 様々 普段 前回 今回 以前 現在 途中 大学生 方 件 点 際
    今度 一回 一番 相手 通り 友達 友人 先輩 後輩 家 自宅 具体的 詳細 簡単 大変
    申し訳 失礼 恐縮 返信 回答 案内 情報 内容 場所 時期 日 週 月 年
    クリック タップ ページ サイト ネット ネットワーク インターネット ユーザー ユーザ ミス
    コピペ コピー ペースト スクショ スクリーンショット キャンセル オン オフ ホーム メニュー
    タブ ウィンドウ システム サービス ソフト ツール テキスト メモ アイコン マーク
    ポップアップ チェック ステータス トラブル ヘルプ モード タイプ""".split()
)

# Hiragana bigrams that are pure grammar (particles, auxiliaries, chat fillers).
JA_STOP = frozenset(
    """です ます した して たい ない んだ んで けど って った ても でも から まで ので
    のに には では とは ため こと もの よう さい くだ だけ しか など なる なっ ある いる
    おり れる られ せる させ する すれ しま まし ませ ました いい よい ください どう
    どこ なに なん いつ です すか か。 ろう だろ でし ょう につ つい いて やり わか
    かり かる""".split()
)


def normalise(text: str) -> str:
    """NFKC, lower case, katakana folded to hiragana, small kana and long marks dropped."""
    return fold_kana(normalise_keep_kana(text))


def normalise_keep_kana(text: str) -> str:
    """Like ``normalise`` but katakana stays katakana (it marks content words)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.translate(_SMALL_KANA).translate(_SMALL_KATA).translate(_DROP)


def fold_kana(text: str) -> str:
    return "".join(
        chr(ord(ch) - 0x60) if _KATA_START <= ord(ch) <= _KATA_END else ch for ch in text
    )


def stem(word: str) -> str:
    """A deliberately small English stemmer: plural, -ed/-ing (with the doubled consonant
    of resetting/logged undone) and a final -e, so use/used/using, give/gives and
    reset/resetting meet. Only the two sides matching matters, not real stems."""
    if len(word) <= 2 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word in ("using", "used"):
        return "us"  # as use (-e dropped below): a two-letter stem is allowed for no other
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) >= 3 and word[-1] == word[-2] and word[-1] not in "aeioulsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) >= 3 and not word.endswith("ee"):
        word = word[:-1]
    return word


_EN_LIGHT_STEMS = frozenset(stem(w) for w in EN_LIGHT)
_JA_LIGHT = frozenset(normalise_keep_kana(w) for w in JA_LIGHT)


def is_particular(unit_text: str) -> bool:
    """A number, a phone number, an e-mail address: details of the writer's case (often
    personal) that no answer explains; they form no unit of meaning."""
    return "@" in unit_text or not any(c.isalpha() for c in unit_text)


def is_light(unit_text: str) -> bool:
    """Whether a unit of a question (an English word, or a run of kanji or katakana) is an
    everyday word that says little about the topic (``EN_LIGHT``, ``JA_LIGHT``, a lone
    kanji, a domain)."""
    if "." in unit_text:
        return True  # a domain or file name: particulars, not the topic
    if unit_text.isascii():
        return unit_text in EN_LIGHT or stem(unit_text) in _EN_LIGHT_STEMS
    if "\u30a1" <= unit_text[0] <= "\u30fa":
        return unit_text in _JA_LIGHT
    # a lone kanji, a light word, or a light word glued to the stem of the verb after it
    # (全然変わらない gives the run 全然変)
    return len(unit_text) == 1 or unit_text in _JA_LIGHT or unit_text[:-1] in _JA_LIGHT


# Three or more Latin words in a row: English pasted into a Japanese message (an error
# message); its words are read as English, not as names.
_EN_PHRASE = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*(?:[ ,]+[A-Za-z][A-Za-z0-9'\-]*){2,}")
_RAW_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._\-+]*[A-Za-z0-9]|[A-Za-z]")
# Words English capitalises that are not names of things.
_ALWAYS_CAPS = frozenset(
    """japanese english chinese korean japan tokyo monday tuesday wednesday thursday
    friday saturday sunday january february march april may june july august september
    october november december""".split()
)
_SENTENCE_END = re.compile(r"(?:^|[.!?。！？:：「」『』\"“”'‘’(（])\s*$")


def names_in(text: str) -> set[str]:
    """Latin words of a raw message that look like names of things (lower-cased): in an
    English message words written with capitals other than at the start of a sentence
    (Slack, MATLAB, iMac, OneDrive), in a Japanese message every Latin word outside a
    pasted English phrase."""
    text = unicodedata.normalize("NFKC", text)
    ja = detect_lang(text) == "ja"
    phrases = [m.span() for m in _EN_PHRASE.finditer(text)] if ja else []
    out = set()
    for m in _RAW_WORD.finditer(text):
        w = m.group()
        if w == "I" or w.lower() in _ALWAYS_CAPS or not w[0].isalpha() or "@" in w or "." in w:
            continue
        in_phrase = any(a <= m.start() < b for a, b in phrases)
        inner_caps = any(c.isupper() for c in w[1:])
        capital = w[0].isupper() and not _SENTENCE_END.search(text[: m.start()])
        if (ja and not in_phrase) or inner_caps or capital:
            out.add(w.lower())
    return out


def latin_words(norm: str) -> list[str]:
    return _LATIN_RE.findall(norm)


def tokens(text: str, known: Callable[[str], bool] | None = None) -> list[str]:
    """Terms of a text normalised with ``normalise_keep_kana`` (kinds: module docstring).

    With ``known`` (used for questions), an English word's trigrams are left out when
    its ``w:`` term is known: trigrams are there to catch misspellings, and a known word
    would otherwise count five times over (once per trigram).

    Japanese is cut into runs of one script (kanji, katakana, hiragana) and indexed as
    bigrams inside each run; a kanji run also yields its last kanji with the hiragana
    that follows it (the okurigana of 忘れ, 届か) unless that is a particle. Bigrams across
    other boundaries (で課 in 「UTOLで課題」, にド in 「のにドライブ」) are particles glued to
    a word: noise. A lone
    kanji or katakana character is a term of its own. Bigrams that contain a kanji or
    katakana (content) are marked ``k:``; hiragana-only ones (mostly grammar) ``j:``.
    Both match alike; only ``k:`` terms count when measuring how much of a question an
    article explains.
    """
    terms: list[str] = []
    for word in latin_words(text):
        if word in EN_STOP:
            continue
        stemmed = stem(word)
        if stemmed in EN_STOP:
            continue
        terms.append("w:" + stemmed)
        if not word.isalnum():  # itc-lms, co-host, 1234567890@utac.u-tokyo.ac.jp: parts too
            terms.extend(
                "w:" + stem(part)
                for part in _PARTS.split(word)
                if len(part) >= 2 and part not in EN_STOP
            )
        if len(word) >= 4 and word.isalpha() and not (known and known("w:" + stemmed)):
            padded = f"^{word}$"
            terms.extend("t:" + padded[i : i + 3] for i in range(len(padded) - 2))
    for run in _CJK_RE.findall(text):
        for seg, script, nxt in _script_runs(run):
            folded = fold_kana(seg)
            if script == "h":
                for i in range(len(seg) - 1):
                    gram = seg[i : i + 2]
                    if gram in JA_STOP or _is_stop_kana(gram):
                        continue
                    terms.append("j:" + gram)
                continue
            if len(seg) == 1:
                terms.append("k:" + folded)
            else:
                terms.extend("k:" + folded[i : i + 2] for i in range(len(seg) - 1))
            if script == "c" and nxt and nxt not in _PARTICLES:
                terms.append("k:" + seg[-1] + nxt)
    return terms


_PARTICLES = frozenset("のをがはにでともへや")


def _script(ch: str) -> str:
    if "\u3041" <= ch <= "\u3096":
        return "h"
    if "\u30a1" <= ch <= "\u30fa":
        return "k"
    return "c"  # kanji (and 々〆)


def _script_runs(run: str) -> list[tuple[str, str, str]]:
    """(segment, script, first hiragana after it or "") for each one-script segment."""
    out: list[tuple[str, str, str]] = []
    start = 0
    for i in range(1, len(run) + 1):
        if i == len(run) or _script(run[i]) != _script(run[start]):
            seg = run[start:i]
            nxt = run[i] if i < len(run) and _script(run[i]) == "h" else ""
            out.append((seg, _script(seg[0]), nxt))
            start = i
    return out


def _is_kana(s: str) -> bool:
    return all("\u3041" <= ch <= "\u3096" for ch in s)


def _is_stop_kana(gram: str) -> bool:
    # Bigrams made only of particles and auxiliary kana carry no topic.
    return all(ch in "のにはをがでとてたしもかなやよねわだすまれるらいうえおっん" for ch in gram)


_QUOTED = re.compile(r"「[^」]*」|『[^』]*』|\"[^\"]*\"|“[^”]*”|'[^']*'")
_JA_CHAR = re.compile(r"[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def detect_lang(text: str) -> str:
    """'ja' or 'en'. Quoted text is ignored first: an English message often quotes a
    Japanese error message, and the reply should follow the writer's language."""
    text = unicodedata.normalize("NFKC", text)
    outside = _QUOTED.sub(" ", text)
    if _JA_CHAR.search(outside):
        return "ja"
    if re.search(r"[A-Za-z]", outside):
        return "en"
    return "ja" if _JA_CHAR.search(text) else "en"


class Speller:
    """Corrects one-edit typos of English words (pasword, acess, lockd) to words of the
    knowledge base. Only words the knowledge base does not contain are touched, only
    alphabetic words of 4+ letters, and only when the correction is unambiguous enough:
    the most frequent candidate at one edit (insertion, deletion, substitution or swap of
    neighbours; substitutions and swaps need 5+ letters)."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self._deletes: dict[str, list[str]] = {}
        for word in counts:
            if len(word) < 3 or not word.isalpha():
                continue
            for variant in {word, *_deletions(word)}:
                self._deletes.setdefault(variant, []).append(word)

    def correct(self, word: str) -> str:
        if len(word) < 4 or not word.isalpha() or word in self.counts or word in EN_STOP:
            return word
        cands: set[str] = set(self._deletes.get(word, ()))  # the writer dropped a letter
        cands.update(v for v in _deletions(word) if v in self.counts)  # added a letter
        if len(word) >= 5:
            for v in _deletions(word):
                cands.update(w for w in self._deletes.get(v, ()) if len(w) == len(word))
        cands = {c for c in cands if _osa1(word, c)}
        if not cands:
            return word
        return max(sorted(cands), key=lambda c: self.counts[c])


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _osa1(a: str, b: str) -> bool:
    """True when a and b are one edit apart (optimal string alignment distance 1)."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]
