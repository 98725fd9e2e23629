"""Live chat under load, against a floor measured in the same run (issue 12's budgets).

    python bench/chat_load.py --scenario embedded              # 300 idle + 40 active, 60 s
    python bench/chat_load.py --scenario scaled                # 2,000 idle + 200 active, 60 s
    python bench/chat_load.py --scenario scaled --find-max-rate
    python bench/chat_load.py --scenario embedded --duration 15   # a quick run (< 1 min)
    python bench/chat_load.py ... --json                        # machine-readable output
    python bench/chat_load.py ... --profile                     # py-spy on the desk process(es)

Each run measures the *floor* first (bench/chat_floor.py: a bare uvicorn + websockets
server that stores each message in its own committed transaction before the ack, answers
ping with pong and sends a bot-like frame after the ack), then the *desk* (``madoguchi
serve``), with the same client (bench/_chat_client.py) and the same load, and prints
both side by side with the budgets.

Scenario ``embedded``: one ``madoguchi serve`` on the embedded default (no DATABASE_URL,
no REDIS_URL: SQLite in a temporary ``MADOGUCHI_DATA_DIR``, the in-memory channel layer,
the embedded worker thread; ``--demo`` as ``scripts/run`` starts it) on a free port; the
floor stores into a SQLite file with the desk's pragmas. ``--idle`` widgets (hello, then
a ping every 25 s with random phase) and ``--active`` conversations with the bot, each
sending a message every second, open loop (not waiting for answers). Budgets: ack p99 ≤ 3×
the floor's and ≤ 100 ms, bot answer p99 ≤ 250 ms, idle ping p99 ≤ 50 ms.

Scenario ``scaled``: two desk processes (A, B) behind PostgreSQL (a fresh database,
dropped afterwards) and Redis (a key prefix of their own, removed afterwards); the floor:
two floor processes storing into PostgreSQL, Redis pub/sub between them. Idle widgets
alternate between A and B; active requesters are on A; ``--handover`` of them ask for a
person and are accepted by ``--operators`` operators on B (desk: signed in over HTTP,
console WebSocket, ``POST /console/chat/<ref>/accept/``). Each side sends every 10–20 s
(uniform, open loop): the requester over its socket on A, the operator by ``POST
/console/chat/<ref>/send/`` on B. The operator's console page re-fetches the thread 100
ms after an event (as console.js does; ``--no-refetch``: not). Budgets: requester →
operator's console event p99 and operator send → requester receives p99 ≤ 250 ms, ack
p99 ≤ 100 ms. ``--find-max-rate`` instead steps the per-conversation rate (×1, doubling
while it holds, halving while it does not, then bisecting; ``--step-duration`` s each)
until ack or a cross-process p99 exceeds 250 ms (or something is lost), for the desk and
the floor; the desk's per-socket chat rate limit is raised for it.

Every run: acknowledged (and operator-sent) messages are compared with the rows (none
missing, none stored twice, each conversation's rows in send order; acks and deliveries
in order too), and memory per idle widget: RSS after connecting them minus before (after
10 warm-up widgets per process), divided by the count (budget ≤ 0.1 MB). CPU of servers,
client, PostgreSQL and Redis, and of the whole machine ("not ours": the rest) in the
window. Rate limits stay as shipped except the new-conversation limit per IP (off: every
client is 127.0.0.1) and, for the hand-over, the queue limits.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from _chat_client import (
    FloorTarget,
    Http,
    LoadClient,
    Operator,
    Socket,
    Target,
    free_port,
    proc_status,
    raise_fd_limit,
    run_async,
    wait_healthy,
)
from _serve import stop  # bench/ is on sys.path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
MADOGUCHI = [sys.executable, "-m", "madoguchi"]
PASSWORD = "bench horse battery staple"

SCENARIOS: dict[str, dict[str, Any]] = {
    "embedded": {
        "idle": 300,
        "active": 40,
        "handover": 0,
        "operators": 0,
        "interval": (1.0, 1.0),
        "operator_interval": None,
        "servers": ["A"],
    },
    "scaled": {
        "idle": 2000,
        "active": 200,
        "handover": 100,
        "operators": 20,
        "interval": (10.0, 20.0),
        "operator_interval": (10.0, 20.0),
        "servers": ["A", "B"],
    },
}
# (latency, limit ms, relative to the floor's p99: factor or None)
BUDGETS = {
    "embedded": [("ack", 100.0, 3.0), ("bot", 250.0, None), ("ping", 50.0, None)],
    "scaled": [("to_operator", 250.0, None), ("to_requester", 250.0, None), ("ack", 100.0, None)],
}
MAX_RATE_P99_MS = 250.0
MB_PER_IDLE_WIDGET = 0.1

SETUP = """
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

