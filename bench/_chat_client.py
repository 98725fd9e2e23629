"""The load client of bench/chat_load.py, shared by the desk and the floor (bench/chat_floor.py):
widgets (idle and active), operators (console socket + HTTP), latency bookkeeping, the
integrity check, and the process/machine figures. One asyncio process (uvloop if present).

A *target* says how to reach a server kind (``DeskTarget`` in chat_load.py,
``FloorTarget`` here): operator sign-in, accepting a chat, an operator's send, and the
stored rows for the integrity check. Everything on the widget side is the same frames for
both (``hello``/``welcome``, ``msg``/``ack``, ``message``, ``person``/``offer``, ``state``,
``ping``/``pong``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _http import read_response

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


# --- processes and the machine -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (``madoguchi serve --processes N`` runs N children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            todo += [
                int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()
            ]
        except (OSError, ValueError):
            pass
    return out


def proc_status(pid: int, key: str = "VmRSS:") -> float | None:
    """VmRSS (MB) of a process and its descendants."""
    total, found = 0, False
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith(key):
                    total += int(line.split()[1])
                    found = True
        except OSError:
            continue
    return round(total / 1024, 2) if found else None


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live descendants."""
    total, found = 0.0, False
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            found = True
        except (OSError, IndexError, ValueError):
            continue
    return total if found else float("nan")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_by_pid(
    names: tuple[str, ...] = ("postgres", "redis-server"),
) -> dict[int, tuple[str, float]]:
    """pid -> (command, CPU seconds so far) of every process whose command is in ``names``."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in names:
            seconds = proc_cpu_seconds(int(entry.name))
            if seconds == seconds:  # not NaN: the process was still there
                out[int(entry.name)] = (comm, seconds)
    return out


def cpu_delta(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds used between two ``cpu_by_pid`` readings, summed by command: processes
    started meanwhile count in full, those that ended meanwhile are missed (PostgreSQL
    backends of short connections)."""
    out: dict[str, float] = {}
    for pid, (comm, seconds) in after.items():
        old = before.get(pid)
        used = seconds - old[1] if old is not None and old[0] == comm else seconds
        out[comm] = out.get(comm, 0.0) + max(0.0, used)
    return out


