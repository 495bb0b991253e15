"""Is a supervisor running on a directory? The s6-svok lock probe.

The supervisor holds a POSIX record lock on `supervise/lock` (fcntl F_SETLK);
a client asks F_GETLK with a whole-file read-lock probe. flock() locks are
invisible to this probe, which is why the supervisor uses lockf().
"""
from __future__ import annotations

import fcntl
import os
import struct

# struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len,
# pid_t l_pid (native alignment, padded to 32 bytes).
_FLOCK = struct.Struct("@hhqqixxxx")


def lock_held(path: str) -> bool:
    """True if some process holds a lock on `path`; False if free or absent.

    OSError for anything else, ENOTDIR included (an SD that is a file):
    s6-svok and s6-svstat exit 111 then, only ENOENT means "not running".
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        probe = _FLOCK.pack(fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        res = fcntl.fcntl(fd, fcntl.F_GETLK, probe)
    finally:
        os.close(fd)
    return _FLOCK.unpack(res)[0] != fcntl.F_UNLCK


def lock_holder(path: str) -> int:
    """The pid holding a lock on `path` (0: free, absent or unreadable)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        probe = _FLOCK.pack(fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        res = _FLOCK.unpack(fcntl.fcntl(fd, fcntl.F_GETLK, probe))
    except OSError:
        return 0
    finally:
        os.close(fd)
    return res[4] if res[0] != fcntl.F_UNLCK else 0


def supervised(sd: str) -> bool:
    return lock_held(os.path.join(sd, "supervise", "lock"))
