"""Running the task queue: a worker process (``madoguchi worker``) or a thread in the
embedded web process. Both use django-tasks-db's worker loop."""

from __future__ import annotations

import logging
import threading

from django_tasks_db.management.commands.db_worker import Worker

log = logging.getLogger(__name__)


def make_worker(
    *, interval: float = 1.0, batch: bool = False, worker_id: str = "madoguchi"
) -> Worker:
    return Worker(
        queue_names=["*"],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def run_until_idle() -> None:
    """Run every task that is ready now, then return (tests and one-shot CLI use)."""
    make_worker(interval=0, batch=True, worker_id="batch").run()


def start_in_thread(interval: float = 0.5) -> threading.Thread:
    worker = make_worker(interval=interval, worker_id="embedded")
    thread = threading.Thread(target=worker.run, name="madoguchi-worker", daemon=True)
    thread.start()
    log.info("embedded task worker started")
    return thread


def housekeeping() -> None:
    """Re-enqueue outbox mail whose task went missing; finish inbound mail that was stored
    but not processed (a crash); fetch from IMAP mailboxes when they are due; close idle
    chats and drop waiting requesters who left; forget old bot questions."""
    from django.db import close_old_connections

    from madoguchi.chat import service as chat
    from madoguchi.kb import learning
    from madoguchi.mail import imap, ingest, outbox
    from madoguchi.sla import monitor

    close_old_connections()
    steps = (
        outbox.sweep,
        ingest.recover_pending,
        monitor.check_due_times,
        imap.fetch_all,
        chat.sweep,
        learning.purge_old,
    )
    for step in steps:
        try:
            step()
        except Exception:  # housekeeping must never kill the process
            log.exception("%s failed", step.__qualname__)


def sweep_forever(interval: float = 60.0, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    while not stop.wait(interval):
        housekeeping()


def start_sweeper(interval: float | None = None) -> threading.Thread:
    import os

    interval = interval or float(os.environ.get("MADOGUCHI_HOUSEKEEPING_SECONDS", "60"))
    thread = threading.Thread(
        target=sweep_forever, args=(interval,), name="madoguchi-sweeper", daemon=True
    )
    thread.start()
    return thread