class CpuMeter:
    """CPU % (of one core) over an interval for the servers, this client, PostgreSQL and
    Redis (all their processes: other sessions' use of them included), and the machine."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.t = time.perf_counter()
        self.cpu0 = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
        self.busy0 = machine_busy()
        self.services0 = cpu_by_pid()
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)

    def read(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.t
        cpu = {
            name: round(100 * (proc_cpu_seconds(pid) - self.cpu0[name]) / wall, 1)
            for name, pid in self.pids.items()
        }
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu["client"] = round(
            100
            * ((self1.ru_utime + self1.ru_stime) - (self.self0.ru_utime + self.self0.ru_stime))
            / wall,
            1,
        )
        for name, seconds in cpu_delta(self.services0, cpu_by_pid()).items():
            cpu[name] = round(100 * seconds / wall, 1)
        busy1 = machine_busy()
        cpus = os.cpu_count() or 1
        busy = round(100 * (busy1[0] - self.busy0[0]) / max(1, busy1[1] - self.busy0[1]), 1)
        ours = sum(v for v in cpu.values() if v == v) / cpus
        return {
            "cpu_percent": cpu,
            "machine": {
                "cpus": cpus,
                "busy_percent_of_all_cpus": busy,
                # Everything else on the host (other sessions), in % of all CPUs.
                "not_ours_percent_of_all_cpus": round(max(0.0, busy - ours), 1),
                "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
            },
        }


def raise_fd_limit(needed: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def wait_healthy(port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 120.0) -> None:
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
            writer, self.writer = self.writer, None
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (OSError, TimeoutError, asyncio.CancelledError):
                # CancelledError: the close waiter of a request cancelled at the end
                pass

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
            status, headers_in, data, close = await read_response(self.reader)
        except ConnectionError:
            await self.close()
            raise
        answer: dict[str, str] = {}
        for name, value in headers_in:
            answer[name] = value
            if name == "set-cookie":
                k, _, rest = value.partition("=")
                self.cookies[k.strip()] = rest.split(";", 1)[0]
        if close:
            await self.close()
        return status, answer, data


# --- latencies ------------------------------------------------------------------------------------


TIMELINE = ("ack", "bot", "to_operator", "to_requester", "ping")


class Stats:
    """Latencies of what was sent inside ``window`` (setup figures always), counts, errors."""

    def __init__(self, window: tuple[float, float] = (0.0, float("inf"))) -> None:
        self.window = window
        self.lat: dict[str, list[float]] = {}
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.errors: Counter = Counter()
        self.counts: Counter = Counter()

    def add(self, name: str, seconds: float, at: float | None = None) -> None:
        if at is None or self.in_window(at):
            self.lat.setdefault(name, []).append(seconds)
            if at is not None:
                self.series.setdefault(name, []).append((at - self.window[0], seconds))

    def in_window(self, at: float) -> bool:
        return self.window[0] <= at <= self.window[1]

    def timeline(self, slice_s: float = 10.0) -> dict[str, list[float | None]]:
        """Median latency (ms) per ``slice_s`` of the window: a growing backlog shows."""
        out = {}
        slices = max(1, int((self.window[1] - self.window[0]) // slice_s))
        for name in TIMELINE:
            buckets: list[list[float]] = [[] for _ in range(slices)]
            for start, latency in self.series.get(name, []):
                buckets[min(slices - 1, max(0, int(start // slice_s)))].append(latency)
            out[name] = [quantiles(b)["p50_ms"] for b in buckets]
        return out

    def report(self) -> dict[str, Any]:
        return {k: quantiles(v) for k, v in sorted(self.lat.items())}


class Socket:
    """A WebSocket with a reader task that time-stamps frames as they arrive; frames are
    buffered (``expect``) until ``on_frame`` is set."""

    def __init__(self, connection: Any, client: LoadClient, name: str) -> None:
        self.connection = connection
        self.client = client
        self.name = name
        self.frames: list[tuple[float, dict]] = []
        self.changed = asyncio.Event()
        self.closed = False
        self.on_frame: Any = None  # callback(t, frame) instead of buffering
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        client: LoadClient,
        port: int,
        path: str,
        name: str,
        cookie: str = "",
    ) -> Socket:
        from websockets.asyncio.client import connect

        connection = await connect(
            f"ws://127.0.0.1:{port}{path}",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": cookie} if cookie else None,
            proxy=None,
            ping_interval=None,
            open_timeout=client.timeout,
            close_timeout=2,
            compression="deflate" if client.compression else None,
            max_queue=256,
        )
        return cls(connection, client, name)

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.connection:
                t = time.perf_counter()
                frame = json.loads(raw)
                if self.name == "active":
                    self.client.last_active_frame = t
                if frame.get("t") == "error":
                    self.client.stats.errors[f"error frame: {frame.get('code')}"] += 1
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
            if not self.client.stopping:
                self.client.stats.errors[f"dropped ({self.name})"] += 1

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

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.connection.close(), 5)
        except Exception:  # noqa: BLE001 - closing at the end, whatever state it is in
            pass
        self.task.cancel()


def t_is(kind: str, **values: Any):
    return lambda f: f.get("t") == kind and all(f.get(k) == v for k, v in values.items())


HELLO = {
    "t": "hello",
    "token": None,
    "lang": "ja",
    "page": "https://www.example.ac.jp/",
    "after": 0,
}


@dataclass
class Requester:
    index: int
    handover: bool = False
    socket: Socket | None = None
    reference: str = ""
    operator: Operator | None = None
    first_cid: str = ""
    n: int = 0  # messages sent so far
    unacked: dict[str, float] = field(default_factory=dict)  # cid -> send time
    sent_order: list[str] = field(default_factory=list)  # cids in send order
    acked: set[str] = field(default_factory=set)
    last_ack_seq: int = 0
    bot_wait: list[tuple[int, float]] = field(default_factory=list)  # (ack seq, send time)
    last_reply_seq: int = 0
    replies_seen: set[int] = field(default_factory=set)


@dataclass
class Operator:
    index: int
    username: str
    cookies: dict[str, str] = field(default_factory=dict)
    console: Socket | None = None
    chats: dict[str, Requester] = field(default_factory=dict)  # reference -> requester
    connections: dict[str, Http] = field(default_factory=dict)  # per chat: its send requests
    tabs: dict[str, Http] = field(default_factory=dict)  # per chat: the page's own fetches
    refresh_due: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    last_seen: dict[str, int] = field(default_factory=dict)


# --- targets: what differs between the desk and the floor ------------------------------------------


class Target:
    kind = "?"
    widget_path = "/ws/chat/"
    refetch = False  # operators re-fetch the thread after each event (desk console.js)

    async def sign_in(self, client: LoadClient, op: Operator) -> None:
        raise NotImplementedError

    async def accept(self, client: LoadClient, op: Operator, http: Http, reference: str) -> bool:
        raise NotImplementedError

    async def operator_send(
        self, client: LoadClient, op: Operator, http: Http, reference: str, cid: str, body: str
    ) -> int:
        """HTTP status of the operator's send."""
        raise NotImplementedError

    async def refresh(self, client: LoadClient, op: Operator, reference: str) -> None:
        return None

    def references(self, first_cids: list[str]) -> dict[str, str]:
        """first message's client id -> the conversation's reference."""
        raise NotImplementedError

    def stored(self, tag: str) -> list[tuple[str, str, int]]:
        """(reference, client id, row id) of the bench's stored messages, by row id."""
        raise NotImplementedError


