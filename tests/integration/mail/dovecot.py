"""A throw-away Dovecot IMAP server on loopback for tests (Debian's dovecot-imapd)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""


class Dovecot:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self, users: dict[str, str]) -> None:
        user = "dovecot" if _exists("dovecot") else pwd.getpwuid(os.getuid()).pw_name
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "users").write_text(
            "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users.items())
        )
        (self.root / "dovecot.conf").write_text(
            CONFIG.format(root=self.root, port=self.port, user=user, group=user)
        )
        if os.getuid() == 0:
            subprocess.run(
                ["chown", "-R", f"{user}:{user}", str(self.root / "mail"), str(self.root / "home")],
                check=True,
            )
            # Dovecot's unprivileged processes read these, whatever the runner's umask
            # (the desk's own commands set 077 for the process that calls them).
            for path in (self.root, self.root / "run", self.root / "state"):
                os.chmod(path, 0o755)
            for path in (self.root / "users", self.root / "dovecot.conf"):
                os.chmod(path, 0o644)
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        import socket

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("dovecot exited: " + self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start: " + self.log())

    def log(self) -> str:
        path = self.root / "dovecot.log"
        out = (
            self.process.stdout.read().decode()
            if self.process and self.process.poll() is not None
            else ""
        )
        return out + (path.read_text() if path.exists() else "")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
