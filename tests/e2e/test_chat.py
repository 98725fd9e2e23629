"""The chat widget in a real browser: a requester on another site's page that embeds the
widget with one script tag, operators in the console, the desk as a real server."""

from __future__ import annotations

import functools
import http.server
import re
import threading

import pytest
from playwright.sync_api import expect

from tests.conftest import free_port

from .conftest import running_desk, sign_in

HOST_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main><h1>{title}</h1><p><a href="{other}">{other}</a></p></main>
<script>window.madoguchiChat = {{lang: "ja", title: "サポート窓口", color: "#8a1538"}};</script>
<script src="{desk}/widget.js" async></script>
</body></html>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The institution's own static site, on another origin than the desk."""
    root = tmp_path_factory.mktemp("host-site")
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://localhost:{port}"
    server.shutdown()


@pytest.fixture(scope="module")
def chat_desk(tmp_path_factory, site):
    root, origin = site
    with running_desk(
        tmp_path_factory.mktemp("chat-desk"), MADOGUCHI_CHAT_WIDGET_ORIGINS=origin
    ) as desk:
        for name, other in (("index.html", "page2.html"), ("page2.html", "index.html")):
            (root / name).write_text(
                HOST_PAGE.format(title=name, other=other, desk=desk.url), encoding="utf-8"
            )
        yield desk


def set_chat_hours(desk, *, open_now: bool) -> None:
    """Operators' hours for chat: 24 h, or closed today and tomorrow (Tokyo time)."""
    desk.manage(f"""
import datetime as dt
from zoneinfo import ZoneInfo
from madoguchi.hours import always_open
from madoguchi.sla.models import BusinessSchedule, ChannelHours
if {open_now!r}:
    name = "always"
    definition = always_open("Asia/Tokyo").to_dict()
else:
    name = "closed-e2e"
    today = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date()
    definition = always_open("Asia/Tokyo").to_dict()
    definition["exceptions"] = [{{"date": str(today + dt.timedelta(days=d)), "kind": "closed"}} for d in (0, 1)]
schedule, _ = BusinessSchedule.objects.update_or_create(
    name=name, defaults={{"label_ja": name, "label_en": name, "definition": definition}})
ChannelHours.objects.update_or_create(channel="chat", defaults={{"schedule": schedule}})
""")


def open_widget(page, url):
    page.goto(url)
    launcher = page.get_by_role("button", name="ここからチャットで相談")
    expect(launcher).to_be_visible()
    launcher.click()
    dialog = page.get_by_role("dialog", name="サポート窓口")
    expect(dialog).to_be_visible()
    frame = page.frame_locator("iframe[title='サポート窓口']")
    expect(frame.locator("#chat")).to_have_attribute("data-connected", "1")
    return launcher, frame


def say(frame, text):
    box = frame.get_by_role("textbox")
    box.fill(text)
    box.press("Enter")


def ask_for_a_person(frame, button):
    button.click()
    category = frame.locator("#chat-category")
    if category.is_visible():
        frame.locator("#chat-member").select_option("student_current")
        frame.locator("#chat-member-go").click()


def no_dialogs(page):
    fired = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    return fired


def test_out_of_hours_the_widget_offers_mail_and_keeps_the_question(chat_desk, site, new_context):
    set_chat_hours(chat_desk, open_now=False)
    _root, origin = site
    page = new_context().new_page()
    _launcher, frame = open_widget(page, origin + "/index.html")
    status = frame.locator("#chat-status")
    expect(status).to_contain_text("現在オペレーターは対応していません")  # said up front
    expect(status).to_contain_text(re.compile(r"次の対応開始は\d+月\d+日"))

    # "Talk to a person" before any message says what to do instead of nothing.
    frame.locator("#chat-person").click()
    expect(status).to_contain_text("まずご質問を書いてください")

    say(frame, "研究室のプリンタの紙詰まりを直したい e2e-offhours")
    bot = frame.locator("li.chat-msg.bot").last
    expect(bot.locator(".offers [data-offer=mail]")).to_be_visible()
    say(frame, "人と話したいです")
    # The truth first, once: nobody now, when they are back, the two ways on.
    answer = frame.locator("li.chat-msg.bot").last
    expect(answer).to_contain_text("現在オペレーターは対応していません")
    expect(answer).to_contain_text(re.compile(r"\d+月\d+日"))
    expect(answer).not_to_contain_text("おつなぎします")
    expect(answer).not_to_contain_text("お待ちになりますか")
    expect(answer.locator(".offers button")).to_have_count(2)
    assert frame.locator("#chat-list .offers [data-offer=person]").count() == 0

    # The footer's "talk to a person" answers at once, without "who are you", and offers
    # nothing twice.
    events_before = frame.locator("li.chat-msg.event").count()
    frame.locator("#chat-person").click()
    expect(frame.locator("li.chat-msg.event")).to_have_count(events_before + 1)
    expect(frame.locator("#chat-category")).to_be_hidden()
    assert frame.locator("li.chat-msg.event").last.locator(".offers").count() == 0

    answer.locator("[data-offer=mail]").click()  # "get the answer by mail"
    frame.locator("#chat-mail-address").fill("offhours@example.ac.jp")
    frame.locator("#chat-mail button[type=submit]").click()
    expect(frame.locator("#chat")).to_have_attribute("data-state", "email")
    mail = chat_desk.mails_to("offhours@example.ac.jp")[0]
    assert re.search(r"Q-[A-Z0-9]{8}", mail["Subject"])