# --experiment-parallel-consumers: channels' database_sync_to_async patched to
# thread_sensitive=False in the server process at start (no file changes).
PARALLEL_BOOTSTRAP = """
import functools, sys
import channels.db
channels.db.database_sync_to_async = functools.partial(channels.db.DatabaseSyncToAsync, thread_sensitive=False)
from madoguchi.cli import main
sys.exit(main(sys.argv[1:]))
"""


# --- databases --------------------------------------------------------------------------------


class Db:
    """Reads the bench's rows, from PostgreSQL (a URL) or a SQLite file."""

    def __init__(self, url: str = "", path: str = "") -> None:
        self.url = url
        self.path = path

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.path:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=20)
            try:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def desk_rows(db: Db) -> Any:
    def rows(tag: str) -> list[tuple[str, str, int]]:
        return db.query(
            "SELECT i.reference, m.client_id, m.id FROM inquiries_message m "
            "JOIN inquiries_inquiry i ON i.id = m.inquiry_id "
            "WHERE m.client_id LIKE %s OR m.client_id LIKE %s ORDER BY m.id",
            (f"bench-{tag}-%", f"benchop-{tag}-%"),
        )

    return rows


def floor_rows(db: Db) -> Any:
    def rows(tag: str) -> list[tuple[str, str, int]]:
        found = db.query(
            "SELECT conversation_id, client_id, id FROM floor_message "
            "WHERE client_id LIKE %s OR client_id LIKE %s ORDER BY id",
            (f"bench-{tag}-%", f"benchop-{tag}-%"),
        )
        return [(str(c), cid, i) for c, cid, i in found]

    return rows


def lookup(db: Db, sql: str) -> Any:
    def references(first_cids: list[str]) -> dict[str, str]:
        wanted = set(first_cids)
        tags = {c.split("-")[1] for c in first_cids}
        out: dict[str, str] = {}
        for tag in tags:
            for cid, ref in db.query(sql, (f"bench-{tag}-%-0",)):
                if cid in wanted:
                    out[cid] = str(ref)
        return out

    return references


class DeskTarget(Target):
    kind = "desk"

    def __init__(self, db: Db, refetch: bool, max_chats: int) -> None:
        self.db = db
        self.refetch = refetch
        self.max_chats = max_chats

    async def sign_in(self, client: LoadClient, op: Operator) -> None:
        http = Http(client.ports["B"], op.cookies)
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
            client, client.ports["B"], "/ws/console/", "console", cookie=cookie
        )
        if await op.console.expect(lambda f: f.get("kind") == "hello", client.timeout) is None:
            raise RuntimeError("console socket: no hello")
        status, _h, _b = await http.request(
            "POST",
            "/console/chat/availability/",
            {"available": "1", "max_chats": str(self.max_chats)},
            {"X-CSRFToken": op.cookies.get("csrftoken", "")},
        )
        if status != 302:
            raise RuntimeError(f"availability: {status}")
        await http.close()

    def _headers(self, op: Operator) -> dict[str, str]:
        return {"X-CSRFToken": op.cookies["csrftoken"], "X-Requested-With": "fetch"}

    async def accept(self, client: LoadClient, op: Operator, http: Http, reference: str) -> bool:
        status, _h, _b = await http.request(
            "POST", f"/console/chat/{reference}/accept/", {}, self._headers(op)
        )
        return status == 200

    async def operator_send(
        self, client: LoadClient, op: Operator, http: Http, reference: str, cid: str, body: str
    ) -> int:
        status, _h, _b = await http.request(
            "POST",
            f"/console/chat/{reference}/send/",
            {"body": body, "cid": cid},
            self._headers(op),
        )
        return status

    async def refresh(self, client: LoadClient, op: Operator, reference: str) -> None:
        """The inquiry page's thread re-fetch (only the entries after the last one shown,
        as console.js does); when it shows a requester message: "operator sees it"."""
        op.refresh_due.pop(reference, None)
        http = op.tabs.get(reference)
        if http is None:
            http = op.tabs[reference] = Http(client.ports["B"], op.cookies)
        t0 = time.perf_counter()
        try:
            last = op.last_seen.get(reference)
            path = f"/console/i/{reference}/thread/" + (f"?after={last}" if last else "")
            status, _h, body = await asyncio.wait_for(http.request("GET", path), client.timeout)
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            client.stats.errors[f"thread refresh {type(exc).__name__}"] += 1
            await http.close()
            return
        t1 = time.perf_counter()
        if status != 200:
            client.stats.errors[f"thread refresh {status}"] += 1
            return
        client.stats.add("thread_refresh", t1 - t0, t0)
        html = body.decode("utf-8", "replace")
        ids = [int(x) for x in re.findall(r'id="m(\d+)"', html)]
        if ids:
            op.last_seen[reference] = max(ids + [op.last_seen.get(reference, 0)])
        waiting = client.thread_wait.get(reference, [])
        for entry in [p for p in waiting if p[0] in html]:
            waiting.remove(entry)
            client.stats.add("operator_sees", t1 - entry[1], entry[1])

    def references(self, first_cids: list[str]) -> dict[str, str]:
        return lookup(
            self.db,
            "SELECT m.client_id, i.reference FROM inquiries_message m JOIN inquiries_inquiry i "
            "ON i.id = m.inquiry_id WHERE m.client_id LIKE %s",
        )(first_cids)

    def stored(self, tag: str) -> list[tuple[str, str, int]]:
        return desk_rows(self.db)(tag)


