"""The floor for bench/chat_load.py: a bare WebSocket server on the desk's stack (uvicorn with
the same options as ``madoguchi serve``, the same websockets library, uvloop), speaking the
widget's frames with nothing else in between: no Django, no channels, no access checks,
no bot.

    python bench/chat_floor.py --init --sqlite PATH | --database-url URL   # the two tables
    python bench/chat_floor.py --port P --sqlite PATH                       # embedded
    python bench/chat_floor.py --port P --database-url URL --redis-url URL --prefix X

Widget socket (``/ws/chat/``): ``hello`` → ``welcome``; ``ping`` → ``pong``; ``msg`` →
the message is inserted in its own committed transaction (the first one also creates the
conversation row, in the same transaction), then ``ack`` with the row id as ``seq``; then,
standing in for the bot, a ``message`` frame of kind ``bot`` (not stored) — unless the
requester asked for a person (``person`` → ``offer`` ``queued``), in which case the
message is announced to the operator instead.

Storage: SQLite with the desk's settings (WAL, ``synchronous=NORMAL``, foreign keys on,
``BEGIN IMMEDIATE``, one writer thread: the desk's consumers also share one database
thread), or PostgreSQL through a psycopg async pool of 8 (the desk's pool size).

Across processes (scaled): Redis pub/sub on two channels, ``<prefix>:req`` (frames for a
requester's socket, wherever it is connected) and ``<prefix>:staff`` (a chat's
``message.created`` for the operator who accepted it). Operators: console socket
``/ws/console/?op=N`` (``hello``, then ``{"kind": "message.created", "inquiry": REF}``
for each message of their chats, either side's), ``POST /floor/accept/REF/`` (``op=N``:
the requester gets ``state`` ``active``) and ``POST /floor/send/REF/`` (``cid``, ``body``:
stored, then published to the requester and to the operator's console).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sqlite3
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BOT_BODY = "FAQ の回答です。(floor)"

SCHEMA = {
    "sqlite": [
        "CREATE TABLE IF NOT EXISTS floor_conversation (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "created_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS floor_message (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "conversation_id INTEGER NOT NULL REFERENCES floor_conversation(id), kind TEXT NOT NULL, "
        "client_id TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS floor_message_conversation ON floor_message (conversation_id)",
    ],
    "postgres": [
        "CREATE TABLE IF NOT EXISTS floor_conversation (id BIGSERIAL PRIMARY KEY, "
        "created_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE IF NOT EXISTS floor_message (id BIGSERIAL PRIMARY KEY, "
        "conversation_id BIGINT NOT NULL REFERENCES floor_conversation(id), kind TEXT NOT NULL, "
        "client_id TEXT NOT NULL, body TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
        "CREATE INDEX IF NOT EXISTS floor_message_conversation ON floor_message (conversation_id)",
    ],
}
PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SqliteStore:
    """One connection on one thread; each write ``BEGIN IMMEDIATE`` … ``COMMIT``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="floor-db")
        self.conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        self.conn = sqlite3.connect(
            self.path, timeout=20, isolation_level=None, check_same_thread=False
        )
        self.conn.executescript(PRAGMAS)

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.executor, self._open)

    def _write(self, conversation: int | None, kind: str, cid: str, body: str) -> tuple[int, int]:
        assert self.conn is not None
        c = self.conn
        at = now().isoformat()
        c.execute("BEGIN IMMEDIATE")
        try:
            if conversation is None:
                conversation = c.execute(
                    "INSERT INTO floor_conversation (created_at) VALUES (?)", (at,)
                ).lastrowid
            seq = c.execute(
                "INSERT INTO floor_message (conversation_id, kind, client_id, body, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation, kind, cid, body, at),
            ).lastrowid
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        assert conversation is not None and seq is not None
        return conversation, seq

    async def write(
        self, conversation: int | None, kind: str, cid: str, body: str
    ) -> tuple[int, int]:
        """(conversation id, message id); a new conversation when ``conversation`` is None."""
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, self._write, conversation, kind, cid, body
        )

    async def close(self) -> None:
        self.executor.shutdown(wait=True)


