"""The task worker outlives database errors (supervised, backing off, restarted), and
``/healthz`` tells an administrator the truth: the worker's heartbeat (a row any web
process can read), the outbox's oldest pending mail, a real query on the main tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from django.db import OperationalError
from django_tasks_db.models import DBTaskResult

from madoguchi.core import worker
from madoguchi.core.clock import frozen, now
from madoguchi.core.models import WorkerHeartbeat
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_local_worker(monkeypatch):
    """Each test registers its own embedded worker (or none)."""
    monkeypatch.setattr(worker, "_local", None)


@pytest.fixture
def broken_queue(monkeypatch):
    """The task table fails with a database error while ``state["failing"]`` is true (or
    for the next ``state["times"]`` reads)."""
    state = {"failing": False, "times": 0}
    original = DBTaskResult.objects.ready

    def ready():
        if state["failing"] or state["times"] > 0:
            state["times"] = max(0, state["times"] - 1)
            raise OperationalError("disk I/O error")
        return original()

    monkeypatch.setattr(DBTaskResult.objects, "ready", ready)
    return state


def test_the_embedded_worker_survives_database_errors(
    create, smtp_settings, broken_queue, monkeypatch, settings
):
    """The first reads of the queue fail (as with a database locked past its timeout);
    the worker restarts and the confirmation still goes out, with no restart of the desk."""
    monkeypatch.setattr(worker, "BACKOFF_FIRST_SECONDS", 0.01)
    settings.WORKER_MAX_BACKOFF_SECONDS = 0.05
    broken_queue["times"] = 3
    create()
    thread = worker.start_in_thread(interval=0.02)
    try:
        mails = smtp_settings.wait_for(1, timeout=30)
    finally:
        worker.local_supervisor().stop()
        thread.join(timeout=30)
    assert len(mails) == 1
    assert broken_queue["times"] == 0  # it did fail, three times
    assert not thread.is_alive()


def test_a_failing_worker_backs_off_with_a_cap_and_healthz_says_so(client, broken_queue, settings):
    settings.WORKER_MAX_BACKOFF_SECONDS = 60
    supervisor = worker.Supervisor(worker_id="embedded-test", interval=0.5, embedded=True)
    worker._local = supervisor
    assert supervisor.cycle() == 0.5
    assert client.get("/healthz").status_code == 200

    broken_queue["failing"] = True
    delays = [supervisor.cycle() for _ in range(8)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["worker"]["embedded"]["failures"] == 8
    assert any("failing" in p and "disk I/O error" in p for p in body["problems"])

    broken_queue["failing"] = False
    assert supervisor.cycle() == 0.5
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    beat = WorkerHeartbeat.objects.get(worker_id="embedded-test")
    assert beat.failures == 0 and "disk I/O error" in beat.last_error


def test_a_stopped_embedded_worker_is_unhealthy(client):
    supervisor = worker.Supervisor(worker_id="embedded-test", interval=0.5, embedded=True)
    worker._local = supervisor
    supervisor.cycle()
    supervisor.stop()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "the embedded task worker has stopped" in response.json()["problems"]


def test_separate_workers_are_seen_through_their_heartbeat_rows(client, settings):
    """The scaled mode: this web process runs no worker; the rows tell."""
    settings.HEALTH_WORKER_STALE_SECONDS = 120
    fresh = client.get("/healthz")
    assert fresh.status_code == 200  # a new desk: no worker has run yet
    assert fresh.json()["checks"]["worker"]["workers_alive"] == 0
    at = now()
    WorkerHeartbeat.objects.create(
        worker_id="worker-a-1", started_at=at, beat_at=at - dt.timedelta(seconds=300)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["no task worker has reported for 300 s"]
    WorkerHeartbeat.objects.create(worker_id="worker-b-2", started_at=at, beat_at=at)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["workers_alive"] == 1


def test_mail_pending_too_long_is_unhealthy(client, create, settings):
    settings.HEALTH_OUTBOX_MAX_AGE_SECONDS = 900
    create()  # its confirmation waits in the outbox
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["checks"]["outbox"]["pending"] == 1
    assert body["checks"]["database"] == {"ok": True, "vendor": body["database"]}
    with frozen(now() + dt.timedelta(seconds=1000)):
        response = client.get("/healthz")
    assert response.status_code == 503
    outbox = response.json()["checks"]["outbox"]
    assert outbox["ok"] is False and outbox["oldest_pending_age"] >= 1000


def test_livez_is_cheap(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def _get_json(url: str) -> tuple[int, dict]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_worker_process_started_too_early_recovers_and_the_web_process_sees_it(tmp_path):
    """`madoguchi worker` started before the database has its tables (every query fails):
    it keeps retrying; once `madoguchi serve` (no embedded worker) has migrated, the
    worker's heartbeat reaches the web process's /healthz through the database."""
    env = {
        **os.environ,
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "MADOGUCHI_EMBEDDED_WORKER": "0",
        "MADOGUCHI_WORKER_MAX_BACKOFF_SECONDS": "1",
    }
    for key in ("DATABASE_URL", "REDIS_URL", "EMAIL_HOST"):
        env.pop(key, None)
    cli = [sys.executable, "-m", "madoguchi"]
    port = free_port()
    log = (tmp_path / "worker.log").open("wb")
    started = subprocess.Popen(  # noqa: S603
        [*cli, "worker", "--interval", "0.2"], env=env, cwd=REPO, stdout=log, stderr=log
    )
    server = None
    try:
        # The worker has failed at least once before there is anything to read.
        deadline = time.monotonic() + 60
        while b"failed (1 in a row)" not in (tmp_path / "worker.log").read_bytes():
            assert started.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.1)
        server = subprocess.Popen(  # noqa: S603
            [*cli, "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        body: dict = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                status, body = _get_json(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                status = 0
            if status == 200 and body["checks"]["worker"]["workers_alive"] == 1:
                break
            assert started.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
        assert body.get("checks", {}).get("worker", {}).get("workers_alive") == 1, body
        started.send_signal(signal.SIGTERM)
        assert started.wait(timeout=30) == 0  # a clean stop after the current task
    finally:
        for process in (started, server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        log.close()


def test_heartbeat_rows_of_workers_long_gone_are_forgotten(db):
    at = now()
    WorkerHeartbeat.objects.create(
        worker_id="worker-old-1", started_at=at, beat_at=at - dt.timedelta(days=8)
    )
    WorkerHeartbeat.objects.create(
        worker_id="worker-recent-2", started_at=at, beat_at=at - dt.timedelta(days=1)
    )
    worker.Supervisor(worker_id="worker-new-3", interval=1, embedded=False).cycle()
    assert set(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == {
        "worker-recent-2",
        "worker-new-3",
    }


def test_healthz_details_are_for_staff_and_this_host_only(client, db):
    outside = client.get("/healthz", REMOTE_ADDR="203.0.113.5").json()
    assert set(outside) == {"status", "problems"}
    local = client.get("/healthz", REMOTE_ADDR="127.0.0.1").json()
    assert {"checks", "version"} <= set(local)


_ran: list[str] = []


def _first_step() -> None:
    _ran.append("first")


def _failing_step() -> None:
    _ran.append("failing")
    raise RuntimeError("broken")


def _last_step() -> None:
    _ran.append("last")


def test_housekeeping_runs_the_configured_steps_in_order_past_a_failing_one(db, settings, caplog):
    steps = [f"{__name__}.{name}" for name in ("_first_step", "_failing_step", "_last_step")]
    settings.HOUSEKEEPING = steps
    _ran.clear()
    worker.housekeeping()
    assert _ran == ["first", "failing", "last"]
    assert f"{steps[1]} failed" in caplog.text


def test_every_housekeeping_step_is_a_callable_that_exists():
    from django.conf import settings
    from django.utils.module_loading import import_string

    assert settings.HOUSEKEEPING
    for path in settings.HOUSEKEEPING:
        assert callable(import_string(path)), path
