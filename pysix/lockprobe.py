"""Is a supervisor running on a directory? The s6-svok lock probe.

The supervisor holds a POSIX record lock on `supervise/lock` (fcntl F_SETLK);
a client asks F_GETLK with a whole-file read-lock probe. flock() locks are
invisible to this probe, which is why the supervisor uses lockf().
"""
import errno
import os

# struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len,
# pid_t l_pid (native alignment, padded to 32 bytes).
_FLOCK = "@hhqqixxxx"


def lock_held(path: str) -> bool:
    """True if some process holds a lock on `path`; False if free or absent.

    OSError for anything else, ENOTDIR included (an SD that is a file):
    s6-svok and s6-svstat exit 111 then, only ENOENT means "not running".
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    # lockf(F_TEST) is glibc's F_GETLK probe over the whole file, and needs
    # neither fcntl nor struct (1 ms of a status query's imports, speed.py)
    try:
        os.lockf(fd, os.F_TEST, 0)
        return False
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)


def lock_holder(path: str) -> int:
    """The pid holding a lock on `path` (0: free, absent or unreadable)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return 0
    import fcntl
    import struct
    try:
        probe = struct.pack(_FLOCK, fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        res = struct.unpack(_FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, probe))
    except OSError:
        return 0
    finally:
        os.close(fd)
    return res[4] if res[0] != fcntl.F_UNLCK else 0


def supervised(sd: str) -> bool:
    return lock_held(os.path.join(sd, "supervise", "lock"))
