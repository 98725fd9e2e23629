"""Recomputing open inquiries' due times after a schedule change, through the real task
code and database (issue 4's "done when").

    .venv/bin/python bench/sla_recompute.py [--rows 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    os.environ["MADOGUCHI_DATA_DIR"] = tempfile.mkdtemp(prefix="mg-sla-bench-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "madoguchi.settings"
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from madoguchi.demo import _load_hours_and_policies
    from madoguchi.inquiries.models import Inquiry
    from madoguchi.inquiries.sla_tasks import recompute_all
    from madoguchi.sla.models import BusinessSchedule

    _load_hours_and_policies()
    Inquiry.objects.all().delete()
    rng = random.Random(1)
    start = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    t0 = time.perf_counter()
    batch = []
    for n in range(args.rows):
        created = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 21))
        batch.append(
            Inquiry(
                reference=f"B-{n:08d}",
                channel="form",
                lane="sensitive" if n % 10 == 0 else "general",
                status=rng.choice(["new", "open", "pending"]),
                priority=rng.randint(1, 4),
                subject=f"bench {n}",
                requester_name="n",
                requester_email=f"r{n}@example.ac.jp",
                created_at=created,
                updated_at=created,
            )
        )
        if len(batch) == 5000:
            Inquiry.objects.bulk_create(batch)
            batch = []
    Inquiry.objects.bulk_create(batch)
    load = time.perf_counter() - t0

    operators = BusinessSchedule.objects.get(name="operators")
    definition = dict(operators.definition)
    definition["exceptions"] = [
        *definition.get("exceptions", []),
        {"date": "2026-11-30", "kind": "closed", "hours": [], "label": "bench"},
    ]
    operators.definition = definition
    operators.save()  # (the signal enqueues the task; here it is run directly and timed)
    t0 = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        count = recompute_all()
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    else:
        count = recompute_all()
    took = time.perf_counter() - t0
    due = Inquiry.objects.exclude(due_at=None).count()
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{db}: loaded {args.rows} open inquiries in {load:.1f} s; recomputed {count} in {took:.1f} s "
        f"({count / took:,.0f}/s, {took / count * 1e6:.0f} µs each); {due} with a due time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
