"""Replacing a small file atomically: the one way pysix rewrites its state files.

Readers (s6 clients, other supervisors) see the old contents or the new,
never a half-written file; a crash leaves at most a stray `NAME.new`. The
temporary is opened with O_NOFOLLOW so a planted symlink is never written
through.
"""
import os

# Open flags folded once: CPython 3.12 does not specialise `|` on ints, so each
# call's ORs would write its code's page in every forked supervisor (speed.py).
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    tmp = path + ".new"
    fd = os.open(tmp, _FLAGS, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.rename(tmp, path)
