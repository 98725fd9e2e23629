"""An LMTP (or SMTP) receiver a local Postfix can deliver to.

Each message is stored durably (``ingest.store_raw``) before the 250 reply, then processed;
a processing failure still answers 250 because the message is safe and will be retried
by ``recover_pending``. Only when the bytes cannot be stored is the answer a temporary
failure (451), so the MTA keeps the message and tries again.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

log = logging.getLogger(__name__)


def _deliver(raw: bytes, recipients: list[str]) -> list[str]:
    from django.db import close_old_connections

    from . import ingest

    close_old_connections()
    replies = []
    mailboxes: list[str | None] = list(recipients) or [None]
    for rcpt in mailboxes:
        try:
            result = ingest.ingest(raw, mailbox_address=rcpt)
        except Exception:
            log.exception("could not store a message for %s", rcpt)
            replies.append("451 4.3.0 Temporary failure, please retry")
            continue
        log.info("mail for %s: %s %s", rcpt, result.action, result.reason)
        replies.append("250 2.0.0 OK")
    return replies


class DeskHandler:
    def __init__(self, *, lmtp: bool) -> None:
        self.lmtp = lmtp

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:  # noqa: N802
        if len(envelope.rcpt_tos) >= 100:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        replies = await sync_to_async(_deliver, thread_sensitive=False)(
            raw, list(envelope.rcpt_tos)
        )
        if self.lmtp:
            # LMTP answers once per recipient (RFC 2033).
            return "\r\n".join(replies)
        return (
            "451 4.3.0 Temporary failure, please retry"
            if any(r.startswith("4") for r in replies)
            else "250 2.0.0 OK"
        )


def make_controller(host: str, port: int, *, lmtp: bool = True):  # noqa: ANN201
    from aiosmtpd.controller import Controller
    from aiosmtpd.lmtp import LMTP
    from aiosmtpd.smtp import SMTP

    handler = DeskHandler(lmtp=lmtp)
    limit = settings.MAIL_MAX_TOTAL_BYTES + 10 * 1024 * 1024

    class DeskController(Controller):
        def factory(self):  # noqa: ANN202
            cls = LMTP if lmtp else SMTP
            return cls(
                self.handler,
                data_size_limit=limit,
                enable_SMTPUTF8=True,
                decode_data=False,
                hostname="madoguchi",
            )

    return DeskController(handler, hostname=host, port=port)