# --- py-spy -----------------------------------------------------------------------------------


class Profiler:
    """``py-spy record`` on each desk process for the window (collapsed stacks, one line per
    stack, per thread: loadable in speedscope or flamegraph.pl), and a summary file."""

    def __init__(self, pids: dict[str, int], label: str, log: Any) -> None:
        self.pids = pids
        self.label = label
        self.log = log
        self.procs: dict[str, subprocess.Popen] = {}
        self.files: dict[str, str] = {}
        exe = Path(sys.executable).parent / "py-spy"
        self.exe = str(exe) if exe.exists() else shutil.which("py-spy")

    def start(self, duration: float) -> None:
        if self.exe is None:
            self.log("  --profile: py-spy not found (pip install py-spy into .venv); skipped")
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for name, pid in self.pids.items():
            out = f"/tmp/chat-profile-{self.label}-{name}-{stamp}.txt"
            self.files[name] = out
            self.procs[name] = subprocess.Popen(
                [
                    self.exe,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(duration)),
                    "--rate",
                    "50",
                    "--nonblocking",
                    "--threads",
                    "--format",
                    "raw",
                    "-o",
                    out,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def finish(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            path = Path(self.files[name])
            if not path.exists():
                continue
            summary = path.with_name(path.stem + "-summary.txt")
            summary.write_text(summarise(path.read_text()))
            out[name] = {"stacks": str(path), "summary": str(summary)}
            self.log(f"  profile {name}: {path} (summary {summary})")
        return out


def summarise(raw: str, top: int = 30) -> str:
    """Per thread: active samples; overall: functions by inclusive and by own samples."""
    threads: Counter = Counter()
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0]] += n
        for frame in set(frames[1:]):
            inclusive[frame] += n
        own[frames[-1]] += n
    lines = [f"{total} active samples (50 Hz, idle excluded)", "", "by thread:"]
    lines += [f"  {n:7} {100 * n / max(1, total):5.1f} %  {t}" for t, n in threads.most_common()]
    lines += ["", f"top {top} by inclusive samples:"]
    lines += [
        f"  {n:7} {100 * n / max(1, total):5.1f} %  {f}" for f, n in inclusive.most_common(top)
    ]
    lines += ["", f"top {top} by own samples:"]
    lines += [f"  {n:7} {100 * n / max(1, total):5.1f} %  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines) + "\n"


# --- one phase: the servers of one kind, the client, the window(s) ---------------------------------


class Servers:
    def __init__(self, tmp: Path, log: Any) -> None:
        self.tmp = tmp
        self.log = log
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Any] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str], port: int) -> None:
        self.logs[name] = open(self.tmp / f"server-{name}.log", "w+")  # noqa: SIM115
        self.ports[name] = port
        self.procs[name] = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=self.logs[name], stderr=subprocess.STDOUT
        )

    def wait(self) -> None:
        for name, port in self.ports.items():
            wait_healthy(port, self.procs[name], self.tmp / f"server-{name}.log")

    @property
    def pids(self) -> dict[str, int]:
        return {n: p.pid for n, p in self.procs.items()}

    def log_report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exited": {}, "errors": {}, "sample": {}}
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                out["exited"][name] = proc.returncode
            self.logs[name].seek(0)
            text = self.logs[name].read()
            out["errors"][name] = text.count("Traceback") + text.count(" ERROR ")
            if "Traceback" in text:
                out["sample"][name] = text[text.index("Traceback") :][:1500]
        return out

    def stop(self) -> None:
        for proc in self.procs.values():
            stop(proc)
        for handle in self.logs.values():
            handle.close()


def base_env() -> dict[str, str]:
    drop = ("DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MADOGUCHI_")}


