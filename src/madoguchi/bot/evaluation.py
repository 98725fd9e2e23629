"""Quality figures of an engine on labelled questions (used by bench/ and the tests).

Question format (one JSON object per line): ``{"q": ..., "lang": "ja"|"en",
"expected": [external ids that answer it; [] = should hand over], "note": optional}``.
A retrieval hit is any expected id in the top k. "Hand-over" counts every decision that
is not "answer" (a topic rule also keeps the bot from answering).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .engine import Engine


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def split_questions(
    questions: Sequence[dict[str, Any]], held_out_percent: int = 35
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Deterministic (hash of the text) split into (tune, held-out)."""
    tune: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    for q in questions:
        bucket = int(hashlib.sha256(q["q"].encode()).hexdigest(), 16) % 100
        (held if bucket < held_out_percent else tune).append(q)
    return tune, held


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def evaluate(
    engine: Engine, questions: Sequence[dict[str, Any]], *, details: bool = False
) -> dict[str, Any]:
    lang_of = {a.id: a.lang for a in engine.articles}
    n_ans = top1 = top3 = 0
    n_x = x_top1 = 0
    tp = fp = fn = 0
    n_unans = 0
    latencies: list[float] = []
    rows = []
    for item in questions:
        expected = set(item.get("expected") or [])
        t0 = time.perf_counter()
        d = engine.ask(item["q"], item.get("lang"))
        latencies.append((time.perf_counter() - t0) * 1000)
        ids = [i for i, _ in d.results]
        handed = d.decision != "answer"
        if expected:
            n_ans += 1
            hit1 = bool(ids[:1]) and ids[0] in expected
            top1 += hit1
            top3 += any(i in expected for i in ids[:3])
            q_lang = item.get("lang") or d.lang
            if q_lang == "en" and all(lang_of.get(e) != "en" for e in expected):
                n_x += 1
                x_top1 += hit1
            fp += handed
        else:
            n_unans += 1
            tp += handed
            fn += not handed
        if details:
            rows.append(
                {
                    "q": item["q"],
                    "expected": sorted(expected),
                    "decision": d.decision,
                    "rule": d.rule,
                    "results": ids[:3],
                    "features": d.features,
                }
            )
    out: dict[str, Any] = {
        "questions": len(questions),
        "answerable": n_ans,
        "top1": top1 / n_ans if n_ans else 0.0,
        "top3": top3 / n_ans if n_ans else 0.0,
        "crosslingual": n_x,
        "crosslingual_top1": x_top1 / n_x if n_x else 0.0,
        "unanswerable": n_unans,
        "handover_precision": tp / (tp + fp) if tp + fp else 1.0,
        "handover_recall": tp / n_unans if n_unans else 1.0,
        "ms_p50": _pct(latencies, 50),
        "ms_p95": _pct(latencies, 95),
    }
    if details:
        out["rows"] = rows
    return out


TARGETS = {
    "top1": 0.90,
    "top3": 0.96,
    "crosslingual_top1": 0.70,
    "handover_precision": 0.85,
    "handover_recall": 0.80,
}
