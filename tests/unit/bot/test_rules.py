"""Topic rules: fire on their topics, stay quiet on look-alikes, are editable data."""

from __future__ import annotations

import pytest

from madoguchi.bot import Article, Engine, RuleSet, default_rules

ARTICLES = [
    Article(
        id="ja-zoom-test",
        lang="ja",
        topic="zoom-test",
        section="Zoom",
        question="Zoomのテストミーティングに参加したい",
        answer="zoom.us/test からテスト用のミーティングに参加できます。",
    ),
    Article(
        id="en-zoom-test",
        lang="en",
        topic="zoom-test",
        section="Zoom",
        question="How do I join a Zoom test meeting?",
        answer="Open zoom.us/test to join a test meeting.",
    ),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.build(ARTICLES, rules=default_rules())


@pytest.mark.parametrize(
    "q, rule",
    [
        ("期末試験の日程を教えて", "exam"),
        ("中間テストの範囲はどこまで？", "exam"),
        ("追試を受けたいです", "exam"),
        ("小テストがUTOLで受けられない", "exam"),
        ("When is the midterm exam?", "exam"),
        ("I missed my final exam", "exam"),
        ("can I retake the quiz", "exam"),
        ("成績を確認したい", "sensitive"),
        ("GPAが反映されていない", "sensitive"),
        ("What is my grade in Physics?", "sensitive"),
        ("my GPA is wrong", "sensitive"),
        ("人と話したい", "human"),
        ("オペレーターにつないでください", "human"),
        ("担当者と話せますか", "human"),
        ("オペレータ", "human"),
        ("I want to talk to a person", "human"),
        ("can I speak with a real human please", "human"),
        ("agent", "human"),
    ],
)
def test_rules_fire(engine, q, rule):
    d = engine.ask(q)
    assert d.decision == "rule"
    assert d.rule == rule
    assert d.message


@pytest.mark.parametrize(
    "q",
    [
        "テスト用のZoomミーティングに入りたい",
        "Zoomのテストミーティングで音声を確認したい",
        "マイクのテストをしたい",
        "how do I join a zoom test meeting",
        "audio test before class",
        "upgrade my zoom license",
        "有人チャットって何時までやってますか",
        "オペレータの対応時間は？",
        "パスワードを忘れた",
    ],
)
def test_rules_do_not_fire_on_lookalikes(engine, q):
    assert engine.ask(q).rule is None


def test_rule_message_and_link_in_the_question_language(engine):
    ja = engine.ask("期末試験について質問があります")
    en = engine.ask("question about my exam")
    assert "メールフォーム" in ja.message
    assert "email form" in en.message
    assert ja.link == en.link != ""


def test_sensitive_wins_over_exam(engine):
    assert engine.ask("期末試験の成績に納得できない").rule == "sensitive"


def test_rule_results_still_list_candidates(engine):
    d = engine.ask("テストの成績")
    assert d.decision == "rule"
    assert isinstance(d.results, tuple)


def test_rules_are_editable_data():
    rules = default_rules()
    rules.append(
        {
            "name": "housing",
            "patterns": {"ja": ["学生寮", "寮費"], "en": [r"\bdorm(?:itory)?s?\b"]},
            "message_ja": "学生寮については学生支援課へ。",
            "message_en": "Ask Student Support about dorms.",
            "link": "https://example.org/housing",
        }
    )
    engine = Engine.build(ARTICLES, rules=rules)
    assert engine.ask("学生寮の申し込み").rule == "housing"
    assert engine.ask("dorm application").rule == "housing"
    assert default_rules()[-1]["name"] != "housing"  # a fresh copy each call
    assert Engine.build(ARTICLES, rules=[]).ask("期末試験").rule is None


def test_invalid_rule_is_refused():
    with pytest.raises(ValueError):
        RuleSet([{"name": "bad", "patterns": {"ja": ["("]}, "message_ja": "", "message_en": ""}])
    with pytest.raises(ValueError):
        RuleSet([{"name": "no messages", "patterns": {"ja": ["x"]}}])
