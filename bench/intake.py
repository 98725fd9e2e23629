"""Public intake throughput and latency on loopback (ARCHITECTURE "Budgets": >= 60 % of the
Django form + INSERT floor measured in the same run, p99 <= 100 ms at 32 clients).

    python bench/intake.py                      # SQLite (embedded) and PostgreSQL, 3 s warm-up + 15 s
    python bench/intake.py --seconds 30 --clients 32 --json
    python bench/intake.py --databases sqlite   # or: postgres

For each database it starts two servers as subprocesses, one after the other, both under
uvicorn with its defaults (uvloop, httptools), one process, on 127.0.0.1:

- the real app: ``madoguchi serve`` in a temporary MADOGUCHI_DATA_DIR (``madoguchi demo``
  first for the categories; on PostgreSQL ``madoguchi migrate`` into a fresh database
  that is dropped afterwards), ``MADOGUCHI_INTAKE_RATE_LIMIT=1000000/60``; driven with
  ``POST /api/v1/inquiries`` (valid JSON, distinct subjects so the duplicate check does
  not collapse them). On SQLite the embedded worker thread runs as it does in production
  (it delivers the confirmation mails to the file spool while the benchmark runs); on
  PostgreSQL ``MADOGUCHI_EMBEDDED_WORKER=0`` and the outbox rows wait for a worker.
- the floor: a throwaway Django project written to a temporary directory at run time —
  no middleware, no apps, one sync view that parses the same JSON, validates it with a
  ``forms.Form`` and runs one ``INSERT`` (raw cursor, autocommit) into a table this script
  creates — with the same database settings as the app (SQLite WAL, synchronous=NORMAL,
  IMMEDIATE transactions; on PostgreSQL a new connection per request, ``CONN_MAX_AGE=0``,
  which Django advises under ASGI — the app's ``conn_max_age=60`` exhausts
  ``max_connections`` at 32 clients, see bench/RESULTS.md).

The load is ``--clients`` keep-alive HTTP/1.1 connections from a minimal asyncio client
(raw sockets; no dependency beyond the venv), each sending its next request as soon as the
previous answer arrives (closed loop). Only requests started and finished inside the
measuring window count. Afterwards the rows in the database are compared with the 201
answers (nothing accepted may be missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _http import read_response  # bench/ is on sys.path when a benchmark runs as a script
from _serve import stop

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MADOGUCHI = str(VENV_BIN / "madoguchi")
PG = "postgres://postgres@127.0.0.1:5432/"
BUDGET_RATIO = 0.60
BUDGET_P99_MS = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a minimal keep-alive HTTP/1.1 client ---------------------------------------------------


class Conn:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = None

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
        ).encode("ascii")
        self.writer.write(head + body)
        status, _headers, data, close = await read_response(self.reader)
        if close:
            await self.close()
        return status, data


def payload(tag: str, n: int) -> bytes:
    return json.dumps(
        {
            "name": "山田 太郎",
            "email": f"bench{n % 1000}@example.ac.jp",
            "member_category": "student_current",
            "affiliation": "工学部",
            "category": "account",
            "subject": f"多要素認証の再登録 {tag}-{n}",
            "body": "スマートフォンを機種変更したため、認証アプリが使えなくなりました。"
            f"再登録の方法を教えてください。({tag}-{n})",
            "lang": "ja",
        },
        ensure_ascii=False,
    ).encode("utf-8")


async def drive(
    port: int, path: str, clients: int, warmup: float, seconds: float, tag: str
) -> dict:
    """Closed-loop load; returns the latencies and statuses inside the measuring window."""
    try:
        import uvloop  # the venv has it (uvicorn[standard]); the client then costs less CPU

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    counter = iter(range(10**9))
    start = time.perf_counter()
    t0 = start + warmup
    t1 = t0 + seconds
    samples: list[tuple[float, float, int]] = []  # (start, latency s, status)
    errors: dict[str, int] = {}
    created = 0

    async def client(i: int) -> None:
        nonlocal created
        conn = Conn(port)
        try:
            while time.perf_counter() < t1:
                body = payload(tag, next(counter))
                s = time.perf_counter()
                try:
                    status, _data = await asyncio.wait_for(conn.post_json(path, body), timeout=30)
                except (
                    TimeoutError,
                    OSError,
                    asyncio.IncompleteReadError,
                    ConnectionError,
                    ValueError,
                ) as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    await conn.close()
                    await asyncio.sleep(0.05)
                    continue
                e = time.perf_counter()
                if status == 201:
                    created += 1
                samples.append((s, e - s, status))
        finally:
            await conn.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    window = [(lat, st) for s, lat, st in samples if s >= t0 and s + lat <= t1]
    ok = sorted(lat for lat, st in window if st in (200, 201))
    statuses: dict[str, int] = {}
    for _lat, st in window:
        statuses[str(st)] = statuses.get(str(st), 0) + 1

    def q(p: float) -> float:
        if not ok:
            return float("nan")
        return ok[max(0, min(len(ok) - 1, round(p / 100 * (len(ok) - 1))))] * 1000

    return {
        "requests": len(window),
        "ok": len(ok),
        "req_per_s": round(len(ok) / seconds, 1),
        "p50_ms": round(q(50), 2),
        "p95_ms": round(q(95), 2),
        "p99_ms": round(q(99), 2),
        "max_ms": round(ok[-1] * 1000, 2) if ok else None,
        "statuses": statuses,
        "errors": errors,
        "created_total": created,  # 201 answers including the warm-up
    }


# --- servers ---------------------------------------------------------------------------------


def wait_ready(port: int, path: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {timeout} s")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def app_env(data_dir: str, database_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        MADOGUCHI_DATA_DIR=data_dir,
        MADOGUCHI_INTAKE_RATE_LIMIT="1000000/60",
        MADOGUCHI_SERVER_LOG_LEVEL="warning",
        MADOGUCHI_LOG_LEVEL="WARNING",
        MADOGUCHI_DEBUG="0",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
        env["MADOGUCHI_EMBEDDED_WORKER"] = "0"
    return env


FLOOR_SETTINGS = """
SECRET_KEY = "floor-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "floor.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
USE_TZ = True
TIME_ZONE = "Asia/Tokyo"
DATABASES = {DATABASES!r}
"""

FLOOR_URLS = """
import json

