"""Control letters of `supervise/control` and writing them, as s6 2.11 does.

The letter table is pure data shared by the supervisor (what a byte means)
and the clients (which options are letters). `write_control()` is the
client side of the FIFO protocol: non-blocking open (ENXIO = nobody
listening), then every letter in a single write.
"""
import _signal   # the C module: `signal` adds enums, ms of a client's start-up
import errno
import os


# Letters that only send a signal to the service while it is up.
SIGNAL_LETTERS = {
    "a": _signal.SIGALRM, "b": _signal.SIGABRT, "q": _signal.SIGQUIT,
    "h": _signal.SIGHUP, "k": _signal.SIGKILL, "t": _signal.SIGTERM,
    "i": _signal.SIGINT, "1": _signal.SIGUSR1, "2": _signal.SIGUSR2,
    "y": _signal.SIGWINCH,
}


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
