"""SQLite with one writer at a time inside the process.

SQLite allows one write transaction at a time. When several threads of the embedded
server (request threads, the task worker) start write transactions together, all but
one get SQLITE_BUSY and sleep in SQLite's busy handler with growing back-off, which
turns a 2 ms transaction into seconds at the tail. Queuing writers on a Python lock
before ``BEGIN IMMEDIATE`` hands the database over as soon as it is free instead.
Readers are not affected (WAL). Other processes still meet SQLite's own locking.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db.backends.sqlite3 import base

from madoguchi.core.aggregates import register_sqlite
from madoguchi.core.files import create_private_file

log = logging.getLogger(__name__)

_WRITE_LOCK = threading.Lock()
# A writer that waits longer than this goes ahead and lets SQLite's busy timeout decide
# (a safety valve against a transaction left open, e.g. in a test wrapping everything).
LOCK_WAIT_SECONDS = 10.0


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        # SQLite creates the file 0644 and gives its WAL and -shm files the same mode.
        name = str(conn_params.get("database", ""))
        if name and name != ":memory:" and not name.startswith("file:"):
            create_private_file(name)
        connection = super().get_new_connection(conn_params)
        register_sqlite(connection)  # the reports' percentile (core.aggregates)
        return connection

    def _start_transaction_under_autocommit(self) -> None:
        if _WRITE_LOCK.acquire(timeout=LOCK_WAIT_SECONDS):
            self._holds_write_lock = True
        else:
            log.warning("waited %.0f s for the SQLite write lock; going ahead", LOCK_WAIT_SECONDS)
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private hook, not in django-stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            _WRITE_LOCK.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # private hook, not in django-stubs
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # private hook, not in django-stubs
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]  # private hook, not in django-stubs
        finally:
            self._release_write_lock()
