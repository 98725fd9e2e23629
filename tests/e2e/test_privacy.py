"""A faculty member's privacy work in the browser (issue 15): a statistics release built,
previewed and published, read on the public page with its small counts suppressed; the
audit log; every page accessible (axe-core: no serious violations), in ja and en."""

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
