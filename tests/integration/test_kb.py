"""The knowledge base: import/export in the utelecon JSONL format, Markdown FAQ pages,
versions, and the bot answering from the database."""

from __future__ import annotations

import json

import pytest

from madoguchi.kb import actions
from madoguchi.kb.models import Article
from tests.conftest import SHARED

pytestmark = pytest.mark.django_db

CORPUS = SHARED / "data" / "utelecon-faq.jsonl"


def corpus_lines() -> list[str]:
    if not CORPUS.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS.read_text(encoding="utf-8").splitlines()


def test_import_is_idempotent_and_versions_changes(capsys):
    from madoguchi.cli import main

    assert main(["kb", "import", str(CORPUS)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["created"] == len([line for line in corpus_lines() if line.strip()]) and first["errors"] == []
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
    assert [(e["section"], e["question"]) for e in entries] == [("Zoom", "会議に入れません"), ("Zoom", "音が出ません")]
    assert "### not a heading" in entries[0]["answer"]
    report = actions.import_jsonl([json.dumps(e, ensure_ascii=False) for e in entries])
    assert report.created == 2


def test_bot_answers_from_the_database_and_hides_internal_articles():
    from madoguchi.bot import Engine
    from madoguchi.kb.provider import articles_from_database

    actions.import_jsonl(corpus_lines())
    internal = Article.objects.get(external_id="ja-faq-zoom-wait-host")
    actions.do_save_article({"external_id": internal.external_id, "topic": internal.topic, "lang": "ja",
                             "kind": "faq", "section": internal.section, "question": internal.question,
                             "answer": internal.answer, "alt_questions": [], "public": False})
    engine = Engine.build(articles_from_database())
    requester = engine.ask("Zoomの待機室から入れない", audience="requester")
    staff = engine.ask("Zoomの待機室から入れない", audience="staff")
    assert "ja-faq-zoom-wait-host" not in [r[0] for r in requester.results]
    assert "ja-faq-zoom-wait-host" in [r[0] for r in staff.results]
