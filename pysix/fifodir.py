"""The s6 `event/` fifodir: creating it, notifying subscribers, subscribing.

Supervisor side: `notify()` writes an event string into every subscriber
FIFO, never blocking, and unlinks FIFOs nobody reads. Client side:
`subscribe()` creates a `ftrig1:@<tai64n>:<6 chars>` FIFO the way
s6-ftrigrd does, so real s6 supervisors notify pysix clients too.
"""
import errno
import os
import time

from .specialised import call, isdir
from .status import tain_pack

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs a client ms to import; annotations are strings anyway
    from typing import Tuple

PREFIX = "ftrig1:@"
NAME_LEN = 39          # current subscriber names
LEGACY_LEN = 49        # older naming, cleaned at supervisor start
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def make_fifodir(path: str) -> None:
    """mkdir 0700, then group = our egid and mode 03730; keep an existing one as is."""
    old = os.umask(0)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not isdir(path):
            raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", path)
        return
    finally:
        os.umask(old)
    os.chown(path, -1, call(os.getegid))     # call(): specialised.py
    os.chmod(path, 0o3730)


def notify(path: str, event: bytes) -> None:
    """Write `event` in one write to each live subscriber; drop dead ones."""
    _poke(path, NAME_LEN, PREFIX, event)


def clean_legacy(path: str) -> None:
    """At supervisor start: unlink reader-less 49-byte legacy FIFOs only."""
    _poke(path, LEGACY_LEN, "ftrig1", b"")


def _poke(path: str, length: int, prefix: str, event: bytes) -> None:
    """Open each FIFO named `prefix`... of `length` bytes without blocking; write
    `event` if any; unlink the FIFOs nobody reads (ENXIO, EPIPE)."""
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        if len(name) != length or not name.startswith(prefix):
            continue
        fn = path + "/" + name
        try:
            fd = os.open(fn, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno == errno.ENXIO:
                _unlink(fn)
            continue
        try:
            if event:
                os.write(fd, event)
        except OSError as e:
            if e.errno == errno.EPIPE:
                _unlink(fn)
        finally:
            os.close(fd)


def _unlink(fn: str) -> None:
    try:
        os.unlink(fn)
    except OSError:
        pass


def subscriber_name(now_ns: int) -> str:
    # os.urandom, not random: that module costs a client about 1 ms to import.
    tag = "".join(_ALNUM[b % len(_ALNUM)] for b in os.urandom(6))
    return "%s%s:%s" % (PREFIX, tain_pack(now_ns).hex(), tag)


def subscribe(path: str) -> "Tuple[int, str]":
    """Create the fifodir if needed and a subscriber FIFO in it.

    Returns (read fd, FIFO path). The read fd is non-blocking; a write fd is
    opened and closed so the FIFO never reads EOF before the rename, as
    s6-ftrigrd does. Call `unsubscribe()` with the path when done.
    """
    make_fifodir(path)
    name = subscriber_name(time.time_ns())
    tmp = path + "/." + name
    os.mkfifo(tmp, 0o600)
    try:
        rfd = os.open(tmp, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        # Held open by the caller's process for as long as rfd lives, so a
        # read never returns EOF between two notifications.
        wfd = os.open(tmp, os.O_WRONLY | os.O_CLOEXEC)
        os.rename(tmp, path + "/" + name)
    except BaseException:
        _unlink(tmp)
        raise
    _KEEP[rfd] = wfd
    return rfd, path + "/" + name


_KEEP = {}


def unsubscribe(rfd: int, fifo: str) -> None:
    _unlink(fifo)
    wfd = _KEEP.pop(rfd, None)
    if wfd is not None:
        os.close(wfd)
    os.close(rfd)
