"""The two walks of the foundation issue, in Chromium against a running desk."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def fill_form(page, *, email: str, subject: str, body: str, category: str = "zoom") -> None:
    page.locator("#id_name").fill("東大 太郎")
    page.locator("#id_common_id").fill("０１２３４５６７８９")
    page.locator("#id_affiliation").fill("教養学部")
    page.locator("#id_member_category").select_option("student_current")
    page.locator("#id_year_or_title").fill("1年")
    page.locator("#id_email").fill(email)
    page.locator("#id_email_confirm").fill(email)
    if category:
        page.locator("#id_category").select_option(category)
    page.locator("#id_subject").fill(subject)
    page.locator("#id_body").fill(body)


def test_requester_form_to_staff_reply_to_requester_thread(desk, new_context):
    requester = new_context(**PHONE).new_page()
    requester.goto(desk.url + "/?lang=ja")
    expect(requester.locator("html")).to_have_attribute("lang", "ja")
    requester.goto(desk.url + "/form/?lang=ja")

    # Category-dependent fields appear only for their category.
    zoom_field = requester.locator("#id_zoom_signin_email")
    class_field = requester.locator("#id_class_subject")
    requester.locator("#id_category").select_option("class-entry")
    expect(class_field).to_be_visible()
    expect(zoom_field).to_be_hidden()
    requester.locator("#id_category").select_option("zoom")
    expect(zoom_field).to_be_visible()
    expect(class_field).to_be_hidden()

    # A mistyped confirmation address is caught, nothing is lost from the form.
    fill_form(
        requester,
        email="taro.e2e@st.univ.example",
        subject="Zoom にサインインできない",
        body="エラー 1001 が出ます",
    )
    requester.locator("#id_email_confirm").fill("taro.e2f@st.univ.example")
    requester.locator("#id_zoom_signin_unknown").check()
    requester.locator("#inquiry-form button[type=submit]").click()
    expect(requester.locator("#id_email_confirm_error")).to_be_visible()
    expect(requester.locator("#id_body")).to_have_value("エラー 1001 が出ます")

    requester.locator("#id_email_confirm").fill("taro.e2e@st.univ.example")
    requester.locator("#id_zoom_signin_unknown").check()
    requester.locator("#inquiry-form button[type=submit]").click()
    reference = requester.get_by_test_id("reference").inner_text().strip()
    assert re.fullmatch(r"Q-[0-9A-Z]{8}", reference)

    [confirmation] = desk.mails_to("taro.e2e@st.univ.example")
    assert reference in confirmation["Subject"]
    assert "受付番号" in confirmation.get_content()
    link = re.search(r"http://\S+/t/\S+/", confirmation.get_content()).group(0)

    # Student staff claims and replies; a second staff member sees it live.
    staff = new_context().new_page()
    sign_in(staff, desk, "student1")
    watcher = new_context().new_page()
    sign_in(watcher, desk, "student2")
    watcher.goto(desk.url + "/console/?view=all")
    staff.goto(desk.url + "/console/?view=unassigned")
    staff.get_by_role("link", name=reference).click()
    watcher.goto(desk.url + f"/console/i/{reference}/")
    expect(watcher.locator("html")).to_have_attribute("data-live", "on")
    staff.locator("form[action$='/do/claim/'] button").click()
    expect(staff.locator(".assignee")).to_contain_text("学生スタッフ 一郎")
    staff.locator("#reply-body").fill("Zoom の再サインイン手順をご案内します。")
    staff.locator("form[action$='/do/reply/'] button").click()
    expect(staff.locator("#thread")).to_contain_text("Zoom の再サインイン手順をご案内します。")
    # The other staff member's page updates without a reload.
    expect(watcher.locator("#thread")).to_contain_text("Zoom の再サインイン手順をご案内します。")

    mails = desk.mails_to("taro.e2e@st.univ.example", count=2)
    reply = mails[-1]
    assert reply["In-Reply-To"] == confirmation["Message-ID"]
    assert reference in reply["Subject"]

    # The requester opens the link from the mail and sees the thread.
    requester.goto(link)
    expect(requester.locator(".thread")).to_contain_text("Zoom の再サインイン手順をご案内します。")
    expect(requester.locator(".thread")).to_contain_text("エラー 1001 が出ます")
    requester.locator("#id_body").fill("ありがとうございます。解決しました。")
    requester.locator("form button[type=submit]").click()
    expect(requester.locator(".thread")).to_contain_text("解決しました")
    staff.reload()
    expect(staff.locator("#thread")).to_contain_text("解決しました")


def test_sensitive_form_hand_back_with_consent(desk, new_context):
    requester = new_context().new_page()
    requester.goto(desk.url + "/form/sensitive/?lang=ja")
    fill_form(
        requester,
        email="hanako.e2e@st.univ.example",
        subject="成績評価について",
        body="ある学生の成績が誤っています",
        category="",
    )
    requester.locator("#id_sensitive_part").fill("学生の氏名と成績")
    requester.locator("#id_sensitive_reason").fill("学生スタッフが当事者の可能性")
    requester.locator("#inquiry-form button[type=submit]").click()
    reference = requester.get_by_test_id("reference").inner_text().strip()
    desk.mails_to("hanako.e2e@st.univ.example")

    student = new_context().new_page()
    sign_in(student, desk, "student1")
    student.goto(desk.url + "/console/?view=all&q=" + reference)
    expect(student.locator("#rows")).not_to_contain_text(reference)
    response = student.goto(desk.url + f"/console/i/{reference}/")
    assert response.status == 404

    faculty = new_context().new_page()
    sign_in(faculty, desk, "faculty1")
    faculty.goto(desk.url + "/console/?view=sensitive")
    faculty.get_by_role("link", name=reference).click()
    expect(faculty.locator(".badge.sensitive")).to_be_visible()
    faculty.locator("#hb-note").fill("一般的な内容のため、学生スタッフが対応できます。")
    faculty.locator("form[action$='/do/handback/'] button").click()

    mails = desk.mails_to("hanako.e2e@st.univ.example", count=2)
    consent_link = re.search(r"http://\S+/consent/\S+/", mails[-1].get_content()).group(0)
    # Still invisible until the requester consents.
    assert student.goto(desk.url + f"/console/i/{reference}/").status == 404

    requester.goto(consent_link)
    requester.locator("button[value=consent]").click()
    expect(requester.locator("[role=status]")).to_be_visible()

    assert student.goto(desk.url + f"/console/i/{reference}/").status == 200
    expect(student.locator(".subject")).to_have_text("成績評価について")
    student.goto(desk.url + "/console/?view=all")
    expect(student.locator("#rows")).to_contain_text(reference)
