"""The scan dir's lock, `.s6-svscan/lock`, as s6-svscan takes it.

Taken before anything in the scan dir (or, for pysix-init, the run dir) is
changed: a second pysix-init or pysix-svscan on the same dir refuses and
touches nothing of the first one's.
"""
import os
import stat

from .ctldir import Busy, take_lock

CTLDIR = ".s6-svscan"


class LockBusy(RuntimeError):
    pass


def take(scandir: str) -> int:
    """Create `.s6-svscan/` (0700) if needed and lock its `lock` file; return the fd.

    Raises LockBusy if another process holds it, RuntimeError if the control
    dir is a symlink or not a directory, OSError otherwise. POSIX locks belong
    to the process: keep the fd open for as long as the lock must hold.
    """
    d = os.path.join(scandir, CTLDIR)
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        if not stat.S_ISDIR(os.lstat(d).st_mode):
            raise RuntimeError("%s is a symlink or not a directory; remove it" % d)
    try:
        return take_lock(d + "/lock", 0o600)
    except Busy:
        raise LockBusy("another instance is already running on %s" % scandir) from None
