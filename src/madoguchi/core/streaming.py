"""File responses under ASGI without Django's "must consume synchronous iterators" warning.

Static files (WhiteNoise) and attachment downloads are ``FileResponse``s, whose content is a
synchronous iterator; under ASGI Django then warns and hops threads per chunk. This
middleware, outermost, hands such a response's chunks to the server as an asynchronous
iterator that reads each chunk in a worker thread, so the event loop never blocks on disk.
Under WSGI nothing changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponseBase


async def _chunks(iterator: Iterator[bytes]) -> AsyncIterator[bytes]:
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, iterator, done)
        if chunk is done:
            return
        yield chunk  # type: ignore[misc]  # the sentinel is excluded just above


class AsyncStreamingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            isinstance(request, ASGIRequest)
            and getattr(response, "streaming", False)
            and not getattr(response, "is_async", True)
        ):
            # The setter keeps the file's closer; only the iteration changes.
            response.streaming_content = _chunks(iter(response.streaming_content))  # type: ignore[attr-defined]
        return response