def test_bot_rules_hand_over_queue_operator_reconnect_transfer_mail_and_rating(
    chat_desk, site, new_context
):
    set_chat_hours(chat_desk, open_now=True)
    _root, origin = site
    requester_context = new_context()
    page = requester_context.new_page()
    dialogs = no_dialogs(page)
    launcher, frame = open_widget(page, origin + "/index.html")

    # the bot answers from the FAQ and asks whether it helped
    say(frame, "Zoomにサインインできません")
    answer = frame.locator("li.chat-msg.bot").last
    expect(answer.locator(".title")).to_contain_text("Zoom")
    expect(answer.locator("a").last).to_have_attribute("href", re.compile(r"/faq/zoom-sign-in/"))
    answer.get_by_role("button", name="はい").click()
    expect(answer.locator(".helpful")).not_to_contain_text("はい")

    # a topic rule: exams are for the form only
    say(frame, "期末試験の時間が分かりません")
    rule = frame.locator("li.chat-msg.bot", has_text="試験").last
    expect(rule.get_by_role("link")).to_have_attribute("href", re.compile(r"/form/\?category=exam"))

    # hostile text stays text
    say(frame, "<img src=x onerror=alert(1)> e2e-hostile")
    expect(frame.locator("li.chat-msg.requester").last).to_contain_text(
        "<img src=x onerror=alert(1)>"
    )

    # an operator comes on duty
    operator_context = new_context()
    operator = operator_context.new_page()
    sign_in(operator, chat_desk, "student1")
    operator.goto(chat_desk.url + "/console/chat/")
    operator.locator("input[name=available][value='1']").check()
    with operator.expect_navigation():
        operator.locator("form.chat-availability button[type=submit]").click()

    # hand-over: the requester joins the queue and sees their place
    say(frame, "担当者と話したいです")
    reply = frame.locator("li.chat-msg.bot", has_text="お待ちになりますか")
    expect(reply).to_be_visible()  # an operator is on duty: the bot offers one
    ask_for_a_person(frame, reply.locator("[data-offer=person]"))
    expect(frame.locator("#chat")).to_have_attribute("data-state", "queued")
    expect(frame.locator("#chat-status")).to_contain_text("1")

    # the operator sees the chat waiting (live) and accepts it
    row = operator.locator("table.chat-queue tbody tr").first
    expect(row).to_be_visible()
    reference = row.get_attribute("data-reference")
    row.get_by_role("button").click()
    expect(operator).to_have_url(re.compile(f"/console/i/{reference}/"))
    expect(frame.locator("#chat")).to_have_attribute("data-state", "active")
    expect(operator.locator("#thread")).to_contain_text(
        "Zoomにサインインできません"
    )  # the bot transcript

    # messages both ways
    operator.locator("#chat-body").fill("担当の student です。どうされましたか？")
    operator.locator("#chat-body").press("Enter")
    expect(frame.locator("li.chat-msg.reply").last).to_contain_text("どうされましたか")
    say(frame, "Zoom の SSO 画面でエラーが出ます")
    expect(operator.locator("#thread")).to_contain_text("SSO 画面でエラー")

    # the requester's connection drops; both sides write meanwhile; nothing is lost
    requester_context.set_offline(True)
    expect(frame.locator("#chat")).to_have_attribute("data-connected", "0")
    say(frame, "オフライン中に書いたメッセージ")
    expect(frame.locator("li.chat-msg.pending")).to_have_count(1)
    operator.locator("#chat-body").fill("エラー番号を教えてください")
    operator.locator("#chat-body").press("Enter")
    expect(operator.locator("#thread")).to_contain_text("エラー番号を教えてください")
    requester_context.set_offline(False)
    expect(frame.locator("#chat")).to_have_attribute("data-connected", "1", timeout=20000)
    expect(frame.locator("li.chat-msg.reply").last).to_contain_text("エラー番号を教えてください")
    expect(frame.locator("li.chat-msg.pending")).to_have_count(0)
    expect(operator.locator("#thread")).to_contain_text("オフライン中に書いたメッセージ")
    assert operator.locator("#thread").get_by_text("オフライン中に書いたメッセージ").count() == 1

    # continuity across the host site's pages (its own first-party cookie)
    cookies = {c["name"]: c for c in requester_context.cookies(origin)}
    assert "madoguchi_chat" in cookies
    page.goto(origin + "/page2.html")
    launcher = page.get_by_role("button", name="ここからチャットで相談")
    launcher.click()
    frame = page.frame_locator("iframe[title='サポート窓口']")
    expect(frame.locator("li.chat-msg.reply").last).to_contain_text("エラー番号を教えてください")
    expect(frame.locator("#chat")).to_have_attribute("data-state", "active")

    # transfer to a faculty member, who continues by mail
    pk, name = chat_desk.manage(
        "from django.contrib.auth import get_user_model; u = get_user_model().objects.get(username='faculty1');"
        "print(u.pk); print(u)"
    ).splitlines()[-2:]
    operator.locator("#chat-transfer").select_option(value=pk)
    operator.locator("#chat-transfer").locator("xpath=..").get_by_role("button").click()
    expect(frame.locator("li.chat-msg.event").last).to_contain_text(name)
    faculty = new_context().new_page()
    sign_in(faculty, chat_desk, "faculty1")
    faculty.goto(f"{chat_desk.url}/console/i/{reference}/")
    expect(faculty.locator("#chat-composer")).to_be_visible()
    faculty.locator("form[action$='/mail/'] button").click()
    expect(frame.locator("#chat")).to_have_attribute("data-state", "email")

    # the requester leaves an address (the desk had none) and rates the chat
    frame.locator("#chat-mail-address").fill("requester-e2e@example.ac.jp")
    frame.locator("#chat-mail button[type=submit]").click()
    chat_desk.mails_to("requester-e2e@example.ac.jp")
    frame.locator("#chat-rate").get_by_label("5", exact=True).check()
    frame.locator("#chat-rate button[type=submit]").click()
    expect(frame.locator("#chat-rate")).to_be_hidden()
    faculty.reload()
    expect(faculty.locator("#chat-box")).to_contain_text("5")
    assert dialogs == []


