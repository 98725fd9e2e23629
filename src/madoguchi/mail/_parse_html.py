"""HTML from mail, made inert: nh3 (ammonia/html5ever) with a small allowlist, twice.

Pipeline (each step works on the previous step's serialised output):

1. nh3 with the allowlist below plus ``img src`` for ``cid:``/``http(s):`` only, and the
   contents of script/style/template/iframe/object/svg/math/form/... removed. Links
   keep http(s)/mailto/tel only and get ``rel="noopener noreferrer nofollow"``.
2. The serialised output is canonical (double-quoted attributes, ``"`` escaped, text
   ``<`` escaped), so a regex can safely rewrite ``<img src="cid:x">`` to
   ``data-cid="x"`` and ``src="https://..."`` to ``data-remote-src="..."``: nothing is
   fetched when the HTML is shown; the web layer maps data-cid to an access-controlled
   URL and offers remote images on a click.
3. Elements nested deeper than ``MAX_DEPTH`` are unwrapped (their text stays).
4. nh3 again with the final allowlist (no ``src`` at all). The result is a fixed point:
   ``sanitise_html(sanitise_html(x)) == sanitise_html(x)``.
"""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

MAX_DEPTH = 100
MAX_ATTRIBUTE_CHARS = 2048

_TAGS = {
    "a",
    "abbr",
    "acronym",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
}
_CLEAN_CONTENT = {
    "script",
    "style",
    "template",
    "iframe",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "noscript",
    "noembed",
    "noframes",
    "xmp",
    "select",
    "title",
    "frameset",
    "audio",
    "video",
    "canvas",
}
_COMMON_ATTRS = {"title", "dir", "lang"}
_BASE_ATTRS: dict[str, set[str]] = {
    "*": set(_COMMON_ATTRS),
    "a": {"href", "hreflang"},
    "bdo": {"dir"},
    "blockquote": {"cite"},
    "col": {"span", "align"},
    "colgroup": {"span", "align"},
    "del": {"datetime"},
    "font": {"color", "size"},
    "hr": {"align", "size", "width"},
    "ins": {"datetime"},
    "ol": {"start", "type"},
    "table": {"align", "border", "cellpadding", "cellspacing", "width", "summary"},
    "tbody": {"align", "valign"},
    "td": {"align", "valign", "colspan", "rowspan", "width", "headers"},
    "tfoot": {"align", "valign"},
    "th": {"align", "valign", "colspan", "rowspan", "width", "headers", "scope"},
    "thead": {"align", "valign"},
    "tr": {"align", "valign"},
    "ul": {"type"},
}
_PASS1_ATTRS = {
    **_BASE_ATTRS,
    "img": {"src", "alt", "width", "height", "title", "data-cid", "data-remote-src"},
}
_FINAL_ATTRS = {
    **_BASE_ATTRS,
    "img": {"alt", "width", "height", "title", "data-cid", "data-remote-src"},
}
_LINK_REL = "noopener noreferrer nofollow"
_LINK_SCHEMES = ("http", "https", "mailto", "tel")

_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]{0,30}):")
_CID_OK = re.compile(r"[\x21-\x7e]{1,250}")
_STRIP_URL = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _scheme(value: str) -> str | None:
    m = _SCHEME_RE.match(_STRIP_URL.sub("", value))
    return m.group(1).lower() if m else None


def clean_cid(value: str) -> str | None:
    value = value.strip().strip("<>").strip()
    if not value or not _CID_OK.fullmatch(value) or any(c in value for c in "\"'<>\\"):
        return None
    return value


def _filter(tag: str, attr: str, value: str) -> str | None:
    try:
        if len(value) > MAX_ATTRIBUTE_CHARS:
            return None
        if attr in ("href", "cite"):
            scheme = _scheme(value)
            if scheme in _LINK_SCHEMES and attr == "href":
                return value.strip()
            if attr == "cite" and scheme in ("http", "https"):
                return value.strip()
            return None
        if tag == "img" and attr == "src":
            scheme = _scheme(value)
            if scheme == "cid":
                cid = clean_cid(unquote(value.strip()[4:]))
                return "cid:" + cid if cid else None
            if scheme in ("http", "https"):
                return value.strip()
            return None
        if attr == "data-remote-src":
            return value if _scheme(value) in ("http", "https") else None
        if attr == "data-cid":
            return value if clean_cid(value) else None
        if attr in (
            "width",
            "height",
            "border",
            "cellpadding",
            "cellspacing",
            "colspan",
            "rowspan",
            "span",
            "size",
            "start",
        ):
            return value if re.fullmatch(r"\s*\d{1,4}%?\s*", value) else None
        return value
    except Exception:  # noqa: BLE001 - nh3 reports callback errors as unraisable; never let one escape
        return None


