"""Quality and latency of the answer bot (issue 5's table).

    python bench/bot_eval.py                      # DEV set, its held-out split, 2,000-article latency
    python bench/bot_eval.py --questions F.jsonl  # any question file of the DEV format
    python bench/bot_eval.py --json

Reads the corpus and DEV questions from ../shared/data/ (relative to the repository root);
they are someone else's text and are never copied into this repository. Our own question
sets, written in the DEV style and labelled against that corpus, are in bench/data/:
own-questions.jsonl (182 questions; its "tune split" was used for tuning, see
bench/RESULTS.md) and fresh-questions.jsonl (66, written later and kept as a check only).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from madoguchi.bot import Engine, load_articles_jsonl  # noqa: E402
from madoguchi.bot.evaluation import (  # noqa: E402
    TARGETS,
    _pct,
    evaluate,
    load_questions,
    split_questions,
)

DATA = ROOT.parent / "shared" / "data"


def synthesise(articles, n=2000, seed=7):
    """n articles: the corpus plus perturbed copies (new ids and topics, words dropped
    and shuffled), so the index has the size and vocabulary spread of a real one."""
    rnd = random.Random(seed)
    out = list(articles)
    i = 0
    while len(out) < n:
        src = articles[i % len(articles)]
        i += 1

        def perturb(text, tag=i):
            parts = text.split("\n")
            rnd.shuffle(parts)
            keep = [p for p in parts if rnd.random() > 0.3] or parts[:1]
            return "\n".join(keep) + f" 版{tag} v{tag}"

        out.append(
            replace(
                src,
                id=f"{src.id}-syn{i}",
                topic=f"{src.topic}-syn{i}",
                question=perturb(src.question),
                answer=perturb(src.answer),
            )
        )
    return out


def latency_run(articles, questions, rounds=3):
    t0 = time.perf_counter()
    engine = Engine.build(articles)
    build_s = time.perf_counter() - t0
    ms = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            engine.ask(q["q"], q.get("lang"))
            ms.append((time.perf_counter() - t) * 1000)
    return {
        "articles": len(articles),
        "asks": len(ms),
        "build_s": build_s,
        "ms_p50": _pct(ms, 50),
        "ms_p95": _pct(ms, 95),
        "ms_max": max(ms),
    }


ROWS = [
    ("top-1 (answerable)", "top1", "≥ 0.90"),
    ("top-3", "top3", "≥ 0.96"),
    ("EN question, JA-only answer, top-1", "crosslingual_top1", "≥ 0.70"),
    ("hand-over precision", "handover_precision", "≥ 0.85"),
    ("hand-over recall", "handover_recall", "≥ 0.80"),
    ("latency p50 (ms)", "ms_p50", ""),
    ("latency p95 (ms)", "ms_p95", "≤ 50"),
]


def table(columns):
    names = list(columns)
    head = "| figure | " + " | ".join(names) + " | target |"
    lines = [head, "|" + "---|" * (len(names) + 2)]
    for label, key, target in ROWS:
        cells = []
        for n in names:
            v = columns[n].get(key)
            if key == "crosslingual_top1" and not columns[n].get("crosslingual"):
                v = None
            cells.append(
                "—"
                if v is None
                else f"{v:.3f}"
                if key.startswith(("top", "cross", "hand"))
                else f"{v:.2f}"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    counts = " · ".join(
        f"{n}: {c['answerable']} answerable, {c['crosslingual']} cross-lingual, "
        f"{c['unanswerable']} unanswerable"
        for n, c in columns.items()
    )
    return "\n".join(lines) + "\n\n" + counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(DATA / "utelecon-faq.jsonl"))
    ap.add_argument("--questions", default=str(DATA / "chatbot-dev.jsonl"))
    ap.add_argument("--size", type=int, default=2000, help="articles in the latency run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    articles = load_articles_jsonl(args.corpus)
    questions = load_questions(args.questions)
    engine = Engine.build(articles)
    tune, held = split_questions(questions)
    cols = {
        "all": evaluate(engine, questions),
        "tune split": evaluate(engine, tune),
        "held-out split": evaluate(engine, held),
    }
    lat = latency_run(synthesise(articles, args.size), questions)
    cols[f"{args.size} articles"] = {
        "ms_p50": lat["ms_p50"],
        "ms_p95": lat["ms_p95"],
        "answerable": 0,
        "crosslingual": 0,
        "unanswerable": 0,
    }
    report = {
        "corpus": args.corpus,
        "questions": args.questions,
        "results": cols,
        "latency_run": lat,
        "targets": TARGETS,
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"corpus {args.corpus} ({len(articles)} articles), questions {args.questions}")
    print(table(cols))
    print(
        f"\nlatency run: {lat['articles']} articles, built in {lat['build_s']:.2f} s, "
        f"{lat['asks']} asks, p50 {lat['ms_p50']:.2f} ms, p95 {lat['ms_p95']:.2f} ms, "
        f"max {lat['ms_max']:.2f} ms (one process, one core)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
