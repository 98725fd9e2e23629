"""Article answers as HTML: CommonMark (with tables and strikethrough) by markdown-it-py,
raw HTML in the source left as text, and the output sanitised by nh3 with a small
allowlist, so an imported FAQ renders as written and nothing in it can run."""

from __future__ import annotations

import re
from functools import cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(((?:https?://|mailto:|/)[^\s)]{1,500})\)")
_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")
_BULLET = re.compile(r"^\s*[-*+]\s+")

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}


@cache
def _parser() -> MarkdownIt:
    # "commonmark" with html off: a <script> in the source is shown as text.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render(markdown: str) -> SafeString:
    html = _parser().render(markdown)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
        filter_style_properties={"text-align"},
    )
    # Headings inside an article sit below the page's own title; column alignment becomes
    # a class, since the desk's CSP allows no inline styles.
    clean = re.sub(r"<(/?)h[12]>", r"<\1h3>", clean)
    clean = re.sub(r' style="text-align:(left|right|center)"', r' class="align-\1"', clean)
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


_CODE = re.compile(r"`([^`\n]{1,200})`")


def links(markdown: str) -> list[dict[str, str]]:
    """The links of an answer, in order and once each, for the chat to show as links
    beside the plain text (desk paths, http(s) and mailto: only, as ``_LINK`` allows)."""
    out: list[dict[str, str]] = []
    for m in _LINK.finditer(markdown):
        item = {"text": m.group(1), "href": m.group(2)}
        if item not in out:
            out.append(item)
    return out[:5]


def plain(markdown: str) -> str:
    """The same answer as plain text (for chat): a link keeps its text (the chat shows the
    links themselves, see ``links``), bold and code marks are dropped, list items keep a
    bullet."""
    lines = []
    for line in markdown.strip().splitlines():
        line = _LINK.sub(lambda m: m.group(1), line)
        line = _CODE.sub(r"\1", _BOLD.sub(r"\1", line))
        if _BULLET.match(line):
            line = "・" + _BULLET.sub("", line)
        elif re.match(r"#{1,6}\s", line):
            line = line.lstrip("#").strip()
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
