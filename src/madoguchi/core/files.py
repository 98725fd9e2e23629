"""Files of the data directory are the desk's alone: the database, uploads, raw mail and
the mail spool (with thread links) hold requesters' personal data. Directories are created
0700 and files 0600, whatever the umask the process was started with; the commands also
set the umask, so that files written by libraries (SQLite's journals, Django's mail spool)
follow. Django-free on purpose: settings use it before Django is set up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_umask() -> int:
    """Set the process umask to owner-only; returns the previous one."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path | str) -> Path:
    """Create ``path`` (and missing parents) owner-only; an existing directory is
    narrowed to 0700 too, so a data directory from an older version is fixed on start."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(DIR_MODE)
    except OSError:  # not ours to change (a mount point): the files inside still are 0600
        pass
    return path


def open_private(path: Path | str, mode: str = "xb") -> IO[Any]:
    """``open(path, mode)`` for binary writing, creating the file 0600."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    if "x" in mode:
        flags |= os.O_EXCL
    elif "a" in mode:
        flags |= os.O_APPEND
    else:
        flags |= os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        return os.fdopen(fd, mode.replace("x", "w") if "x" in mode else mode)
    except BaseException:
        os.close(fd)
        raise


def create_private_file(path: Path | str) -> None:
    """Make sure ``path`` exists with mode 0600 before a library opens it (SQLite gives
    its WAL and shared-memory files the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)