from django import forms
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone


class IntakeForm(forms.Form):
    name = forms.CharField(max_length=100)
    email = forms.EmailField(max_length=254)
    member_category = forms.CharField(max_length=20)
    affiliation = forms.CharField(max_length=100, required=False)
    category = forms.CharField(max_length=40)
    subject = forms.CharField(max_length=200)
    body = forms.CharField(max_length=20000)
    lang = forms.CharField(max_length=8, required=False)


def intake(request):
    try:
        data = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "bad json"}, status=400)
    form = IntakeForm(data=data)
    if not form.is_valid():
        return JsonResponse({"detail": "invalid", "errors": form.errors}, status=400)
    d = form.cleaned_data
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO floor_inquiry (name, email, category, subject, body, created_at) VALUES (%s, %s, %s, %s, %s, %s)",
            [d["name"], d["email"], d["category"], d["subject"], d["body"], timezone.now()],
        )
    return JsonResponse({"status": "new"}, status=201)


def ready(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [path("api/v1/inquiries", intake), path("healthz", ready)]
"""

FLOOR_ASGI = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "floor.settings"
from django.core.asgi import get_asgi_application
application = get_asgi_application()
"""


def write_floor(project_dir: Path, databases: dict) -> None:
    pkg = project_dir / "floor"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "settings.py").write_text(FLOOR_SETTINGS.replace("{DATABASES!r}", repr(databases)))
    (pkg / "urls.py").write_text(FLOOR_URLS)
    (pkg / "asgi.py").write_text(FLOOR_ASGI)


FLOOR_TABLE = """CREATE TABLE floor_inquiry (id {pk}, name varchar(100) NOT NULL, email varchar(254) NOT NULL,
category varchar(40) NOT NULL, subject varchar(200) NOT NULL, body text NOT NULL, created_at {ts} NOT NULL)"""


def count_rows(database: str, where: str, sql: str) -> int:
    if database == "sqlite":
        with sqlite3.connect(where) as conn:
            return conn.execute(sql).fetchone()[0]
    import psycopg

    with psycopg.connect(where) as conn:
        return conn.execute(sql).fetchone()[0]