class FloorTarget(Target):
    """bench/chat_floor.py: operators open ``/ws/console/?op=N`` and POST to ``/floor/...``."""

    kind = "floor"

    def __init__(self, rows: Any, references: Any) -> None:
        self._rows = rows
        self._references = references

    async def sign_in(self, client: LoadClient, op: Operator) -> None:
        op.console = await Socket.open(
            client, client.ports["B"], f"/ws/console/?op={op.index}", "console"
        )
        if await op.console.expect(lambda f: f.get("kind") == "hello", client.timeout) is None:
            raise RuntimeError("floor console socket: no hello")

    async def accept(self, client: LoadClient, op: Operator, http: Http, reference: str) -> bool:
        status, _h, _b = await http.request(
            "POST", f"/floor/accept/{reference}/", {"op": str(op.index)}
        )
        return status == 200

    async def operator_send(
        self, client: LoadClient, op: Operator, http: Http, reference: str, cid: str, body: str
    ) -> int:
        status, _h, _b = await http.request(
            "POST", f"/floor/send/{reference}/", {"cid": cid, "body": body}
        )
        return status

    def references(self, first_cids: list[str]) -> dict[str, str]:
        return self._references(first_cids)

    def stored(self, tag: str) -> list[tuple[str, str, int]]:
        return self._rows(tag)


# --- the client -------------------------------------------------------------------------------------


