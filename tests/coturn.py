"""A real coturn (Debian's ``turnserver``) for the tests: ``running_coturn`` starts one on
127.0.0.1 with ``use-auth-secret`` and a random ``static-auth-secret`` and waits until it
answers STUN and TCP. Used by the TURN tests and by the browser test of a relayed call."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI, free_port

TURNSERVER = os.environ.get("MADOGUCHI_TURNSERVER", "/usr/bin/turnserver")
REALM = "madoguchi.test"


@dataclass
class Coturn:
    host: str
    port: int
    secret: str
    relay_ports: range
    log: Path


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_listening_port() -> int:
    """A port free on 127.0.0.1 for both TCP and UDP (coturn listens on both)."""
    for _ in range(50):
        port = free_port()
        if _udp_free(port):
            return port
    raise RuntimeError("no port free for both TCP and UDP on 127.0.0.1")


def _free_udp_range(size: int = 16) -> range:
    """A small range of UDP ports that are free now (coturn's relay ports)."""
    for _ in range(200):
        start = random.randrange(40000, 60000 - size)
        ports = range(start, start + size)
        if all(_udp_free(p) for p in ports):
            return ports
    raise RuntimeError("no free UDP port range on 127.0.0.1")


def _stun_binding_answered(host: str, port: int, timeout: float = 0.3) -> bool:
    """Whether a STUN Binding request (RFC 5389) over UDP gets a success response."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(request, (host, port))
            data, _ = s.recvfrom(2048)
        except OSError:  # timeout, or ICMP port unreachable while it starts
            return False
    return len(data) >= 20 and data[:2] == b"\x01\x01" and data[8:20] == transaction


def _tcp_accepts(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.3):
        return True
    return False


def require_turnserver() -> None:
    """Skip (or fail under CI=true) without Debian's coturn."""
    if not (Path(TURNSERVER).exists() and shutil.which(TURNSERVER)):
        reason = f"coturn not found at {TURNSERVER} (scripts/test installs Debian's coturn)"
        if IN_CI:
            pytest.fail(reason + " (required under CI=true)")
        pytest.skip(reason + ": apt-get install coturn")


@contextlib.contextmanager
def running_coturn(work: Path) -> Iterator[Coturn]:
    require_turnserver()
    host, port = "127.0.0.1", _free_listening_port()
    relay = _free_udp_range()
    secret = secrets.token_hex(32)
    log = work / "turnserver.log"
    config = work / "turnserver.conf"
    config.write_text(
        "\n".join(
            [
                f"listening-ip={host}",
                f"listening-port={port}",
                f"relay-ip={host}",
                f"min-port={relay.start}",
                f"max-port={relay.stop - 1}",
                "use-auth-secret",
                f"static-auth-secret={secret}",
                f"realm={REALM}",
                "fingerprint",
                "no-tls",
                "no-dtls",
                "no-cli",
                "no-rfc5780",
                "allow-loopback-peers",  # the test's peer is on 127.0.0.1
                "no-multicast-peers",
                f"userdb={work / 'turndb'}",
                f"pidfile={work / 'turnserver.pid'}",
                f"log-file={log}",
                "simple-log",
                "no-stdout-log",
                "",
            ]
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [TURNSERVER, "-c", str(config)],
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not (_stun_binding_answered(host, port) and _tcp_accepts(host, port)):
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                logged = log.read_text(errors="replace") if log.exists() else ""
                pytest.fail(
                    f"turnserver did not listen on {host}:{port} (exit {process.poll()}):\n"
                    f"{stderr}\n{logged[-4000:]}"
                )
            time.sleep(0.05)
        yield Coturn(host, port, secret, relay, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
