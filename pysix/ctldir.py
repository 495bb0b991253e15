"""The lock and the control FIFO, set up the same way by every pysix daemon.

A supervisor (`supervise/lock`, `supervise/control`), the scanner
(`.s6-svscan/lock`, `.s6-svscan/control`) and the logger (`DIR/lock`) hold a
POSIX record lock (fcntl, so s6-svok's F_GETLK probe sees it; flock would be
invisible) and read their FIFO with both ends open, so it never sees EOF
between two writers.
"""
import errno
import fcntl
import os
import stat

# Open flags folded once: CPython 3.12 does not specialise `|` on ints, so each
# call's ORs would write its code's page in every forked supervisor (speed.py).
_LOCK_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_LOCK_NOW = fcntl.LOCK_EX | fcntl.LOCK_NB
_FIFO_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_FIFO_WRITE = os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Tuple


class Busy(Exception):
    """Another process holds the lock."""


def take_lock(path: str, mode: int = 0o644) -> int:
    """Open and lock `path` without waiting; Busy if held, OSError otherwise."""
    fd = os.open(path, _LOCK_FLAGS, mode)
    try:
        fcntl.lockf(fd, _LOCK_NOW)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EAGAIN, errno.EACCES):
            raise Busy(path) from None
        raise
    return fd


def open_control(path: str) -> "Tuple[int, int]":
    """(read end, write end) of the FIFO at `path`, made 0600 if missing.

    ValueError if something that is not a FIFO is in the way; a symlink is
    replaced, never followed to a FIFO someone else planted.
    """
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            # Our own 0700 dir: a symlink here is debris (a copied tree, a
            # dangling link), replaced by the FIFO, never followed.
            os.unlink(path)
            os.mkfifo(path, 0o600)
        elif not stat.S_ISFIFO(mode):
            raise ValueError("%s exists and is not a FIFO" % path) from None
    r = os.open(path, _FIFO_READ)
    try:
        w = os.open(path, _FIFO_WRITE)
    except OSError:
        os.close(r)
        raise
    return r, w
