"""Online calls in a real browser: two Chromium pages (the requester on /call/, the operator
in the console) against a real `madoguchi serve`, with Chromium's fake microphone and
fake window capture, so that the WebRTC connection between them is real (loopback) and
what each side receives is read from `getStats()`.

One desk for the module (housekeeping every second, for the time limit), one browser that
shares a *window* and one, started only for its test, whose capture is a whole *screen*."""

from __future__ import annotations

import functools
import http.server
import re
import threading
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import free_port

from .conftest import CHROMIUM, no_serious_violations, running_desk, sign_in

MEDIA_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]

# Every RTCPeerConnection a page makes, for the test to read its state and statistics.
RECORD_PEERS = """(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();"""

STATS = """async () => {
  const pc = (window.__pcs || []).at(-1);
  const out = {state: pc ? pc.connectionState : "none", audio: 0, video: false, decoded: 0, received: 0, sending_video: false};
  if (!pc) return out;
  (await pc.getStats()).forEach((r) => {
    if (r.type !== "inbound-rtp") return;
    if (r.kind === "audio") out.audio += r.packetsReceived || 0;
    if (r.kind === "video") {
      out.video = true;
      out.decoded += r.framesDecoded || 0;
      out.received += r.framesReceived || 0;
    }
  });
  out.sending_video = pc.getSenders().some((s) => s.track && s.track.kind === "video");
  return out;
}"""

# What the browser's picker gave the page, and, when ``__ignoreHints`` is set, a browser
# that ignores the page's hints (monitorTypeSurfaces and the rest) and offers a screen.
RECORD_CAPTURES = """(() => {
  if (!window.MediaDevices) return;  // not a secure context (the first about:blank)
  const native = MediaDevices.prototype.getDisplayMedia;
  window.__captures = [];
  MediaDevices.prototype.getDisplayMedia = async function (options) {
    const stream = await native.call(this, window.__ignoreHints ? {video: true} : options);
    const track = stream.getVideoTracks()[0];
    window.__captures.push([track, track.getSettings().displaySurface]);
    return stream;
  };
})();"""
CAPTURES = "() => window.__captures.map(([track, surface]) => [surface, track.readyState])"
NO_SCREEN_CAPTURE = "if (window.MediaDevices) delete MediaDevices.prototype.getDisplayMedia;"


def _launch(browser, surface: str):
    return browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*MEDIA_ARGS, f"--use-fake-device-for-media-stream=display-media-type={surface}"],
    )


@pytest.fixture(scope="module")
def call_desk(tmp_path_factory):
    with running_desk(
        tmp_path_factory.mktemp("call-desk"), MADOGUCHI_HOUSEKEEPING_SECONDS="1"
    ) as desk:
        desk.manage(OPEN_HOURS + ON_DUTY)
        yield desk


@pytest.fixture(scope="module")
def media(browser):
    """Chromium with a fake microphone and a fake *window* to share (the conftest's
    `browser` fixture decides whether Chromium is there: skipped, or failed under CI)."""
    launched = _launch(browser, "window")
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def operator(media, call_desk):
    """student1 in the console, on duty; one page for the module."""
    context = _context(media)
    page = context.new_page()
    sign_in(page, call_desk, "student1")
    yield page
    context.close()


@pytest.fixture
def requester(media):
    contexts = []

    def make(browser=None, script="", **kwargs):
        context = _context(browser or media, **kwargs)
        if script:
            context.add_init_script(script)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _context(browser, **kwargs):
    kwargs.setdefault("locale", "ja-JP")
    context = browser.new_context(**kwargs)
    context.set_default_timeout(20000)
    context.add_init_script(RECORD_PEERS)
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    ERRORS[id(context)] = errors
    return context


ERRORS: dict[int, list[str]] = {}


def no_script_errors(*pages) -> None:
    assert [ERRORS.get(id(p.context)) for p in pages] == [[] for _ in pages]


OPEN_HOURS = """
from madoguchi.hours import always_open
from madoguchi.sla.models import BusinessSchedule, ChannelHours
schedule, _ = BusinessSchedule.objects.update_or_create(
    name="calls-e2e-open", defaults={"label_ja": "e2e", "label_en": "e2e",
    "definition": always_open("Asia/Tokyo").to_dict()})
ChannelHours.objects.update_or_create(channel="call", defaults={"schedule": schedule})
"""

