"""The knowledge base: import/export in the utelecon JSONL format, Markdown FAQ pages,
versions, and the bot answering from the database."""

from __future__ import annotations

import json

import pytest

from madoguchi.kb import actions
from madoguchi.kb.models import Article
from tests.conftest import SHARED, require_shared

pytestmark = pytest.mark.django_db

CORPUS = SHARED / "data" / "utelecon-faq.jsonl"


def corpus_lines() -> list[str]:
    require_shared(CORPUS)
    return CORPUS.read_text(encoding="utf-8").splitlines()


def test_import_is_idempotent_and_versions_changes(capsys):
    from madoguchi.cli import main

    require_shared(CORPUS)
    assert main(["kb", "import", str(CORPUS)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (
        first["created"] == len([line for line in corpus_lines() if line.strip()])
        and first["errors"] == []
    )
    assert main(["kb", "import", str(CORPUS)]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == first["created"]
    # Translations share a topic.
    ja = Article.objects.get(external_id="ja-faq-zoom-wait-host")
    assert Article.objects.filter(topic=ja.topic, lang="en").exists()

    changed = json.loads(next(line for line in corpus_lines() if '"ja-faq-zoom-wait-host"' in line))
    changed["answer"] += "\n\n追記しました。"
    report = actions.import_jsonl([json.dumps(changed, ensure_ascii=False)])
    assert (report.updated, report.created) == (1, 0)
    ja.refresh_from_db()
    assert ja.version == 2 and ja.versions.count() == 2 and ja.answer.endswith("追記しました。")


def test_bad_lines_are_reported_and_the_rest_imported():
    lines = [
        '{"id": "x-1", "lang": "ja", "kind": "faq", "topic": "x", "section": "s", "question": "Q?", "answer": "A."}',
        "not json",
        '{"id": "x-2", "lang": "fr", "topic": "y", "question": "Q?", "answer": "A."}',
        '{"id": "x-3", "lang": "en", "topic": "x", "question": "", "answer": "A."}',
        "[1, 2]",
    ]
    report = actions.import_jsonl(lines)
    assert report.created == 1 and len(report.errors) == 4
    assert any("lang" in e for e in report.errors) and any("question" in e for e in report.errors)


def test_export_round_trips():
    actions.import_jsonl(corpus_lines()[:10])
    exported = actions.export_jsonl()
    Article.objects.all().delete()
    report = actions.import_jsonl(exported)
    assert report.created == len(exported) and report.errors == []


def test_markdown_faq_pages(tmp_path):
    from madoguchi.kb.markdown_import import read_path

    (tmp_path / "faq.md").write_text(
        "# よくある質問\n\n## Zoom\n\n### Q. 会議に入れません\n\nホストの承認を待ってください。\n\n```\n### not a heading\n```\n"
        "### Q. 音が出ません\n\nスピーカーを確認してください。\n\n## メール\n\n### 普通の見出し\n\n本文\n",
        encoding="utf-8",
    )
    entries = read_path(tmp_path, lang="ja")
    assert [(e["section"], e["question"]) for e in entries] == [
        ("Zoom", "会議に入れません"),
        ("Zoom", "音が出ません"),
    ]
    assert "### not a heading" in entries[0]["answer"]
    report = actions.import_jsonl([json.dumps(e, ensure_ascii=False) for e in entries])
    assert report.created == 2


def test_bot_answers_from_the_database_and_hides_internal_articles():
    from madoguchi.bot import Engine
    from madoguchi.kb.provider import articles_from_database

    actions.import_jsonl(corpus_lines())
    internal = Article.objects.get(external_id="ja-faq-zoom-wait-host")
    actions.do_save_article(
        {
            "external_id": internal.external_id,
            "topic": internal.topic,
            "lang": "ja",
            "kind": "faq",
            "section": internal.section,
            "question": internal.question,
            "answer": internal.answer,
            "alt_questions": [],
            "public": False,
        }
    )
    engine = Engine.build(articles_from_database())
    requester = engine.ask("Zoomの待機室から入れない", audience="requester")
    staff = engine.ask("Zoomの待機室から入れない", audience="staff")
    assert "ja-faq-zoom-wait-host" not in [r[0] for r in requester.results]
    assert "ja-faq-zoom-wait-host" in [r[0] for r in staff.results]


def test_public_faq_browse_search_article_and_feedback(client):
    from madoguchi.kb.models import ArticleDay

    actions.import_jsonl(corpus_lines())
    listing = client.get("/faq/?lang=ja").content.decode()
    assert "Zoom" in listing
    found = client.get(
        "/faq/", {"q": "ホストがミーティングを開始するのを待っていますと表示される", "lang": "ja"}
    )
    assert found.status_code == 200 and "/faq/zoom-wait-host/" in found.content.decode()
    english = client.get("/faq/zoom-wait-host/?lang=en").content.decode()
    assert 'lang="en"' in english
    assert client.post("/faq/zoom-wait-host/feedback/", {"helpful": "yes"}).status_code == 302
    assert client.post("/faq/zoom-wait-host/feedback/", {"helpful": "no"}).status_code == 302
    days = ArticleDay.objects.filter(article__topic="zoom-wait-host")
    assert (
        sum(d.views for d in days) == 1
        and sum(d.helpful for d in days) == 1
        and sum(d.not_helpful for d in days) == 1
    )


def test_internal_articles_are_not_public(client):
    actions.import_jsonl(
        [
            '{"id": "int-1", "lang": "ja", "topic": "internal-one", "question": "内部手順", '
            '"answer": "スタッフ向け", "public": false}'
        ]
    )
    assert client.get("/faq/internal-one/").status_code == 404
    assert "internal-one" not in client.get("/faq/?lang=ja").content.decode()
    assert "internal-one" not in client.get("/faq/", {"q": "内部手順"}).content.decode()


def test_article_markdown_is_rendered_inert():
    from madoguchi.kb.rendering import render

    html = render(
        '[x](javascript:alert(1)) <script>alert(1)</script> **bold** [ok](https://example.ac.jp/a?b=1&c="2")\n\n- one\n- two'
    )
    assert "<script" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "<strong>bold</strong>" in html and "<li>one</li>" in html
    # The quotes stay inside the address: nothing breaks out of the attribute.
    assert 'href="https://example.ac.jp/a?b=1&amp;c=%222%22"' in html


def test_article_markdown_is_commonmark():
    from madoguchi.kb.rendering import render

    html = render(
        "Use `ms-settings:` here.\n\n| OS | step |\n|:--|--:|\n| Win | `a` |\n\n"
        "## Steps\n\n1. open\n   - nested\n2. close\n\n```\n<b>code</b>\n```"
    )
    assert "<code>ms-settings:</code>" in html and "`" not in html
    assert (
        '<th class="align-left">OS</th>' in html
        and '<td class="align-right"><code>a</code>' in html
    )
    assert "<h3>Steps</h3>" in html and "style=" not in html
    assert "<li>open\n<ul>\n<li>nested</li>" in html
    assert "<pre><code>&lt;b&gt;code&lt;/b&gt;\n</code></pre>" in html


def test_suggestions_while_typing_the_subject(client):
    from madoguchi.kb.models import ArticleDay

    actions.import_jsonl(corpus_lines())
    response = client.get("/faq/suggest/", {"q": "Zoomにサインインできない", "lang": "ja"})
    assert response.status_code == 200 and "/faq/" in response.content.decode()
    assert ArticleDay.objects.filter(suggested__gt=0).exists()
    assert client.get("/faq/suggest/", {"q": "a"}).content.decode().strip() == ""


def test_faq_search_lists_only_what_matches_and_says_when_nothing_does(client):
    actions.import_jsonl(corpus_lines())
    page = client.get(
        "/faq/", {"q": "ケーキの焼き方を教えてください", "lang": "ja"}
    ).content.decode()
    assert 'class="faq-list"' not in page and "/form/" in page

    page = client.get("/faq/", {"q": "How do I change my ECCS password", "lang": "en"})
    listed = page.content.decode().split('class="faq-list"')[1].split("</ol>")[0]
    assert "/faq/eccs-password/" in listed
    assert listed.count("<li>") < 5  # not padded with unrelated articles
