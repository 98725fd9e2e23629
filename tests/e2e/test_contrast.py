"""WCAG 2.2 1.4.11 (non-text contrast) for what axe does not compute: the focus ring and
the borders of inputs, measured from the computed styles in Chromium."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in


def _rgb(css: str) -> tuple[float, float, float]:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


BACKGROUND = """el => {
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
  }
  return 'rgb(255, 255, 255)';
}"""


def focus_ring(page, selector: str) -> tuple[str, str]:
    page.locator(selector).first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # keyboard focus: :focus-visible applies
    element = page.locator(selector).first
    style = element.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    assert style[0] != "none" and float(style[1].rstrip("px")) >= 2, style
    return style[2], element.evaluate(BACKGROUND)


@pytest.mark.parametrize("path", ["/form/?lang=ja", "/faq/?lang=en"])
def test_focus_ring_and_input_borders_have_3_to_1(desk, new_context, path):
    page = new_context().new_page()
    page.goto(desk.url + path)
    ring, background = focus_ring(page, "main input:not([type=hidden])")
    assert contrast(ring, background) >= 3, (ring, background)
    for selector in ("input:not([type=hidden]):not([type=checkbox])", "select", "textarea"):
        for element in page.locator(f"main {selector}").all()[:3]:
            border = element.evaluate("el => getComputedStyle(el).borderTopColor")
            inside = element.evaluate("el => getComputedStyle(el).backgroundColor")
            assert contrast(border, inside) >= 3, (selector, border, inside)
            assert contrast(border, element.evaluate(BACKGROUND)) >= 3, (selector, border)


def test_console_focus_ring_has_3_to_1(desk, new_context):
    page = new_context().new_page()
    sign_in(page, desk, "student1")
    ring, background = focus_ring(page, "main a")
    assert contrast(ring, background) >= 3, (ring, background)


def test_chat_frame_ring_and_borders_have_3_to_1(desk, new_context):
    page = new_context().new_page()
    page.goto(desk.url + "/chat/embed/?lang=ja")
    box = page.locator("#chat-input")
    border = box.evaluate("el => getComputedStyle(el).borderTopColor")
    assert contrast(border, "rgb(255, 255, 255)") >= 3, border
    ring, background = focus_ring(page, "#chat-input")
    assert contrast(ring, background) >= 3, (ring, background)