CLOSED_HOURS = """
import datetime as dt
from zoneinfo import ZoneInfo
from madoguchi.hours import always_open
from madoguchi.sla.models import BusinessSchedule, ChannelHours
today = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date()
definition = always_open("Asia/Tokyo").to_dict()
definition["exceptions"] = [
    {"date": str(today + dt.timedelta(days=d)), "kind": "closed"} for d in (0, 1)]
schedule, _ = BusinessSchedule.objects.update_or_create(
    name="calls-e2e-closed", defaults={"label_ja": "e2e", "label_en": "e2e",
    "definition": definition})
ChannelHours.objects.update_or_create(channel="call", defaults={"schedule": schedule})
"""

ON_DUTY = """
from django.contrib.auth import get_user_model
from madoguchi.chat.models import OperatorStatus
OperatorStatus.objects.update_or_create(
    user=get_user_model().objects.get(username="student1"), defaults={"available": True})
"""


def stats(page) -> dict:
    return page.evaluate(STATS)


def wait_for(page, check, what: str, timeout: float = 20.0) -> dict:
    """Poll the page's WebRTC statistics until ``check`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        found = stats(page)
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {found}")
        time.sleep(0.25)


def choose_category(page, value: str = "student_current") -> None:
    """The demo's entitlements restrict calls, so the page asks who the requester is."""
    page.locator("#call-category").select_option(value)


def start_call(page, desk, topic: str, *, lang: str = "ja") -> None:
    page.goto(f"{desk.url}/call/?lang={lang}")
    root = page.locator("#call")
    expect(root).to_have_attribute("data-connected", "1")
    page.locator("#call-accept").check()
    choose_category(page)
    page.locator("#call-topic").fill(topic)
    page.locator("#call-start button[type=submit]").click()
    expect(root).to_have_attribute("data-state", "waiting")


def admit_from_the_queue(operator, desk, topic: str) -> str:
    """The operator's live page: the call appears in the queue; Admit opens its page."""
    if "/console/chat/" not in operator.url:
        operator.goto(desk.url + "/console/chat/")
    row = operator.locator("#call-queue tr", has_text=topic)
    expect(row).to_be_visible()  # pushed to the page live (call.queue)
    reference = row.get_attribute("data-reference")
    row.get_by_role("button").click()
    expect(operator).to_have_url(re.compile(f"/console/calls/{reference}/"))
    return reference


def both_connected(requester, operator) -> None:
    expect(requester.locator("#call")).to_have_attribute("data-state", "active")
    expect(requester.locator("#call")).to_have_attribute("data-media", "connected")
    expect(operator.locator("#console")).to_have_attribute("data-media", "connected")
    for page in (requester, operator):
        wait_for(page, lambda s: s["audio"] > 0, "audio packets received")


def end_from_the_console(operator, requester) -> None:
    operator.locator("form[data-action=end] button").click()
    expect(operator.locator("#console")).to_have_attribute("data-state", "ended")
    expect(requester.locator("#call")).to_have_attribute("data-state", "ended")


def attachments(desk, reference: str) -> int:
    return int(
        desk.manage(
            "from madoguchi.inquiries.models import Attachment;"
            f"print(Attachment.objects.filter(inquiry__reference={reference!r}).count())"
        ).split()[-1]
    )


# --- the page before a call -----------------------------------------------------------------


def test_the_call_page_asks_for_the_terms_and_is_accessible(call_desk, requester):
    page = requester()
    page.goto(call_desk.url + "/call/?lang=ja")
    expect(page.locator("#call")).to_have_attribute("data-connected", "1")
    page.locator("#call-topic").fill("Zoom の画面共有ができません")
    page.locator("#call-start button[type=submit]").click()
    # Not accepted: said beside the box, which gets focus; nothing starts.
    expect(page.locator("#call-accept-error")).not_to_be_empty()
    expect(page.locator("#call-accept")).to_be_focused()
    expect(page.locator("#call-accept")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#call")).to_have_attribute("data-state", "new")
    # Entitlements restrict calls (the demo: members only): who the requester is is asked
    # first, and a visitor who may not call is told why and offered the form.
    page.locator("#call-accept").check()
    page.locator("#call-start button[type=submit]").click()
    expect(page.locator("#call-category")).to_be_focused()
    expect(page.locator("#call-category-error")).not_to_be_empty()
    choose_category(page, "other")
    page.locator("#call-start button[type=submit]").click()
    expect(page.locator("#call-alert")).to_contain_text("構成員")
    expect(page.locator("#call-alert").get_by_role("link")).to_have_attribute(
        "href", re.compile(r"/form/")
    )
    expect(page.locator("#call")).to_have_attribute("data-state", "new")
    page.locator("#call-accept").uncheck()
    no_serious_violations(page)
    page.goto(call_desk.url + "/call/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Start the call")).to_be_visible()
    no_serious_violations(page)


