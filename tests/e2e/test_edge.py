"""The edge in Chromium: the API documentation works from the desk's own files under its
Content-Security-Policy (nothing fetched from elsewhere, nothing blocked)."""

from __future__ import annotations

from playwright.sync_api import expect


def test_api_docs_render_from_the_desk_under_its_csp(desk, new_context):
    page = new_context().new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(desk.url + "/api/v1/docs")
    expect(page.get_by_text("/api/v1/inquiries").first).to_be_visible()
    assert requests and all(u.startswith(desk.url + "/") for u in requests), requests
    assert problems == []
