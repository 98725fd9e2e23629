"""``bot ask`` one question and a batch, with the default JSONL articles provider."""

from __future__ import annotations

import io
import json

import pytest

from madoguchi.bot import cli

CORPUS = [
    {
        "id": "ja-vpn",
        "lang": "ja",
        "kind": "faq",
        "topic": "vpn",
        "section": "ネットワーク",
        "question": "VPNに接続できない",
        "answer": "VPNクライアントを更新してください。",
    },
    {
        "id": "en-vpn",
        "lang": "en",
        "kind": "faq",
        "topic": "vpn",
        "section": "Network",
        "question": "I cannot connect to the VPN",
        "answer": "Update the VPN client.",
    },
]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text(
        "\n".join(json.dumps(a, ensure_ascii=False) for a in CORPUS) + "\n", encoding="utf-8"
    )
    return path


def run(argv, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_ask_one(corpus):
    code, out, _ = run(["ask", "VPNに接続できない", "--corpus", str(corpus)])
    assert code == 0
    line = json.loads(out)
    assert set(line) == {"q", "decision", "rule", "results", "ms"}
    assert line["decision"] == "answer"
    assert line["results"][0]["id"] == "ja-vpn"


def test_ask_batch_one_line_per_input(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_BOT_CORPUS", str(corpus))
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"q": "I cannot connect to the VPN", "lang": "en"}\n'
        '{"q": "期末試験の日程"}\n'
        "not json\n"
        '{"q": "明日の天気は？"}\n',
        encoding="utf-8",
    )
    code, out, err = run(["ask", "--batch", str(batch)])
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 4
    assert lines[0]["results"][0]["id"] == "en-vpn"
    assert (lines[1]["decision"], lines[1]["rule"]) == ("rule", "exam")
    assert "error" in lines[2]
    assert lines[3]["decision"] == "handover"
    assert all(len(x.get("results", [])) <= 5 for x in lines)
    assert code == 1 and "line 3" in out


def test_provider_hook_is_replaceable(monkeypatch):
    from madoguchi.bot import Article

    monkeypatch.setattr(
        cli,
        "get_articles",
        lambda corpus: [
            Article(id="x-1", lang="ja", topic="x", question="VPNに接続できない", answer="更新")
        ],
    )
    code, out, _ = run(["ask", "VPNにつながらない"])
    assert code == 0 and json.loads(out)["results"][0]["id"] == "x-1"


def test_missing_corpus_is_an_error(monkeypatch):
    monkeypatch.delenv("MADOGUCHI_BOT_CORPUS", raising=False)
    code, _, err = run(["ask", "VPN"])
    assert code == 2 and "MADOGUCHI_BOT_CORPUS" in err


def test_question_or_batch_required(corpus):
    assert run(["ask", "--corpus", str(corpus)])[0] == 2