def test_out_of_hours_the_call_offers_the_email_form_and_stores_nothing(call_desk, requester):
    call_desk.manage(CLOSED_HOURS)
    try:
        page = requester()
        page.goto(call_desk.url + "/call/?lang=en")
        # Said up front, with when calls are next available.
        expect(page.locator("#call-status")).to_contain_text("not available now")
        before = call_desk.manage(
            "from madoguchi.calls.models import Call; print(Call.objects.count())"
        ).split()[-1]
        page.locator("#call-accept").check()
        choose_category(page)
        page.locator("#call-topic").fill("Printer jam in room 301 e2e-closed")
        page.locator("#call-start button[type=submit]").click()
        alert = page.locator("#call-alert")
        expect(alert).to_contain_text("not available now")
        link = alert.get_by_role("link")
        expect(link).to_have_attribute("href", re.compile(r"/form/\?"))
        href = link.get_attribute("href")
        assert "subject=Printer+jam" in href and "lang=en" in href
        expect(page.locator("#call")).to_have_attribute("data-state", "new")
        after = call_desk.manage(
            "from madoguchi.calls.models import Call; print(Call.objects.count())"
        ).split()[-1]
        assert after == before
        link.click()
        expect(page).to_have_url(re.compile(r"/form/"))
        expect(page.locator("#id_subject")).to_have_value("Printer jam in room 301 e2e-closed")
    finally:
        call_desk.manage(OPEN_HOURS)


# --- a call from the queue -----------------------------------------------------------------


