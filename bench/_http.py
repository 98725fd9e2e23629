"""A minimal keep-alive HTTP/1.1 response reader shared by the benchmarks (they drive
servers with thousands of requests, where a full client library would be the bottleneck)."""

from __future__ import annotations

import asyncio


async def read_response(
    reader: asyncio.StreamReader,
) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    """Read one response: (status, headers as (lower-case name, value), body, server closes)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed by server")
    status = int(status_line.split(b" ", 2)[1])
    headers: list[tuple[str, str]] = []
    length = None
    chunked = close = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        headers.append((name, value))
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and "close" in value.lower():
            close = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
        data = b"".join(parts)
    elif length is not None:
        data = await reader.readexactly(length)
    else:
        data = await reader.read()
        close = True
    return status, headers, data, close