class LoadClient:
    def __init__(
        self,
        target: Target,
        ports: dict[str, int],
        *,
        tag: str,
        timeout: float = 30.0,
        compression: bool = True,
        connect_concurrency: int = 100,
        log: Any = print,
    ) -> None:
        self.target = target
        self.ports = ports
        self.tag = tag  # in every client id, to find the bench's rows afterwards
        self.timeout = timeout
        self.compression = compression
        self.connect_concurrency = connect_concurrency
        self.log = log
        self.stats = Stats()
        self.setup = Stats()
        self.stopping = False
        self.last_active_frame = 0.0
        self.idle: list[Socket] = []
        self.requesters: list[Requester] = []
        self.operators: list[Operator] = []
        self.tasks: list[asyncio.Task] = []
        self.op_sent: dict[str, tuple[float, Requester]] = {}  # operator cid -> POST start
        self.op_order: dict[str, list[str]] = {}  # reference -> operator cids sent (200)
        self.console_wait: dict[str, list[tuple[str, float]]] = {}  # reference -> (who, sent)
        self.thread_wait: dict[str, list[tuple[str, float]]] = {}  # reference -> (token, sent)
        self.posts_in_flight = 0
        self.operator_messages = 0  # numbers the operators' client ids across windows
        self.undelivered: list[str] = []
        self.integrity = Counter()

    # --- idle widgets ----------------------------------------------------------------------

    async def open_idle(self, i: int, server: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            t0 = time.perf_counter()
            try:
                sock = await Socket.open(
                    self, self.ports[server], self.target.widget_path, f"idle {server}"
                )
            except TimeoutError:
                self.setup.errors["idle connect timeout"] += 1
                return
            except Exception as exc:  # noqa: BLE001 - refused, rejected handshake, reset
                self.setup.errors[f"idle connect refused ({type(exc).__name__})"] += 1
                return
            await sock.send(HELLO)
            got = await sock.expect(t_is("welcome"), self.timeout)
            if got is None:
                self.setup.errors["idle hello without welcome"] += 1
                await sock.close()
                return
            self.setup.add("connect", got[0] - t0)
            self.idle.append(sock)
        self.tasks.append(asyncio.create_task(self.pinger(sock)))

    async def connect_idle(self, indices: range, servers: list[str]) -> None:
        gate = asyncio.Semaphore(self.connect_concurrency)
        await asyncio.gather(*(self.open_idle(i, servers[i % len(servers)], gate) for i in indices))

    async def pinger(self, sock: Socket) -> None:
        await asyncio.sleep(random.uniform(0, PING_SECONDS))
        while not self.stopping and not sock.closed:
            t0 = time.perf_counter()
            try:
                await sock.send({"t": "ping"})
            except Exception:  # noqa: BLE001 - counted as dropped by the reader
                return
            got = await sock.expect(t_is("pong"), self.timeout)
            if got is None:
                if not sock.closed and not self.stopping:
                    self.stats.errors["ping without pong"] += 1
            else:
                self.stats.add("ping", got[0] - t0, t0)
                self.stats.add("ping_" + sock.name[-1], got[0] - t0, t0)
            sock.frames.clear()
            await asyncio.sleep(PING_SECONDS)

    # --- active conversations: setup ------------------------------------------------------------

    async def start_requester(self, r: Requester, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                sock = await Socket.open(self, self.ports["A"], self.target.widget_path, "active")
            except Exception as exc:  # noqa: BLE001
                self.setup.errors[f"active connect refused ({type(exc).__name__})"] += 1
                return
            r.socket = sock
            await sock.send(HELLO)
            if await sock.expect(t_is("welcome"), self.timeout) is None:
                self.setup.errors["active hello without welcome"] += 1
                return
            r.first_cid = f"bench-{self.tag}-{r.index}-0"
            t0 = time.perf_counter()
            await sock.send({"t": "msg", "cid": r.first_cid, "body": random.choice(QUESTIONS)})
            ack = await sock.expect(t_is("ack", cid=r.first_cid), self.timeout)
            if ack is None:
                self.setup.errors["first message not acknowledged"] += 1
                return
            r.sent_order.append(r.first_cid)
            r.acked.add(r.first_cid)
            r.last_ack_seq = ack[1]["seq"]
            self.setup.add("start", ack[0] - t0)
        if r.handover:
            await sock.send({"t": "person", "member_category": ""})
            offer = await sock.expect(t_is("offer"), self.timeout * 4)
            if offer is None or offer[1].get("outcome") != "queued":
                self.setup.errors[
                    f"handover refused ({offer[1].get('outcome') if offer else 'no answer'})"
                ] += 1
                r.handover = False

    async def sign_in_operators(self, count: int) -> None:
        self.operators = [Operator(i, f"bench-op{i:03d}") for i in range(count)]
        await asyncio.gather(*(self.target.sign_in(self, op) for op in self.operators))
        for op in self.operators:
            assert op.console is not None
            op.console.on_frame = lambda t, f, o=op: self.on_console(o, t, f)

    async def start_conversations(self, active: int, handover: int) -> None:
        self.requesters = [Requester(i, handover=i < handover) for i in range(active)]
        gate = asyncio.Semaphore(min(self.connect_concurrency, 20))
        await asyncio.gather(*(self.start_requester(r, gate) for r in self.requesters))
        refs = self.target.references([r.first_cid for r in self.requesters if r.first_cid])
        for r in self.requesters:
            r.reference = refs.get(r.first_cid, "")

    async def hand_over(self) -> None:
        """Operators accept the queued chats (spread evenly); the requesters see 'active'."""
        queued = [r for r in self.requesters if r.handover and r.reference]
        if not self.operators:
            return
        plan: dict[int, list[Requester]] = {op.index: [] for op in self.operators}
        for k, r in enumerate(queued):
            op = self.operators[k % len(self.operators)]
            plan[op.index].append(r)
            r.operator = op

        async def accept_all(op: Operator) -> None:
            http = Http(self.ports["B"], op.cookies)
            for r in plan[op.index]:
                t0 = time.perf_counter()
                if await self.target.accept(self, op, http, r.reference):
                    self.setup.add("accept", time.perf_counter() - t0)
                    op.chats[r.reference] = r
                else:
                    self.setup.errors["accept refused"] += 1
            await http.close()

        await asyncio.gather(*(accept_all(op) for op in self.operators))
        for r in queued:
            assert r.socket is not None
            if await r.socket.expect(t_is("state", state="active"), self.timeout) is None:
                self.setup.errors["requester never saw 'active'"] += 1
                r.handover = False
                if r.operator is not None:
                    r.operator.chats.pop(r.reference, None)

    async def drain_setup_frames(self, quiet: float = 2.0, limit: float = 300.0) -> float:
        """Waits until no frame has reached an active widget for ``quiet`` s (the desk tells
        every waiting widget each time the queue moves); then live bookkeeping starts."""
        t = time.perf_counter()
        while (
            time.perf_counter() - self.last_active_frame < quiet and time.perf_counter() - t < limit
        ):
            await asyncio.sleep(0.25)
        for r in self.requesters:
            if r.socket is not None:
                r.socket.frames.clear()
                r.socket.on_frame = lambda t_, f, r_=r: self.on_requester_frame(r_, t_, f)
        return time.perf_counter() - t

    # --- active conversations: live -------------------------------------------------------------

    def on_requester_frame(self, r: Requester, t: float, frame: dict) -> None:
        kind = frame.get("t")
        if kind == "ack":
            cid = frame.get("cid")
            t0 = r.unacked.pop(cid, None)
            if t0 is None:
                self.stats.errors["ack for nothing pending (late or doubled)"] += 1
                return
            r.acked.add(cid)
            seq = frame["seq"]
            if seq <= r.last_ack_seq:
                self.integrity["acks out of send order"] += 1
            r.last_ack_seq = max(r.last_ack_seq, seq)
            self.stats.add("ack", t - t0, t0)
            if self.stats.in_window(t0):
                self.stats.counts["requester messages acked"] += 1
            if not r.handover:
                r.bot_wait.append((seq, t0))
                r.bot_wait.sort()
        elif kind == "error" and frame.get("cid") in r.unacked:
            r.unacked.pop(frame["cid"])
            self.stats.errors[f"refused: {frame.get('code')}"] += 1
        elif kind == "message":
            message = frame.get("message") or {}
            mkind = message.get("kind")
            seq = message.get("seq") or 0
            if mkind == "bot" and not r.handover:
                # The answer to the newest acknowledged message at or before it (the desk
                # stores the answer right after the question; the floor reuses its seq).
                earlier = [w for w in r.bot_wait if w[0] <= seq]
                if not earlier:
                    self.stats.errors["bot answer before its ack"] += 1
                    return
                answered = earlier[-1]
                for w in earlier[:-1]:
                    self.stats.errors["no bot answer"] += 1
                    r.bot_wait.remove(w)
                r.bot_wait.remove(answered)
                self.stats.add("bot", t - answered[1], answered[1])
                if self.stats.in_window(answered[1]):
                    self.stats.counts["bot answers"] += 1
            elif mkind == "reply":
                if seq in r.replies_seen:
                    self.integrity["operator messages delivered twice"] += 1
                    return
                r.replies_seen.add(seq)
                if seq < r.last_reply_seq:
                    self.integrity["operator messages delivered out of order"] += 1
                r.last_reply_seq = max(r.last_reply_seq, seq)
                sent = self.op_sent.pop(message.get("cid") or "", None)
                if sent is not None:
                    self.stats.add("to_requester", t - sent[0], sent[0])
                    if self.stats.in_window(sent[0]):
                        self.stats.counts["operator messages delivered"] += 1

    async def requester_sender(
        self, r: Requester, interval: tuple[float, float], end: float
    ) -> None:
        """Open loop: a message every ``interval`` s (uniform), whatever the answers do."""
        sock = r.socket
        assert sock is not None
        lo, hi = interval
        at = time.perf_counter() + random.uniform(0, hi)  # random phase
        while at < end and not sock.closed:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            r.n += 1
            cid = f"bench-{self.tag}-{r.index}-{r.n}"
            token = f"(q{r.index}-{r.n})"
            t0 = time.perf_counter()
            r.unacked[cid] = t0
            r.sent_order.append(cid)
            if r.handover:
                self.console_wait.setdefault(r.reference, []).append(("requester", t0))
                if self.target.refetch:
                    self.thread_wait.setdefault(r.reference, []).append((token, t0))
            try:
                await sock.send(
                    {"t": "msg", "cid": cid, "body": f"{random.choice(QUESTIONS)} {token}"}
                )
            except Exception:  # noqa: BLE001 - counted as dropped by the reader
                return
            self.stats.counts["requester messages sent"] += 1
            at += random.uniform(lo, hi)

    async def operator_sender(
        self, op: Operator, r: Requester, interval: tuple[float, float], end: float
    ) -> None:
        """Open loop per chat; the chat's sends share one keep-alive connection (in order)."""
        reference = r.reference
        http = op.connections.get(reference)
        if http is None:
            http = op.connections[reference] = Http(self.ports["B"], op.cookies)
        lo, hi = interval
        at = time.perf_counter() + random.uniform(0, hi)
        while at < end:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.stats.counts["operator messages started"] += 1
            self.operator_messages += 1
            n = self.operator_messages
            cid = f"benchop-{self.tag}-{op.index}-{n}"
            t0 = time.perf_counter()
            self.op_sent[cid] = (t0, r)
            self.console_wait.setdefault(reference, []).append(("operator", t0))
            self.posts_in_flight += 1
            try:
                status = await asyncio.wait_for(
                    self.target.operator_send(
                        self,
                        op,
                        http,
                        reference,
                        cid,
                        f"担当者です。確認しますので少々お待ちください。({n})",
                    ),
                    self.timeout,
                )
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
                self.stats.errors[f"operator send {type(exc).__name__}"] += 1
                self.op_sent.pop(cid, None)
                await http.close()
                status = 0
            finally:
                self.posts_in_flight -= 1
            if status == 200:
                self.op_order.setdefault(reference, []).append(cid)
                self.stats.add("operator_post", time.perf_counter() - t0, t0)
            elif status:
                self.stats.errors[f"operator send {status}"] += 1
                self.op_sent.pop(cid, None)
            at += random.uniform(lo, hi)

    def on_console(self, op: Operator, t: float, frame: dict) -> None:
        if frame.get("kind") != "message.created" or self.stopping:
            return
        self.stats.counts["console events"] += 1
        reference = frame.get("inquiry") or ""
        if reference not in op.chats:
            return
        # Events carry no message id: the oldest message of the chat (either side) not yet
        # announced is the one (events follow commit order; sends 10-20 s apart per side).
        waiting = self.console_wait.get(reference, [])
        if waiting:
            who, t0 = waiting.pop(0)
            if who == "requester":
                self.stats.add("to_operator", t - t0, t0)
        else:
            self.stats.counts["console events not matched"] += 1
        if self.target.refetch:
            # The inquiry page re-fetches its thread 100 ms after the last event (console.js).
            old = op.refresh_due.pop(reference, None)
            if old is not None:
                old.cancel()
            op.refresh_due[reference] = asyncio.get_running_loop().call_later(
                0.1,
                lambda: self.tasks.append(
                    asyncio.create_task(self.target.refresh(self, op, reference))
                ),
            )

    # --- windows --------------------------------------------------------------------------------

    def outstanding(self) -> int:
        return (
            sum(len(r.unacked) + len(r.bot_wait) for r in self.requesters)
            + len(self.op_sent)
            + self.posts_in_flight
        )

    async def window(
        self,
        duration: float,
        interval: tuple[float, float],
        op_interval: tuple[float, float] | None,
        pids: dict[str, int],
        profile: Any = None,
    ) -> dict[str, Any]:
        """Load for ``duration`` s; then waits (up to the timeout) for what is outstanding."""
        start = time.perf_counter()
        end = start + duration
        self.stats = Stats((start, end))
        self.console_wait.clear()
        self.thread_wait.clear()
        meter = CpuMeter(pids)
        rss_peak = {name: 0.0 for name in pids}
        senders = [
            asyncio.create_task(self.requester_sender(r, interval, end))
            for r in self.requesters
            if r.socket is not None and not r.socket.closed and r.reference
        ]
        if op_interval is not None:
            senders += [
                asyncio.create_task(self.operator_sender(op, r, op_interval, end))
                for op in self.operators
                for r in op.chats.values()
            ]
        if profile is not None:
            profile.start(duration)
        while time.perf_counter() < end:
            for name, pid in pids.items():
                rss_peak[name] = max(rss_peak[name], proc_status(pid) or 0.0)
            await asyncio.sleep(min(2.0, max(0.0, end - time.perf_counter())))
        usage = meter.read()
        await asyncio.gather(*senders, return_exceptions=True)
        deadline = time.perf_counter() + self.timeout
        while self.outstanding() and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        drain = time.perf_counter() - end
        self._count_lost()
        counts = dict(self.stats.counts)
        sent = counts.get("requester messages sent", 0) + counts.get("operator messages started", 0)
        return {
            "duration_s": duration,
            "interval_s": list(interval),
            "operator_interval_s": list(op_interval) if op_interval else None,
            "offered_msgs_per_s": round(sent / duration, 1),
            "latency": self.stats.report(),
            "timeline_p50_ms_per_10s": self.stats.timeline(),
            "counts": counts,
            "errors": dict(self.stats.errors),
            "drain_after_window_s": round(drain, 1),
            "undelivered": self.undelivered[-20:],
            "rss_peak_mb": rss_peak,
            **usage,
        }

    def _count_lost(self) -> None:
        for r in self.requesters:
            if r.unacked:
                self.stats.errors["no ack within timeout"] += len(r.unacked)
                r.unacked.clear()
            if r.bot_wait:
                self.stats.errors["no bot answer within timeout"] += len(r.bot_wait)
                r.bot_wait.clear()
        if self.op_sent:
            self.stats.errors["operator message not delivered within timeout"] += len(self.op_sent)
            self.undelivered += [
                f"{cid} ({r.reference}, sent {t0 - self.stats.window[0]:.1f} s into the window)"
                for cid, (t0, r) in self.op_sent.items()
            ]
            self.op_sent.clear()

    # --- the end ----------------------------------------------------------------------------------

    async def close_all(self) -> None:
        self.stopping = True
        for op in self.operators:
            for handle in op.refresh_due.values():
                handle.cancel()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for op in self.operators:
            for http in [*op.connections.values(), *op.tabs.values()]:
                await http.close()
        closing = (
            list(self.idle)
            + [r.socket for r in self.requesters if r.socket]
            + [op.console for op in self.operators if op.console]
        )
        for i in range(0, len(closing), 200):
            await asyncio.gather(*(s.close() for s in closing[i : i + 200]))

    def check_integrity(self) -> dict[str, Any]:
        """What the client was told (acks, 200s) against the rows: none missing, none twice,
        per conversation in send order (requester side and operator side)."""
        rows = self.target.stored(self.tag)
        stored: dict[str, list[str]] = {}
        for reference, cid, _id in rows:
            stored.setdefault(reference, []).append(cid)
        out = Counter(self.integrity)
        all_cids = [cid for _ref, cid, _id in rows]
        out["stored rows"] = len(all_cids)
        out["duplicates"] = len(all_cids) - len(set(all_cids))
        distinct = set(all_cids)
        for r in self.requesters:
            if not r.reference:
                continue
            acked = [c for c in r.sent_order if c in r.acked]
            out["requester messages acked"] += len(acked)
            out["missing"] += sum(1 for c in acked if c not in distinct)
            ops = self.op_order.get(r.reference, [])
            out["operator messages answered 200"] += len(ops)
            out["missing"] += sum(1 for c in ops if c not in distinct)
            in_db = stored.get(r.reference, [])
            mine = set(acked)
            if [c for c in dict.fromkeys(in_db) if c in mine] != [
                c for c in acked if c in distinct
            ]:
                out["conversations stored out of order (requester side)"] += 1
            theirs = set(ops)
            if [c for c in dict.fromkeys(in_db) if c in theirs] != [
                c for c in ops if c in distinct
            ]:
                out["conversations stored out of order (operator side)"] += 1
        return dict(out)

    async def rss_per_idle(
        self, pids: dict[str, int], count: int, servers: list[str], warmup: int = 10
    ) -> dict[str, Any]:
        """Connects ``count`` idle widgets: ``warmup`` first (the first connection's imports
        and caches are not per-widget), then the rest between two RSS readings."""
        warm = min(warmup * len(servers), count)
        await self.connect_idle(range(warm), servers)
        await asyncio.sleep(0.5)
        before = {name: proc_status(pid) or 0.0 for name, pid in pids.items()}
        await self.connect_idle(range(warm, count), servers)
        await asyncio.sleep(1.0)
        after = {name: proc_status(pid) or 0.0 for name, pid in pids.items()}
        measured = count - warm
        per_server = {name: measured / len(servers) for name in pids}
        return {
            "before_mb": before,
            "after_mb": after,
            "widgets_measured": measured,
            "mb_per_idle_widget": {
                name: round((after[name] - before[name]) / per_server[name], 4)
                if per_server[name]
                else None
                for name in pids
            },
        }


def run_async(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)