def test_a_call_from_the_queue_voice_a_shared_window_pause_and_screenshots(
    call_desk, media, operator, requester
):
    operator.goto(call_desk.url + "/console/chat/")
    operator.locator("input[name=available][value='1']").check()
    with operator.expect_navigation():
        operator.locator("form.chat-availability button[type=submit]").click()

    page = requester()
    topic = "Zoom の画面共有ができません e2e-queue"
    start_call(page, call_desk, topic)
    expect(page.locator("#call-place")).to_contain_text("1")  # first in the queue
    reference = admit_from_the_queue(operator, call_desk, topic)
    both_connected(page, operator)
    assert not stats(operator)["video"]  # nothing shared yet

    # The text chat, both ways, with "typing…" shown to the other side; an operator line
    # arrives as text, never HTML.
    page.locator("#call-input").press_sequentially("聞こえますか")
    expect(operator.locator("#call-typing")).to_be_visible()
    page.locator("#call-input").press("Enter")
    expect(operator.locator("#thread")).to_contain_text("聞こえますか")
    expect(operator.locator("#call-typing")).to_be_hidden()
    operator.locator("#call-body").press_sequentially("<b>はい</b>、聞こえます")
    expect(page.locator("#call-typing")).to_be_visible()
    operator.locator("#call-body").press("Enter")
    expect(page.locator("#call-typing")).to_be_hidden()
    reply = page.locator("#call-list li.reply").last
    expect(reply).to_contain_text("<b>はい</b>、聞こえます")
    expect(page.locator("#call-list li.pending")).to_have_count(0)
    # An internal note from the call page: in the inquiry's thread, never on the requester's.
    operator.locator("#call-note").fill("e2e-note: VPN client reinstalled")
    operator.locator("#call-note-form button").click()
    expect(operator.locator("#thread")).to_contain_text("e2e-note: VPN client reinstalled")
    expect(operator.locator("#console")).to_have_attribute("data-media", "connected")
    assert "e2e-note" not in page.locator("#call-list").inner_text()

    # The operator asks for one window; frames arrive on the operator's side.
    operator.locator("form[data-action=share] button").click()
    share = page.locator("#share-start")
    expect(share).to_be_visible()
    share.click()
    expect(page.locator("#share-pause")).to_be_visible()
    expect(operator.locator("#share-state")).to_have_text(
        re.compile("ウィンドウを共有中|Sharing a window")
    )
    wait_for(operator, lambda s: s["decoded"] > 0 and s["received"] > 0, "video frames decoded")

    # Paused: no frames at all (the track is taken off the sender); resumed: frames again.
    page.locator("#share-pause").click()
    expect(operator.locator("#share-state")).to_have_text(re.compile("一時停止|paused"))
    time.sleep(1.0)  # frames in flight
    paused = stats(operator)["received"]
    time.sleep(2.0)
    assert stats(operator)["received"] == paused
    page.locator("#share-resume").click()
    wait_for(operator, lambda s: s["received"] > paused + 5, "frames after resuming")

    # A screenshot, allowed: the requester sees what would be stored first.
    operator.locator("form[data-action=screenshot] button").click()
    prompt = page.locator("#call-shot")
    expect(prompt).to_be_visible()
    expect(page.locator("#shot-preview")).to_be_visible()
    assert page.locator("#shot-preview").evaluate("c => c.width * c.height") > 0
    page.locator("#shot-allow").click()
    expect(prompt).to_be_hidden()
    stored = operator.locator("#call-shot a")
    expect(stored).to_be_visible()
    expect(operator.locator("#call-shot img")).to_be_visible()  # read back from the desk
    href = stored.get_attribute("href")
    assert re.fullmatch(r"/console/files/\d+/", href)
    assert attachments(call_desk, reference) == 1

    # Stored for faculty (in the thread) and the operator, not for other student staff.
    faculty = _context(media).new_page()
    sign_in(faculty, call_desk, "faculty1")
    assert faculty.request.get(call_desk.url + href).status == 200
    faculty.goto(f"{call_desk.url}/console/i/{reference}/")
    expect(faculty.locator(f"#thread a[href='{href}']")).to_be_visible()
    other = _context(media).new_page()
    sign_in(other, call_desk, "student2")
    assert other.request.get(call_desk.url + href).status == 404
    faculty.context.close()
    other.context.close()

    # Denied: nothing stored.
    operator.locator("form[data-action=screenshot] button").click()
    expect(prompt).to_be_visible()
    page.locator("#shot-deny").click()
    expect(operator.locator("#call-shot")).not_to_contain_text(re.compile("保存しました|stored"))
    expect(operator.locator("#call-shot a")).to_have_count(0)
    time.sleep(0.5)
    assert attachments(call_desk, reference) == 1

    # An upload without the requester's consent is refused, whatever the page sends.
    forged = operator.evaluate(
        """async () => {
        const root = document.getElementById("console");
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = 8;
        const blob = await new Promise((r) => canvas.toBlob(r, "image/png"));
        const form = new FormData();
        form.append("image", blob, "x.png");
        form.append("token", "f".repeat(32));
        form.append("csrfmiddlewaretoken", root.querySelector("[name=csrfmiddlewaretoken]").value);
        const r = await fetch(root.dataset.screenshotUrl, {method: "POST", body: form,
            headers: {"X-Requested-With": "fetch"}});
        return [r.status, (await r.json()).ok];
    }"""
    )
    assert forged == [403, False]
    assert attachments(call_desk, reference) == 1

    # The requester hangs up: both pages end, media closed.
    page.locator("#call-hangup").click()
    expect(page.locator("#call")).to_have_attribute("data-state", "ended")
    expect(operator.locator("#console")).to_have_attribute("data-state", "ended")
    expect(page.locator("#call-new")).to_be_visible()
    assert stats(page)["state"] == "closed" and stats(operator)["state"] == "closed"
    no_script_errors(page, operator)


