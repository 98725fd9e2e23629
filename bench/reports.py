"""Reports over 1,000,000 inquiries on PostgreSQL (issue 15: "a report over 1,000,000
inquiries answers in under a second").

    python bench/reports.py                                # load (if needed) and measure
    python bench/reports.py --rows 200000 --reload         # a smaller fresh load
    python bench/reports.py --database NAME --json

Uses the database ``--database`` (default ``reports_bench``) on 127.0.0.1:5432, user
postgres, creating it if it is missing (administrative statements go through the
``postgres`` database), applies the real migrations, and loads, all server-side with
``INSERT ... SELECT generate_series`` (seeded ``random()``): N inquiries received over
the last two years (~90 % general lane, 6 % sensitive, 2 % triage, 2 % faculty-only;
channels, categories with a skewed popularity, member categories, languages, priorities,
assignees of both tiers; first responses, solutions and the SLA verdicts: nearly every
inquiry older than 60 days solved, a tenth of the recent ones still open),
a conversation for each chat inquiry (queued, accepted, abandoned, rated), a call for
each call inquiry, and two bot questions per chat; then ``VACUUM ANALYZE``.

Measured, for a faculty member (every lane) and a student (general lane), over the last
30 days, the last year and the whole two years: ``console.reports.compute_report`` (every
section; its queries captured, the slowest named), and the page itself through
``django.test.Client`` (middleware, the view, the SVG charts, the template). Each figure
is the median of ``--repeat`` runs after one warm-up. The floor, measured in the same
run: ``SELECT count(*) FROM inquiries_inquiry`` (the cheapest full look at the table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PG = "postgres://postgres@127.0.0.1:5432/"
BUDGET_S = 1.0


def _admin(sql: str, *args: object) -> list[tuple]:
    import psycopg

    with psycopg.connect(
        PG.replace("postgres://", "postgresql://") + "postgres", autocommit=True
    ) as c:
        cur = c.execute(sql, args or None)
        return cur.fetchall() if cur.description else []


def ensure_database(name: str) -> None:
    if name in ("test", "postgres"):
        raise SystemExit(f"refusing to use the database {name!r}")
    if not _admin("SELECT 1 FROM pg_database WHERE datname = %s", name):
        _admin(f'CREATE DATABASE "{name}"')


def setup_django(name: str, data_dir: str) -> None:
    os.environ["DATABASE_URL"] = PG + name
    os.environ["MADOGUCHI_DATA_DIR"] = data_dir
    os.environ["MADOGUCHI_EMBEDDED_WORKER"] = "0"
    os.environ["MADOGUCHI_LOG_LEVEL"] = "WARNING"
    os.environ.pop("REDIS_URL", None)
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "madoguchi.settings"
    import django

    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CATEGORIES = ["zoom", "class-entry", "account", "lms", "mail", "network", "exam", "other",
              "printer", "software", "vpn", "wifi", "storage", "mfa", "license", "web",
              "mailing-list", "id-card", "lab-pc", "accessibility"]  # fmt: skip


def loaded_rows() -> int:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM inquiries_inquiry")
        return int(c.fetchone()[0])


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "TRUNCATE kb_botquestion, calls_call, chat_conversation, inquiries_inquiry CASCADE"
        )


def load(rows: int, log) -> dict[str, float]:  # noqa: ANN001
    from django.contrib.auth import get_user_model
    from django.db import connection

    from madoguchi.calls.models import CallTerms
    from madoguchi.inquiries.models import Category

    timings: dict[str, float] = {}
    for i, slug in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            slug=slug, defaults={"name_ja": f"分類{slug}", "name_en": slug.title(), "sort_order": i}
        )
    cat_ids = list(Category.objects.order_by("sort_order").values_list("pk", flat=True))
    User = get_user_model()
    students, faculty = [], []
    for i in range(12):
        tier = "student" if i < 8 else "faculty"
        user, _ = User.objects.get_or_create(
            username=f"agent{i:02}", defaults={"tier": tier, "display_name": f"agent{i:02}"}
        )
        (students if tier == "student" else faculty).append(user.pk)
    terms, _ = CallTerms.objects.get_or_create(
        version=1, defaults={"text_ja": "規約", "text_en": "Terms"}
    )
    t = time.perf_counter()
    with connection.cursor() as c:
        c.execute("SELECT setseed(0.15)")
        c.execute("SET synchronous_commit = off")
        c.execute(
            """
            CREATE TEMP TABLE draw AS
            SELECT g, random() AS r_lane, random() AS r_chan, random() AS r_cat,
                   random() AS r_mem, random() AS r_lang, random() AS r_prio, random() AS r_asg,
                   random() AS r_resp, random() AS r_solve, random() AS r_met,
                   now() - (random() * interval '730 days') AS created
            FROM generate_series(1, %s) AS g
            """,
            [rows],
        )
        c.execute(
            """
            INSERT INTO inquiries_inquiry (
                reference, channel, lane, status, priority, category_id, subject, lang,
                requester_name, requester_email, requester_key, common_id, affiliation,
                member_category, member_category_other, year_or_title, details,
                sensitive_part, sensitive_reason, assignee_id, escalated, fingerprint,
                root_message_id, link_version, flags, created_at, updated_at,
                first_response_at, solved_at, sla_warned, sla_breached,
                first_response_met, resolution_met)
            SELECT
                'R-' || lpad(g::text, 8, '0'),
                ch.channel,
                CASE WHEN r_lane < 0.90 THEN 'general' WHEN r_lane < 0.96 THEN 'sensitive'
                     WHEN r_lane < 0.98 THEN 'triage' ELSE 'faculty' END,
                CASE WHEN solved.at IS NOT NULL THEN 'closed'
                     WHEN resp.at IS NOT NULL THEN 'pending' ELSE 'new' END,
                (ARRAY[1,2,3,3,3,3,3,3,4,4])[1 + floor(r_prio * 10)::int],
                CASE WHEN r_cat < 0.05 THEN NULL
                     ELSE (%s::bigint[])[1 + floor(20 * power(r_cat, 2))::int] END,
                '件名 ' || g,
                CASE WHEN r_lang < 0.12 THEN 'en' ELSE 'ja' END,
                'Requester ' || (g %% 50000), 'user' || (g %% 50000) || '@example.ac.jp', '',
                '', '', (ARRAY['student_new','student_current','student_current','student_current',
                               'faculty_fulltime','faculty_parttime','staff','other','',''])[1 + floor(r_mem * 10)::int],
                '', '', '{}'::jsonb, '', '',
                CASE WHEN resp.at IS NULL THEN NULL
                     WHEN r_lane < 0.90 AND r_asg < 0.8 THEN (%s::bigint[])[1 + floor(r_asg * 10)::int]
                     ELSE (%s::bigint[])[1 + floor(r_asg * 4)::int] END,
                false, md5(g::text), '', 1, '[]'::jsonb,
                created, COALESCE(solved.at, resp.at, created),
                resp.at, solved.at, false, r_met < 0.08,
                CASE WHEN resp.at IS NULL THEN NULL ELSE r_met >= 0.08 END,
                CASE WHEN solved.at IS NULL THEN NULL ELSE r_met >= 0.15 END
            FROM draw
            CROSS JOIN LATERAL (SELECT (ARRAY['form','form','form','form','mail','mail','chat','chat','api','sensitive_form','call'])[1 + floor(r_chan * 11)::int] AS channel) AS ch
            CROSS JOIN LATERAL (SELECT CASE WHEN (r_resp < 0.97 OR (r_resp < 0.999 AND created < now() - interval '60 days'))
                                             AND created + interval '1 hour' * (r_resp * 30) < now()
                                            THEN created + interval '1 hour' * (r_resp * 30) END AS at) AS resp
            CROSS JOIN LATERAL (SELECT CASE WHEN resp.at IS NOT NULL
                                             AND (r_solve < 0.9 OR (r_solve < 0.998 AND created < now() - interval '60 days'))
                                             AND resp.at + interval '1 hour' * (r_solve * 120) < now()
                                            THEN resp.at + interval '1 hour' * (r_solve * 120) END AS at) AS solved
            ORDER BY created
            """,
            [cat_ids, students, faculty],
        )
        timings["insert inquiries (s)"] = time.perf_counter() - t
        log(f"  inquiries inserted in {timings['insert inquiries (s)']:.1f} s")
        c.execute("DROP TABLE draw")
        t = time.perf_counter()
        c.execute(
            """
            INSERT INTO chat_conversation (inquiry_id, secret_hash, state, lang, page_url,
                operator_id, queued_at, accepted_at, closed_at, closed_by, last_activity_at,
                rating, rating_comment, created_at)
            SELECT i.id, md5('chat' || i.id), 'closed', i.lang, '',
                   NULL, q.at, a.at, i.created_at + interval '30 minutes',
                   CASE WHEN q.at IS NOT NULL AND a.at IS NULL THEN 'abandoned' ELSE 'requester' END,
                   i.created_at, CASE WHEN random() < 0.3 THEN 1 + floor(random() * 5)::int END, '',
                   i.created_at
            FROM inquiries_inquiry i
            CROSS JOIN LATERAL (SELECT random() AS r) AS d
            CROSS JOIN LATERAL (SELECT CASE WHEN d.r < 0.6 THEN i.created_at + interval '1 minute' END AS at) AS q
            CROSS JOIN LATERAL (SELECT CASE WHEN q.at IS NOT NULL AND d.r < 0.5
                                            THEN q.at + interval '1 second' * (d.r * 1200) END AS at) AS a
            WHERE i.channel = 'chat'
            """
        )
        c.execute(
            """
            INSERT INTO calls_call (inquiry_id, secret_hash, state, lang, operator_id,
                invited_by_id, terms_id, share, queued_at, admitted_at, deadline_at,
                warned_minutes, ended_at, ended_by, requester_left_at, thread_from, created_at)
            SELECT i.id, md5('call' || i.id),
                   CASE WHEN d.r < 0.05 THEN 'email' ELSE 'ended' END, i.lang, NULL, NULL, %s,
                   'none', i.created_at,
                   CASE WHEN d.r < 0.9 THEN i.created_at + interval '1 second' * (d.r * 600) END,
                   NULL, NULL,
                   i.created_at + interval '1 second' * (600 + d.r * 2400),
                   CASE WHEN d.r < 0.05 THEN 'email' WHEN d.r > 0.8 AND d.r < 0.9 THEN 'time_limit'
                        WHEN d.r >= 0.9 THEN 'abandoned' ELSE 'operator' END,
                   NULL, 0, i.created_at
            FROM inquiries_inquiry i CROSS JOIN LATERAL (SELECT random() AS r) AS d
            WHERE i.channel = 'call'
            """,
            [terms.pk],
        )
        c.execute(
            """
            INSERT INTO kb_botquestion (text, norm, lang, decision, rule, top_ids, coverage,
                channel, created_at, resolved, taught_article_id, dismissed, inquiry_id, message_id)
            SELECT 'q', 'q', i.lang,
                   (ARRAY['answer','answer','answer','handover','rule'])[1 + floor(random() * 5)::int],
                   NULL, '[]'::jsonb, NULL, 'chat', i.created_at, false, NULL, false, i.id, NULL
            FROM inquiries_inquiry i CROSS JOIN generate_series(1, 2)
            WHERE i.channel = 'chat'
            """
        )
        timings["insert chats, calls, bot questions (s)"] = time.perf_counter() - t
    t = time.perf_counter()
    with connection.cursor() as c:
        for table in ("inquiries_inquiry", "chat_conversation", "calls_call", "kb_botquestion"):
            c.execute(f"VACUUM ANALYZE {table}")
    timings["vacuum analyze (s)"] = time.perf_counter() - t
    return timings


def counts() -> dict[str, object]:
    from django.db import connection

    out: dict[str, object] = {}
    with connection.cursor() as c:
        for table in ("inquiries_inquiry", "chat_conversation", "calls_call", "kb_botquestion"):
            c.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
            out[table] = c.fetchone()[0]
        c.execute("SELECT lane, count(*) FROM inquiries_inquiry GROUP BY 1 ORDER BY 2 DESC")
        out["lanes"] = dict(c.fetchall())
        c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        out["database size"] = c.fetchone()[0]
    return out


def median_time(fn, repeat: int) -> float:  # noqa: ANN001
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def floor(repeat: int) -> float:
    from django.db import connection

    def run() -> None:
        with connection.cursor() as c:
            c.execute("SELECT count(*) FROM inquiries_inquiry")
            c.fetchone()

    return median_time(run, repeat)


def measure(repeat: int) -> list[dict[str, object]]:
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from madoguchi.console.reports import Period, compute_report
    from madoguchi.core.clock import today

    User = get_user_model()
    users = {
        "faculty": User.objects.get(username="agent08"),
        "student": User.objects.get(username="agent00"),
    }
    last = today()
    periods = {
        "30 days": Period(last - dt.timedelta(days=29), last),
        "1 year": Period(last - dt.timedelta(days=364), last),
        "2 years": Period(last - dt.timedelta(days=730), last),
    }
    results = []
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        for label, period in periods.items():
            seconds = median_time(lambda: compute_report(user, period), repeat)  # noqa: B023
            with CaptureQueriesContext(connection) as ctx:
                compute_report(user, period)
            captured = list(ctx.captured_queries)
            slowest = max(captured, key=lambda q: float(q["time"]))
            url = f"/console/reports/?from={period.first}&to={period.last}"
            page = median_time(lambda: client.get(url), repeat)  # noqa: B023
            inquiries = sum(
                r["count"] for r in compute_report(user, period, only=["channel"])[0].rows
            )
            results.append(
                {
                    "role": role,
                    "period": label,
                    "inquiries counted": inquiries,
                    "queries": len(captured),
                    "query times (s)": [float(q["time"]) for q in captured],
                    "report (s)": round(seconds, 3),
                    "page (s)": round(page, 3),
                    "slowest query (s)": float(slowest["time"]),
                    "slowest query": slowest["sql"][:160],
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="reports_bench")
    parser.add_argument("--reload", action="store_true", help="empty the tables and load again")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    ensure_database(args.database)
    setup_django(args.database, tempfile.mkdtemp(prefix="mg-bench-reports-"))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    timings: dict[str, float] = {}
    have = loaded_rows()
    if args.reload or have != args.rows:
        log(f"loading {args.rows:,} inquiries (found {have:,})")
        truncate()
        timings = load(args.rows, log)
    result = {
        "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.python_version()}",
        "postgres": _admin("SELECT version()")[0][0].split(" on ")[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load average at the start": [round(x, 2) for x in os.getloadavg()],
        "command": " ".join(["python", "bench/reports.py", *sys.argv[1:]]),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "load": timings,
        "data": counts(),
        "floor: SELECT count(*) (s)": round(floor(args.repeat), 4),
        "runs": measure(args.repeat),
    }
    worst = max(float(r["report (s)"]) for r in result["runs"])  # type: ignore[union-attr,index]
    result["within budget"] = worst < BUDGET_S
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    floor_s = result["floor: SELECT count(*) (s)"]
    print(f"{result['date']} · {result['machine']} · {result['postgres']} · {result['command']}")
    print(f"load average at the start: {result['load average at the start']}")
    print(f"data: {result['data']}")
    print(f"floor (SELECT count(*) over inquiries): {floor_s} s")
    print(
        "| role | period | inquiries | queries | report (s) | × floor | page (s) | slowest query (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in result["runs"]:
        print(
            f"| {r['role']} | {r['period']} | {r['inquiries counted']:,} | {r['queries']} | "
            f"{r['report (s)']} | {float(r['report (s)']) / float(floor_s):.1f} | {r['page (s)']} | "  # type: ignore[arg-type]
            f"{r['slowest query (s)']} |"
        )
    for r in result["runs"]:
        print(f"  slowest ({r['role']}, {r['period']}): {r['slowest query']}")


if __name__ == "__main__":
    main()
