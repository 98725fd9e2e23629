"""Live chat under load: two `madoguchi serve` processes behind Redis and PostgreSQL, idle
widgets, active conversations with the bot and with operators, on loopback.

    python bench/chat_load.py                                   # 2,000 idle + 200 active, 60 s
    python bench/chat_load.py --idle 200 --active 20 --duration 15   # a quick run
    python bench/chat_load.py --json                            # machine-readable output

What it does:

1. A fresh PostgreSQL database (``madoguchi migrate``; dropped afterwards), ``madoguchi
   demo`` data (FAQ articles for the bot), the chat channel bound to the 24-hour schedule,
   ``--operators`` student-tier staff. Two servers, A and B (``madoguchi serve``, one
   uvicorn process each, as shipped), share the database and Redis (channel layer and
   cache under a key prefix of their own, removed afterwards). Per-connection and per-IP
   chat rate limits stay as shipped except the new-conversation limit per IP, which is
   off (every client is 127.0.0.1); the queue limits are raised so that ``--handover``
   chats can wait at once.
2. ``--idle`` widgets, alternating between A and B, connect, say hello and ping every
   25 s (as the widget does), with random phase.
3. ``--active`` widgets connect to A and start a conversation (the bot answers). The
   first ``--handover`` of them ask for a person; ``--operators`` operators sign in over
   HTTP on B, open the console WebSocket on B, set themselves available (``--max-chats``)
   and accept them (spread evenly). Every accept tells every waiting widget that the
   queue moved, and each asks the database for its place: the run waits until those
   frames stop (reported as "queue updates drained") before measuring.
4. For ``--duration`` seconds every active requester sends a message, waits for its
   answer (the bot's, or the operator's), then thinks for 2–5 s (uniform) and sends the
   next. Each operator's console socket receives the events of every general-lane inquiry
   (the staff group), as a real console does. On ``message.created`` for one of their
   chats the operator's inquiry page re-fetches its thread 100 ms after the last event
   (``GET /console/i/<ref>/thread/``, as console.js does; ``--no-refetch``: reply on the
   event instead), and the operator replies at once (``POST /console/chat/<ref>/send/``)
   to each requester message the thread shows.

Latencies (arrival time stamped by a reader task per socket; the client is one asyncio
process with uvloop). A probe subscribed to the requester groups and the student staff
group in Redis splits the cross-process paths into "published" and "passed on":

- ack: requester send (A) → its ``ack`` (the message is stored);
- bot: requester send (A) → the bot's reply frame (A);
- to operator: requester send (A) → the first ``message.created`` for that chat on the
  operator's console socket (B) after it — crosses processes through Redis;
- operator sees it: requester send (A) → the re-fetched thread (B) contains it;
- to requester: operator's ``POST .../send/`` starts (B) → the reply frame on the
  requester's socket (A) — crosses processes;
- operator POST / thread re-fetch: HTTP round trips on B;
- ping: idle widget ping → pong, per server.

Only latencies of what was sent inside the window count; the medians per 10 s of the
window show whether a backlog grows. Errors: connections refused or timed out, hello
without welcome, ``error`` frames by code, acks/answers/pongs not arriving within
``--timeout`` s, connections dropped by the server, operator requests not answered 200.
Afterwards the requester messages in the database are compared with the acks (none
missing, none stored twice). Server memory is VmRSS from /proc/<pid>/status at start
(servers ready, nothing connected), after connecting everything, peak during the window,
and at the end (load stopped, sockets still open). CPU is utime+stime from
/proc/<pid>/stat over the window, for the servers, this client, and all postgres and
redis-server processes; "machine" is /proc/stat (everything on the host).

``--experiment-parallel-consumers`` starts the servers with channels'
``database_sync_to_async`` patched to ``thread_sensitive=False`` (see PARALLEL_BOOTSTRAP).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _http import read_response  # bench/ is on sys.path when a benchmark runs as a script
from _serve import stop

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MADOGUCHI = [sys.executable, "-m", "madoguchi"]
PASSWORD = "bench horse battery staple"
PING_SECONDS = 25.0

QUESTIONS = [
    "Zoom にサインインできません",
    "学内 Wi-Fi に接続できません",
    "パスワードを忘れました",
    "多要素認証の再登録をしたい",
    "メールが届かない",
    "Office のライセンスについて教えてください",
    "VPN の設定方法は?",
    "印刷ができません",
]

SETUP = """
import sys
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from madoguchi.demo import load_demo
from madoguchi.sla.models import BusinessSchedule, ChannelHours
load_demo()
ChannelHours.objects.update_or_create(channel="chat", defaults={"schedule": BusinessSchedule.objects.get(name="always")})
User = get_user_model()
hashed = make_password(PASSWORD)
for i in range(OPERATORS):
    User.objects.create(username=f"bench-op{i:03d}", display_name=f"Bench Operator {i}", tier="student",
                        password=hashed)