def test_a_whole_screen_is_refused_and_nothing_is_sent(call_desk, browser, operator, requester):
    screen = _launch(browser, "monitor")
    try:
        page = requester(screen, RECORD_CAPTURES)
        topic = "画面全体を共有してみる e2e-monitor"
        start_call(page, call_desk, topic)
        admit_from_the_queue(operator, call_desk, topic)
        both_connected(page, operator)
        operator.locator("form[data-action=share] button").click()
        refused = re.compile("共有しませんでした|not shared")
        # Asked for a window, a picker that only has a screen offers this tab instead
        # (Chromium honours monitorTypeSurfaces: "exclude"); a picker that ignores the
        # page's hints gives the whole screen. The page stops either at once.
        page.locator("#share-start").click()
        expect(page.locator("#share-note")).to_contain_text(refused)
        page.evaluate("window.__ignoreHints = true")
        page.locator("#share-note").evaluate("el => { el.textContent = ''; }")
        page.locator("#share-start").click()
        expect(page.locator("#share-note")).to_contain_text(refused)
        assert page.evaluate(CAPTURES) == [["browser", "ended"], ["monitor", "ended"]]
        expect(page.locator("#share-pause")).to_be_hidden()
        assert stats(page)["sending_video"] is False
        no_script_errors(page)
        # A moment for anything that might have been sent, then: no video on the
        # operator's side, and the desk never heard of a live share.
        time.sleep(2.0)
        assert stats(operator)["video"] is False
        expect(operator.locator("#share-state")).to_have_text(re.compile("依頼中|Asked"))
        end_from_the_console(operator, page)
    finally:
        screen.close()


# --- a connection code, the time limit ------------------------------------------------------


def test_a_connection_code_joins_the_operator_and_the_time_limit_ends_the_call(
    call_desk, operator, requester
):
    # A requester who wrote by the form calls the desk; the operator opens the inquiry.
    reference = call_desk.manage(
        "from madoguchi.inquiries.models import Inquiry;"
        "print(Inquiry.objects.filter(channel='form', lane='general').order_by('pk')[0].reference)"
    ).split()[-1]
    operator.goto(f"{call_desk.url}/console/i/{reference}/")
    operator.get_by_role("button", name=re.compile("Invite to a call|通話に招待")).click()
    code_text = operator.locator("#call-code .code")
    expect(code_text).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    code = code_text.inner_text().replace(" ", "")

    # The link the operator reads out carries the code; the requester accepts the terms
    # and joins the operator directly, without the queue.
    page = requester(script=NO_SCREEN_CAPTURE)  # as on a phone
    page.goto(f"{call_desk.url}/call/?lang=ja&code={code}")
    expect(page.locator("#call")).to_have_attribute("data-connected", "1")
    expect(page.locator("#code-input")).to_have_value(code)
    page.locator("#call-accept").check()
    page.locator("#call-code button[type=submit]").click()
    expect(page.locator("#call")).to_have_attribute("data-state", "active")
    joined = operator.locator("#call-code a")
    expect(joined).to_be_visible()  # pushed to the inquiry page
    joined.click()
    expect(operator).to_have_url(re.compile(f"/console/calls/{reference}/"))
    both_connected(page, operator)
    no_serious_violations(operator)
    no_serious_violations(page)

    # No screen capture in this browser: asked to share, the page says what it needs;
    # voice goes on.
    operator.locator("form[data-action=share] button").click()
    expect(page.locator("#share-note")).to_contain_text(re.compile("パソコン|computer"))
    expect(page.locator("#share-start")).to_be_hidden()
    audio = stats(operator)["audio"]
    wait_for(operator, lambda s: s["audio"] > audio, "audio after the share was asked")

    # The requester's network drops: the socket comes back and the call's token reopens
    # the call; a line written meanwhile is sent then, and stored once.
    page.context.set_offline(True)
    expect(page.locator("#call")).to_have_attribute("data-connected", "0")
    page.locator("#call-input").fill("オフライン中に書いたメッセージ")
    page.locator("#call-input").press("Enter")
    expect(page.locator("#call-list li.pending")).to_have_count(1)
    page.context.set_offline(False)
    expect(page.locator("#call")).to_have_attribute("data-connected", "1")
    expect(page.locator("#call")).to_have_attribute("data-state", "active")
    expect(page.locator("#call-list li.pending")).to_have_count(0)
    expect(operator.locator("#thread")).to_contain_text("オフライン中に書いたメッセージ")
    assert operator.locator("#thread").get_by_text("オフライン中に書いたメッセージ").count() == 1

    # Either page reloaded: the voice comes back on a new connection. The operator's new
    # page tells the requester's page at once (peer_ready), which connects to it.
    page.reload()
    both_connected(page, operator)
    pages_before = page.locator("#call").get_attribute("data-operator-pages") or "0"
    operator.reload()
    expect(page.locator("#call")).not_to_have_attribute("data-operator-pages", pages_before)
    expect(operator.locator("#console")).to_have_attribute("data-media", "connected", timeout=45000)
    both_connected(page, operator)
    no_script_errors(page, operator)

    # The time limit: the deadline moved close; housekeeping warns, then ends the call.
    call_desk.manage(
        "import datetime as dt\n"
        "from madoguchi.calls.models import Call\n"
        "from madoguchi.core.clock import now\n"
        f"Call.objects.filter(inquiry__reference={reference!r}, state='active')"
        ".update(deadline_at=now() + dt.timedelta(seconds=6))\n"
    )
    expect(page.locator("#call-status")).to_contain_text(re.compile("1分|1 min"))
    assert page.locator("#call-timer").inner_text() <= "1:00"
    expect(page.locator("#call")).to_have_attribute("data-state", "ended", timeout=30000)
    expect(page.locator("#ended-text")).to_contain_text(re.compile("上限|time limit"))
    expect(operator.locator("#console")).to_have_attribute("data-state", "ended")
    assert stats(page)["state"] in ("closed", "none")

    # The operator's page of the ended call, in English, is accessible too.
    operator.goto(f"{call_desk.url}/console/calls/{reference}/?lang=en")
    expect(operator.locator("html")).to_have_attribute("lang", "en")
    expect(operator.locator("#console")).to_have_attribute("data-state", "ended")
    no_serious_violations(operator)
    operator.goto(f"{call_desk.url}/console/?lang=ja")