def start_desk(args: argparse.Namespace, tmp: Path, pg_url: str, prefix: str, log: Any) -> Any:
    env = base_env()
    env.update(
        MADOGUCHI_ENV_FILE=str(tmp / "no.env"),  # no .env from the checkout
        MADOGUCHI_DATA_DIR=str(tmp / "data"),
        MADOGUCHI_CHAT_NEW_RATE_LIMIT="0/60",
        MADOGUCHI_SERVER_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    if args.handover:
        env.update(
            MADOGUCHI_CHAT_MAX_QUEUE=str(max(15, args.active + 10)),
            MADOGUCHI_CHAT_MAX_WAIT_MINUTES="100000",
        )
    if args.find_max_rate:
        env.update(MADOGUCHI_CHAT_RATE_BURST="1000", MADOGUCHI_CHAT_RATE_PER_SECOND="1000")
    if args.scenario == "scaled":
        env.update(
            DATABASE_URL=pg_url,
            REDIS_URL=args.redis_url,
            MADOGUCHI_REDIS_PREFIX=prefix,
            SECRET_KEY=secrets.token_urlsafe(40),
            MADOGUCHI_EMBEDDED_WORKER="0",
            MADOGUCHI_DEBUG="0",
        )
        db = Db(url=pg_url)
    else:
        db = Db(path=str(tmp / "data" / "madoguchi.sqlite3"))
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
    log(f"  desk database migrated and loaded ({time.perf_counter() - t:.1f} s)")
    servers = Servers(tmp, log)
    launcher = (
        [sys.executable, "-c", PARALLEL_BOOTSTRAP]
        if args.experiment_parallel_consumers
        else MADOGUCHI
    )
    for name in SCENARIOS[args.scenario]["servers"]:
        port = free_port()
        cmd = [*launcher, "serve", "--host", "127.0.0.1", "--port", str(port)]
        if args.scenario == "embedded":
            cmd.append("--demo")  # as scripts/run (the data is already there)
        elif args.processes > 1:  # each of A and B is that many processes on its port
            cmd += ["--processes", str(args.processes)]
        servers.start(name, cmd, {**env, "MADOGUCHI_SITE_URL": f"http://127.0.0.1:{port}"}, port)
    servers.wait()
    return servers, DeskTarget(db, args.refetch, args.max_chats)


def start_floor(args: argparse.Namespace, tmp: Path, pg_url: str, prefix: str, log: Any) -> Any:
    env = {**base_env(), "PYTHONUNBUFFERED": "1"}
    script = [sys.executable, str(BENCH / "chat_floor.py")]
    if args.scenario == "scaled":
        store = ["--database-url", pg_url, "--redis-url", args.redis_url, "--prefix", prefix]
        db = Db(url=pg_url)
    else:
        path = str(tmp / "floor.sqlite3")
        store = ["--sqlite", path]
        db = Db(path=path)
    subprocess.run([*script, "--init", *store], env=env, check=True, timeout=120)
    servers = Servers(tmp, log)
    for name in SCENARIOS[args.scenario]["servers"]:
        port = free_port()
        servers.start(name, [*script, "--port", str(port), *store], env, port)
    servers.wait()
    target = FloorTarget(
        floor_rows(db),
        lookup(db, "SELECT client_id, conversation_id FROM floor_message WHERE client_id LIKE %s"),
    )
    return servers, target


def holds(window: dict[str, Any]) -> bool:
    lat = window["latency"]
    for name in ("ack", "to_operator", "to_requester"):
        p99 = (lat.get(name) or {}).get("p99_ms")
        if p99 is not None and p99 > MAX_RATE_P99_MS:
            return False
    # Any error (lost, refused, dropped, non-200) also ends the search.
    return not window["errors"] and bool((lat.get("ack") or {}).get("n"))


async def drive(
    args: argparse.Namespace, kind: str, servers: Servers, target: Target, log: Any
) -> dict[str, Any]:
    scenario = SCENARIOS[args.scenario]
    tag = f"{os.getpid()}{kind[0]}{secrets.token_hex(2)}"
    client = LoadClient(
        target,
        servers.ports,
        tag=tag,
        timeout=args.timeout,
        compression=args.compression,
        connect_concurrency=args.connect_concurrency,
        log=log,
    )
    pids = servers.pids
    phases: dict[str, float] = {}
    rss: dict[str, Any] = {"start": {n: proc_status(p) for n, p in pids.items()}}

    t = time.perf_counter()
    if args.operators and args.handover:
        await client.sign_in_operators(args.operators)
    phases["operators signed in"] = time.perf_counter() - t

    t = time.perf_counter()
    rss["idle"] = await client.rss_per_idle(pids, args.idle, scenario["servers"])
    phases["idle widgets connected"] = time.perf_counter() - t
    log(
        f"  {kind}: {len(client.idle)}/{args.idle} idle widgets ({phases['idle widgets connected']:.1f} s)"
    )

    t = time.perf_counter()
    handover = min(args.handover, args.active, args.operators * args.max_chats)
    await client.start_conversations(args.active, handover)
    phases["conversations started"] = time.perf_counter() - t
    t = time.perf_counter()
    await client.hand_over()
    phases["chats accepted"] = time.perf_counter() - t
    phases["queue updates drained"] = await client.drain_setup_frames()
    rss["connected"] = {n: proc_status(p) for n, p in pids.items()}
    live = sum(1 for r in client.requesters if r.reference)
    log(
        f"  {kind}: {live}/{args.active} conversations, "
        f"{sum(len(op.chats) for op in client.operators)} with operators ({sum(phases.values()):.1f} s)"
    )

    interval = scenario["interval"]
    op_interval = scenario["operator_interval"] if handover else None
    windows: list[dict[str, Any]] = []
    profile: dict[str, Any] = {}
    if not args.find_max_rate:
        profiler = (
            Profiler(pids, f"{args.scenario}-{kind}", log)
            if args.profile and kind == "desk"
            else None
        )
        log(f"  {kind}: load for {args.duration:.0f} s ...")
        windows.append(await client.window(args.duration, interval, op_interval, pids, profiler))
        if profiler is not None:
            profile = profiler.finish()
    else:
        windows = await find_max_rate(args, client, interval, op_interval, pids, kind, log)
    rss["end"] = {n: proc_status(p) for n, p in pids.items()}
    await client.close_all()
    integrity = client.check_integrity()
    return {
        "kind": kind,
        "connected": {
            "idle": len(client.idle),
            "active": live,
            "handed_over": sum(len(op.chats) for op in client.operators),
            "operators": len(client.operators),
        },
        "setup": {
            "phases_s": {k: round(v, 1) for k, v in phases.items()},
            "latency": client.setup.report(),
            "errors": dict(client.setup.errors),
        },
        "rss_mb": rss,
        "windows": windows,
        "integrity": integrity,
        "profile": profile,
    }


async def find_max_rate(
    args: argparse.Namespace,
    client: LoadClient,
    interval: tuple[float, float],
    op_interval: tuple[float, float] | None,
    pids: dict[str, int],
    kind: str,
    log: Any,
) -> list[dict[str, Any]]:
    """×1; doubling while it holds (or halving while it does not); then bisecting twice."""
    windows: list[dict[str, Any]] = []

    live = sum(1 for r in client.requesters if r.reference)
    mean = (interval[0] + interval[1]) / 2

    async def step(scale: float) -> bool:
        # Long enough for ~200 requester messages (a p99 of fewer is the maximum), ≤ 60 s.
        duration = min(60.0, max(args.step_duration, 200 * mean / scale / max(1, live)))
        w = await client.window(
            duration,
            (interval[0] / scale, interval[1] / scale),
            (op_interval[0] / scale, op_interval[1] / scale) if op_interval else None,
            pids,
        )
        w["scale"] = scale
        w["holds"] = holds(w)
        windows.append(w)
        lat = w["latency"]
        log(
            f"  {kind} ×{scale:g}: {w['offered_msgs_per_s']} msgs/s, ack p99 "
            f"{(lat.get('ack') or {}).get('p99_ms')} ms, to operator "
            f"{(lat.get('to_operator') or {}).get('p99_ms')}, to requester "
            f"{(lat.get('to_requester') or {}).get('p99_ms')}, errors {w['errors'] or 'none'} "
            f"→ {'holds' if w['holds'] else 'does not hold'}"
        )
        await asyncio.sleep(2)
        return w["holds"]

    good, bad = None, None
    scale = 1.0
    if await step(scale):
        good = scale
        while bad is None and scale < 256:
            scale *= 2
            if await step(scale):
                good = scale
            else:
                bad = scale
    else:
        bad = scale
        while good is None and scale > 1 / 8:
            scale /= 2
            if await step(scale):
                good = scale
            else:
                bad = scale
    if good is not None and bad is not None:
        for _ in range(args.bisect):
            mid = (good + bad) / 2
            if await step(mid):
                good = mid
            else:
                bad = mid
    return windows


def max_rate(phase: dict[str, Any]) -> float | None:
    held = [w["offered_msgs_per_s"] for w in phase["windows"] if w.get("holds")]
    return max(held) if held else None


def run_phase(args: argparse.Namespace, kind: str, log: Any) -> dict[str, Any]:
    import psycopg
    import redis

    tag = f"{os.getpid()}_{secrets.token_hex(3)}"
    db_name = f"madoguchi_bench_chat_{kind}_{tag}"
    prefix = f"mgbenchchat{kind}{tag}"
    tmp = Path(tempfile.mkdtemp(prefix=f"mg-bench-chat-{kind}-"))
    parts = urllib.parse.urlsplit(args.database_url)
    pg_url = urllib.parse.urlunsplit(parts._replace(path="/" + db_name))
    admin = None
    if args.scenario == "scaled":
        admin = psycopg.connect(
            urllib.parse.urlunsplit(parts._replace(scheme="postgresql")), autocommit=True
        )
        admin.execute(f'CREATE DATABASE "{db_name}"')
    servers = None
    try:
        starter = start_desk if kind == "desk" else start_floor
        servers, target = starter(args, tmp, pg_url, prefix, log)
        log(
            f"  {kind}: "
            + ", ".join(f"{n} :{p} (pid {servers.pids[n]})" for n, p in servers.ports.items())
        )
        result = run_async(drive(args, kind, servers, target, log))
        result["server_log"] = servers.log_report()
        return result
    finally:
        if servers is not None:
            servers.stop()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            admin.close()
            r = redis.Redis.from_url(args.redis_url)
            keys = list(r.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                r.delete(*keys)
            r.close()
        shutil.rmtree(tmp, ignore_errors=True)


# --- budgets and output --------------------------------------------------------------------------


def p99(phase: dict[str, Any] | None, name: str) -> float | None:
    if not phase:
        return None
    return (phase["windows"][0]["latency"].get(name) or {}).get("p99_ms")


def budgets(scenario: str, desk: dict[str, Any] | None, floor: dict[str, Any] | None) -> list[dict]:
    out = []
    for name, limit, factor in BUDGETS[scenario]:
        value = p99(desk, name)
        out.append(
            {
                "budget": f"{name} p99 ≤ {limit:g} ms",
                "desk": value,
                "floor": p99(floor, name),
                "pass": value is not None and value <= limit,
            }
        )
        if factor is not None:
            base = p99(floor, name)
            out.append(
                {
                    "budget": f"{name} p99 ≤ {factor:g}× floor's",
                    "desk": value,
                    "floor": base,
                    "limit": None if base is None else round(factor * base, 1),
                    "pass": None if base is None else value is not None and value <= factor * base,
                }
            )
    for label, phase in (("desk", desk), ("floor", floor)):
        if not phase:
            continue
        per = phase["rss_mb"]["idle"]["mb_per_idle_widget"]
        worst = max((v for v in per.values() if v is not None), default=None)
        i = phase["integrity"]
        bad = sum(
            v
            for k, v in i.items()
            if k not in ("stored rows",)
            and ("order" in k or k in ("missing", "duplicates") or "twice" in k)
        )
        if label == "desk":
            out.append(
                {
                    "budget": f"memory per idle widget ≤ {MB_PER_IDLE_WIDGET} MB",
                    "desk": worst,
                    "floor": max(
                        (
                            v
                            for v in (floor or {})
                            .get("rss_mb", {})
                            .get("idle", {})
                            .get("mb_per_idle_widget", {})
                            .values()
                            if v is not None
                        ),
                        default=None,
                    )
                    if floor
                    else None,
                    "pass": worst is not None and worst <= MB_PER_IDLE_WIDGET,
                }
            )
        out.append(
            {
                "budget": f"nothing lost, doubled or reordered ({label})",
                label: bad,
                "pass": bad == 0,
            }
        )
    return out


LABELS = {
    "ack": "requester send → ack",
    "bot": "requester send → bot answer",
    "to_operator": "requester send (A) → operator's console event (B)",
    "to_requester": "operator send (B) → requester receives (A)",
    "operator_post": "operator send request round trip (B)",
    "operator_sees": "requester send → operator's re-fetched thread shows it (desk)",
    "thread_refresh": "thread re-fetch `GET /console/i/<ref>/thread/` (desk)",
    "ping": "idle ping → pong (all)",
    "ping_A": "idle ping → pong, A",
    "ping_B": "idle ping → pong, B",
}


def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}" if v >= 10 else f"{v:g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def print_table(result: dict[str, Any]) -> None:
    desk, floor = result.get("desk"), result.get("floor")
    c = result["config"]
    print(
        f"\nscenario {c['scenario']}: {c['idle']} idle widgets, {c['active']} active conversations "
        f"({c['handover']} with {c['operators']} operators), {c['duration']:g} s window; "
        f"{result['started']} – {result['ended']}"
    )
    if c["find_max_rate"]:
        print_max_rate(result)
        return
    print("\n| latency (ms) | desk n | p50 | p90 | p99 | max | floor n | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key, label in LABELS.items():
        cells = []
        for phase in (desk, floor):
            q = phase["windows"][0]["latency"].get(key) if phase else None
            q = q or {}
            cells += [fmt(q.get(k)) for k in ("n", "p50_ms", "p90_ms", "p99_ms", "max_ms")]
        if cells.count("–") + cells.count("0") < 10:
            print(f"| {label} | " + " | ".join(cells) + " |")
    print("\n| budget | desk | floor | result |")
    print("|---|---|---|---|")
    for b in result["budgets"]:
        limit = f" (limit {fmt(b['limit'])})" if b.get("limit") is not None else ""
        print(
            f"| {b['budget']}{limit} | {fmt(b.get('desk'))} | {fmt(b.get('floor'))} | "
            f"{'n/a' if b['pass'] is None else 'PASS' if b['pass'] else 'FAIL'} |"
        )
    print("\n| figure | desk | floor |")
    print("|---|---|---|")
    rows = figures(desk, floor)
    for label, values in rows:
        print(f"| {label} | {values[0]} | {values[1]} |")
    for label, phase in (("desk", desk), ("floor", floor)):
        if phase:
            print(f"\n{label}: median ms by 10 s of the window:")
            for key, values in phase["windows"][0]["timeline_p50_ms_per_10s"].items():
                if any(v is not None for v in values):
                    print(f"  {key:13} " + " ".join(f"{fmt(v):>8}" for v in values))
    for label, phase in (("desk", desk), ("floor", floor)):
        if phase and phase.get("profile"):
            for name, files in phase["profile"].items():
                print(f"profile {label} {name}: {files['stacks']} (summary {files['summary']})")


def figures(desk: dict | None, floor: dict | None) -> list[tuple[str, list[str]]]:
    def each(fn: Any) -> list[str]:
        out = []
        for phase in (desk, floor):
            try:
                out.append(fn(phase) if phase else "–")
            except (KeyError, TypeError, IndexError):
                out.append("–")
        return out

    def w(p: dict) -> dict:
        return p["windows"][0]

    def per_server(d: dict) -> str:
        return " / ".join(f"{k} {fmt(v)}" for k, v in d.items())

    def series(*ds: dict) -> str:
        return ", ".join(f"{k} " + " → ".join(fmt(d.get(k)) for d in ds) for k in ds[0])

    return [
        ("messages offered / s (both sides)", each(lambda p: fmt(w(p)["offered_msgs_per_s"]))),
        (
            "requester messages acked / bot answers / operator messages delivered (window)",
            each(
                lambda p: " / ".join(
                    fmt(w(p)["counts"].get(k, 0))
                    for k in (
                        "requester messages acked",
                        "bot answers",
                        "operator messages delivered",
                    )
                )
            ),
        ),
        (
            "errors in the window",
            each(
                lambda p: (
                    ", ".join(f"{k}: {v}" for k, v in sorted(w(p)["errors"].items())) or "none"
                )
            ),
        ),
        (
            "setup errors",
            each(
                lambda p: (
                    ", ".join(f"{k}: {v}" for k, v in sorted(p["setup"]["errors"].items()))
                    or "none"
                )
            ),
        ),
        (
            "integrity: acked (+ operator 200) / stored / missing / duplicates / out of order",
            each(
                lambda p: " / ".join(
                    [
                        fmt(
                            p["integrity"].get("requester messages acked", 0)
                            + p["integrity"].get("operator messages answered 200", 0)
                        ),
                        fmt(p["integrity"].get("stored rows", 0)),
                        fmt(p["integrity"].get("missing", 0)),
                        fmt(p["integrity"].get("duplicates", 0)),
                        fmt(
                            sum(
                                v for k, v in p["integrity"].items() if "order" in k or "twice" in k
                            )
                        ),
                    ]
                )
            ),
        ),
        ("RSS MB at start", each(lambda p: per_server(p["rss_mb"]["start"]))),
        (
            "RSS MB before → after the measured idle widgets",
            each(
                lambda p: series(p["rss_mb"]["idle"]["before_mb"], p["rss_mb"]["idle"]["after_mb"])
            ),
        ),
        (
            "MB per idle widget",
            each(lambda p: per_server(p["rss_mb"]["idle"]["mb_per_idle_widget"])),
        ),
        (
            "RSS MB all connected → peak in window → end",
            each(
                lambda p: series(p["rss_mb"]["connected"], w(p)["rss_peak_mb"], p["rss_mb"]["end"])
            ),
        ),
        (
            "CPU % of one core: servers",
            each(
                lambda p: per_server(
                    {k: v for k, v in w(p)["cpu_percent"].items() if k in p["rss_mb"]["start"]}
                )
            ),
        ),
        (
            "CPU %: client / postgres / redis-server",
            each(
                lambda p: " / ".join(
                    fmt(w(p)["cpu_percent"].get(k)) for k in ("client", "postgres", "redis-server")
                )
            ),
        ),
        (
            "machine busy % of all CPUs / not ours / load avg",
            each(
                lambda p: " / ".join(
                    fmt(w(p)["machine"][k])
                    for k in (
                        "busy_percent_of_all_cpus",
                        "not_ours_percent_of_all_cpus",
                        "loadavg_1min_at_end",
                    )
                )
            ),
        ),
        (
            "setup s",
            each(lambda p: ", ".join(f"{k} {v}" for k, v in p["setup"]["phases_s"].items())),
        ),
        ("server log errors", each(lambda p: fmt(sum(p["server_log"]["errors"].values())))),
    ]


def print_max_rate(result: dict[str, Any]) -> None:
    print(
        f"\nhighest rate that holds (ack and cross-process p99 ≤ {MAX_RATE_P99_MS:g} ms, nothing lost):"
    )
    print(
        "\n| target | × | msgs/s offered | ack p99 | to operator p99 | to requester p99 | ping p99 | errors | CPU servers | machine busy / not ours | holds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in ("desk", "floor"):
        phase = result.get(kind)
        if not phase:
            continue
        for w in phase["windows"]:
            lat = w["latency"]
            servers = " / ".join(
                fmt(v) for k, v in w["cpu_percent"].items() if k in phase["rss_mb"]["start"]
            )
            print(
                f"| {kind} | {w['scale']:g} | {fmt(w['offered_msgs_per_s'])} | "
                + " | ".join(
                    fmt((lat.get(k) or {}).get("p99_ms"))
                    for k in ("ack", "to_operator", "to_requester", "ping")
                )
                + f" | {', '.join(f'{k}: {v}' for k, v in w['errors'].items()) or 'none'} | {servers} | "
                f"{fmt(w['machine']['busy_percent_of_all_cpus'])} / {fmt(w['machine']['not_ours_percent_of_all_cpus'])} | "
                f"{'yes' if w['holds'] else 'no'} |"
            )
    m = result["max_rate"]
    print(
        f"\nmax rate held: desk {fmt(m['desk'])} msgs/s, floor {fmt(m['floor'])} msgs/s, "
        f"desk/floor {fmt(m['ratio'])}"
    )
    for kind in ("desk", "floor"):
        phase = result.get(kind)
        if phase:
            i = phase["integrity"]
            print(f"{kind} integrity: " + ", ".join(f"{k} {v}" for k, v in i.items()))


def machine_facts() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = proc_meminfo()
    versions = {}
    for module in (
        "django",
        "channels",
        "channels_redis",
        "uvicorn",
        "websockets",
        "psycopg",
        "redis",
    ):
        try:
            versions[module] = __import__(module).__version__
        except (ImportError, AttributeError):
            versions[module] = None
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "mem_total_gb": mem,
        "python": platform.python_version(),
        "versions": versions,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def proc_meminfo() -> float | None:
    try:
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        return round(int(first.split()[1]) / 1024 / 1024, 1)
    except (OSError, IndexError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="scaled")
    parser.add_argument("--idle", type=int, help="idle widgets (default: the scenario's)")
    parser.add_argument("--active", type=int, help="active conversations (requesters on A)")
    parser.add_argument("--handover", type=int, help="of them, handed to operators (scaled)")
    parser.add_argument("--operators", type=int, help="operators on B (scaled)")
    parser.add_argument("--max-chats", type=int, default=10, help="each operator's chat limit")
    parser.add_argument("--duration", type=float, default=60.0, help="measured window, seconds")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds before a frame counts as lost"
    )
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument(
        "--only",
        choices=("desk", "floor"),
        help="one of the two (budgets relative to the floor then n/a)",
    )
    parser.add_argument(
        "--find-max-rate", action="store_true", help="step the message rate up until p99 > 250 ms"
    )
    parser.add_argument(
        "--step-duration", type=float, default=15.0, help="--find-max-rate: window per step, s"
    )
    parser.add_argument("--bisect", type=int, default=2, help="--find-max-rate: bisection steps")
    parser.add_argument(
        "--no-refetch",
        dest="refetch",
        action="store_false",
        help="desk operators do not re-fetch the thread after each event",
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
        help="an existing database; fresh ones are created beside it",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy on the desk process(es) for the window (files under /tmp)",
    )
    parser.add_argument(
        "--experiment-parallel-consumers",
        action="store_true",
        help="experiment: the desk consumers' database calls on a thread pool (patched at start)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="scaled: `madoguchi serve --processes N` for each of A and B (topology runs)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--report", metavar="FILE", help="print the tables of a saved --json result"
    )
    args = parser.parse_args(argv)
    if args.report:
        print_table(json.loads(Path(args.report).read_text()))
        return 0
    defaults = SCENARIOS[args.scenario]
    for key in ("idle", "active", "handover", "operators"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    if args.scenario == "embedded":
        args.handover = args.operators = 0
    if args.operators < 1:
        args.handover = 0

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    needed = 2 * (args.idle + args.active + args.operators * 3) + 1000
    soft, hard = raise_fd_limit(needed)
    if soft < needed:
        log(
            f"WARNING: file-descriptor limit {soft} (hard {hard}) is below the ~{needed} this run needs"
        )

    started = dt.datetime.now(dt.UTC)
    result: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "machine_facts": machine_facts(),
        "config": {
            k: getattr(args, k)
            for k in (
                "scenario",
                "idle",
                "active",
                "handover",
                "operators",
                "max_chats",
                "duration",
                "timeout",
                "refetch",
                "compression",
                "find_max_rate",
                "step_duration",
                "experiment_parallel_consumers",
            )
        },
    }
    for kind in ("floor", "desk"):
        if args.only and args.only != kind:
            continue
        log(f"{kind} ({args.scenario}) ...")
        result[kind] = run_phase(args, kind, log)
    result["ended"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if args.find_max_rate:
        desk_max = max_rate(result["desk"]) if result.get("desk") else None
        floor_max = max_rate(result["floor"]) if result.get("floor") else None
        result["max_rate"] = {
            "desk": desk_max,
            "floor": floor_max,
            "ratio": round(desk_max / floor_max, 3) if desk_max and floor_max else None,
        }
    else:
        result["budgets"] = budgets(args.scenario, result.get("desk"), result.get("floor"))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
