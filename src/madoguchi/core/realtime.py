"""Database work of the live sockets, on threads of their own.

channels' ``database_sync_to_async`` is thread-sensitive: outside a request, every socket
of a process shares asgiref's one thread for synchronous code, so a widget's message
waits for every other socket's queries (and for the requests that run there). Per-call
threads (``thread_sensitive=False`` on the loop's default executor) were tried and leaked
connections: each new thread opened its own and nothing returned it.

``run`` sends the call to one fixed pool of long-lived threads instead
(``MADOGUCHI_REALTIME_DB_THREADS``; one on SQLite, which writes one transaction at a time
anyway, four on PostgreSQL, within the connection pool). Each call releases its
connection afterwards as Django does after a request (``close_old_connections``: back to
the pool on PostgreSQL), so a thread never holds one between calls. Calls of one socket
still run one after another (a consumer handles one frame at a time), so the order of a
conversation's writes is the order of its frames.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import close_old_connections, connection

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def threads() -> int:
    """How many threads the pool has: the setting, or the default for the database."""
    configured = getattr(settings, "REALTIME_DB_THREADS", 0)
    if configured > 0:
        return int(configured)
    return 1 if connection.vendor == "sqlite" else 4


def executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="realtime-db")
        return _pool


def shutdown() -> None:
    """Stop the pool (tests, process exit); the next call starts a new one."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)


class _Call(SyncToAsync):
    """One call on the pool: the thread's connection is released before and after, as
    Django does around a request. (Not channels' ``DatabaseSyncToAsync``: its test
    communicator turns that release off, for calls that may share the test's own
    connection; a pool thread never does.)"""

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            close_old_connections()


def run(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``fn`` as an awaitable that runs on the realtime pool (connections released after
    each call, exceptions raised to the caller, context variables such as the active
    language carried over). The pool starts on the first call, not at import."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        work: Callable[P, Awaitable[R]] = _Call(fn, thread_sensitive=False, executor=executor())
        return await work(*args, **kwargs)

    return call