def test_the_widget_offers_a_call_only_when_the_host_page_asks(call_desk, requester, tmp_path):
    host_site = tmp_path
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(host_site))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host_site_url = f"http://localhost:{port}"
    page = requester()
    page.goto(call_desk.url + "/?lang=ja")  # the portal carries the widget, without calls
    expect(page.get_by_role("button", name="ここからチャットで相談")).to_be_visible()
    expect(page.get_by_role("link", name="ここからオンライン通話で相談")).to_have_count(0)
    card = page.locator("[data-channel=call]")
    expect(card.get_by_role("link")).to_have_attribute("href", "/call/")

    # Another site's page (another origin) that asks for the call launcher on the tag.
    (host_site / "index.html").write_text(
        '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>host</title></head>'
        f'<body><main><h1>host</h1></main><script src="{call_desk.url}/widget.js" '
        'data-lang="ja" data-call="1" async></script></body></html>',
        encoding="utf-8",
    )
    page.goto(host_site_url + "/index.html")
    link = page.get_by_role("link", name="ここからオンライン通話で相談")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("target", "_blank")
    expect(page.get_by_role("button", name="ここからチャットで相談")).to_be_visible()
    with page.context.expect_page() as opened:
        link.click()
    call_page = opened.value
    expect(call_page).to_have_url(re.compile(r"/call/\?lang=ja$"))
    expect(call_page.locator("#call")).to_have_attribute("data-connected", "1")
    server.shutdown()


# --- through a TURN relay -------------------------------------------------------------------

SELECTED_PAIR = """async () => {
  const pc = (window.__pcs || []).at(-1);
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((r) => {
    if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
  });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId);
  const remote = stats.get(pair.remoteCandidateId);
  const seen = [];
  stats.forEach((r) => {
    if (r.type === "local-candidate" || r.type === "remote-candidate") seen.push(r.candidateType);
  });
  return {local: local.candidateType, remote: remote.candidateType, port: local.port, seen};
}"""


@pytest.fixture(scope="module")
def relay_desk(tmp_path_factory):
    """A desk whose calls go only through a real coturn (MADOGUCHI_CALL_ICE_POLICY=relay)."""
    from tests.coturn import running_coturn

    with (
        running_coturn(tmp_path_factory.mktemp("coturn")) as turn,
        running_desk(
            tmp_path_factory.mktemp("relay-desk"),
            MADOGUCHI_CALL_TURN_URLS=f"turn:{turn.host}:{turn.port}?transport=udp",
            MADOGUCHI_CALL_TURN_SECRET=turn.secret,
            MADOGUCHI_CALL_ICE_POLICY="relay",
        ) as desk,
    ):
        desk.manage(OPEN_HOURS + ON_DUTY)
        desk.turn = turn  # type: ignore[attr-defined]
        yield desk


