"""Database work of the live sockets, on threads of their own.

channels' ``database_sync_to_async`` is thread-sensitive: outside a request, every socket
of a process shares asgiref's one thread for synchronous code, so a widget's message
waits for every other socket's queries (and for the requests that run there). Per-call
threads (``thread_sensitive=False`` on the loop's default executor) were tried and leaked
connections: each new thread opened its own and nothing returned it.

``run`` sends the call to a fixed pool of long-lived threads instead
(``MADOGUCHI_REALTIME_DB_THREADS``; one on SQLite, which writes one transaction at a time
anyway, four on PostgreSQL, within the connection pool), and slow work (``lane="slow"``:
the bot's answer) to a second, smaller pool, so that it never sits in front of a store. Each call releases its
connection afterwards as Django does after a request (``close_old_connections``: back to
the pool on PostgreSQL), so a thread never holds one between calls; on SQLite each
thread keeps its own open (no pool to return it to, and a new one costs pragmas). Calls of one socket
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
from django.db import close_old_connections, connection, connections

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_pools: dict[str, ThreadPoolExecutor] = {}


def threads() -> int:
    """How many threads the hot path's pool has: the setting, or the default for the
    database."""
    configured = getattr(settings, "REALTIME_DB_THREADS", 0)
    if configured > 0:
        return int(configured)
    return 1 if connection.vendor == "sqlite" else 4


def executor(lane: str = "live") -> ThreadPoolExecutor:
    """The pool of ``lane``: ``live`` for what a socket waits for (store, ack, publish),
    ``slow`` for what may take longer (the bot's answer; half as many threads, at least
    one), so that slow work never holds up a store."""
    with _lock:
        pool = _pools.get(lane)
        if pool is None:
            size = threads() if lane == "live" else max(1, threads() // 2)
            pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"realtime-{lane}")
            _pools[lane] = pool
        return pool


def shutdown() -> None:
    """Stop the pools (tests, process exit); the next call starts new ones."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
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
            _keep_sqlite_open()
            close_old_connections()


def _keep_sqlite_open() -> None:
    """A pool thread lives as long as the process, so its SQLite connection may too:
    reopening one (and running its pragmas) was a quarter of a chat message's cost. Only
    a connection that failed or was left in a transaction is closed. (PostgreSQL's go
    back to the pool after each call.)"""
    for conn in connections.all(initialized_only=True):
        if conn.vendor == "sqlite" and conn.connection is not None:
            conn.close_at = None


def run(fn: Callable[P, R], *, lane: str = "live") -> Callable[P, Awaitable[R]]:
    """``fn`` as an awaitable that runs on the realtime pool of ``lane`` (connections
    released after each call, exceptions raised to the caller, context variables such as
    the active language carried over). The pools start on first use, not at import."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        work: Callable[P, Awaitable[R]] = _Call(fn, thread_sensitive=False, executor=executor(lane))
        return await work(*args, **kwargs)

    return call