def _clean(text: str, attrs: dict[str, set[str]], schemes: set[str]) -> str:
    return nh3.clean(
        text,
        tags=_TAGS,
        clean_content_tags=_CLEAN_CONTENT,
        attributes=attrs,
        attribute_filter=_filter,
        strip_comments=True,
        link_rel=_LINK_REL,
        url_schemes=schemes,
    )


_IMG_RE = re.compile(r'<img((?:\s+[^\s=>/"]+(?:="[^"]*")?)*)\s*/?>')
_ATTR_RE = re.compile(r'(\s+)([^\s=>/"]+)(?:="([^"]*)")?')
_TAG_RE = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=>/"]+(?:="[^"]*")?)*)\s*(/?)>')
_VOID = {
    "br",
    "hr",
    "img",
    "wbr",
    "col",
    "area",
    "input",
    "meta",
    "link",
    "source",
    "track",
    "param",
    "base",
    "embed",
}


def _rewrite_img(m: re.Match[str]) -> str:
    out = []
    for am in _ATTR_RE.finditer(m.group(1)):
        name, value = am.group(2), am.group(3)
        if name == "src" and value is not None:
            raw = html_lib.unescape(value)
            if raw[:4].lower() == "cid:":
                out.append(f' data-cid="{html_lib.escape(raw[4:], quote=True)}"')
            else:
                out.append(f' data-remote-src="{value}"')
            continue
        out.append(am.group(0))
    return "<img" + "".join(out) + ">"


def _limit_depth(text: str, max_depth: int) -> str:
    out: list[str] = []
    pos = 0
    stack: list[bool] = []  # kept?
    depth = 0
    for m in _TAG_RE.finditer(text):
        out.append(text[pos : m.start()])
        pos = m.end()
        closing, name = m.group(1), m.group(2).lower()
        if name in _VOID:
            if depth < max_depth:
                out.append(m.group(0))
            continue
        if closing:
            if stack:
                kept = stack.pop()
                depth -= 1
                if kept:
                    out.append(m.group(0))
            continue
        kept = depth < max_depth
        stack.append(kept)
        depth += 1
        if kept:
            out.append(m.group(0))
    out.append(text[pos:])
    return "".join(out)


def sanitise_html(text: str, max_chars: int) -> tuple[str, bool]:
    """(sanitised HTML, truncated?). Never raises for str input."""
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars]
    text = text.replace("\x00", "")
    stage1 = _clean(text, _PASS1_ATTRS, {"http", "https", "mailto", "tel", "cid"})
    stage2 = _IMG_RE.sub(_rewrite_img, stage1)
    stage3 = _limit_depth(stage2, MAX_DEPTH)
    return _clean(stage3, _FINAL_ATTRS, {"http", "https", "mailto", "tel"}), truncated


_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em|%)?\s*[;\"']|opacity\s*:\s*0(?:\.0+)?\s*[;\"']",
    re.IGNORECASE,
)


def has_hidden_text(raw_html: str) -> bool:
    return bool(_HIDDEN_STYLE.search(raw_html[:2_000_000]))


_BLOCK = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "hr",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "article",
    "aside",
    "header",
    "footer",
    "figure",
    "figcaption",
    "details",
    "summary",
    "caption",
    "center",
}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "blockquote":
            self.quote_depth += 1
        if tag == "td" or tag == "th":
            self.parts.append("\t")
        if tag == "li":
            self.parts.append("- ")
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "blockquote" and self.quote_depth:
            self.quote_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.quote_depth:
            lines = data.split("\n")
            data = "\n".join(("> " + ln) if ln.strip() else ln for ln in lines)
        self.parts.append(data)


def html_to_text(sanitised: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(sanitised)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser on sanitised input should not fail; never crash
        return re.sub(r"<[^>]*>", " ", sanitised)
    text = "".join(parser.parts)
    lines = [
        " ".join(line.split()) if line.strip() else ""
        for line in text.replace("\xa0", " ").split("\n")
    ]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()
