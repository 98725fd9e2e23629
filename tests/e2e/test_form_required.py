"""The form marks what the server requires, and checks it in the browser first."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_walkthrough import PHONE, fill_form


def test_category_fields_are_marked_required_and_checked_before_sending(desk, new_context):
    page = new_context(**PHONE).new_page()
    page.goto(desk.url + "/form/?lang=ja")
    fill_form(page, email="req.e2e@st.univ.example", subject="授業に入れない", body="入れません")
    page.locator("#id_category").select_option("class-entry")
    for name in ("class_date", "class_period", "class_subject", "class_instructor"):
        label = page.locator(f"label[for=id_{name}]")
        expect(label).to_be_visible()
        expect(label).to_contain_text("（必須）")

    page.locator("#inquiry-form button[type=submit]").click()
    # Not sent: still the form, the first missing field focused and its message announced.
    expect(page.locator("#id_class_date")).to_be_focused()
    expect(page.locator("#id_class_subject_client_error")).to_have_text("この項目は必須です。")
    assert "id_class_subject_client_error" in page.locator("#id_class_subject").get_attribute(
        "aria-describedby"
    )
    assert "/form/" in page.url and page.get_by_test_id("reference").count() == 0

    # The Zoom address is required unless "I cannot check it" is ticked.
    page.locator("#id_category").select_option("zoom")
    expect(page.locator("label[for=id_zoom_signin_email]")).to_contain_text("（必須）")
    page.locator("#inquiry-form button[type=submit]").click()
    expect(page.locator("#id_zoom_signin_email")).to_be_focused()
    page.locator("#id_zoom_signin_unknown").check()
    page.locator("#inquiry-form button[type=submit]").click()
    expect(page.get_by_test_id("reference")).to_be_visible()


def test_help_texts_are_announced(desk, new_context):
    page = new_context().new_page()
    page.goto(desk.url + "/form/?lang=en")
    described = page.locator("[aria-describedby$=_helptext]")
    assert described.count() > 0
    for i in range(described.count()):
        target = described.nth(i).get_attribute("aria-describedby").split()[0]
        assert page.locator(f"#{target}").count() == 1, target
