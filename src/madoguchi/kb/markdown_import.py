"""Reading FAQ pages written in Markdown, as many university sites publish them:
``## Section`` headings and ``### Q. question`` entries, the answer being everything up to
the next heading of level 1–3."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

_HEADING = re.compile(r"^(#{1,3})\s+(.*?)\s*#*\s*$")
_Q = re.compile(r"^(?:Q[.．:：]\s*|Q\s+)", re.IGNORECASE)


def parse(text: str, *, source: str, lang: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    section = ""
    current: dict[str, Any] | None = None
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match:
            level, title = len(match.group(1)), match.group(2)
            if current is not None:
                entries.append(current)
                current = None
            if level == 3 and _Q.match(title):
                question = _Q.sub("", title).strip()
                key = hashlib.sha1(
                    f"{source}\x00{question}".encode(), usedforsecurity=False
                ).hexdigest()[:10]
                current = {
                    "id": f"md-{key}",
                    "lang": lang,
                    "kind": "faq",
                    "topic": f"md-{key}",
                    "section": section,
                    "question": question,
                    "answer_lines": [],
                }
            elif level <= 2:
                section = title
            continue
        if current is not None:
            current["answer_lines"].append(line)
    if current is not None:
        entries.append(current)
    for entry in entries:
        entry["answer"] = "\n".join(entry.pop("answer_lines")).strip()
    return [e for e in entries if e["question"] and e["answer"]]


def read_path(path: Path, *, lang: str) -> list[dict[str, Any]]:
    files = sorted(path.rglob("*.md")) if path.is_dir() else [path]
    out: list[dict[str, Any]] = []
    for file in files:
        out += parse(
            file.read_text(encoding="utf-8", errors="replace"), source=str(file.name), lang=lang
        )
    return out
