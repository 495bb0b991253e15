"""inotify on one directory, through ctypes: what the scanner needs, no more.

inotify_simple costs about 13 ms of imports (ctypes.util pulls in
subprocess and shutil, plus enum, and find_library runs ldconfig) on every
boot, in the process that also has to forward SIGTERM; this costs ~1.5 ms.
"""
from __future__ import annotations

import ctypes
import os
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Tuple

IN_ATTRIB = 0x4
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
DIR_CHANGES = (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF |
               IN_MOVE_SELF | IN_ATTRIB)
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_HEADER = struct.Struct("iIII")     # struct inotify_event: wd, mask, cookie, len


def parse_events(data: bytes) -> List[Tuple[int, str]]:
    """(mask, name) of each struct inotify_event in `data` (pure)."""
    out = []
    off = 0
    while off + _HEADER.size <= len(data):
        _wd, mask, _cookie, length = _HEADER.unpack_from(data, off)
        off += _HEADER.size
        raw = data[off:off + length].split(b"\0", 1)[0]
        off += length
        out.append((mask, os.fsdecode(raw)))
    return out


class DirWatch:
    """A non-blocking, close-on-exec inotify fd watching `path` for `mask`."""

    def __init__(self, path: str, mask: int = DIR_CHANGES) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        if libc.inotify_add_watch(fd, os.fsencode(path), ctypes.c_uint32(mask)) < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, os.strerror(err), path)
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def read(self) -> List[Tuple[int, str]]:
        """Every event queued now; [] if none."""
        out = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except (BlockingIOError, InterruptedError):
                return out
            if not data:
                return out
            out += parse_events(data)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
