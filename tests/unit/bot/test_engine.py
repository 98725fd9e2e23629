"""Behaviour of the bot engine on small articles written for these tests."""

from __future__ import annotations

import pytest

from madoguchi.bot import Article, Engine, default_rules
from madoguchi.bot._text import detect_lang, normalise

ARTICLES = [
    Article(
        id="ja-vpn",
        lang="ja",
        topic="vpn",
        section="ネットワーク",
        question="VPNに接続できない",
        answer="VPNクライアントを最新版に更新し、UTokyo Accountでサインインしてください。",
    ),
    Article(
        id="en-vpn",
        lang="en",
        topic="vpn",
        section="Network",
        question="I cannot connect to the VPN",
        answer="Update the VPN client and sign in with your UTokyo Account.",
    ),
    Article(
        id="ja-zoom-signin",
        lang="ja",
        topic="zoom-signin",
        section="Zoom",
        question="Zoomにサインインできない",
        answer="Zoomアプリで「SSO」を選び、会社のドメインに u-tokyo-ac-jp と入力してください。",
    ),
    Article(
        id="ja-printer",
        lang="ja",
        topic="printer",
        section="端末",
        question="演習室のプリンタで印刷したい",
        answer="印刷にはプリンタ用のポイントが必要です。",
    ),
    Article(
        id="en-printer",
        lang="en",
        topic="printer",
        section="Terminals",
        question="How do I print in the computer room?",
        answer="Printing needs print points.",
    ),
    Article(
        id="ja-storage",
        lang="ja",
        topic="storage",
        section="Google",
        question="Googleドライブの容量制限について",
        answer="ストレージの制限値は学生も教職員も共通です。容量を超えると新しいファイルを保存できません。",
    ),
    Article(
        id="ja-internal-reset",
        lang="ja",
        topic="internal-reset",
        section="内部",
        question="パスワードを代理でリセットする手順（職員向け）",
        answer="管理画面から対象者を検索し、パスワードをリセットする。",
        public=False,
    ),
    Article(
        id="ja-password",
        lang="ja",
        topic="password",
        section="アカウント",
        question="パスワードを忘れた",
        answer="パスワード再設定ページから再設定してください。",
    ),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.build(ARTICLES, rules=default_rules())


def top(decision) -> str | None:
    return decision.results[0][0] if decision.results else None


class TestRetrieval:
    def test_answers_a_plain_question(self, engine):
        d = engine.ask("VPNにつながらないです")
        assert d.decision == "answer"
        assert top(d) == "ja-vpn"
        assert d.articles[0].id == "ja-vpn"
        assert d.lang == "ja"

    def test_answer_in_the_questions_language(self, engine):
        d = engine.ask("vpn connection does not work")
        assert d.lang == "en"
        assert top(d) == "en-vpn"

    def test_translations_rank_as_one_topic(self, engine):
        d = engine.ask("VPNに接続できない")
        ids = [i for i, _ in d.results]
        assert "en-vpn" not in ids

    def test_english_question_finds_japanese_only_article(self, engine):
        d = engine.ask("What is the company domain for Zoom SSO sign in?")
        assert top(d) == "ja-zoom-signin"
        d = engine.ask("google drive storage limit")
        assert top(d) == "ja-storage"

    def test_results_are_ordered_and_at_most_five(self, engine):
        d = engine.ask("パスワード サインイン Zoom VPN プリンタ 容量")
        scores = [s for _, s in d.results]
        assert len(d.results) <= 5
        assert scores == sorted(scores, reverse=True)

    def test_internal_articles_hidden_from_requesters(self, engine):
        q = "パスワードを代理でリセットする手順"
        for d in (engine.ask(q), engine.ask(q, audience="requester")):
            assert "ja-internal-reset" not in [i for i, _ in d.results]
            assert all(a.public for a in d.articles)
        assert top(engine.ask(q, audience="staff")) == "ja-internal-reset"

    def test_unknown_audience_is_refused(self, engine):
        with pytest.raises(ValueError):
            engine.ask("VPN", audience="everyone")


class TestNormalisation:
    def test_full_width_and_case(self, engine):
        assert top(engine.ask("ＶＰＮに接続できない")) == "ja-vpn"
        assert top(engine.ask("ｚｏｏｍにサインインできない")) == "ja-zoom-signin"

    def test_hiragana_spelling_and_small_kana_typo(self, engine):
        assert top(engine.ask("ずーむにさいんいんできなぃ")) == "ja-zoom-signin"

    def test_english_typo(self, engine):
        assert top(engine.ask("forgot my pasword")) == "ja-password"

    def test_normalise(self):
        assert normalise("ＺＯＯＭ　ミーティング") == normalise("zoom みてぃんぐ")

    def test_detect_lang_ignores_quoted_japanese(self):
        assert detect_lang("Zoomに入れない") == "ja"
        assert detect_lang("it says 「利用できません」 when I sign in") == "en"
        assert detect_lang("how do I sign in") == "en"


class TestHandover:
    @pytest.mark.parametrize(
        "q",
        [
            "asdfghjkl qwerty",
            "明日の天気は？",
            "学食のメニューを教えて",
            "where can I park my bicycle on campus",
            "研究室の共用サーバにsshできない",
        ],
    )
    def test_out_of_scope_hands_over(self, engine, q):
        d = engine.ask(q)
        assert d.decision == "handover"
        assert d.articles == ()
        assert d.message

    def test_empty_question_hands_over(self, engine):
        d = engine.ask("   ")
        assert d.decision == "handover"
        assert d.results == ()

    def test_handover_message_in_both_languages(self, engine):
        assert "担当者" in engine.ask("明日の天気は？").message
        assert "staff" in engine.ask("what is the weather tomorrow").message


class TestBuild:
    def test_duplicate_ids_are_refused(self):
        with pytest.raises(ValueError, match="duplicate"):
            Engine.build([ARTICLES[0], ARTICLES[0]])

    def test_empty_knowledge_base_hands_over(self):
        d = Engine.build([]).ask("VPNに接続できない")
        assert d.decision == "handover"
        assert d.results == ()