def test_widget_is_accessible_and_full_screen_on_a_phone(chat_desk, site, new_context):
    from axe_playwright_python.sync_playwright import Axe

    _root, origin = site
    page = new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ).new_page()
    launcher, frame = open_widget(page, origin + "/index.html")
    box = page.locator("[data-madoguchi]").evaluate(
        "host => { const r = host.shadowRoot.querySelector('.panel').getBoundingClientRect();"
        " return [r.width, r.height]; }"
    )
    assert box == [390, 844]
    # Full screen, the panel is modal: the page behind is inert and focus stays in the chat.
    expect(page.get_by_role("dialog")).to_have_attribute("aria-modal", "true")
    assert page.locator("main").evaluate("el => el.inert") is True
    expect(launcher).to_be_hidden()
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.madoguchi") == "chat"
    # focus moves into the chat; Escape closes it and gives focus back to the launcher
    frame.get_by_role("textbox").press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert page.locator("main").evaluate("el => el.inert") is False

    axe = Axe()
    serious = {"serious", "critical"}
    host = axe.run(page)
    assert [v["id"] for v in host.response["violations"] if v["impact"] in serious] == []
    standalone = new_context().new_page()
    standalone.goto(chat_desk.url + "/chat/embed/?lang=ja")
    results = axe.run(standalone)
    assert [v["id"] for v in results.response["violations"] if v["impact"] in serious] == []
    frame_log = standalone.get_by_role("log")
    expect(frame_log).to_have_attribute("aria-live", "polite")


def test_on_a_desktop_the_open_panel_never_hides_the_focused_control(chat_desk, site, new_context):
    root, origin = site
    (root / "tall.html").write_text(
        HOST_PAGE.format(title="tall", other="index.html", desk=chat_desk.url).replace(
            "</main>",
            '<div style="height:1400px"></div>'
            '<p style="text-align:right"><button id="under">申し込む</button></p></main>',
        ),
        encoding="utf-8",
    )
    page = new_context(viewport={"width": 1280, "height": 800}).new_page()
    open_widget(page, origin + "/tall.html")
    expect(page.get_by_role("dialog")).to_have_attribute("aria-modal", "false")
    # Scroll so that the button sits right under the open panel, then give it focus.
    page.evaluate(
        "() => { const b = document.getElementById('under').getBoundingClientRect();"
        " window.scrollBy(0, b.bottom - innerHeight + 40); }"
    )
    page.locator("#under").focus()
    covered = page.evaluate(
        """() => {
        const b = document.getElementById('under').getBoundingClientRect();
        const panel = document.querySelector('[data-madoguchi]').shadowRoot.querySelector('.panel');
        if (panel.hidden) return false;
        const p = panel.getBoundingClientRect();
        return !(b.right <= p.left || b.left >= p.right || b.bottom <= p.top || b.top >= p.bottom);
    }"""
    )
    assert covered is False
    expect(page.locator("#under")).to_be_focused()
