"""Control letters of `supervise/control` and writing them, as s6 2.11 does.

The letter table is pure data shared by the supervisor (what a byte means)
and the clients (which options are letters). `write_control()` is the
client side of the FIFO protocol: non-blocking open (ENXIO = nobody
listening), then every letter in a single write.
"""
from __future__ import annotations

import errno
import os


def __getattr__(name: str) -> object:
    """SIGNAL_LETTERS, built on first use: `import signal` builds enums, which
    costs pysix-svc a few ms at start-up for a table only the supervisor reads."""
    if name != "SIGNAL_LETTERS":
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    import signal
    global SIGNAL_LETTERS
    # Letters that only send a signal to the service while it is up.
    SIGNAL_LETTERS = {
        "a": signal.SIGALRM, "b": signal.SIGABRT, "q": signal.SIGQUIT,
        "h": signal.SIGHUP, "k": signal.SIGKILL, "t": signal.SIGTERM,
        "i": signal.SIGINT, "1": signal.SIGUSR1, "2": signal.SIGUSR2,
        "y": signal.SIGWINCH,
    }
    return SIGNAL_LETTERS


# Every byte s6-supervise 2.11 acts on; any other byte is ignored.
SUPERVISE_LETTERS = "abqhkti12pcyroduDUxOQ"
# What s6-svscanctl 2.11 accepts.
SVSCAN_LETTERS = "zabhitqnN"


class NotListening(Exception):
    """No process has the control FIFO open for reading (s6 exit 100)."""


class NoSuchDir(Exception):
    """The directory itself is missing (s6 exit 111)."""


def write_control(ctl_path: str, letters: bytes) -> None:
    """Write `letters` to a control FIFO in one write.

    NotListening if nobody reads it (or its directory is missing);
    NoSuchDir if the service/scan directory itself does not exist;
    OSError for anything else.
    """
    try:
        fd = os.open(ctl_path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise NotListening(ctl_path) from None
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            top = os.path.dirname(os.path.dirname(ctl_path)) or "."
            if not os.path.isdir(top):
                raise NoSuchDir(top) from None
            raise NotListening(ctl_path) from None
        raise
    try:
        if letters:
            os.set_blocking(fd, True)
            os.write(fd, letters)
    finally:
        os.close(fd)
