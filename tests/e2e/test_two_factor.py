"""Two-factor sign-in in the browser: a staff member enrols from the console (QR code, key,
first code), keeps the recovery codes, signs out, and signs in again with the password and
a code from the "app" (computed here from the key the page showed)."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from madoguchi.accounts import totp

USERNAME = "e2e-2fa"
PASSWORD = "e2e two factor pass"


def test_enrol_then_sign_in_with_a_code(desk, new_context):
    desk.manage(
        "from madoguchi.accounts.models import User; "
        f"u = User(username={USERNAME!r}, tier='faculty', display_name='二要素 花子'); "
        f"u.set_password({PASSWORD!r}); u.save()"
    )
    page = new_context().new_page()
    page.goto(desk.url + "/accounts/login/?next=/console/")
    page.locator("#id_username").fill(USERNAME)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/console/**")

    page.locator('header a[href="/accounts/two-factor/"]').click()
    page.locator('a[href="/accounts/two-factor/enrol/"]').click()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("code.secret").first.inner_text().replace(" ", "")
    assert len(secret) == 32
    enrolled_step = totp.step_at(time.time())
    page.locator("#id_code").fill(totp.code_for_step(secret, enrolled_step))
    page.locator("main form button[type=submit]").click()
    codes = page.locator(".recovery-codes li")
    expect(codes).to_have_count(10)
    page.locator("a.button.primary").click()
    expect(page.locator("main h1")).to_be_visible()
    assert "/accounts/two-factor/" in page.url

    page.locator('form[action="/accounts/logout/"] button').click()
    page.goto(desk.url + "/accounts/login/?next=/console/")
    page.locator("#id_username").fill(USERNAME)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/accounts/login/code/")
    # The code used to enrol is spent: the app's next one (within the drift) signs in.
    step = max(totp.step_at(time.time()), enrolled_step + 1)
    page.locator("#id_code").fill(totp.code_for_step(secret, step))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/console/**")
    expect(page.locator('form[action="/accounts/logout/"] button')).to_be_visible()