def test_a_call_relayed_through_turn_shares_no_address(relay_desk, media, requester):
    """Both browsers connect through coturn with the credentials the desk minted for the
    call, and neither learns the other's address: every candidate is a relay one."""
    operator = requester()
    sign_in(operator, relay_desk, "student1")
    page = requester()
    start_call(page, relay_desk, "VPN の接続 e2e-relay")
    admit_from_the_queue(operator, relay_desk, "e2e-relay")
    both_connected(page, operator)
    for side in (page, operator):
        pair = side.evaluate(SELECTED_PAIR)
        assert pair is not None and pair["local"] == "relay" and pair["remote"] == "relay", pair
        assert set(pair["seen"]) == {"relay"}, pair
        assert pair["port"] in relay_desk.turn.relay_ports, pair  # type: ignore[attr-defined]
    end_from_the_console(operator, page)


# --- one case across channels ---------------------------------------------------------------

CHAT_OPEN = """
from madoguchi.sla.models import BusinessSchedule, ChannelHours
ChannelHours.objects.update_or_create(
    channel="chat", defaults={"schedule": BusinessSchedule.objects.get(name="calls-e2e-open")})
"""


def test_a_chat_becomes_a_call_then_an_email_answer_on_one_inquiry(call_desk, operator, requester):
    call_desk.manage(CHAT_OPEN)
    chat = requester()
    chat.goto(call_desk.url + "/chat/?lang=ja")
    expect(chat.locator("#chat")).to_have_attribute("data-connected", "1")
    box = chat.locator("#chat-input")
    box.fill("担当者と話したいです e2e-chat-call")
    box.press("Enter")
    offer = chat.locator("li.chat-msg.bot [data-offer=person]").last
    expect(offer).to_be_visible()
    offer.click()
    if chat.locator("#chat-category").is_visible():
        chat.locator("#chat-member").select_option("student_current")
        chat.locator("#chat-member-go").click()
    expect(chat.locator("#chat")).to_have_attribute("data-state", "queued")

    # The operator takes the chat, then offers a call in it ("let's talk").
    operator.goto(call_desk.url + "/console/chat/")
    row = operator.locator("table.chat-queue tbody tr", has_text="e2e-chat-call")
    expect(row).to_be_visible()
    reference = row.get_attribute("data-reference")
    row.get_by_role("button").click()
    expect(operator).to_have_url(re.compile(f"/console/i/{reference}/"))
    operator.get_by_role("button", name="オンライン通話を提案").click()

    # The requester's chat gets a link with a code for that operator: no queue.
    link = chat.locator("li.chat-msg.event a.call-offer")
    expect(link).to_be_visible()
    with chat.context.expect_page() as opened:
        link.click()
    page = opened.value
    expect(page.locator("#call")).to_have_attribute("data-connected", "1")
    page.locator("#call-accept").check()
    page.locator("#call-code button[type=submit]").click()
    expect(page.locator("#call")).to_have_attribute("data-state", "active")
    operator.goto(f"{call_desk.url}/console/calls/{reference}/")
    both_connected(page, operator)

    # The operator will answer by mail: the requester leaves an address; the case is one.
    operator.locator("form[data-action=mail] button").click()
    expect(page.locator("#call")).to_have_attribute("data-state", "email")
    page.locator("#call-mail-address").fill("e2e-chat-call@example.ac.jp")
    page.locator("#call-mail button[type=submit]").click()
    expect(page.locator("#call-mail")).to_be_hidden()
    found = (
        call_desk.manage(
            "from madoguchi.inquiries.models import Inquiry;"
            f"i = Inquiry.objects.get(reference={reference!r});"
            "print(i.channel, i.requester_email, i.calls.count(), hasattr(i, 'chat'),"
            " sorted({m.meta.get('event', '') for m in i.messages.all()} - {''}))"
        )
        .strip()
        .splitlines()[-1]
    )
    channel, email, calls, has_chat, events = found.split(" ", 4)
    assert (channel, email, calls, has_chat) == ("chat", "e2e-chat-call@example.ac.jp", "1", "True")
    assert "admitted" in events and "by_mail" in events and "call_offered" in events