"""


# --experiment-parallel-consumers: what giving the WebSocket consumers' database calls a
# thread pool would change. Channels' database_sync_to_async is thread-sensitive and the
# consumers run outside any ThreadSensitiveContext, so every chat socket of a process
# shares asgiref's one SyncToAsync.single_thread_executor thread. Patched in the server
# process at start; no file changes.
PARALLEL_BOOTSTRAP = """
import functools, sys
import channels.db
channels.db.database_sync_to_async = functools.partial(channels.db.DatabaseSyncToAsync, thread_sensitive=False)
from madoguchi.cli import main
sys.exit(main(sys.argv[1:]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int, key: str = "VmRSS:") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_by_command(names: tuple[str, ...] = ("postgres", "redis-server")) -> dict[str, float]:
    """CPU seconds so far of every process whose command is one of ``names`` (summed by name)."""
    out = dict.fromkeys(names, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        seconds = proc_cpu_seconds(int(entry.name)) if comm in out else float("nan")
        if seconds == seconds:  # not NaN: the process was still there
            out[comm] += seconds
    return out


def quantiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    v = sorted(values)

    def q(p: float) -> float:
        return round(v[max(0, min(len(v) - 1, round(p / 100 * (len(v) - 1))))] * 1000, 1)

    return {
        "n": len(v),
        "p50_ms": q(50),
        "p90_ms": q(90),
        "p99_ms": q(99),
        "max_ms": round(v[-1] * 1000, 1),
    }


# --- a minimal keep-alive HTTP/1.1 client with cookies ------------------------------------------


class Http:
    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.port = port
        self.cookies = cookies  # shared by the connections of one signed-in browser
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.lock = asyncio.Lock()  # one request at a time on the connection

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        async with self.lock:
            reused = self.writer is not None
            try:
                return await self._request(method, path, fields, headers)
            except (ConnectionError, asyncio.IncompleteReadError):
                if not reused:
                    raise
            # The server closed the idle keep-alive connection (uvicorn: after 5 s): once
            # more on a new one, as a browser does.
            await self.close()
            return await self._request(method, path, fields, headers)

    async def _request(
        self, method: str, path: str, fields: dict[str, str] | None, headers: dict[str, str] | None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None and self.writer is not None
        body = urllib.parse.urlencode(fields).encode() if fields is not None else b""
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Connection: keep-alive",
        ]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if fields is not None:
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        try:
            status, headers, data, close = await read_response(self.reader)
        except ConnectionError:
            await self.close()
            raise
        answer: dict[str, str] = {}
        for name, value in headers:
            answer[name] = value
            if name == "set-cookie":
                k, _, rest = value.partition("=")
                self.cookies[k.strip()] = rest.split(";", 1)[0]
        if close:
            await self.close()
        return status, answer, data


# --- the run's shared state ------------------------------------------------------------------------


TIMELINE = (
    "ack",
    "bot",
    "to_operator",
    "staff_passed_on",
    "operator_sees",
    "to_requester",
    "ping_A",
    "ping_B",
)


@dataclass
class Stats:
    lat: dict[str, list[float]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "connect",
                "start",
                "ack",
                "bot",
                "to_operator",
                "to_requester",
                "operator_post",
                "ping_A",
                "ping_B",
                "accept",
                "thread_refresh",
                "operator_sees",
                "bot_delivery",
                "reply_delivery",
                "reply_published",
                "reply_passed_on",
                "staff_published",
                "staff_passed_on",
            )
        }
    )
    errors: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)
    window: tuple[float, float] = (0.0, 0.0)
    stopping: bool = False
    last_active_frame: float = 0.0  # when a frame last arrived on an active requester's socket
    series: dict[str, list[tuple[float, float]]] = field(
        default_factory=dict
    )  # name -> (start, latency)

    def add(self, name: str, seconds: float, at: float | None = None) -> None:
        """A latency; during the run only those started inside the window count."""
        if (
            name in ("connect", "start", "accept")
            or at is None
            or self.window[0] <= at <= self.window[1]
        ):
            self.lat[name].append(seconds)
            if at is not None and name in TIMELINE:
                self.series.setdefault(name, []).append((at - self.window[0], seconds))

    def timeline(self, slice_s: float = 10.0) -> dict[str, list[float | None]]:
        """Median latency (ms) of what started in each ``slice_s`` of the window: a backlog
        that grows shows as rising numbers."""
        out = {}
        slices = max(1, int((self.window[1] - self.window[0]) // slice_s))
        for name in TIMELINE:
            buckets: list[list[float]] = [[] for _ in range(slices)]
            for start, latency in self.series.get(name, []):
                buckets[min(slices - 1, int(start // slice_s))].append(latency)
            out[name] = [quantiles(b)["p50_ms"] for b in buckets]
        return out

    def in_window(self, at: float) -> bool:
        return self.window[0] <= at <= self.window[1]


class Socket:
    """A WebSocket with a reader task that time-stamps frames as they arrive."""

    def __init__(self, connection: Any, stats: Stats, name: str) -> None:
        self.connection = connection
        self.stats = stats
        self.name = name
        self.frames: list[tuple[float, dict]] = []
        self.changed = asyncio.Event()
        self.closed = False
        self.on_frame = None  # optional callback(t, frame) instead of buffering
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        port: int,
        path: str,
        stats: Stats,
        name: str,
        cookie: str = "",
        compression: bool = True,
        timeout: float = 30.0,
    ) -> Socket:
        from websockets.asyncio.client import connect

        connection = await connect(
            f"ws://127.0.0.1:{port}{path}",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": cookie} if cookie else None,
            proxy=None,
            ping_interval=None,
            open_timeout=timeout,
            close_timeout=2,
            compression="deflate" if compression else None,
            max_queue=256,
        )
        return cls(connection, stats, name)

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.connection:
                t = time.perf_counter()
                frame = json.loads(raw)
                if self.name == "active":
                    self.stats.last_active_frame = t
                if frame.get("t") == "error":
                    self.stats.errors[f"error frame: {frame.get('code')}"] += 1
                if self.on_frame is not None:
                    self.on_frame(t, frame)
                else:
                    self.frames.append((t, frame))
                    self.changed.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            self.changed.set()
            if not self.stats.stopping:
                self.stats.errors[f"dropped ({self.name})"] += 1

    async def send(self, data: dict) -> None:
        await self.connection.send(json.dumps(data, ensure_ascii=False))

    async def expect(self, match: Any, timeout: float) -> tuple[float, dict] | None:
        """The first buffered or arriving frame that matches (consumed), or None."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (t, frame) in enumerate(self.frames):
                if match(frame):
                    del self.frames[i]
                    return t, frame
            if self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return None

    def drop_older(self, seconds: float = 60.0) -> None:
        cut = time.perf_counter() - seconds
        self.frames = [(t, f) for t, f in self.frames if t >= cut]

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.connection.close(), 5)
        except Exception:  # noqa: BLE001 - closing at the end, whatever state it is in
            pass
        self.task.cancel()


WALL_OFFSET = time.time() - time.perf_counter()


def stored_to_arrival(frame: tuple[float, dict]) -> float:
    """From the message's ``at`` (the server's commit-time clock, same machine) to its arrival."""
    import datetime as dt

    stored = dt.datetime.fromisoformat(frame[1]["message"]["at"]).timestamp()
    return frame[0] + WALL_OFFSET - stored


def t_is(kind: str, **values: Any):
    return lambda f: f.get("t") == kind and all(f.get(k) == v for k, v in values.items())


@dataclass
class Requester:
    index: int
    socket: Socket | None = None
    reference: str = ""
    handover: bool = False
    operator: Any = None
    first_cid: str = ""
    sent: int = 0


@dataclass
class Operator:
    index: int
    username: str
    cookies: dict[str, str] = field(default_factory=dict)
    console: Socket | None = None
    chats: set[str] = field(default_factory=set)
    connections: dict[str, Http] = field(default_factory=dict)
    tabs: dict[str, Http] = field(default_factory=dict)  # the inquiry page's own fetches
    refresh_due: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    last_seen: dict[str, int] = field(default_factory=dict)  # newest thread entry shown per chat


class Run:
    def __init__(
        self, args: argparse.Namespace, ports: dict[str, int], db_url: str, log: Any
    ) -> None:
        self.args = args
        self.ports = ports
        self.db_url = db_url
        self.log = log
        self.stats = Stats()
        # reference -> [token, send time, console event seen] of requester messages the
        # operator has not yet seen in the thread
        self.pending: dict[str, list[list[Any]]] = {}
        self.op_sent: dict[str, float] = {}  # operator cid -> POST start time
        self.requesters: list[Requester] = []
        self.operators: list[Operator] = []
        self.idle: list[Socket] = []
        self.acked_cids: set[str] = set()
        self.tasks: list[asyncio.Task] = []
        self.in_redis: dict[str, float] = {}  # message cid -> when the probe saw it published
        self.staff_in_redis: dict[
            str, list[float]
        ] = {}  # reference -> when message.created was published

    async def probe(self, prefix: str) -> None:
        """Subscribes to every requester group in Redis, like a server would, to split the
        delivery time into "published" and "passed on by the server"."""
        import msgpack
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.args.redis_url)
        pubsub = client.pubsub()
        await pubsub.psubscribe(f"{prefix}__group__requester.*")
        await pubsub.subscribe(f"{prefix}__group__staff.student")
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message.get("type") not in ("pmessage", "message"):
                    continue
                t = time.perf_counter()
                event = msgpack.unpackb(message["data"]).get("event", {})
                if event.get("kind") == "chat.message" and event["message"].get("cid"):
                    self.in_redis[event["message"]["cid"]] = t
                elif event.get("kind") == "message.created" and self.stats.window[0]:
                    self.staff_in_redis.setdefault(event.get("inquiry", ""), []).append(t)
        finally:
            await pubsub.aclose()
            await client.aclose()

    # --- idle widgets ---------------------------------------------------------------------------

    async def open_idle(self, i: int, gate: asyncio.Semaphore) -> None:
        server = "A" if i % 2 == 0 else "B"
        async with gate:
            t0 = time.perf_counter()
            try:
                sock = await Socket.open(
                    self.ports[server],
                    "/ws/chat/",
                    self.stats,
                    f"idle {server}",
                    compression=self.args.compression,
                    timeout=self.args.timeout,
                )
            except TimeoutError:
                self.stats.errors["idle connect timeout"] += 1
                return
            except Exception as exc:  # noqa: BLE001 - refused, rejected handshake, reset
                self.stats.errors[f"idle connect refused ({type(exc).__name__})"] += 1
                return
            await sock.send(
                {
                    "t": "hello",
                    "token": None,
                    "lang": "ja",
                    "page": "https://www.example.ac.jp/",
                    "after": 0,
                }
            )
            got = await sock.expect(t_is("welcome"), self.args.timeout)
            if got is None:
                self.stats.errors["idle hello without welcome"] += 1
                await sock.close()
                return
            self.stats.add("connect", got[0] - t0)
            self.idle.append(sock)
        self.tasks.append(asyncio.create_task(self.pinger(sock)))

    async def pinger(self, sock: Socket) -> None:
        await asyncio.sleep(random.uniform(0, PING_SECONDS))
        while not self.stats.stopping and not sock.closed:
            t0 = time.perf_counter()
            try:
                await sock.send({"t": "ping"})
            except Exception:  # noqa: BLE001 - counted as dropped by the reader
                return
            got = await sock.expect(t_is("pong"), self.args.timeout)
            if got is None:
                if not sock.closed and not self.stats.stopping:
                    self.stats.errors["ping without pong"] += 1
            else:
                self.stats.add("ping_" + sock.name[-1], got[0] - t0, t0)
            sock.frames.clear()
            await asyncio.sleep(PING_SECONDS)

    # --- active requesters ------------------------------------------------------------------------

    async def start_requester(self, r: Requester, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                sock = await Socket.open(
                    self.ports["A"],
                    "/ws/chat/",
                    self.stats,
                    "active",
                    compression=self.args.compression,
                    timeout=self.args.timeout,
                )
            except Exception as exc:  # noqa: BLE001
                self.stats.errors[f"active connect refused ({type(exc).__name__})"] += 1
                return
            r.socket = sock
            await sock.send(
                {
                    "t": "hello",
                    "token": None,
                    "lang": "ja",
                    "page": "https://www.example.ac.jp/",
                    "after": 0,
                }
            )
            if await sock.expect(t_is("welcome"), self.args.timeout) is None:
                self.stats.errors["active hello without welcome"] += 1
                return
            r.first_cid = f"bench-{os.getpid()}-{r.index}-first"
            t0 = time.perf_counter()
            await sock.send({"t": "msg", "cid": r.first_cid, "body": random.choice(QUESTIONS)})
            ack = await sock.expect(t_is("ack", cid=r.first_cid), self.args.timeout)
            if ack is None:
                self.stats.errors["first message not acknowledged"] += 1
                return
            self.acked_cids.add(r.first_cid)
            self.stats.add("start", ack[0] - t0)
            await sock.expect(t_is("welcome"), self.args.timeout)
        if r.handover:
            await sock.send({"t": "person", "member_category": ""})
            offer = await sock.expect(t_is("offer"), self.args.timeout * 4)
            if offer is None or offer[1].get("outcome") != "queued":
                self.stats.errors[
                    f"handover refused ({offer[1].get('outcome') if offer else 'no answer'})"
                ] += 1
                r.handover = False

    async def converse(self, r: Requester) -> None:
        sock = r.socket
        assert sock is not None
        end = self.stats.window[1]
        await asyncio.sleep(random.uniform(0, 3))
        while time.perf_counter() < end and not sock.closed:
            r.sent += 1
            cid = f"bench-{os.getpid()}-{r.index}-{r.sent}"
            token = f"(q{r.index}-{r.sent})"
            sock.drop_older()
            t0 = time.perf_counter()
            if r.handover:
                self.pending.setdefault(r.reference, []).append([token, t0, False])
            try:
                await sock.send(
                    {"t": "msg", "cid": cid, "body": f"{random.choice(QUESTIONS)} {token}"}
                )
            except Exception:  # noqa: BLE001 - counted as dropped by the reader
                return
            self.stats.counts["requester messages sent"] += 1
            ack = await sock.expect(
                lambda f, c=cid: f.get("t") in ("ack", "error") and f.get("cid") == c,
                self.args.timeout,
            )
            if ack is None or ack[1]["t"] != "ack":
                self.stats.errors[
                    "no ack" if ack is None else f"refused: {ack[1].get('code')}"
                ] += 1
                self.pending[r.reference] = [
                    p for p in self.pending.get(r.reference, []) if p[0] != token
                ]
                await asyncio.sleep(random.uniform(2, 5))
                continue
            self.acked_cids.add(cid)
            self.stats.add("ack", ack[0] - t0, t0)
            seq = ack[1]["seq"]
            if self.stats.in_window(t0):
                self.stats.counts["requester messages acked"] += 1
            want = "reply" if r.handover else "bot"
            answer = await sock.expect(
                lambda f, s=seq, k=want: (
                    f.get("t") == "message"
                    and f["message"]["kind"] == k
                    and f["message"]["seq"] > s
                ),
                self.args.timeout,
            )
            if answer is None:
                self.stats.errors[f"no {want} answer"] += 1
            elif r.handover:
                sent_at = self.op_sent.pop(answer[1]["message"]["cid"], None)
                if sent_at is not None:
                    self.stats.add("to_requester", answer[0] - sent_at, sent_at)
                self.stats.add("reply_delivery", stored_to_arrival(answer), t0)
                published = self.in_redis.pop(answer[1]["message"]["cid"], None)
                if published is not None and sent_at is not None:
                    self.stats.add("reply_published", published - sent_at, t0)
                    self.stats.add("reply_passed_on", answer[0] - published, t0)
            else:
                self.stats.add("bot", answer[0] - t0, t0)
                self.stats.add("bot_delivery", stored_to_arrival(answer), t0)
                if self.stats.in_window(t0):
                    self.stats.counts["bot answers"] += 1
            await asyncio.sleep(random.uniform(2, 5))

    # --- operators ------------------------------------------------------------------------------

    async def sign_in(self, op: Operator) -> None:
        http = Http(self.ports["B"], op.cookies)
        status, _h, page = await http.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"login page: {status}")
        status, _h, _b = await http.request(
            "POST",
            "/accounts/login/",
            {
                "username": op.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1).decode(),
                "next": "/console/",
            },
        )
        if status != 302 or "sessionid" not in op.cookies:
            raise RuntimeError(f"login failed for {op.username}: {status}")
        cookie = "; ".join(f"{k}={v}" for k, v in op.cookies.items())
        op.console = await Socket.open(
            self.ports["B"],
            "/ws/console/",
            self.stats,
            "console",
            cookie=cookie,
            compression=self.args.compression,
            timeout=self.args.timeout,
        )
        if await op.console.expect(lambda f: f.get("kind") == "hello", self.args.timeout) is None:
            raise RuntimeError("console socket: no hello")
        status, _h, _b = await http.request(
            "POST",
            "/console/chat/availability/",
            {"available": "1", "max_chats": str(self.args.max_chats)},
            {"X-CSRFToken": op.cookies.get("csrftoken", "")},
        )
        if status != 302:
            raise RuntimeError(f"availability: {status}")
        await http.close()

    async def accept_all(self, op: Operator, references: list[str]) -> None:
        http = Http(self.ports["B"], op.cookies)
        for reference in references:
            t0 = time.perf_counter()
            status, _h, body = await http.request(
                "POST",
                f"/console/chat/{reference}/accept/",
                {},
                {"X-CSRFToken": op.cookies["csrftoken"], "X-Requested-With": "fetch"},
            )
            if status == 200:
                self.stats.add("accept", time.perf_counter() - t0)
                op.chats.add(reference)
            else:
                self.stats.errors[f"accept {status}"] += 1
        await http.close()

    def on_console(self, op: Operator, t: float, frame: dict) -> None:
        if frame.get("kind") != "message.created" or self.stats.stopping:
            return
        self.stats.counts["console events"] += 1
        reference = frame.get("inquiry")
        if reference not in op.chats:
            return
        waiting = self.pending.get(reference, [])
        first = next((p for p in waiting if not p[2] and p[1] <= t), None)
        if first is not None:
            # The first event for the chat after the message was sent (in a backlog, the
            # operator's own reply can stand in for it: an approximation).
            first[2] = True
            self.stats.add("to_operator", t - first[1], first[1])
            published = next(
                (x for x in self.staff_in_redis.get(reference, []) if x >= first[1]), None
            )
            if published is not None:
                self.stats.add("staff_published", published - first[1], first[1])
                self.stats.add("staff_passed_on", t - published, first[1])
                self.staff_in_redis[reference] = [
                    x for x in self.staff_in_redis[reference] if x > published
                ]
        if not self.args.refetch:
            if first is not None:
                waiting.remove(first)
                self.tasks.append(asyncio.create_task(self.reply(op, reference)))
            return
        # The inquiry page re-fetches its thread 100 ms after the last event (console.js);
        # the operator answers what the thread shows.
        old = op.refresh_due.pop(reference, None)
        if old is not None:
            old.cancel()
        op.refresh_due[reference] = asyncio.get_running_loop().call_later(
            0.1, lambda: self.tasks.append(asyncio.create_task(self.refresh(op, reference)))
        )

    async def refresh(self, op: Operator, reference: str) -> None:
        op.refresh_due.pop(reference, None)
        http = op.tabs.get(reference)
        if http is None:
            http = op.tabs[reference] = Http(self.ports["B"], op.cookies)
        t0 = time.perf_counter()
        try:
            # As console.js does: only the entries after the last one the page shows.
            last = op.last_seen.get(reference)
            path = f"/console/i/{reference}/thread/" + (f"?after={last}" if last else "")
            status, _h, body = await asyncio.wait_for(http.request("GET", path), self.args.timeout)
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            self.stats.errors[f"thread refresh {type(exc).__name__}"] += 1
            await http.close()
            return
        t1 = time.perf_counter()
        if status != 200:
            self.stats.errors[f"thread refresh {status}"] += 1
            return
        self.stats.add("thread_refresh", t1 - t0, t0)
        html = body.decode("utf-8", "replace")
        ids = [int(x) for x in re.findall(r'id="m(\d+)"', html)]
        if ids:
            op.last_seen[reference] = max(ids + [op.last_seen.get(reference, 0)])
        waiting = self.pending.get(reference, [])
        for entry in [p for p in waiting if p[0] in html]:
            waiting.remove(entry)
            self.stats.add("operator_sees", t1 - entry[1], entry[1])
            self.tasks.append(asyncio.create_task(self.reply(op, reference)))

    async def reply(self, op: Operator, reference: str) -> None:
        http = op.connections.get(reference)
        if http is None:
            http = op.connections[reference] = Http(self.ports["B"], op.cookies)
        self.stats.counts["operator replies started"] += 1
        n = self.stats.counts["operator replies started"]
        cid = f"benchop-{op.index}-{n}"
        t0 = time.perf_counter()
        self.op_sent[cid] = t0
        try:
            status, _h, body = await asyncio.wait_for(
                http.request(
                    "POST",
                    f"/console/chat/{reference}/send/",
                    {"body": f"担当者です。確認しますので少々お待ちください。({n})", "cid": cid},
                    {"X-CSRFToken": op.cookies["csrftoken"], "X-Requested-With": "fetch"},
                ),
                self.args.timeout,
            )
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            self.stats.errors[f"operator send {type(exc).__name__}"] += 1
            await http.close()
            return
        if status != 200:
            self.stats.errors[f"operator send {status}"] += 1
            return
        self.stats.add("operator_post", time.perf_counter() - t0, t0)
        if self.stats.in_window(t0):
            self.stats.counts["operator replies"] += 1

    # --- references from the database ---------------------------------------------------------------

    def references(self) -> dict[str, str]:
        import psycopg

        with psycopg.connect(self.db_url) as conn:
            rows = conn.execute(
                "SELECT m.client_id, i.reference FROM inquiries_message m JOIN inquiries_inquiry i "
                "ON i.id = m.inquiry_id WHERE m.client_id LIKE %s",
                (f"bench-{os.getpid()}-%-first",),
            ).fetchall()
        return dict(rows)

    def stored_requester_messages(self) -> tuple[int, int]:
        """(distinct bench client ids stored, rows) for the requester's messages."""
        import psycopg

        with psycopg.connect(self.db_url) as conn:
            return conn.execute(
                "SELECT count(DISTINCT client_id), count(*) FROM inquiries_message WHERE kind = 'requester' "
                "AND client_id LIKE %s",
                (f"bench-{os.getpid()}-%",),
            ).fetchone()


async def drive(
    args: argparse.Namespace,
    ports: dict[str, int],
    pids: dict[str, int],
    db_url: str,
    prefix: str,
    log: Any,
) -> dict[str, Any]:
    run = Run(args, ports, db_url, log)
    probing = asyncio.create_task(run.probe(prefix))
    stats = run.stats
    rss: dict[str, dict[str, float | None]] = {name: {} for name in pids}

    def sample(label: str) -> None:
        for name, pid in pids.items():
            value = proc_status(pid)
            if label == "peak":
                old = rss[name].get("peak")
                rss[name]["peak"] = max(old or 0, value or 0)
            else:
                rss[name][label] = value

    phases: dict[str, float] = {}
    sample("start")

    t = time.perf_counter()
    run.operators = [Operator(i, f"bench-op{i:03d}") for i in range(args.operators)]
    await asyncio.gather(*(run.sign_in(op) for op in run.operators))
    for op in run.operators:
        assert op.console is not None
        op.console.on_frame = lambda t_, f, o=op: run.on_console(o, t_, f)
    phases["operators signed in"] = time.perf_counter() - t
    log(f"  {args.operators} operators signed in on B ({phases['operators signed in']:.1f} s)")

    t = time.perf_counter()
    gate = asyncio.Semaphore(args.connect_concurrency)
    await asyncio.gather(*(run.open_idle(i, gate) for i in range(args.idle)))
    phases["idle widgets connected"] = time.perf_counter() - t
    log(
        f"  {len(run.idle)}/{args.idle} idle widgets connected ({phases['idle widgets connected']:.1f} s)"
    )

    t = time.perf_counter()
    handover = min(args.handover, args.active, args.operators * args.max_chats)
    run.requesters = [Requester(i, handover=i < handover) for i in range(args.active)]
    gate = asyncio.Semaphore(min(args.connect_concurrency, 20))
    await asyncio.gather(*(run.start_requester(r, gate) for r in run.requesters))
    phases["conversations started and queued"] = time.perf_counter() - t
    log(
        f"  {args.active} conversations started on A, {sum(r.handover for r in run.requesters)} queued "
        f"({phases['conversations started and queued']:.1f} s)"
    )

    refs = run.references()
    for r in run.requesters:
        r.reference = refs.get(r.first_cid, "")
    queued = [r for r in run.requesters if r.handover and r.reference]
    t = time.perf_counter()
    plan: dict[int, list[str]] = {op.index: [] for op in run.operators}
    for k, r in enumerate(queued):
        op = run.operators[k % len(run.operators)]
        plan[op.index].append(r.reference)
        r.operator = op
    await asyncio.gather(*(run.accept_all(op, plan[op.index]) for op in run.operators))
    for r in queued:
        assert r.socket is not None
        got = await r.socket.expect(t_is("state", state="active"), args.timeout)
        if got is None:
            stats.errors["requester never saw 'active'"] += 1
            r.handover = False
    phases["chats accepted"] = time.perf_counter() - t
    log(
        f"  {sum(len(op.chats) for op in run.operators)} chats accepted by operators on B "
        f"({phases['chats accepted']:.1f} s)"
    )
    # Every accept tells every waiting widget that the queue moved, and each of them asks
    # the database for its new place: wait until those frames have stopped arriving.
    t = time.perf_counter()
    while time.perf_counter() - stats.last_active_frame < 2.0 and time.perf_counter() - t < 300:
        await asyncio.sleep(0.25)
    for r in run.requesters:
        if r.socket is not None:
            r.socket.frames.clear()
    phases["queue updates drained"] = time.perf_counter() - t
    log(f"  queue updates to the widgets drained ({phases['queue updates drained']:.1f} s)")
    sample("connected")

    # --- the measured window -----------------------------------------------------------------
    start = time.perf_counter()
    stats.window = (start, start + args.duration)
    cpu0 = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    busy0 = machine_busy()
    services0 = cpu_by_command()
    self_cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    log(f"  load for {args.duration:.0f} s ...")
    talkers = [
        asyncio.create_task(run.converse(r))
        for r in run.requesters
        if r.socket and not r.socket.closed
    ]

    async def sampler() -> None:
        while time.perf_counter() < stats.window[1]:
            sample("peak")
            await asyncio.sleep(2)

    sampling = asyncio.create_task(sampler())
    await asyncio.sleep(args.duration)
    wall = time.perf_counter() - start
    cpu = {
        name: round(100 * (proc_cpu_seconds(pid) - cpu0[name]) / wall, 1)
        for name, pid in pids.items()
    }
    self_cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    busy1 = machine_busy()
    services1 = cpu_by_command()
    for name in services1:
        cpu[name] = round(100 * (services1[name] - services0[name]) / wall, 1)
    machine = {
        "cpus": os.cpu_count(),
        "busy_percent_of_all_cpus": round(
            100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]), 1
        ),
        "loadavg_1min_at_end": os.getloadavg()[0],
    }
    client_cpu = round(
        100
        * ((self_cpu1.ru_utime + self_cpu1.ru_stime) - (self_cpu0.ru_utime + self_cpu0.ru_stime))
        / wall,
        1,
    )
    # Let the answers to messages sent near the end arrive.
    await asyncio.wait(talkers, timeout=args.timeout + 5)
    sampling.cancel()
    sample("end")

    stats.stopping = True
    probing.cancel()
    for op in run.operators:
        for handle in op.refresh_due.values():
            handle.cancel()
    for task in talkers + run.tasks:
        task.cancel()
    await asyncio.gather(*talkers, *run.tasks, return_exceptions=True)
    for op in run.operators:
        for http in [*op.connections.values(), *op.tabs.values()]:
            await http.close()
    closing = (
        [s for s in run.idle]
        + [r.socket for r in run.requesters if r.socket]
        + [op.console for op in run.operators if op.console]
    )
    for i in range(0, len(closing), 200):
        await asyncio.gather(*(s.close() for s in closing[i : i + 200]))

    distinct, rows = run.stored_requester_messages()
    acked = len(run.acked_cids)
    counts = dict(stats.counts)
    stored_in_window = (
        counts.get("requester messages acked", 0)
        + counts.get("bot answers", 0)
        + counts.get("operator replies", 0)
    )
    return {
        "config": {
            k: getattr(args, k)
            for k in (
                "idle",
                "active",
                "handover",
                "operators",
                "max_chats",
                "duration",
                "compression",
                "refetch",
                "timeout",
                "experiment_parallel_consumers",
            )
        },
        "connected": {
            "idle": len(run.idle),
            "active": sum(1 for r in run.requesters if r.socket),
            "handed_over": sum(1 for r in run.requesters if r.handover),
            "operators": len(run.operators),
        },
        "phases_s": {k: round(v, 1) for k, v in phases.items()},
        "latency": {k: quantiles(v) for k, v in stats.lat.items()},
        "throughput": {
            "requester_msgs_per_s": round(
                counts.get("requester messages acked", 0) / args.duration, 1
            ),
            "bot_answers_per_s": round(counts.get("bot answers", 0) / args.duration, 1),
            "operator_msgs_per_s": round(counts.get("operator replies", 0) / args.duration, 1),
            "stored_msgs_per_s": round(stored_in_window / args.duration, 1),
            "console_events_per_s": round(counts.get("console events", 0) / args.duration, 1),
        },
        "timeline_p50_ms_per_10s": stats.timeline(),
        "counts": counts,
        "errors": dict(stats.errors),
        "integrity": {
            "acked_requester_messages": acked,
            "stored_distinct": distinct,
            "stored_rows": rows,
            "missing": acked - distinct,
            "duplicates": rows - distinct,
        },
        "rss_mb": rss,
        "cpu_percent": {**cpu, "client": client_cpu},
        "machine": machine,
    }


# --- servers ------------------------------------------------------------------------------------


def wait_healthy(port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 90.0) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        try:
            with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {timeout} s")


def raise_fd_limit(needed: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def main(argv: list[str] | None = None) -> int:  # noqa: C901
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--idle", type=int, default=2000, help="idle widget connections (both servers)"
    )
    parser.add_argument(
        "--active", type=int, default=200, help="active conversations (requesters on A)"
    )
    parser.add_argument(
        "--handover",
        type=int,
        default=100,
        help="how many of the active conversations go to an operator (the rest stay with the bot)",
    )
    parser.add_argument(
        "--operators", type=int, default=20, help="operators (HTTP and console socket on B)"
    )
    parser.add_argument(
        "--max-chats", type=int, default=10, help="each operator's concurrent chat limit"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="measured window, seconds")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds before an awaited frame counts as lost"
    )
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument(
        "--no-refetch",
        dest="refetch",
        action="store_false",
        help="operators do not re-fetch the thread after each event (the console page does)",
    )
    parser.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="no permessage-deflate (browsers do negotiate it)",
    )
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/test",
        help="an existing database on the server to use; a fresh one is created beside it",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--experiment-parallel-consumers",
        action="store_true",
        help="experiment: run the consumers' database calls on a thread pool (patched at server "
        "start) instead of the one thread all sockets of a process share",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.operators < 1 and args.handover > 0:
        args.handover = 0

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    needed = 2 * (args.idle + args.active + args.operators * 3) + 1000
    soft, hard = raise_fd_limit(needed)
    if soft < needed:
        log(
            f"WARNING: file-descriptor limit {soft} (hard {hard}) is below the ~{needed} this run needs"
        )

    import psycopg
    import redis

    tag = f"{os.getpid()}_{secrets.token_hex(3)}"
    db_name = f"madoguchi_bench_chat_{tag}"
    prefix = f"mgbenchchat{tag}"
    parts = urllib.parse.urlsplit(args.database_url)
    db_url = urllib.parse.urlunsplit(parts._replace(path="/" + db_name))
    pg_admin_url = urllib.parse.urlunsplit(parts._replace(scheme="postgresql"))
    tmp = Path(tempfile.mkdtemp(prefix="mg-bench-chat-"))
    admin = psycopg.connect(pg_admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{db_name}"')
    procs: dict[str, subprocess.Popen] = {}
    logs: dict[str, Any] = {}
    result: dict[str, Any] = {}
    try:
        env = {
            k: v for k, v in os.environ.items() if k not in ("EMAIL_HOST", "DJANGO_SETTINGS_MODULE")
        }
        env.update(
            DATABASE_URL=db_url,
            REDIS_URL=args.redis_url,
            MADOGUCHI_REDIS_PREFIX=prefix,
            MADOGUCHI_DATA_DIR=str(tmp / "data"),
            SECRET_KEY=secrets.token_urlsafe(40),
            MADOGUCHI_EMBEDDED_WORKER="0",
            MADOGUCHI_CHAT_NEW_RATE_LIMIT="0/60",
            MADOGUCHI_CHAT_MAX_QUEUE=str(max(15, args.active + 10)),
            MADOGUCHI_CHAT_MAX_WAIT_MINUTES="100000",
            MADOGUCHI_SERVER_LOG_LEVEL="warning",
            MADOGUCHI_DEBUG="0",
            PYTHONUNBUFFERED="1",
        )
        t = time.perf_counter()
        subprocess.run(
            [*MADOGUCHI, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=600
        )
        setup = SETUP.replace("PASSWORD", repr(PASSWORD)).replace("OPERATORS", str(args.operators))
        done = subprocess.run(
            [*MADOGUCHI, "manage", "shell", "-c", setup],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode:
            raise RuntimeError(done.stderr)
        log(f"  database {db_name} migrated and loaded ({time.perf_counter() - t:.1f} s)")
        ports = {"A": free_port(), "B": free_port()}
        for name, port in ports.items():
            logs[name] = open(tmp / f"server-{name}.log", "w+")  # noqa: SIM115
            launcher = (
                [sys.executable, "-c", PARALLEL_BOOTSTRAP]
                if args.experiment_parallel_consumers
                else MADOGUCHI
            )
            procs[name] = subprocess.Popen(
                [*launcher, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env={**env, "MADOGUCHI_SITE_URL": f"http://127.0.0.1:{port}"},
                cwd=ROOT,
                stdout=logs[name],
                stderr=subprocess.STDOUT,
            )
        for name, port in ports.items():
            wait_healthy(port, procs[name], tmp / f"server-{name}.log")
        log(
            f"  servers A :{ports['A']} (pid {procs['A'].pid}), B :{ports['B']} (pid {procs['B'].pid})"
        )
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            runner = asyncio.run
        result = runner(
            drive(args, ports, {n: p.pid for n, p in procs.items()}, db_url, prefix, log)
        )
        for name, proc in procs.items():
            if proc.poll() is not None:
                result["errors"][f"server {name} exited ({proc.returncode})"] = 1
            logs[name].seek(0)
            text = logs[name].read()
            result.setdefault("server_log_errors", {})[name] = text.count("Traceback") + text.count(
                " ERROR "
            )
            if "Traceback" in text:
                result.setdefault("server_log_sample", {})[name] = text[text.index("Traceback") :][
                    :1500
                ]
        result["fd_limit"] = soft
    finally:
        for proc in procs.values():
            stop(proc)
        for handle in logs.values():
            handle.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin.close()
        r = redis.Redis.from_url(args.redis_url)
        keys = list(r.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            r.delete(*keys)
        r.close()
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print_table(result)
    return 0


def print_table(result: dict[str, Any]) -> None:
    c, conn = result["config"], result["connected"]
    print(
        f"\n{conn['idle']} idle widgets (A+B), {conn['active']} active conversations on A "
        f"({conn['handed_over']} with {conn['operators']} operators on B, the rest with the bot), "
        f"{c['duration']:.0f} s window"
    )
    print("\n| latency | n | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    names = {
        "ack": "requester send → ack (A)",
        "bot": "requester send → bot answer (A)",
        "to_operator": "requester send (A) → operator's console event (B)",
        "staff_published": "requester send → `message.created` published in Redis (A)",
        "staff_passed_on": "`message.created` published in Redis → console socket (B)",
        "operator_sees": "requester send (A) → operator's re-fetched thread shows it (B)",
        "to_requester": "operator send (B) → requester receives (A)",
        "operator_post": "operator `POST …/send/` round trip (B)",
        "thread_refresh": "operator's thread re-fetch `GET /console/i/<ref>/thread/` (B)",
        "ping_A": "idle ping → pong, server A",
        "ping_B": "idle ping → pong, server B",
        "connect": "idle connect + hello → welcome (setup)",
        "start": "first message → ack, new conversation (setup)",
        "accept": "operator accept (setup)",
        "bot_delivery": "bot answer stored → arrives (A)",
        "reply_delivery": "operator reply stored (B) → arrives (A)",
        "reply_published": "operator send (B) → reply published in Redis",
        "reply_passed_on": "reply published in Redis → arrives (A)",
    }
    for key, label in names.items():
        q = result["latency"][key]
        print(
            f"| {label} | {q['n']} | {q['p50_ms']} | {q['p90_ms']} | {q['p99_ms']} | {q['max_ms']} |"
        )
    print("\nmedian ms by 10 s of the window:")
    for key, values in result["timeline_p50_ms_per_10s"].items():
        print(f"  {key:14} " + " ".join(f"{v:>8}" if v is not None else "       -" for v in values))
    t = result["throughput"]
    print("\n| throughput (window) | per s |")
    print("|---|---|")
    for key, label in (
        ("requester_msgs_per_s", "requester messages stored"),
        ("bot_answers_per_s", "bot answers"),
        ("operator_msgs_per_s", "operator replies"),
        ("stored_msgs_per_s", "all chat messages"),
        ("console_events_per_s", "console events received (all operators)"),
    ):
        print(f"| {label} | {t[key]} |")
    print("\n| server | RSS start MB | connected | peak under load | end | CPU % in window |")
    print("|---|---|---|---|---|---|")
    for name, r in result["rss_mb"].items():
        print(
            f"| {name} | {r.get('start')} | {r.get('connected')} | {r.get('peak')} | {r.get('end')} | "
            f"{result['cpu_percent'].get(name)} |"
        )
    print(f"| load client | | | | | {result['cpu_percent'].get('client')} |")
    for name in ("postgres", "redis-server"):
        print(f"| {name} (all its processes) | | | | | {result['cpu_percent'].get(name)} |")
    m = result["machine"]
    print(
        f"\nmachine during the window: {m['busy_percent_of_all_cpus']} % of {m['cpus']} CPUs busy (everything, "
        f"PostgreSQL, Redis and other users included), load average {m['loadavg_1min_at_end']:.1f}"
    )
    errors = result["errors"]
    print("\nerrors:", ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none")
    i = result["integrity"]
    print(
        f"integrity: {i['acked_requester_messages']} requester messages acknowledged, "
        f"{i['stored_distinct']} stored, missing {i['missing']}, duplicates {i['duplicates']}"
    )
    print("setup:", ", ".join(f"{k} {v} s" for k, v in result["phases_s"].items()))
    print("server log errors:", result.get("server_log_errors"))


if __name__ == "__main__":
    raise SystemExit(main())
