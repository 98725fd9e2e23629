"""The Japanese catalog follows one written style (JTF日本語標準スタイルガイドの選択):
full-width punctuation in Japanese text, no space between Japanese and half-width letters
or digits, the long-vowel mark on loan words, one spelling per word. Checked on the
compiled catalog, which is what users read."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import madoguchi

MO = Path(madoguchi.__file__).parent / "locale" / "ja" / "LC_MESSAGES" / "django.mo"

JA = r"[\u3041-\u30ff\u3400-\u9fff\uff01-\uff5e、。「」『』（）・ー]"
# Placeholders and markup are not text: %(name)s, %d, {name}, <tag attr="...">, URLs.
NOT_TEXT = re.compile(
    r"%\(\w+\)[sdif]|%[sdif]|\{[\w.]+\}|<[^>]*>|https?://\S+|/[\w/.?=-]*|\$\w+"
    r"|`[^`]*`|\]\([^)]*\)|(?m:^(?:- |\d+\. ))"  # Markdown: code, link targets, list markers
)

RULES = [
    ("half-width punctuation next to Japanese", re.compile(rf"{JA}\s*[?!:;,.()]|[()]\s*{JA}")),
    (
        "space between Japanese and half-width letters or digits",
        re.compile(rf"{JA} +[A-Za-z0-9]|[A-Za-z0-9] +{JA}"),
    ),
    (
        "a space next to full-width punctuation",
        re.compile(r" [、。！？：（）「」]|[、。！？：（「] "),
    ),
    (
        "loan word without its long-vowel mark",
        re.compile(
            r"(オペレータ|ユーザ|サーバ|ブラウザ|フォルダ|コンピュータ|パラメータ|メンバ|フィルタ|ヘッダ)(?!ー)"
        ),
    ),
    (
        "another spelling of 問い合わせ/申し込み/取り消し",
        re.compile(r"問合せ|問合わせ|申込み|申し込|取消し(?!済)"),
    ),
]


def _catalog() -> dict[str, str]:
    with MO.open("rb") as fp:
        translations = gettext.GNUTranslations(fp)
    out = {}
    for key, value in translations._catalog.items():  # type: ignore[attr-defined]
        if not key or not isinstance(value, str):
            continue
        msgid = key if isinstance(key, str) else key[0]
        out[msgid.split("\x04")[-1]] = value
    return out


def violations(text: str) -> list[str]:
    plain = NOT_TEXT.sub("\ue000", text)
    return [name for name, rule in RULES if rule.search(plain)]


def test_the_rules_catch_what_they_name():
    assert violations("1 週間以内") and violations("送信しますか?") and violations("オペレータに")
    assert (
        violations("%(n)d件のお問い合わせ") == [] and violations("オペレーターに接続します。") == []
    )
    assert violations('<a href="/faq/">FAQ</a>をご覧ください') == []


def test_compiled_japanese_catalog_follows_the_style():
    bad = {}
    for msgid, msgstr in _catalog().items():
        if msgstr and (found := violations(msgstr)):
            bad[msgid] = (msgstr, found)
    assert not bad, (
        "\n".join(f"{k!r} -> {v[0]!r}: {', '.join(v[1])}" for k, v in list(bad.items())[:40])
        + f"\n({len(bad)} entries)"
    )


def _other_japanese_texts() -> dict[str, str]:
    """Japanese text shipped outside the catalog: mail texts, the bot's topic rules, the
    demo knowledge base and demo desk data."""
    from madoguchi import demo
    from madoguchi.bot.rules import default_rules
    from madoguchi.kb.demo import demo_article_values
    from madoguchi.mail import texts

    out = {"signature": texts.SIGNATURE["ja"], "desk name": texts.DESK_NAME["ja"]}
    for key, by_lang in texts.DEFAULTS.items():
        subject, body = by_lang["ja"]
        out[f"mail {key} subject"], out[f"mail {key} body"] = subject, body
    out["expectation"] = texts.EXPECTATION["ja"]
    out["expectation by"] = texts.EXPECTATION_BY["ja"]
    for rule in default_rules():
        out[f"rule {rule['name']}"] = rule["message_ja"]
    for article in demo_article_values():
        if article["lang"] == "ja":
            out[f"article {article['topic']} question"] = article["question"]
            out[f"article {article['topic']} answer"] = article["answer"]
    for slug, name_ja, _en, _extra, _form_only, description_ja, _d_en in demo.CATEGORIES:
        out[f"category {slug}"] = name_ja + "\n" + description_ja
    from madoguchi.calls.terms import TERMS_JA

    out["call terms"] = TERMS_JA
    return out


def test_japanese_outside_the_catalog_follows_the_style():
    bad = {k: (v, found) for k, v in _other_japanese_texts().items() if (found := violations(v))}
    assert not bad, "\n".join(f"{k}: {v[0][:80]!r}: {', '.join(v[1])}" for k, v in bad.items())


PO = MO.with_suffix(".po")


def test_every_catalog_entry_is_translated_and_compiled():
    """No entry is left empty or fuzzy (a fuzzy one is a guess from a similar text, and
    gettext does not use it), and the committed .mo says what the .po says."""
    text = PO.read_text(encoding="utf-8")
    problems = []
    compiled = _catalog()
    for block in text.split("\n\n")[1:]:
        if block.startswith("#~") or "msgid " not in block:
            continue
        ids = re.findall(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgid = "".join(re.findall(r'"(.*)"', ids[0])) if ids else ""
        if not msgid:
            continue
        if "#, fuzzy" in block or re.search(r", fuzzy", block):
            problems.append(f"fuzzy: {msgid[:70]}")
        elif re.search(r'^msgstr(?:\[0\])? ""\n(?!")', block + "\n", re.M):
            problems.append(f"untranslated: {msgid[:70]}")
        elif "msgid_plural" not in block:
            key = bytes(msgid, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
            if key not in compiled:
                problems.append(f"not compiled (run scripts/i18n): {msgid[:70]}")
    assert not problems, "\n".join(problems[:30])
