"""Stopping the server processes a benchmark started."""

from __future__ import annotations

import signal
import subprocess


def stop(proc: subprocess.Popen) -> None:
    """SIGINT (a graceful shutdown), then kill after 15 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
