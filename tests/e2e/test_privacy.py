"""A faculty member's privacy work in the browser (issue 15): a statistics release built,
previewed and published, read on the public page with its small counts suppressed; a case
study proposed from a solved inquiry, reviewed, approved and downloaded with nothing
identifying in it; the audit log; every page accessible (axe-core: no serious
violations), in ja and en."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from .conftest import no_serious_violations, sign_in


def test_a_faculty_member_publishes_statistics_and_reads_the_audit_log(desk, new_context):
    page = new_context().new_page()
    sign_in(page, desk, "faculty1")
    page.goto(desk.url + "/console/?lang=ja")
    page.get_by_role("link", name="公開統計").click()
    expect(page.locator("main h1")).to_have_text("公開統計")
    no_serious_violations(page)

    today = dt.date.today()
    page.locator("#id_period_from").fill(str(today - dt.timedelta(days=365)))
    page.locator("#id_period_to").fill(str(today))
    page.locator("#id_rows").select_option("channel")
    page.locator("#id_columns").select_option("lang")
    page.locator("main form button[type=submit]").click()
    # The preview: the suppressed table (the demo desk has few inquiries: small cells).
    table = page.locator("main table").first
    expect(table).to_be_visible()
    expect(table).to_contain_text(re.compile(r"< 10|x"))
    no_serious_violations(page)
    page.get_by_role("button", name="公開", exact=True).click()
    public = page.get_by_role("link", name="公開ページ")
    expect(public.first).to_be_visible()
    href = public.first.get_attribute("href")
    assert href and "/statistics/" in href

    # The public page, for anyone: counts only, small ones suppressed.
    reader = new_context().new_page()
    reader.goto(desk.url + href + "?lang=en")
    expect(reader.locator("main table").first).to_contain_text(re.compile(r"< 10|x"))
    assert "@" not in reader.locator("main").inner_text()  # no address, no identifier
    no_serious_violations(reader)

    # The audit log shows the publication.
    page.goto(desk.url + "/console/audit/?lang=ja")
    expect(page.locator("main h1")).to_have_text("監査ログ")
    expect(page.locator("table.audit-log")).to_contain_text("stats.release_published")
    no_serious_violations(page)


def test_a_faculty_member_writes_a_case_study_from_a_solved_inquiry(desk, new_context):
    reference = desk.manage(
        "from madoguchi.inquiries import actions\n"
        "from madoguchi.inquiries.actions import NewInquiry\n"
        "from django.contrib.auth import get_user_model\n"
        "staff = get_user_model().objects.get(username='faculty1')\n"
        "i, _ = actions.do_create_inquiry(NewInquiry(name='山田 太郎', email='taro.yamada@example.ac.jp',"
        " subject='Zoomの録画が見つかりません', body='山田です。学籍番号0123456789、電話は090-1234-5678です。'),"
        " channel='form')\n"
        "actions.do_reply(i, '山田様、録画はクラウドの一覧にあります。', acting_user=staff)\n"
        "actions.do_change_status(i, 'solved', acting_user=staff)\n"
        "print(i.reference)\n"
    ).split()[-1]
    page = new_context().new_page()
    sign_in(page, desk, "faculty1")
    page.goto(f"{desk.url}/console/i/{reference}/?lang=ja")
    page.get_by_role("button", name="事例を作成する").click()
    text = page.locator("main textarea").first
    expect(text).to_be_visible()
    draft = text.input_value()
    for secret in ("山田", "0123456789", "090-1234-5678", "taro.yamada"):
        assert secret not in draft, (secret, draft)
    no_serious_violations(page)
    page.get_by_role("button", name="公開用に承認").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="テキスト形式でダウンロード").click()
    exported = download.value.path().read_text(encoding="utf-8")
    assert "録画" in exported and "山田" not in exported and reference not in exported
