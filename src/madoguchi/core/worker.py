"""Running the task queue: a worker process (``madoguchi worker``) or a thread in the
embedded web process. Both use django-tasks-db's worker loop, under a supervisor: an
error (a database locked for longer than its timeout, a file that cannot be read) is
logged and the loop restarted after a back-off, instead of ending background work until
the next restart. The supervisor writes a heartbeat row that every web process reads for
``/healthz``."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from django_tasks_db.management.commands.db_worker import Worker

log = logging.getLogger(__name__)

# The heartbeat row is written at most this often (and before each task).
HEARTBEAT_SECONDS = 10.0
# The first restart waits this long; each further failure in a row doubles it, up to
# ``settings.WORKER_MAX_BACKOFF_SECONDS``.
BACKOFF_FIRST_SECONDS = 1.0


# Tasks whose module moved: a task queued before an upgrade is stored under the dotted path
# it had then (``DBTaskResult.task_path``) and would fail to import. Old path -> new path;
# entries stay as long as an installation may upgrade from before the move.
MOVED_TASKS = {
    # sla computes, inquiries apply (design note 49)
    "madoguchi.sla.tasks.recompute_open_inquiries": (
        "madoguchi.inquiries.sla_tasks.recompute_open_inquiries"
    ),
}


def follow_moved_task(db_task_result: Any) -> None:
    """Point a stored task at where its function lives now (saved, so it is done once)."""
    new_path = MOVED_TASKS.get(db_task_result.task_path)
    if new_path is not None:
        log.info("task %s: %s is now %s", db_task_result.id, db_task_result.task_path, new_path)
        db_task_result.task_path = new_path
        db_task_result.save(update_fields=["task_path"])


def _options(*, interval: float, batch: bool, worker_id: str) -> dict[str, Any]:
    return {
        "queue_names": ["*"],
        "interval": interval,
        "batch": batch,
        "backend_name": "default",
        "startup_delay": False,
        "max_tasks": None,
        "worker_id": worker_id,
        "excluded_queue_names": [],
    }


class _Worker(Worker):
    """django-tasks-db's worker, running moved tasks under their new path."""

    def run_task(self, db_task_result: Any) -> None:
        follow_moved_task(db_task_result)
        super().run_task(db_task_result)


def make_worker(
    *, interval: float = 1.0, batch: bool = False, worker_id: str = "madoguchi"
) -> Worker:
    return _Worker(**_options(interval=interval, batch=batch, worker_id=worker_id))


def run_until_idle() -> None:
    """Run every task that is ready now, then return (tests and one-shot CLI use)."""
    make_worker(interval=0, batch=True, worker_id="batch").run()


