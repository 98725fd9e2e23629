"""Reports in Chromium: a faculty member opens Reports from the console, reads a chart
and its table, changes the period, downloads a CSV; the page in print media hides the
controls; axe-core finds no serious violations (both languages)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import no_serious_violations, sign_in

pytestmark = pytest.mark.e2e


def test_faculty_reads_prints_and_exports_a_report(desk, new_context):
    from playwright.sync_api import expect

    page = new_context().new_page()
    sign_in(page, desk, "faculty1")
    page.get_by_role("link", name="Reports").or_(page.get_by_role("link", name="レポート")).click()
    page.wait_for_url("**/console/reports/**")
    channel = page.locator("#r-channel")
    expect(channel.locator("svg[role=img]")).to_be_visible()
    expect(channel.locator("table caption")).to_be_visible()
    # The demo's inquiries were received today: the email form row counts them.
    form_row = channel.locator("tbody tr").filter(has_text="メールフォーム")
    expect(form_row).to_be_visible()
    assert int(form_row.locator("td").last.inner_text()) >= 1
    no_serious_violations(page)

    # A period with nothing in it: every count is zero.
    page.locator("#r-from").fill("2001-01-01")
    page.locator("#r-to").fill("2001-01-31")
    page.locator("form.report-period button[type=submit]").click()
    page.wait_for_url("**from=2001-01-01**")
    expect(form_row.locator("td").last).to_have_text("0")

    with page.expect_download() as download:
        channel.locator("a[download]").click()
    path = download.value.path()
    data = open(path, "rb").read()
    assert data.startswith("\ufeff".encode())
    assert "メールフォーム" in data.decode("utf-8-sig")

    page.emulate_media(media="print")
    expect(page.locator("form.report-period")).to_be_hidden()
    expect(channel.locator("svg[role=img]")).to_be_visible()
    page.emulate_media(media="screen")

    page.goto(desk.url + "/console/reports/?lang=en")
    expect(page.get_by_role("heading", name="Inquiries by channel", level=2)).to_be_visible()
    no_serious_violations(page)
