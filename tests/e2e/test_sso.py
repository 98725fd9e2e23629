"""Single sign-on in the browser, against a real OpenID Connect provider (oidc-provider-mock,
in this process) and a real `madoguchi serve`: a requester signs in, sends the form
(pre-filled by the sign-in), chats, and finds both inquiries under "my inquiries"; a
member of staff signs in through the provider and lands in the console with the tier of
their group."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest
from playwright.sync_api import expect

from .conftest import running_desk

# The provider runs in this process: the deprecations inside its own libraries are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:(authlib|oidc_provider_mock)")


def _set_user(base: str, sub: str, claims: dict) -> None:
    request = urllib.request.Request(
        f"{base}/users/{sub}",
        data=json.dumps(claims).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204


@pytest.fixture(scope="module")
def idp():
    try:
        import oidc_provider_mock
    except ImportError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"oidc-provider-mock is not installed ({exc}); pip install -e '.[test]'")
    with oidc_provider_mock.run_server_in_thread(require_nonce=True) as server:
        base = f"http://localhost:{server.server_port}"
        _set_user(
            base,
            "hanako",
            {
                "email": "hanako.sato@example.ac.jp",
                "email_verified": True,
                "name": "佐藤 花子",
                "eduperson_affiliation": ["student"],
            },
        )
        _set_user(
            base,
            "prof-kato",
            {
                "email": "kato@example.ac.jp",
                "email_verified": True,
                "name": "加藤 教授",
                "groups": ["desk-faculty"],
            },
        )
        yield base


@pytest.fixture(scope="module")
def sso_desk(tmp_path_factory, idp):
    with running_desk(
        tmp_path_factory.mktemp("sso-desk"),
        MADOGUCHI_OIDC_DISCOVERY_URL=f"{idp}/.well-known/openid-configuration",
        MADOGUCHI_OIDC_CLIENT_ID="madoguchi-e2e",
        MADOGUCHI_OIDC_CLIENT_SECRET="e2e-secret",
        MADOGUCHI_OIDC_NAME="大学アカウント",
        MADOGUCHI_OIDC_STAFF_GROUPS="desk-faculty=faculty",
    ) as desk:
        yield desk


def _through_the_provider(page, sub: str) -> None:
    """The provider's own page: sign in as ``sub``."""
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_a_requester_signs_in_files_chats_and_finds_both(sso_desk, new_context):
    page = new_context().new_page()
    page.goto(sso_desk.url + "/?lang=ja")
    page.get_by_role("link", name="サインイン").click()
    page.get_by_role("link", name="大学アカウントでサインイン").click()
    _through_the_provider(page, "hanako")
    # Back where they were (the portal), signed in: the header offers their inquiries.
    expect(page.get_by_role("link", name="自分のお問い合わせ")).to_be_visible()

    # The form comes pre-filled with what the provider said.
    page.goto(sso_desk.url + "/form/?lang=ja")
    expect(page.locator("#id_email")).to_have_value("hanako.sato@example.ac.jp")
    expect(page.locator("#id_name")).to_have_value("佐藤 花子")
    page.locator("#id_email_confirm").fill("hanako.sato@example.ac.jp")
    page.locator("#id_common_id").fill("0123456789")
    page.locator("#id_affiliation").fill("工学部")
    page.locator("#id_year_or_title").fill("2年")
    page.locator("#id_category").select_option("account")
    page.locator("#id_subject").fill("e2e-sso: パスワードを変更したい")
    page.locator("#id_body").fill("変更の手順を教えてください。")
    page.locator("form button[type=submit].primary").click()
    page.wait_for_url("**/form/done/")

    # A chat while signed in is theirs too.
    page.goto(sso_desk.url + "/chat/?lang=ja")
    expect(page.locator("#chat")).to_have_attribute("data-connected", "1")
    page.locator("#chat-input").fill("e2e-sso: Zoom の授業に入れません")
    page.locator("#chat-input").press("Enter")
    expect(page.locator("#chat-list li.chat-msg.bot").first).to_be_visible()  # the bot answered

    page.goto(sso_desk.url + "/my/?lang=ja")
    rows = page.locator("table.my-inquiries tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.my-inquiries")).to_contain_text("e2e-sso: パスワードを変更したい")
    expect(page.locator("table.my-inquiries")).to_contain_text("チャット")
    rows.filter(has_text="パスワード").get_by_role("link").click()
    expect(page.locator("main")).to_contain_text("変更の手順を教えてください。")


def test_staff_sign_in_through_the_provider_gets_the_tier_of_their_group(sso_desk, new_context):
    page = new_context().new_page()
    page.goto(sso_desk.url + "/accounts/login/?next=/console/")
    page.get_by_role("link", name="大学アカウントでサインイン").click()
    _through_the_provider(page, "prof-kato")
    page.wait_for_url("**/console/**")
    tier = sso_desk.manage(
        "from madoguchi.accounts.models import User;"
        "print(User.objects.get(email='kato@example.ac.jp').tier)"
    ).split()[-1]
    assert tier == "faculty"
    # Faculty see the faculty pages (student staff do not).
    expect(page.get_by_role("link", name="SLA達成状況")).to_be_visible()