class _BeatingWorker(_Worker):
    """django-tasks-db's loop in batch mode (it returns when the queue is empty), with a
    heartbeat before each task so that a long queue keeps the heartbeat fresh."""

    def __init__(self, supervisor: Supervisor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supervisor = supervisor

    def run_task(self, db_task_result: Any) -> None:
        self.supervisor.beat()
        super().run_task(db_task_result)


class Supervisor:
    """Keeps one task worker running: catches, logs, backs off (capped), restarts."""

    def __init__(self, *, worker_id: str, interval: float, embedded: bool) -> None:
        self.worker_id = worker_id
        self.interval = interval
        self.embedded = embedded
        self.stopping = threading.Event()
        self.failures = 0  # in a row
        self.last_error = ""
        self.started_at: Any = None
        self.last_beat: float | None = None  # time.monotonic() of the last heartbeat row
        self.thread: threading.Thread | None = None
        self._current: Worker | None = None
        self._pending_error: tuple[str, Any] | None = None

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.cycle()):
                pass
        finally:
            _close_connections()
        log.info("task worker %s stopped", self.worker_id)

    def cycle(self) -> float:
        """Run what is ready now; returns how long to wait before the next cycle."""
        from django.conf import settings

        try:
            was_failing = self.failures > 0
            self.beat(force=self.last_beat is None or was_failing)
            self._current = _BeatingWorker(
                self, **_options(interval=self.interval, batch=True, worker_id=self.worker_id)
            )
            if not self.stopping.is_set():
                self._current.run()
            self.failures = 0
            self.beat(force=was_failing)  # recovered: say so at once
        except Exception as exc:  # the worker must outlive any one error
            from madoguchi.core.clock import now

            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            self._pending_error = (self.last_error, now())
            delay = min(
                float(settings.WORKER_MAX_BACKOFF_SECONDS),
                BACKOFF_FIRST_SECONDS * 2 ** min(self.failures - 1, 16),
            )
            log.exception(
                "task worker %s failed (%d in a row); restarting in %.1f s",
                self.worker_id,
                self.failures,
                delay,
            )
            _close_connections()
            return delay
        finally:
            self._current = None
        return self.interval

    def beat(self, *, force: bool = False) -> None:
        """Write the heartbeat row (at most every HEARTBEAT_SECONDS unless forced)."""
        from madoguchi.core.clock import now
        from madoguchi.core.models import WorkerHeartbeat

        t = time.monotonic()
        if not force and self.last_beat is not None and t - self.last_beat < HEARTBEAT_SECONDS:
            return
        at = now()
        self.started_at = self.started_at or at
        values: dict[str, Any] = {
            "embedded": self.embedded,
            "beat_at": at,
            "failures": self.failures,
        }
        if self._pending_error is not None:
            values["last_error"], values["last_error_at"] = self._pending_error
        updated = WorkerHeartbeat.objects.filter(worker_id=self.worker_id).update(**values)
        if not updated:
            WorkerHeartbeat.objects.create(
                worker_id=self.worker_id, started_at=self.started_at, **values
            )
            # Rows of workers gone for a week (other process ids) are forgotten.
            WorkerHeartbeat.objects.filter(beat_at__lt=at - dt.timedelta(days=7)).delete()
        self._pending_error = None
        self.last_beat = t

    # --- control ------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the task at hand, then return from ``run``."""
        self.stopping.set()
        current = self._current
        if current is not None:
            current.running = False

    def is_alive(self) -> bool:
        if self.stopping.is_set():
            return False
        return self.thread is None or self.thread.is_alive()

    def heartbeat_age(self) -> float | None:
        return None if self.last_beat is None else time.monotonic() - self.last_beat

    def handle_signals(self) -> None:
        """SIGTERM/SIGINT: stop after the current task; a second one exits at once."""

        def on_signal(signum: int, frame: Any) -> None:
            if self.stopping.is_set():
                raise SystemExit(1)
            log.warning("%s: stopping after the current task", signal.Signals(signum).name)
            self.stop()

        for name in ("SIGINT", "SIGTERM", "SIGQUIT"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), on_signal)


def _close_connections() -> None:
    from django.db import connections

    try:
        connections.close_all()  # this thread's: a broken connection is opened afresh
    except Exception:
        log.debug("closing the worker's connections failed", exc_info=True)


def worker_id(prefix: str) -> str:
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}"[:120]


_local: Supervisor | None = None


def local_supervisor() -> Supervisor | None:
    """The worker this process runs in a thread (the embedded mode), if any."""
    return _local


def start_in_thread(interval: float = 0.5) -> threading.Thread:
    global _local
    supervisor = Supervisor(worker_id=worker_id("embedded"), interval=interval, embedded=True)
    thread = threading.Thread(target=supervisor.run, name="madoguchi-worker", daemon=True)
    supervisor.thread = thread
    _local = supervisor
    thread.start()
    log.info("embedded task worker started")
    return thread


def housekeeping() -> None:
    """Run each step of ``settings.HOUSEKEEPING`` (dotted paths, in order): re-enqueue
    outbox mail whose task went missing; finish inbound mail that was stored but not
    processed (a crash); warn before and report missed SLA targets; fetch from IMAP
    mailboxes when they are due; close idle chats and drop waiting requesters who left;
    forget old bot questions. The steps are named in the settings, not imported here,
    because they belong to apps above ``core``."""
    from django.conf import settings
    from django.db import close_old_connections
    from django.utils.module_loading import import_string

    close_old_connections()
    for path in settings.HOUSEKEEPING:
        try:
            import_string(path)()
        except Exception:  # housekeeping must never kill the process
            log.exception("%s failed", path)


def sweep_forever(interval: float = 60.0, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    while not stop.wait(interval):
        try:
            housekeeping()
        except Exception:  # e.g. the database unreachable for a while: try next time
            log.exception("housekeeping failed")


def start_sweeper(interval: float | None = None) -> threading.Thread:
    interval = interval or float(os.environ.get("MADOGUCHI_HOUSEKEEPING_SECONDS", "60"))
    thread = threading.Thread(
        target=sweep_forever, args=(interval,), name="madoguchi-sweeper", daemon=True
    )
    thread.start()
    return thread
