"""Mail ingestion benchmark: messages/s and peak memory through the real ingest path
(store raw bytes durably, parse, deduplicate, thread, create inquiries, queue
confirmations) on the embedded SQLite default or PostgreSQL.

    .venv/bin/python bench/mail_ingest.py [--messages 600] [--big 5] [--database-url URL]

Scenarios, each in a fresh process so peak RSS is its own:
  mix  — the 60 hostile fixture mails of ../shared/data/bad-input/emails, cycled with a
         unique Message-ID each so none is a duplicate;
  big  — messages with one 10 MiB attachment (built as GENERATORS.md G1 describes).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EMAILS = REPO.parent / "shared" / "data" / "bad-input" / "emails"


def big_message(n: int) -> bytes:
    payload = bytes(i % 256 for i in range(256)) * (10 * 1024 * 1024 // 256)
    b64 = base64.b64encode(payload).decode()
    lines = [b64[i : i + 76] for i in range(0, len(b64), 76)]
    head = (
        "From: taro.todai@st.univ.example\r\nTo: support@helpdesk.univ.example\r\n"
        f"Subject: 10 MB attachment {n}\r\nDate: Tue, 01 Apr 2025 09:00:00 +0900\r\n"
        f"Message-ID: <size-10mb-{n}@st.univ.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="size-bnd"\r\n\r\n'
        "--size-bnd\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n10 MB attachment test\r\n"
        '--size-bnd\r\nContent-Type: application/octet-stream; name="big.bin"\r\n'
        'Content-Disposition: attachment; filename="big.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    )
    return head.encode() + "\r\n".join(lines).encode() + b"\r\n--size-bnd--\r\n"


def run_scenario(scenario: str, count: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from madoguchi.inbound import ingest
    from madoguchi.mail.models import Mailbox

    Mailbox.objects.get_or_create(
        address="support@helpdesk.univ.example", defaults={"triage_first": True}
    )
    if scenario == "mix":
        fixtures = sorted(p.read_bytes() for p in EMAILS.glob("*.eml"))
        messages = []
        for n in range(count):
            raw = fixtures[n % len(fixtures)]
            # Unique first lines make every message new: other bytes, Message-ID and subject
            # (the first occurrence of a header wins), so nothing is a duplicate.
            messages.append(
                f"Message-ID: <bench-{n}@bench.example>\r\nSubject: bench {n}\r\n".encode() + raw
            )
    else:
        messages = [big_message(n) for n in range(count)]
    actions: dict[str, int] = {}
    started = time.perf_counter()
    latencies = []
    for raw in messages:
        t0 = time.perf_counter()
        result = ingest.ingest(raw, mailbox_address="support@helpdesk.univ.example")
        latencies.append(time.perf_counter() - t0)
        actions[result.action] = actions.get(result.action, 0) + 1
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "scenario": scenario,
        "messages": count,
        "bytes": sum(len(m) for m in messages),
        "seconds": round(elapsed, 2),
        "messages_per_s": round(count / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "actions": actions,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--big", type=int, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.count)))
        return 0
    if not EMAILS.exists():
        print(f"fixtures not found at {EMAILS}", file=sys.stderr)
        return 1
    results = []
    for scenario, count in (("mix", args.messages), ("big", args.big)):
        with tempfile.TemporaryDirectory() as data_dir:
            env = {
                **os.environ,
                "MADOGUCHI_DATA_DIR": data_dir,
                "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
                "MADOGUCHI_LOG_LEVEL": "ERROR",
                "MADOGUCHI_MAIL_CONFIRMATIONS_PER_HOUR": "1000000",
            }
            env.pop("DATABASE_URL", None)
            if args.database_url:
                env["DATABASE_URL"] = args.database_url
            out = subprocess.run(
                [sys.executable, __file__, "--scenario", scenario, "--count", str(count)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=3600,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"{'scenario':8} {'msgs':>6} {'MB':>7} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'peak RSS MB':>12}  actions"
        )
        for r in results:
            print(
                f"{r['scenario']:8} {r['messages']:>6} {r['bytes'] / 1e6:>7.1f} {r['messages_per_s']:>8} "
                f"{r['p50_ms']:>8} {r['p99_ms']:>8} {r['peak_rss_mb']:>12}  {r['actions']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
