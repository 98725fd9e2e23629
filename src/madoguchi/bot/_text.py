"""Text normalisation and tokenisation for the bot (no dictionary needed).

Japanese is indexed as character bigrams over normalised kana/kanji runs: this needs no
dictionary, survives the spelling variation of chat messages (ずーむ / ズーム, できなぃ)
and gives partial credit to typos. Latin-script text is indexed as lightly stemmed words
plus character trigrams of each word (for typos such as "pasword"). Terms are prefixed by
their kind (``j:`` bigram, ``w:`` word, ``t:`` trigram, ``c:`` glossary concept) so the
kinds never collide and can be weighted separately.
"""

from __future__ import annotations

import re
import unicodedata

_KATA_START = 0x30A1
_KATA_END = 0x30F6
_SMALL_KANA = str.maketrans("ぁぃぅぇぉゃゅょゎゕゖ", "あいうえおやゆよわかけ")
_SMALL_KATA = str.maketrans("ァィゥェォャュョヮヵヶ", "アイウエオヤユヨワカケ")
# Chat messages use many spellings of the same thing; fold what carries no meaning.
_DROP = str.maketrans("", "", "ー〜~・‐－゛゜")

_LATIN_RE = re.compile(r"[a-z0-9][a-z0-9@._\-+]*[a-z0-9]|[a-z0-9]")
_CJK_RE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆]+")

EN_STOP = frozenset(
    """a about after again all am an and any are as at be been before being but by can
    cant could did do does doing don dont for from get getting got had has have having he
    her here hi hello how i if in into is it its just let like me more most my no not now
    of on once only or other our out over please should so some still such than thank
    thanks that the their them then there these they this those to too under until up
    very was we were what whats when where which while who why will with would you your
    yours im ive id pls plz hey also any anyone one even though much many really""".split()
)

# Hiragana bigrams that are pure grammar (particles, auxiliaries, chat fillers).
JA_STOP = frozenset(
    """です ます した して たい ない んだ んで けど って った ても でも から まで ので
    のに には では とは ため こと もの よう さい くだ だけ しか など なる なっ ある いる
    おり れる られ せる させ する すれ しま まし ませ ました いい よい ください どう
    どこ なに なん いつ です すか か。 ろう だろ でし ょう につ つい いて""".split()
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
    """A deliberately tiny English stemmer: plural and common verb endings."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (
        ("ies", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: len(word) - len(suffix)] + repl
            break
    return word


def latin_words(norm: str) -> list[str]:
    return _LATIN_RE.findall(norm)


def tokens(text: str) -> list[str]:
    """Terms of a text normalised with ``normalise_keep_kana`` (kinds: module docstring).

    Japanese bigrams that contain a kanji or katakana (content) are marked ``k:``; those
    made of hiragana only (mostly grammar) ``j:``. Both match alike; only ``k:`` terms
    count when measuring how much of a question an article explains.
    """
    terms: list[str] = []
    for word in latin_words(text):
        if word in EN_STOP:
            continue
        terms.append("w:" + stem(word))
        if len(word) >= 4 and word.isalpha():
            padded = f"^{word}$"
            terms.extend("t:" + padded[i : i + 3] for i in range(len(padded) - 2))
    for run in _CJK_RE.findall(text):
        folded = fold_kana(run)
        if len(run) == 1:
            if not _is_kana(folded):
                terms.append("k:" + folded)
            continue
        for i in range(len(run) - 1):
            gram = folded[i : i + 2]
            if gram in JA_STOP or (_is_kana(gram) and _is_stop_kana(gram)):
                continue
            content = not _is_kana(run[i : i + 2])
            terms.append(("k:" if content else "j:") + gram)
    return terms


def _is_kana(s: str) -> bool:
    return all("\u3041" <= ch <= "\u3096" for ch in s)


def _is_stop_kana(gram: str) -> bool:
    # Bigrams made only of particles and auxiliary kana carry no topic.
    return all(ch in "のにはをがでとてたしもかなやよねだすまれるらいうえおっん" for ch in gram)


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