class PostgresStore:
    def __init__(self, url: str, pool_size: int = 8) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(
            url, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=False
        )

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def write(
        self, conversation: int | None, kind: str, cid: str, body: str
    ) -> tuple[int, int]:
        async with self.pool.connection() as conn, conn.transaction():
            at = now()
            if conversation is None:
                cur = await conn.execute(
                    "INSERT INTO floor_conversation (created_at) VALUES (%s) RETURNING id", (at,)
                )
                row = await cur.fetchone()
                assert row is not None
                conversation = row[0]
            cur = await conn.execute(
                "INSERT INTO floor_message (conversation_id, kind, client_id, body, created_at) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (conversation, kind, cid, body, at),
            )
            row = await cur.fetchone()
            assert row is not None and conversation is not None
            return conversation, row[0]

    async def close(self) -> None:
        await self.pool.close()


class Floor:
    def __init__(self, store: Any, redis_url: str = "", prefix: str = "floor") -> None:
        self.store = store
        self.redis_url = redis_url
        self.prefix = prefix
        self.redis: Any = None
        self.requesters: dict[str, asyncio.Queue] = {}  # reference -> the socket's inbox
        self.consoles: dict[str, asyncio.Queue] = {}  # operator index -> the socket's inbox
        self.accepted: dict[str, str] = {}  # reference -> operator index (this process)
        self.listener: asyncio.Task | None = None

    # --- life ---------------------------------------------------------------------------------

    async def startup(self) -> None:
        await self.store.open()
        if self.redis_url:
            import redis.asyncio as aioredis

            self.redis = aioredis.Redis.from_url(self.redis_url)
            pubsub = self.redis.pubsub()
            await pubsub.subscribe(f"{self.prefix}:req", f"{self.prefix}:staff")
            self.listener = asyncio.create_task(self._listen(pubsub))

    async def shutdown(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
        if self.redis is not None:
            await self.redis.aclose()
        await self.store.close()

    async def _listen(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            self._route(channel.rsplit(":", 1)[1], json.loads(message["data"]))

    def _route(self, channel: str, data: dict[str, Any]) -> None:
        if channel == "req":
            inbox = self.requesters.get(data["ref"])
            if inbox is not None:
                inbox.put_nowait({"type": "relay", "frame": data["frame"]})
        else:
            op = self.accepted.get(data["ref"])
            inbox = self.consoles.get(op) if op is not None else None
            if inbox is not None:
                event = {"kind": "message.created", "inquiry": data["ref"]}
                inbox.put_nowait({"type": "relay", "frame": event})

    async def publish(self, channel: str, data: dict[str, Any]) -> None:
        if self.redis is not None:
            await self.redis.publish(f"{self.prefix}:{channel}", json.dumps(data))
        else:
            self._route(channel, data)

    # --- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.startup()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "websocket":
            if scope["path"].startswith("/ws/console/"):
                await self.console(scope, receive, send)
            else:
                await self.widget(scope, receive, send)
        elif scope["type"] == "http":
            await self.http(scope, receive, send)

    @staticmethod
    async def _inbox(receive: Any, inbox: asyncio.Queue) -> None:
        """The socket's frames into its inbox, beside the relayed events (one handler at a
        time per socket, as a channels consumer)."""
        while True:
            message = await receive()
            inbox.put_nowait(message)
            if message["type"] == "websocket.disconnect":
                return

    async def widget(self, scope: dict, receive: Any, send: Any) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})

        async def send_json(frame: dict[str, Any]) -> None:
            await send({"type": "websocket.send", "text": json.dumps(frame, ensure_ascii=False)})

        inbox: asyncio.Queue = asyncio.Queue()
        pump = asyncio.create_task(self._inbox(receive, inbox))
        conversation: int | None = None
        handover = False
        try:
            while True:
                message = await inbox.get()
                if message["type"] == "websocket.disconnect":
                    break
                if message["type"] == "relay":
                    await send_json(message["frame"])
                    continue
                try:
                    data = json.loads(message.get("text") or "")
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    await send_json({"t": "error", "code": "invalid"})
                    continue
                kind = data.get("t")
                if kind == "ping":
                    await send_json({"t": "pong"})
                elif kind == "hello":
                    await send_json({"t": "welcome", "state": "new", "lang": "ja"})
                elif kind == "person":
                    handover = True
                    await send_json({"t": "offer", "outcome": "queued"})
                elif kind == "msg":
                    cid, body = str(data.get("cid") or ""), str(data.get("body") or "")
                    new = conversation is None
                    conversation, seq = await self.store.write(conversation, "requester", cid, body)
                    reference = str(conversation)
                    if new:
                        self.requesters[reference] = inbox
                        await send_json({"t": "token", "token": reference})
                    await send_json({"t": "ack", "cid": cid, "seq": seq})
                    if handover:
                        await self.publish("staff", {"ref": reference})
                    else:
                        await send_json(
                            {
                                "t": "message",
                                "message": {
                                    "seq": seq,
                                    "cid": "",
                                    "kind": "bot",
                                    "body": BOT_BODY,
                                    "at": now().isoformat(),
                                },
                            }
                        )
        finally:
            pump.cancel()
            if conversation is not None:
                self.requesters.pop(str(conversation), None)

    async def console(self, scope: dict, receive: Any, send: Any) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        op = urllib.parse.parse_qs(scope.get("query_string", b"").decode()).get("op", [""])[0]
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps({"kind": "hello"})})
        inbox: asyncio.Queue = asyncio.Queue()
        self.consoles[op] = inbox
        pump = asyncio.create_task(self._inbox(receive, inbox))
        try:
            while True:
                message = await inbox.get()
                if message["type"] == "websocket.disconnect":
                    break
                if message["type"] == "relay":
                    await send({"type": "websocket.send", "text": json.dumps(message["frame"])})
                elif message.get("text") and '"ping"' in message["text"]:
                    await send({"type": "websocket.send", "text": json.dumps({"kind": "pong"})})
        finally:
            pump.cancel()
            if self.consoles.get(op) is inbox:
                del self.consoles[op]

    async def http(self, scope: dict, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        fields = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        parts = scope["path"].strip("/").split("/")
        status, answer = 404, {"error": "not found"}
        if scope["path"] == "/healthz":
            status, answer = 200, {"ok": True}
        elif scope["method"] == "POST" and len(parts) == 3 and parts[0] == "floor":
            reference = parts[2]
            if parts[1] == "accept":
                self.accepted[reference] = fields.get("op", "")
                await self.publish(
                    "req", {"ref": reference, "frame": {"t": "state", "state": "active"}}
                )
                status, answer = 200, {"ok": True}
            elif parts[1] == "send":
                cid, text = fields.get("cid", ""), fields.get("body", "")
                _c, seq = await self.store.write(int(reference), "reply", cid, text)
                frame = {
                    "t": "message",
                    "message": {
                        "seq": seq,
                        "cid": cid,
                        "kind": "reply",
                        "body": text,
                        "at": now().isoformat(),
                    },
                }
                await self.publish("req", {"ref": reference, "frame": frame})
                await self.publish("staff", {"ref": reference})
                status, answer = 200, {"seq": seq}
        data = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


def init_schema(args: argparse.Namespace) -> None:
    if args.sqlite:
        conn = sqlite3.connect(args.sqlite, isolation_level=None)
        conn.executescript(PRAGMAS)
        for statement in SCHEMA["sqlite"]:
            conn.execute(statement)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(args.database_url, autocommit=True) as conn:
            for statement in SCHEMA["postgres"]:
                conn.execute(statement)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--sqlite", help="a SQLite file (embedded)")
    group.add_argument("--database-url", help="a PostgreSQL URL (scaled)")
    parser.add_argument("--redis-url", default="", help="pub/sub between processes (scaled)")
    parser.add_argument("--prefix", default="floor", help="Redis channel prefix")
    parser.add_argument("--init", action="store_true", help="create the tables and exit")
    args = parser.parse_args(argv)
    if args.init:
        init_schema(args)
        return 0
    import uvicorn

    store = SqliteStore(args.sqlite) if args.sqlite else PostgresStore(args.database_url)
    # The options of `madoguchi serve` (cli.py), lifespan on for the store and Redis.
    uvicorn.run(
        Floor(store, args.redis_url, args.prefix),
        host=args.host,
        port=args.port,
        log_level="warning",
        ws_max_size=64 * 1024,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