def run_one(kind: str, database: str, args: argparse.Namespace, log) -> dict:  # noqa: ANN001, C901
    tmp = Path(tempfile.mkdtemp(prefix=f"mg-bench-intake-{kind}-{database}-"))
    port = free_port()
    db_name = f"madoguchi_bench_intake_{os.getpid()}_{kind}"
    pg_url = PG + db_name
    admin = None
    proc = None
    log_file = open(tmp / "server.log", "w+b")  # noqa: SIM115
    try:
        if database == "postgres":
            import psycopg

            admin = psycopg.connect(PG + "test", autocommit=True)
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
            admin.execute(f'CREATE DATABASE "{db_name}"')
        if kind == "app":
            env = app_env(str(tmp / "data"), pg_url if database == "postgres" else None)
            if database == "postgres":
                subprocess.run(
                    [MADOGUCHI, "migrate"], env=env, check=True, capture_output=True, timeout=300
                )
            subprocess.run(
                [MADOGUCHI, "demo"], env=env, check=True, capture_output=True, timeout=300
            )
            cmd = [MADOGUCHI, "serve", "--host", "127.0.0.1", "--port", str(port)]
            ready_path = "/healthz"
            table = "inquiries_inquiry"
            db_where = pg_url if database == "postgres" else str(tmp / "data" / "madoguchi.sqlite3")
        else:
            if database == "postgres":
                databases = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": db_name,
                        "USER": "postgres",
                        "HOST": "127.0.0.1",
                        "PORT": "5432",
                        # Not persistent: under ASGI every request runs in a
                        # new thread context, so persistent connections pile
                        # up until PostgreSQL refuses more (max_connections).
                        "CONN_MAX_AGE": 0,
                    }
                }
                with psycopg.connect(pg_url, autocommit=True) as conn:
                    conn.execute(FLOOR_TABLE.format(pk="bigserial PRIMARY KEY", ts="timestamptz"))
                db_where = pg_url
            else:
                db_path = tmp / "floor.sqlite3"
                databases = {
                    "default": {
                        "ENGINE": "django.db.backends.sqlite3",
                        "NAME": str(db_path),
                        "OPTIONS": {
                            "transaction_mode": "IMMEDIATE",
                            "timeout": 20,
                            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                        },
                    }
                }
                with sqlite3.connect(db_path) as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(
                        FLOOR_TABLE.format(pk="integer PRIMARY KEY AUTOINCREMENT", ts="datetime")
                    )
                db_where = str(db_path)
            write_floor(tmp / "project", databases)
            env = {
                k: v
                for k, v in os.environ.items()
                if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
            }
            env["PYTHONPATH"] = str(tmp / "project")
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                "floor.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--lifespan",
                "off",
            ]
            ready_path = "/healthz"
            table = "floor_inquiry"
        proc = subprocess.Popen(cmd, env=env, cwd=tmp, stdout=log_file, stderr=subprocess.STDOUT)
        wait_ready(port, ready_path, proc)
        log(
            f"  {database:8} {kind:5} serving on :{port}, {args.warmup:.0f} s warm-up + {args.seconds:.0f} s ..."
        )
        result = asyncio.run(
            drive(
                port,
                "/api/v1/inquiries",
                args.clients,
                args.warmup,
                args.seconds,
                f"{kind}-{database}-{os.getpid()}",
            )
        )
        result["server_rss_mb"] = rss_mb(proc.pid)
        stop(proc)
        rows = count_rows(database, db_where, f"SELECT count(*) FROM {table}")
        demo_rows = 5 if kind == "app" else 0  # madoguchi demo's own inquiries
        result["rows_in_db"] = rows - demo_rows
        result["missing"] = result["created_total"] - (rows - demo_rows)
        if result["ok"] == 0:
            log_file.seek(0)
            result["server_log_tail"] = log_file.read()[-2000:].decode("utf-8", "replace")
        return result
    finally:
        if proc is not None:
            stop(proc)
        log_file.close()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measuring window per server")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.seconds = max(1.0, min(args.seconds, 600.0))
    args.warmup = max(0.0, min(args.warmup, 60.0))

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    results: dict[str, dict] = {}
    for database in [d.strip() for d in args.databases.split(",") if d.strip()]:
        floor = run_one("floor", database, args, log)
        app = run_one("app", database, args, log)
        ratio = app["req_per_s"] / floor["req_per_s"] if floor["req_per_s"] else float("nan")
        results[database] = {
            "floor": floor,
            "app": app,
            "ratio_to_floor": round(ratio, 3),
            "within_budget": ratio >= BUDGET_RATIO
            and app["p99_ms"] <= BUDGET_P99_MS
            and app["missing"] == 0,
        }
    out = {
        "clients": args.clients,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "budget": {"ratio_to_floor": BUDGET_RATIO, "p99_ms": BUDGET_P99_MS},
        "results": results,
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(
        f"\nPOST /api/v1/inquiries, {args.clients} keep-alive clients, {args.warmup:.0f} s warm-up + "
        f"{args.seconds:.0f} s, one uvicorn process each"
    )
    print(
        "| database | server | req/s | p50 ms | p95 ms | p99 ms | max ms | non-2xx | errors | missing | RSS MB | ratio to floor | budget |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for database, r in results.items():
        for kind in ("floor", "app"):
            x = r[kind]
            non2xx = sum(v for k, v in x["statuses"].items() if not k.startswith("2"))
            ratio = f"{r['ratio_to_floor']:.2f}" if kind == "app" else "1.00"
            budget = ("ok" if r["within_budget"] else "OVER") if kind == "app" else ""
            print(
                f"| {database} | {kind} | {x['req_per_s']:.0f} | {x['p50_ms']:.1f} | {x['p95_ms']:.1f} | "
                f"{x['p99_ms']:.1f} | {x['max_ms']} | {non2xx} | {sum(x['errors'].values())} | {x['missing']} | "
                f"{x['server_rss_mb']} | {ratio} | {budget} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
