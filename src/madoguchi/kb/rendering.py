"""A small, safe Markdown renderer for article answers: everything is escaped first, then
paragraphs, line breaks, lists, bold and http(s)/mailto links are turned into markup."""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(((?:https?://|mailto:|/)[^\s)]{1,500})\)")
_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_NUMBER = re.compile(r"^\s*\d+[.)]\s+")


def _inline(text: str) -> str:
    text = escape(text)
    text = _LINK.sub(
        lambda m: f'<a href="{m.group(2)}" rel="nofollow noopener noreferrer">{m.group(1)}</a>',
        text,
    )
    return _BOLD.sub(r"<strong>\1</strong>", text)


def render(markdown: str) -> SafeString:
    out: list[str] = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(_BULLET.match(line) for line in lines):
            items = "".join("<li>" + _inline(_BULLET.sub("", line)) + "</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        elif all(_NUMBER.match(line) for line in lines):
            items = "".join("<li>" + _inline(_NUMBER.sub("", line)) + "</li>" for line in lines)
            out.append(f"<ol>{items}</ol>")
        elif re.match(r"#{1,6}\s", lines[0]):
            out.append(f"<h3>{_inline(lines[0].lstrip('#').strip())}</h3>")
            if lines[1:]:
                out.append("<p>" + "<br>".join(_inline(line) for line in lines[1:]) + "</p>")
        else:
            out.append("<p>" + "<br>".join(_inline(line) for line in lines) + "</p>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text was escaped above


_CODE = re.compile(r"`([^`\n]{1,200})`")


def plain(markdown: str) -> str:
    """The same answer as plain text (for chat): links become "text (address)", bold and
    code marks are dropped, list items keep a bullet."""
    lines = []
    for line in markdown.strip().splitlines():
        line = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", line)
        line = _CODE.sub(r"\1", _BOLD.sub(r"\1", line))
        if _BULLET.match(line):
            line = "・" + _BULLET.sub("", line)
        elif re.match(r"#{1,6}\s", line):
            line = line.lstrip("#").strip()
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
