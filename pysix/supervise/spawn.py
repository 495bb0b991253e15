"""Starting a service's scripts (`run`, `finish`, `check`) with posix_spawn.

A script that cannot be exec'd itself (EACCES: shipped 0644, or on a noexec
mount such as `docker run --read-only --tmpfs /run`; ENOEXEC: no `#!` the
kernel accepts) is run through the interpreter its `#!` line names, the way
the kernel would have, as s6-overlay v2's fix-attrs made such scripts run.
"""
import errno
import os

from ..shebang import interpreter_argv

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional


# The services' environment. The scanner sets it, a dict of bytes, just before
# it forks (scan._fork_all), so every supervisor shares one copy; os.environ
# converted at each spawn (a str object per key and value) costs each
# supervisor its own pages. None: os.environ (pysix-supervise on its own).
ENV: "Optional[Dict[bytes, bytes]]" = None


class SpawnError(OSError):
    """str(): one line, `./run: not executable (no #! line)`."""


def spawn(path: str, args: "List[str]", **kw) -> int:
    """posix_spawn `path` with argv [basename] + args; SpawnError saying why not."""
    argv = [path.rpartition("/")[2], *args]    # not basename + a list +: see speed.py
    try:
        return os.posix_spawn(path, argv, os.environ if ENV is None else ENV, **kw)
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.ENOEXEC):
            raise SpawnError(e.errno, "%s: %s" % (path, e.strerror)) from None
        first = e
    via, why = interpreter_argv(path, args)
    if via is None:
        what = "not executable" if first.errno == errno.EACCES else first.strerror
        raise SpawnError(first.errno, "%s: %s (%s)" % (path, what, why)) from None
    try:
        return os.posix_spawn(via[0], via, os.environ if ENV is None else ENV, **kw)
    except OSError as e:
        raise SpawnError(e.errno, "%s: its interpreter %s: %s" % (path, via[0], e.strerror)) from None
