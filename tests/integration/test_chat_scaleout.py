"""Scale-out: `madoguchi serve` processes on one PostgreSQL database and one Redis.

The requester's widget is connected to process A, the operator works through process B
(HTTP and the console's WebSocket). Everything that crosses between them goes through
the database and the Redis channel layer: the queue, the operator joining, the
operator's reply reaching the widget, the requester's message and typing reaching the
console, and a re-sent message (the widget reconnecting to the other process) being
stored once.

Runs only in the scaled phase of scripts/test (DATABASE_URL=postgres://…, REDIS_URL
set); skipped with a reason otherwise, and failed under CI=true when the services are
configured but not reachable. The servers get a fresh database (dropped afterwards) and
their own Redis key prefix, so they share nothing with other tests.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PASSWORD = "scaleout horse battery"
TIMEOUT = 10.0  # seconds to wait for any one frame or event

SETUP = f"""
from django.contrib.auth import get_user_model
from madoguchi.demo import load_demo
from madoguchi.sla.models import BusinessSchedule, ChannelHours
load_demo()
ChannelHours.objects.update_or_create(channel="chat", defaults={{"schedule": BusinessSchedule.objects.get(name="always")}})
user = get_user_model()(username="op-scale", display_name="Operator Scale", tier="student")
user.set_password({PASSWORD!r})
user.save()
"""


def _postgres_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _services() -> tuple[str, str]:
    """DATABASE_URL and REDIS_URL when both point at reachable services; skips (fails
    under CI for unreachable services) otherwise."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        pytest.skip(
            "scale-out needs DATABASE_URL=postgres://… and REDIS_URL (the scaled phase of "
            "scripts/test); this run has "
            + ("no REDIS_URL" if database_url.startswith("postg") else "no PostgreSQL DATABASE_URL")
        )
    try:
        import psycopg
        import redis

        psycopg.connect(_postgres_url(database_url), connect_timeout=3).close()
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:  # any failure to reach them
        reason = f"PostgreSQL ({database_url}) or Redis ({redis_url}) not reachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return database_url, redis_url


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _wait_healthy(server: Server, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while True:
        try:
            with opener.open(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server {server.name} did not start:\n{server.log_tail()}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    database_url, redis_url = _services()
    import psycopg
    import redis

    tag = secrets.token_hex(4)
    db_name = f"madoguchi_scaleout_{tag}"
    prefix = f"mgscaleout{tag}"
    admin = psycopg.connect(_postgres_url(database_url), autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{db_name}"')
    url = urllib.parse.urlunsplit(urllib.parse.urlsplit(database_url)._replace(path=f"/{db_name}"))
    data_dir = tmp_path_factory.mktemp("scaleout-data")
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_HOST",)}
    env.update(
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        MADOGUCHI_REDIS_PREFIX=prefix,
        MADOGUCHI_DATA_DIR=str(data_dir),
        SECRET_KEY=secrets.token_urlsafe(40),  # both processes sign the same sessions
        MADOGUCHI_EMBEDDED_WORKER="0",
        MADOGUCHI_CHAT_NEW_RATE_LIMIT="0/60",
        PYTHONUNBUFFERED="1",
    )
    cli = [sys.executable, "-m", "madoguchi"]
    servers: list[Server] = []
    try:
        subprocess.run(
            [*cli, "migrate"], env=env, cwd=REPO, check=True, capture_output=True, timeout=120
        )
        done = subprocess.run(
            [*cli, "manage", "shell", "-c", SETUP],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        # A is two processes on one port (``--processes``), B one: whichever of A's
        # processes the widget lands on, everything it sees crosses over Redis.
        for name, extra in (("A", ["--processes", "2"]), ("B", [])):
            port = free_port()
            log = data_dir / f"server-{name}.log"
            with open(log, "w") as handle:
                process = subprocess.Popen(
                    [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
                    env={**env, "MADOGUCHI_SITE_URL": f"http://127.0.0.1:{port}"},
                    cwd=REPO,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                )
            servers.append(Server(name, port, process, log))
        for server in servers:
            _wait_healthy(server)
        yield {"A": servers[0], "B": servers[1], "db": _postgres_url(url)}
    finally:
        for server in servers:
            _stop(server.process)
        admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin.close()
        r = redis.Redis.from_url(redis_url, socket_connect_timeout=3)
        keys = list(r.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            r.delete(*keys)
        r.close()


# --- clients ---------------------------------------------------------------------------------


class Staff:
    """A browser-like HTTP session (cookies, CSRF) against one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar)
        )

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "")

    def get(self, path: str) -> str:
        with self.opener.open(self.server.url + path, timeout=TIMEOUT) as response:
            return response.read().decode()

    def post(
        self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(
            self.server.url + path,
            data=data,
            method="POST",
            headers={"X-CSRFToken": self.cookie("csrftoken"), **(headers or {})},
        )
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def login(self, username: str) -> None:
        page = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, _body = self.post(
            "/accounts/login/",
            {
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token,
                "next": "/console/",
            },
        )
        assert status == 200 and self.cookie("sessionid"), "login failed"


class Socket:
    """A WebSocket with a buffer of the frames received so far."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.seen: list[dict] = []

    @classmethod
    async def open(cls, server: Server, path: str, cookie: str = "") -> Socket:
        from websockets.asyncio.client import connect

        headers = {"Cookie": cookie} if cookie else None
        connection = await connect(
            server.ws + path,
            origin=server.url,
            additional_headers=headers,
            proxy=None,
            ping_interval=None,
            open_timeout=TIMEOUT,
        )
        return cls(connection)

    async def send(self, data: dict) -> None:
        await self.connection.send(json.dumps(data))

    async def expect(self, match, what: str) -> dict:
        """The first frame (seen or new) for which ``match`` is true; consumed."""
        for i, frame in enumerate(self.seen):
            if match(frame):
                return self.seen.pop(i)
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; got {self.seen}")
            try:
                frame = json.loads(await asyncio.wait_for(self.connection.recv(), left))
            except TimeoutError:
                continue
            if match(frame):
                return frame
            self.seen.append(frame)

    async def close(self) -> None:
        await self.connection.close()


def t_is(kind: str, **values):
    return lambda f: f.get("t") == kind and all(f.get(k) == v for k, v in values.items())


def kind_is(kind: str, **values):
    return lambda f: f.get("kind") == kind and all(f.get(k) == v for k, v in values.items())


def _db_rows(db: str, sql: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


# --- the test --------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_serve_processes_runs_that_many_servers_on_one_port(two_servers):
    a = two_servers["A"]
    servers = [
        pid
        for pid in _children(a.process.pid)
        if "multiprocessing.resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
    ]
    assert len(servers) == 2, servers
    for _ in range(4):  # each answers on the shared port
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            a.url + "/healthz", timeout=TIMEOUT
        ) as response:
            assert response.status == 200


def test_chat_across_two_processes(two_servers):
    a, b, db = two_servers["A"], two_servers["B"], two_servers["db"]
    operator = Staff(b)

    async def scenario() -> dict:
        # Requester on A: the bot answers the first message, then a person is asked for.
        widget = await Socket.open(a, "/ws/chat/")
        await widget.send(
            {
                "t": "hello",
                "token": None,
                "lang": "ja",
                "page": "https://www.example.ac.jp/",
                "after": 0,
            }
        )
        hello = await widget.expect(t_is("welcome"), "welcome")
        assert hello["state"] == "new" and hello["operators_open"] is True
        await widget.send(
            {"t": "msg", "cid": "scale-cid-0001", "body": "Zoom にサインインできません"}
        )
        token = (await widget.expect(t_is("token"), "token"))["token"]
        first_ack = await widget.expect(
            t_is("ack", cid="scale-cid-0001"), "ack of the first message"
        )
        welcome = await widget.expect(t_is("welcome"), "welcome with the transcript")
        assert [m["kind"] for m in welcome["messages"]][:2] == ["requester", "bot"]
        assert welcome["messages"][0]["seq"] == first_ack["seq"]

        # The operator on B signs in, opens the console socket, becomes available.
        await asyncio.to_thread(operator.login, "op-scale")
        console = await Socket.open(
            b, "/ws/console/", cookie=f"sessionid={operator.cookie('sessionid')}"
        )
        await console.expect(kind_is("hello"), "console hello")
        status, _ = await asyncio.to_thread(
            operator.post, "/console/chat/availability/", {"available": "1", "max_chats": "3"}
        )
        assert status == 200

        await widget.send({"t": "person", "member_category": ""})
        offer = await widget.expect(t_is("offer"), "offer")
        assert offer["outcome"] == "queued", offer
        queued = await widget.expect(t_is("state", state="queued"), "queued state")
        assert queued["position"] == 1

        # B sees the chat that A queued (the queue event crossed over Redis, the row is shared).
        await console.expect(kind_is("chat.queue"), "chat.queue on the console")
        fragment = await asyncio.to_thread(operator.get, "/console/chat/queue/")
        references = re.findall(r'data-reference="(Q-[A-Z0-9]+)"', fragment)
        assert len(references) == 1, fragment
        reference = references[0]

        status, body = await asyncio.to_thread(
            operator.post, f"/console/chat/{reference}/accept/", {}, {"X-Requested-With": "fetch"}
        )
        assert status == 200 and json.loads(body)["ok"], body
        active = await widget.expect(t_is("state", state="active"), "active state on A")
        assert active["operator"] == "Operator Scale"
        await widget.expect(
            lambda f: (
                f.get("t") == "message"
                and f["message"]["kind"] == "event"
                and "Operator Scale" in f["message"]["body"]
            ),
            "the 'operator joined' line on A",
        )

        # Operator (B) -> requester (A).
        status, body = await asyncio.to_thread(
            operator.post,
            f"/console/chat/{reference}/send/",
            {"body": "担当の者です。ご用件をどうぞ。", "cid": "op-cid-00000001"},
            {"X-Requested-With": "fetch"},
        )
        sent = json.loads(body)
        assert status == 200 and sent["ok"], body
        reply = await widget.expect(
            lambda f: f.get("t") == "message" and f["message"]["kind"] == "reply",
            "the operator's reply on A",
        )
        assert (
            reply["message"]["seq"] == sent["seq"]
            and reply["message"]["body"] == "担当の者です。ご用件をどうぞ。"
        )

        # Operator typing (B) -> requester (A).
        await console.send({"kind": "typing", "inquiry": reference, "on": True})
        assert (await widget.expect(t_is("typing"), "operator typing on A"))["on"] is True

        # Requester typing (A) -> console (B).
        console.seen.clear()
        await widget.send({"t": "typing", "on": True})
        typing = await console.expect(
            kind_is("chat.typing", inquiry=reference), "requester typing on B"
        )
        assert typing["on"] is True

        # Requester (A) -> console (B), stored once.
        console.seen.clear()
        await widget.send(
            {"t": "msg", "cid": "scale-cid-0002", "body": "ミーティングIDを入れても入れません"}
        )
        ack = await widget.expect(t_is("ack", cid="scale-cid-0002"), "ack of the second message")
        await console.expect(kind_is("message.created", inquiry=reference), "message.created on B")
        echo = await widget.expect(
            lambda f: f.get("t") == "message" and f["message"]["seq"] == ack["seq"],
            "the requester's own message echoed on A",
        )
        assert echo["message"]["kind"] == "requester"
        await widget.close()

        # The widget reconnects to the other process and re-sends the same message (its ack
        # was lost, say): acknowledged again with the same number, not stored twice.
        again = await Socket.open(b, "/ws/chat/")
        await again.send(
            {"t": "hello", "token": token, "lang": "ja", "page": "", "after": ack["seq"]}
        )
        resumed = await again.expect(t_is("welcome"), "welcome on B")
        assert resumed["state"] == "active"
        await again.send(
            {"t": "msg", "cid": "scale-cid-0002", "body": "ミーティングIDを入れても入れません"}
        )
        ack_again = await again.expect(t_is("ack", cid="scale-cid-0002"), "second ack on B")
        assert ack_again["seq"] == ack["seq"]
        await again.close()
        await console.close()
        return {"reference": reference, "seq": ack["seq"]}

    try:
        result = asyncio.run(asyncio.wait_for(scenario(), 60))
    except BaseException:
        print(f"--- server A log ---\n{a.log_tail()}\n--- server B log ---\n{b.log_tail()}")
        raise
    rows = _db_rows(
        db,
        "SELECT m.id, m.kind FROM inquiries_message m JOIN inquiries_inquiry i ON i.id = m.inquiry_id "
        "WHERE i.reference = %s AND m.client_id = %s",
        result["reference"],
        "scale-cid-0002",
    )
    assert rows == [(result["seq"], "requester")]
    kinds = [
        k
        for (k,) in _db_rows(
            db,
            "SELECT m.kind FROM inquiries_message m JOIN inquiries_inquiry i "
            "ON i.id = m.inquiry_id WHERE i.reference = %s ORDER BY m.id",
            result["reference"],
        )
    ]
    assert kinds.count("requester") == 2 and kinds.count("reply") == 1, kinds
    state = _db_rows(
        db,
        "SELECT c.state, u.username FROM chat_conversation c JOIN inquiries_inquiry i "
        "ON i.id = c.inquiry_id JOIN accounts_user u ON u.id = c.operator_id WHERE i.reference = %s",
        result["reference"],
    )
    assert state == [("active", "op-scale")]
    for server in (a, b):
        assert server.process.poll() is None, server.log_tail()
        assert "Traceback" not in server.log.read_text(errors="replace"), server.log_tail()
