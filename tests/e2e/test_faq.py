"""The knowledge base in Chromium against a running desk with the demo articles: a
requester browses, searches and votes in the public FAQ and gets suggestions while
writing to us; a staff member teaches the bot a question it could not answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from playwright.sync_api import expect

from tests.conftest import REPO
from tests.e2e.conftest import sign_in

UNANSWERED = "複合機のドライバが見つからない"


def kb_ask(desk, question: str) -> dict:
    """Ask the desk's bot as a requester would and log the question, like the chat does."""
    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(desk.data_dir)}
    for key in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)
    done = subprocess.run(
        [sys.executable, "-m", "madoguchi", "manage", "kb_ask", question, "--lang", "ja"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_requester_browses_searches_and_votes(desk, new_context):
    page = new_context().new_page()
    page.goto(desk.url + "/faq/?lang=ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", name="ネットワーク")).to_be_visible()
    expect(
        page.get_by_role("link", name="大学のアカウントでZoomにサインインするには？")
    ).to_be_visible()

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Network")).to_be_visible()

    page.locator("#faq-q").fill("eduroam wifi")
    page.locator("form[role=search] button[type=submit]").click()
    result = page.get_by_role("link", name="How do I connect to the campus Wi-Fi (eduroam)?")
    expect(result).to_be_visible()
    result.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "How do I connect to the campus Wi-Fi (eduroam)?"
    )
    expect(page.locator(".answer ol li").first).to_contain_text("eduroam password")

    page.get_by_role("button", name="Yes").click()
    expect(
        page.get_by_role("status").filter(has_text="Thank you for your feedback.")
    ).to_be_visible()


def test_the_email_form_suggests_articles_while_typing(desk, new_context):
    page = new_context().new_page()
    page.goto(desk.url + "/form/?lang=ja")
    page.locator("#id_subject").press_sequentially("Zoomにサインインできない", delay=20)
    suggestion = page.locator("#suggestions").get_by_role(
        "link", name="大学のアカウントでZoomにサインインするには？"
    )
    expect(suggestion).to_be_visible()
    assert suggestion.get_attribute("href") == "/faq/zoom-sign-in/"


def test_staff_teach_the_bot_an_unanswered_question(desk, new_context):
    before = kb_ask(desk, UNANSWERED)
    assert before["decision"] == "handover" and before["logged"]

    staff = new_context(locale="en-US").new_page()
    sign_in(staff, desk, "student2")
    staff.goto(desk.url + "/console/?lang=en")
    staff.get_by_role("link", name="Knowledge base").click()
    expect(staff.get_by_role("heading", name="Knowledge base", level=1)).to_be_visible()
    staff.get_by_role("link", name="Unanswered questions").click()
    group = staff.locator("article.kb-group").filter(
        has=staff.get_by_role("heading", name=UNANSWERED)
    )
    expect(group).to_be_visible()
    group.get_by_role("link", name="Choose another article…").click()

    staff.locator("#find").fill("プリンター")
    staff.get_by_role("button", name="Search").click()
    staff.get_by_label("学内のプリンターで印刷するには？").check()
    expect(staff.get_by_label(UNANSWERED)).to_be_checked()
    staff.get_by_role("button", name="Attach as other phrasings").click()
    expect(staff.locator(".flash")).to_contain_text("the bot answers them from now on")
    expect(staff.get_by_role("heading", name=UNANSWERED)).to_have_count(0)

    after = kb_ask(desk, UNANSWERED)
    assert after["decision"] == "answer" and after["results"][0]["id"] == "demo-printing-ja"

    # The new phrasing is in the article's history, with who taught it.
    staff.goto(desk.url + "/console/kb/?q=printing&lang=en")
    staff.get_by_role("link", name="学内のプリンターで印刷するには？").click()
    expect(staff.locator("#id_alt_questions")).to_contain_text(UNANSWERED)
    staff.get_by_role("link", name="History (version 2)").click()
    expect(staff.locator("#v2")).to_contain_text("学生スタッフ 花子")

    # And a requester searching with those words now finds the article.
    requester = new_context().new_page()
    requester.goto(desk.url + "/faq/?lang=ja&q=" + UNANSWERED)
    expect(requester.locator("ol.faq-list li").first).to_contain_text(
        "学内のプリンターで印刷するには？"
    )
