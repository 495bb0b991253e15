"""Replacing a small file atomically: the one way pysix rewrites its state files.

Readers (s6 clients, other supervisors) see the old contents or the new,
never a half-written file; a crash leaves at most a stray `NAME.new`. The
temporary is opened with O_NOFOLLOW so a planted symlink is never written
through.
"""
from __future__ import annotations

import os


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    tmp = path + ".new"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.rename(tmp, path)
