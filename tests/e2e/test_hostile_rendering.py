"""Hostile strings that the desk stores are shown as text in Chromium: no script runs,
no markup or attribute is injected — in the staff inbox, the inquiry page and the
requester's page."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from tests.conftest import hostile_strings
from tests.e2e.conftest import sign_in

INJECTED = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('main *')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) bad.push(el.tagName + '[' + a.name + ']');
      if (/^\\s*(javascript|data|vbscript):/i.test(a.value) && ['href', 'src', 'action', 'formaction', 'xlink:href'].includes(a.name)) bad.push(el.tagName + '[' + a.name + ']=' + a.value);
    }
    if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'MATH', 'IMG', 'STYLE', 'FORM', 'BASE', 'META', 'TEMPLATE', 'NOSCRIPT'].includes(el.tagName.toUpperCase())
        && el.closest('.thread, #rows, .subject, .props')) bad.push(el.tagName);
  }
  return bad.concat(window.__xss ? ['window.__xss'] : []);
}"""


def post_json(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_stored_hostile_strings_render_inert(desk, new_context):
    rows = [
        r
        for r in hostile_strings()
        if {"name", "subject", "body"} & set(r["targets"]) and r["kind"] != "length"
    ]
    created = []
    for row in rows:
        payload = row["payload"]
        status, data = post_json(
            desk.url + "/api/v1/inquiries",
            {
                "name": payload,
                "email": "hostile@st.univ.example",
                "category": "other",
                "subject": payload,
                "member_category": "staff",
                "body": payload,
                "lang": "ja",
            },
        )
        if (
            status != 201
        ):  # refused whole (e.g. a line break in the one-line name): try the body alone
            status, data = post_json(
                desk.url + "/api/v1/inquiries",
                {
                    "name": "hostile",
                    "email": "hostile@st.univ.example",
                    "category": "other",
                    "subject": f"{row['id']}",
                    "member_category": "staff",
                    "body": payload,
                    "lang": "ja",
                },
            )
        if status == 201:
            created.append((row, data["reference"]))
        else:
            assert status == 400 and data["errors"], (row["id"], status, data)
    assert len(created) > 100

    dialogs = []
    page = new_context().new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, desk, "faculty1")

    # The inbox, page by page.
    page.goto(desk.url + "/console/?view=all")
    for _ in range(20):
        assert page.evaluate(INJECTED) == []
        older = page.locator("a.button", has_text="Older").or_(
            page.locator("a.button", has_text="以前")
        )
        if older.count() == 0:
            break
        older.first.click()
    # Every inquiry page, and the requester's view of it.
    for row, reference in created:
        page.goto(desk.url + f"/console/i/{reference}/")
        assert page.evaluate(INJECTED) == [], row["id"]
        # Shown as the very text that was sent (line breaks become <br>, so compare
        # without white space).
        shown = page.locator(".thread .msg .body").first.text_content()
        assert "".join(shown.split()) == "".join(row["payload"].split()), row["id"]
    assert dialogs == []
