"""Fetching from an IMAP mailbox (IMAPS or STARTTLS; password or OAuth2/XOAUTH2).

Per message: fetch with BODY.PEEK[] (the server's \\Seen flag is not touched yet), store
durably, process, and only then mark it \\Seen or move it to the processed folder. A
crash before the flag leaves the message unseen on the server; fetching it again finds
the stored copy (same bytes) and does nothing twice.
"""

from __future__ import annotations

import imaplib
import json
import logging
import os
import re
import ssl
import urllib.parse
import urllib.request
from dataclasses import dataclass

from madoguchi.mail.models import Mailbox

from . import ingest

log = logging.getLogger(__name__)


@dataclass
class FetchReport:
    mailbox: str
    fetched: int = 0
    stored: int = 0
    errors: int = 0


def _secret(mailbox: Mailbox) -> str:
    if not mailbox.imap_secret_env:
        raise RuntimeError(f"{mailbox.address}: no secret variable configured")
    value = os.environ.get(mailbox.imap_secret_env)
    if value is None:
        raise RuntimeError(
            f"{mailbox.address}: environment variable {mailbox.imap_secret_env} is not set"
        )
    return value


def oauth2_token(mailbox: Mailbox) -> str:
    """Client-credentials token (e.g. Microsoft 365: an Entra ID app with IMAP.AccessAsApp)."""
    data = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": mailbox.oauth2_client_id,
            "client_secret": _secret(mailbox),
            "scope": mailbox.oauth2_scope,
        }
    ).encode()
    if not mailbox.oauth2_token_url.startswith("https://"):
        raise RuntimeError("the OAuth2 token URL must use https")
    request = urllib.request.Request(mailbox.oauth2_token_url, data=data, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - https only, checked above
        return str(json.loads(response.read())["access_token"])


def connect(mailbox: Mailbox) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    if mailbox.imap_security == Mailbox.Security.SSL:
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            mailbox.imap_host, mailbox.imap_port, ssl_context=context, timeout=60
        )
    else:
        client = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=60)
        if mailbox.imap_security == Mailbox.Security.STARTTLS:
            client.starttls(ssl_context=context)
    if mailbox.imap_auth == Mailbox.Auth.OAUTH2:
        token = oauth2_token(mailbox)
        auth = f"user={mailbox.imap_username}\x01auth=Bearer {token}\x01\x01"
        client.authenticate("XOAUTH2", lambda _challenge: auth.encode())
    else:
        client.login(mailbox.imap_username, _secret(mailbox))
    return client


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fetch_mailbox(mailbox: Mailbox, *, limit: int = 200) -> FetchReport:
    report = FetchReport(mailbox.address)
    client = connect(mailbox)
    try:
        typ, _ = client.select(_quote(mailbox.imap_folder))
        if typ != "OK":
            raise RuntimeError(f"cannot select {mailbox.imap_folder}")
        typ, data = client.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]  # typeshed: no None charset
        uids = data[0].split()[:limit] if typ == "OK" and data and data[0] else []
        typ, caps = client.capability()
        can_move = (
            typ == "OK"
            and b"MOVE" in b" ".join(c for c in caps if isinstance(c, bytes)).upper().split()
        )
        for uid in uids:
            report.fetched += 1
            try:
                typ, parts = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) == 2), None)
                if typ != "OK" or raw is None:
                    raise RuntimeError(f"FETCH {uid!r} failed")
                ingest.ingest(raw, mailbox_address=mailbox.address)
                report.stored += 1
            except Exception:
                report.errors += 1
                log.exception("%s: message %s not taken", mailbox.address, uid)
                continue
            # Stored and processed: now it may leave the inbox.
            if mailbox.imap_processed_folder:
                target = _quote(mailbox.imap_processed_folder)
                if can_move:
                    client.uid("MOVE", uid.decode(), target)
                else:
                    client.uid("COPY", uid.decode(), target)
                    client.uid("STORE", uid.decode(), "+FLAGS.SILENT", r"(\Deleted \Seen)")
            else:
                client.uid("STORE", uid.decode(), "+FLAGS.SILENT", r"(\Seen)")
        if mailbox.imap_processed_folder and not can_move:
            client.expunge()
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return report


def fetch_all() -> list[FetchReport]:
    reports = []
    for mailbox in Mailbox.objects.filter(active=True, transport=Mailbox.Transport.IMAP):
        try:
            reports.append(fetch_mailbox(mailbox))
        except Exception as exc:
            log.error("%s: %s", mailbox.address, re.sub(r"\s+", " ", str(exc))[:300])
            reports.append(FetchReport(mailbox.address, errors=1))
    return reports
