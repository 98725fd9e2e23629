"""Browser tests: a real `madoguchi serve` process (uvicorn, SQLite, in-process worker),
a real SMTP server receiving its mail, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, SmtpSink, free_port, start_smtp

CHROMIUM = os.environ.get("MADOGUCHI_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@dataclass
class Desk:
    url: str
    data_dir: Path
    smtp: SmtpSink
    accounts: dict[str, str]
    process: subprocess.Popen
    env: dict[str, str]

    def manage(self, code: str) -> str:
        """Run Python against the desk's database (``madoguchi manage shell -c``)."""
        done = subprocess.run(
            [*_madoguchi(), "manage", "shell", "-c", code],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(done.stderr)
        return done.stdout

    def mails_to(self, address: str, count: int = 1, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.smtp.wait_for(0, timeout=0) if address in (m["To"] or "")]
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(
            f"no {count} mail(s) to {address}; got {[m['Subject'] for m in self.smtp.messages]}"
        )


def _madoguchi() -> list[str]:
    return [sys.executable, "-m", "madoguchi"]


@contextlib.contextmanager
def running_desk(data_dir: Path, **extra_env: str):
    """A real desk: demo data, `madoguchi serve` on a free port, mail to an SMTP sink."""
    controller, sink = start_smtp()
    port = free_port()
    env = {
        **os.environ,
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "MADOGUCHI_SITE_URL": f"http://127.0.0.1:{port}",
        "EMAIL_HOST": sink.host,
        "EMAIL_PORT": str(sink.port),
        "MADOGUCHI_DESK_ADDRESS": "support@helpdesk.univ.example",
        "MADOGUCHI_INTAKE_RATE_LIMIT": "1000/60",
        "PYTHONUNBUFFERED": "1",
    }
    for key in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)
    env.update(extra_env)
    subprocess.run(
        [*_madoguchi(), "demo"], env=env, check=True, cwd=REPO, capture_output=True, timeout=120
    )
    log = open(data_dir / "server.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [*_madoguchi(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the desk did not start:\n" + (data_dir / "server.log").read_text())
        time.sleep(0.2)
    accounts = {}
    for line in (data_dir / "demo-accounts.txt").read_text().splitlines():
        user, password, _role = line.split("\t")
        accounts[user] = password
    try:
        yield Desk(url, data_dir, sink, accounts, process, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        controller.stop()


@pytest.fixture(scope="session")
def desk(tmp_path_factory):
    with running_desk(tmp_path_factory.mktemp("desk-data")) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"Chromium not found at {CHROMIUM} (scripts/test installs Debian's chromium)"
            )
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser):
    contexts = []

    def make(**kwargs):
        kwargs.setdefault("locale", "ja-JP")
        context = browser.new_context(**kwargs)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def sign_in(page, desk: Desk, username: str) -> None:
    page.goto(desk.url + "/accounts/login/?next=/console/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(desk.accounts[username])
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/console/**")


SERIOUS = {"serious", "critical"}


def no_serious_violations(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = [
        (v["id"], [n["target"] for n in v["nodes"]])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]
    assert found == [], found
