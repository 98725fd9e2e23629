"""What ``/healthz`` checks: the database answers a real query on the main tables, a
task worker is alive (its heartbeat row is fresh; in the embedded mode, this process's
worker thread runs and is not failing), and no outgoing mail has waited too long.

Each check returns a dict with ``ok`` and the figures an administrator needs; the
problems are plain English for logs and monitoring (not shown to requesters)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Min

from madoguchi.core.clock import now


def _age(at: Any) -> float | None:
    return None if at is None else round(max(0.0, (now() - at).total_seconds()), 1)


def check_database() -> dict[str, Any]:
    from django.db import connection

    from madoguchi.inquiries.models import Inquiry

    list(Inquiry.objects.order_by().values_list("pk", flat=True)[:1])
    return {"ok": True, "vendor": connection.vendor}


def check_worker() -> tuple[dict[str, Any], list[str]]:
    from madoguchi.core import worker
    from madoguchi.core.models import WorkerHeartbeat

    stale_after = settings.HEALTH_WORKER_STALE_SECONDS
    rows = list(WorkerHeartbeat.objects.order_by("-beat_at")[:50])
    ages = [_age(r.beat_at) or 0.0 for r in rows]
    alive = [r for r, age in zip(rows, ages, strict=True) if age <= stale_after]
    info: dict[str, Any] = {
        "workers_alive": len(alive),
        "last_heartbeat_age": ages[0] if ages else None,
        "stale_after": stale_after,
    }
    problems: list[str] = []
    local = worker.local_supervisor()
    if local is not None:
        age = local.heartbeat_age()
        info["embedded"] = {
            "alive": local.is_alive(),
            "failures": local.failures,
            "last_heartbeat_age": None if age is None else round(age, 1),
            "last_error": local.last_error,
        }
        if not local.is_alive():
            problems.append("the embedded task worker has stopped")
        elif local.failures:
            problems.append(
                f"the embedded task worker is failing ({local.failures} in a row; "
                f"restarting): {local.last_error}"
            )
        elif age is not None and age > stale_after:
            problems.append(f"the embedded task worker has not reported for {age:.0f} s")
    elif rows and not alive:
        # Workers have run here, and none has reported lately (stopped, killed or stuck).
        problems.append(f"no task worker has reported for {ages[0]:.0f} s")
    failing = [r for r in alive if r.failures]
    if failing and len(failing) == len(alive) and local is None:
        problems.append(
            f"every task worker is failing: {failing[0].worker_id}: {failing[0].last_error}"
        )
    info["ok"] = not problems
    return info, problems


def check_outbox() -> tuple[dict[str, Any], list[str]]:
    from madoguchi.mail.models import OutboundMail, OutboundStatus

    found = OutboundMail.objects.filter(status=OutboundStatus.PENDING).aggregate(
        pending=Count("pk"), oldest=Min("created_at")
    )
    age = _age(found["oldest"])
    limit = settings.HEALTH_OUTBOX_MAX_AGE_SECONDS
    info = {
        "pending": found["pending"],
        "oldest_pending_age": age,
        "max_age": limit,
    }
    problems = []
    if age is not None and age > limit:
        problems.append(f"outgoing mail has been pending for {age:.0f} s (limit {limit} s)")
    info["ok"] = not problems
    return info, problems


def report() -> tuple[bool, dict[str, Any]]:
    """(healthy, the JSON body)."""
    from madoguchi import __version__

    problems: list[str] = []
    checks: dict[str, Any] = {}
    try:
        checks["database"] = check_database()
        checks["worker"], found = check_worker()
        problems += found
        checks["outbox"], found = check_outbox()
        problems += found
    except Exception as exc:  # the database is unreachable or broken
        checks["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        problems.append("the database does not answer")
    healthy = not problems
    vendor = checks["database"].get("vendor", "unavailable")
    body = {
        "status": "ok" if healthy else "error",
        "database": vendor,
        "version": __version__,
        "problems": problems,
        "checks": checks,
    }
    return healthy, body
