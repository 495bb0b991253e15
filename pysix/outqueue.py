"""Writing to the container's stdout/stderr from PID 1 without ever blocking it.

The scanner writes prefixed service output to fds 1 and 2, which are
usually pipes to the container engine. A slow reader must not freeze PID 1,
so each stream gets an open file description of its own with O_NONBLOCK
(reopened through /proc: setting O_NONBLOCK on fd 1 itself would change it
for every service sharing it), and what does not fit waits in a queue
written as the pipe drains. Above HIGH bytes queued, `full` tells the caller
to stop reading the services' pipes: they then block in write, as they would
on a direct pipe, and nothing is lost or buffered without bound.
"""
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable
    from .loop import Loop

HIGH = 1 << 20


class OutQueue:
    def __init__(self, loop: "Loop", fd: int, on_drained: "Callable[[], None]") -> None:
        self.loop = loop
        self.fd = _nonblocking_copy(fd)
        self.buf = bytearray()
        self.on_drained = on_drained
        self.writing = False

    @property
    def full(self) -> bool:
        return len(self.buf) >= HIGH

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self.buf:
            self.buf += data
            return
        try:
            n = os.write(self.fd, data)
        except BlockingIOError:
            n = 0
        except OSError:
            return      # stdout is gone (closed, EPIPE): nothing to keep it for
        if n < len(data):
            self.buf += data[n:]
            if not self.writing:
                self.writing = True
                self.loop.add_writer(self.fd, self._drain)

    def _drain(self) -> None:
        try:
            n = os.write(self.fd, self.buf)
        except BlockingIOError:
            return
        except OSError:
            n = len(self.buf)
        del self.buf[:n]
        if not self.buf:
            self.writing = False
            self.loop.remove_writer(self.fd)
        if len(self.buf) < HIGH:
            self.on_drained()


def _nonblocking_copy(fd: int) -> int:
    """A non-blocking description of what `fd` is, where one can be had; else `fd`."""
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            return fd   # a regular file never blocks; a socket cannot be reopened
        new = os.open("/proc/self/fd/%d" % fd, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError:
        return fd
    return new
