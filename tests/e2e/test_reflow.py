"""WCAG 1.4.4 / 1.4.10 on a phone: at 200 % text size the requester's pages still fit the
screen's width (no sideways scrolling), and the titles of pages differ."""

from __future__ import annotations

import pytest

from tests.e2e.test_walkthrough import PHONE


@pytest.mark.parametrize("path", ["/?lang=ja", "/form/?lang=ja", "/form/?lang=en", "/faq/?lang=ja"])
def test_requester_pages_fit_a_phone_at_200_percent_text(desk, new_context, path):
    page = new_context(**{**PHONE, "viewport": {"width": 320, "height": 700}}).new_page()
    # The reader's text size, set before anything is laid out (as the browser setting is).
    page.add_init_script("document.documentElement.style.fontSize = '200%'")
    page.goto(desk.url + path)
    page.wait_for_function(
        "document.querySelector('[data-madoguchi]') || !document.querySelector('script[src$=\"widget.js\"]')"
    )
    if "/form/" in path:
        page.locator("#id_category").select_option("class-entry")
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"""
    )
    assert overflow[0] <= overflow[1], (overflow, wide)


def test_pages_that_looked_alike_have_their_own_titles(desk, new_context):
    page = new_context().new_page()
    page.goto(desk.url + "/faq/?lang=en")
    faq = page.title()
    page.goto(desk.url + "/faq/?lang=en&q=zoom")
    assert page.title() != faq and "zoom" in page.title()
    page.goto(desk.url + "/form/?lang=en")
    form = page.title()
    with page.expect_navigation():
        page.locator("#inquiry-form").evaluate("f => f.submit()")  # past the browser's check
    assert page.title() != form and page.title().startswith("Error:")
