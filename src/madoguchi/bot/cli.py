"""``bot ask "..."`` and ``bot ask --batch FILE.jsonl`` (wired into ``madoguchi bot``).

The engine is built from ``get_articles()`` and ``get_rules()``, module-level hooks: the
Django layer replaces them (``cli.get_articles = load_from_db``) to serve the knowledge
base and the administrator's topic rules; by default articles come from a JSONL corpus
(``--corpus FILE`` or the ``MADOGUCHI_BOT_CORPUS`` variable) and the rules are
``default_rules()``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from .articles import Article, load_articles_jsonl
from .engine import Engine


class ProviderError(RuntimeError):
    pass


def jsonl_articles(corpus: str | None = None) -> list[Article]:
    path = corpus or os.environ.get("MADOGUCHI_BOT_CORPUS")
    if not path:
        raise ProviderError("no articles: pass --corpus FILE or set MADOGUCHI_BOT_CORPUS")
    return load_articles_jsonl(path)


# The articles provider hook (see module docstring).
get_articles: Callable[[str | None], Sequence[Article]] = jsonl_articles


def shipped_rules() -> list[dict] | None:
    return None  # Engine.build: None means default_rules()


# The topic rules hook (see module docstring).
get_rules: Callable[[], list[dict] | None] = shipped_rules


def _ask_one(engine: Engine, q: str, lang: str | None, audience: str) -> dict:
    t0 = time.perf_counter()
    d = engine.ask(q, lang, audience=audience)
    ms = (time.perf_counter() - t0) * 1000
    return {
        "q": q,
        "decision": d.decision,
        "rule": d.rule,
        "results": [{"id": i, "score": round(s, 4)} for i, s in d.results],
        "ms": round(ms, 2),
    }


def main(argv: list[str], stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = argparse.ArgumentParser(prog="bot", description="Ask the answer bot.")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer one question or a JSONL batch")
    ask.add_argument("question", nargs="?", help="the question (omit with --batch)")
    ask.add_argument("--batch", metavar="FILE.jsonl", help='lines {"q": ..., "lang": optional}')
    ask.add_argument("--lang", choices=("ja", "en"), help="language of the question")
    ask.add_argument("--corpus", metavar="FILE.jsonl", help="articles (default provider)")
    ask.add_argument("--audience", choices=("requester", "staff"), default="requester")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if bool(args.question) == bool(args.batch):
        err.write("bot ask: give either a question or --batch FILE\n")
        return 2
    try:
        engine = Engine.build(get_articles(args.corpus), rules=get_rules())
    except (ProviderError, OSError, ValueError) as exc:
        err.write(f"bot ask: {exc}\n")
        return 2
    if args.question:
        out.write(
            json.dumps(
                _ask_one(engine, args.question, args.lang, args.audience), ensure_ascii=False
            )
            + "\n"
        )
        return 0
    status = 0
    try:
        fh = open(args.batch, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        err.write(f"bot ask: {exc}\n")
        return 2
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                q = item["q"]
                if not isinstance(q, str):
                    raise TypeError("q must be a string")
            except (ValueError, KeyError, TypeError) as exc:
                # Keep one output line per input line, so outputs stay aligned.
                err.write(f"{args.batch}:{lineno}: not a question: {exc}\n")
                out.write(json.dumps({"q": None, "error": f"line {lineno}: {exc}"}) + "\n")
                status = 1
                continue
            lang = item.get("lang") or args.lang
            out.write(
                json.dumps(_ask_one(engine, q, lang, args.audience), ensure_ascii=False) + "\n"
            )
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
