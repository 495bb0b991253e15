"""The proxy of a proxy-mode service: accept on the public port, start the
service on demand, forward bytes both ways. One pysix.loop event loop, no threads.

    python3 -m pysix.sockets.proxy --service ../web --target 127.0.0.1:18080 [--timeout 10]

Listeners come from LISTEN_FDS (NAME.proxy is itself a native socket
service, so the public port is held by the scanner, not by this process).
Per connection: connect to the target; refused -> write `u` to the
service's control FIFO and retry (5 ms doubling to 50 ms) until --timeout,
then close the client (a clear end, never a hang). Data moves with
os.splice through a pipe per direction (socket -> pipe -> socket, no copy
into Python), or recv/send where splice is missing or refused. A
half-close is passed on with shutdown(SHUT_WR); the connection ends when
both directions have, or on any error (a backend that restarts resets its
connections; new ones wait for it again).
"""
import errno
import os
import select
import socket
import sys
import time

from ..loop import Loop
from .spec import Listen, parse_address

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional

CHUNK = 65536
BURST = 16              # transfers per direction per wake-up: one busy connection cannot starve the rest
RETRY_MIN, RETRY_MAX = 0.005, 0.05   # a loopback connect is cheap; a late retry is first-connection latency
POKE_EVERY = 0.5        # seconds between two `u` written to the service
IN, OUT = select.EPOLLIN, select.EPOLLOUT
_SPLICE = getattr(os, "splice", None)
_SPLICE_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_GONE = (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN, errno.ECONNABORTED, errno.ETIMEDOUT)


class IOLoop(Loop):
    """pysix's loop with a write interest too: one callback per fd, any event."""

    def watch(self, fd: int, mask: int, cb) -> None:
        if not mask:
            self.remove_reader(fd)
            return
        if fd in self._readers:
            self._ep.modify(fd, mask)
        else:
            self._ep.register(fd, mask)
        self._readers[fd] = cb


class Pump:
    """One direction: src socket -> dst socket."""
    __slots__ = ("src", "dst", "pr", "pw", "held", "buf", "eof", "done", "want")

    def __init__(self, src: "socket.socket", dst: "socket.socket", splice: bool) -> None:
        self.src, self.dst = src, dst
        self.pr = self.pw = -1
        if splice:
            try:
                self.pr, self.pw = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            except OSError:
                pass
        self.held = 0           # bytes in the pipe (splice) ...
        self.buf = b""          # ... or in this buffer (copy)
        self.eof = self.done = False
        self.want = 0           # IN on src or OUT on dst: what it waits for

    def step(self) -> None:
        """Move what can move now; OSError (reset, broken pipe) ends the connection."""
        for _ in range(BURST):
            if self.held or self.buf:
                try:
                    if self.held:
                        self.held -= _SPLICE(self.pr, self.dst.fileno(), self.held, flags=_SPLICE_FLAGS)
                    else:
                        self.buf = self.buf[self.dst.send(self.buf):]
                except BlockingIOError:
                    self.want = OUT
                    return
                continue
            if self.eof:
                self.done, self.want = True, 0
                try:
                    self.dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            try:
                if self.pr >= 0:
                    try:
                        n = _SPLICE(self.src.fileno(), self.pw, CHUNK, flags=_SPLICE_FLAGS)
                    except OSError as e:
                        if e.errno != errno.EINVAL:
                            raise
                        self._no_splice()
                        continue
                    self.held = n
                else:
                    self.buf = self.src.recv(CHUNK)
                    n = len(self.buf)
            except BlockingIOError:
                self.want = IN
                return
            if not n:
                self.eof = True
        self.want = IN if not (self.held or self.buf) else OUT

    def _no_splice(self) -> None:
        for fd in (self.pr, self.pw):
            os.close(fd)
        self.pr = self.pw = -1

    def close(self) -> None:
        if self.pr >= 0:
            self._no_splice()


class Conn:
    def __init__(self, px: "Proxy", client: "socket.socket") -> None:
        self.px = px
        self.c = client
        self.b: Optional[socket.socket] = None
        self.up = self.down = None
        self.deadline = time.monotonic() + px.timeout
        self.retry = RETRY_MIN
        self.timer = None
        self.masks: Dict[int, int] = {}
        self.closed = False
        self.connect()

    # reaching the backend ----------------------------------------------------
    def connect(self) -> None:
        self.timer = None
        if self.closed:
            return
        t = self.px.target
        fam = {"inet": socket.AF_INET, "inet6": socket.AF_INET6, "unix": socket.AF_UNIX}[t.family]
        b = socket.socket(fam, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        err = b.connect_ex(t.path if t.family == "unix" else (t.host, t.port))
        self.b = b
        if err == 0:
            self.connected()
        elif err in (errno.EINPROGRESS, errno.EAGAIN):
            self.px.loop.watch(b.fileno(), OUT, self.connect_done)
        else:
            self.refused(err)

    def connect_done(self) -> None:
        assert self.b is not None
        self.px.loop.remove_reader(self.b.fileno())
        err = self.b.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.refused(err)
        else:
            self.connected()

    def refused(self, err: int) -> None:
        """Not listening yet (starting, restarting, down): start it and try again, bounded."""
        if self.b is not None:
            self.b.close()
            self.b = None
        self.px.poke()
        now = time.monotonic()
        if now >= self.deadline:
            self.px.say("%s did not accept within %g s (%s): closing the client" % (
                self.px.target_text, self.px.timeout, os.strerror(err)))
            self.close()
            return
        delay = min(self.retry, self.deadline - now)
        self.retry = min(RETRY_MAX, self.retry * 2)
        self.timer = self.px.loop.call_later(delay, self.connect)

    def connected(self) -> None:
        assert self.b is not None
        if self.b.family != socket.AF_UNIX:
            self.b.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.px.up_seen = True
        splice = _SPLICE is not None and self.px.splice
        self.up, self.down = Pump(self.c, self.b, splice), Pump(self.b, self.c, splice)
        self.kick()

    # moving bytes --------------------------------------------------------------
    def kick(self) -> None:
        if self.closed:
            return
        try:
            for p in (self.up, self.down):
                if not p.done:
                    p.step()
        except OSError as e:
            if e.errno not in _GONE:
                self.px.say("connection error: %s" % e.strerror)
            self.close()
            return
        if self.up.done and self.down.done:
            self.close()
            return
        cm = (IN if self.up.want == IN else 0) | (OUT if self.down.want == OUT else 0)
        bm = (IN if self.down.want == IN else 0) | (OUT if self.up.want == OUT else 0)
        for sock, m in ((self.c, cm), (self.b, bm)):
            fd = sock.fileno()
            if self.masks.get(fd) != m:
                self.masks[fd] = m
                self.px.loop.watch(fd, m, self.kick)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        for sock in (self.c, self.b):
            if sock is not None:
                self.px.loop.remove_reader(sock.fileno())
                sock.close()
        for p in (self.up, self.down):
            if p is not None:
                p.close()
        self.px.conns.discard(self)


class Proxy:
    def __init__(self, loop: "IOLoop", listeners: "List[socket.socket]", target: "Listen", target_text: str,
                 service: str, timeout: float, splice: bool = True) -> None:
        self.loop = loop
        self.listeners = listeners
        self.target, self.target_text = target, target_text
        self.control = os.path.join(service, "supervise", "control")
        self.timeout = timeout
        self.splice = splice
        self.conns: set = set()
        self.last_poke = -1e9
        self.up_seen = False
        for ls in listeners:
            ls.setblocking(False)
            loop.add_reader(ls.fileno(), lambda ls=ls: self.accept(ls))

    def say(self, msg: str) -> None:
        try:
            os.write(2, ("pysix-proxy: %s\n" % msg).encode("utf-8", "replace"))
        except OSError:
            pass

    def accept(self, ls: "socket.socket") -> None:
        for _ in range(64):
            try:
                c, _ = ls.accept()
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE):
                    # Out of fds: stop accepting for a moment (the backlog holds them).
                    self.say("out of file descriptors: accepting again in 0.1 s")
                    self.loop.remove_reader(ls.fileno())
                    self.loop.call_later(0.1, lambda: self.loop.add_reader(ls.fileno(), lambda: self.accept(ls)))
                return
            c.setblocking(False)
            if c.family != socket.AF_UNIX:
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conns.add(Conn(self, c))

    def poke(self) -> None:
        """Ask the service up (`u`), at most every POKE_EVERY seconds."""
        now = time.monotonic()
        if now - self.last_poke < POKE_EVERY:
            return
        self.last_poke = now
        from ..control import NoSuchDir, NotListening, write_control
        try:
            write_control(self.control, b"u")
        except (NotListening, NoSuchDir, OSError) as e:
            self.say("cannot start the service through %s: %s" % (self.control, e))


def listen_fds() -> "List[socket.socket]":
    """sd_listen_fds(): the sockets at 3.. when LISTEN_PID is ours."""
    try:
        if int(os.environ.get("LISTEN_PID", "0")) != os.getpid():
            return []
        n = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return []
    for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(k, None)
    out = []
    for fd in range(3, 3 + n):
        os.set_inheritable(fd, False)
        out.append(socket.socket(fileno=fd))
    return out


def _raise_nofile() -> None:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def main(argv: "Optional[List[str]]" = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="pysix-proxy", description="accept, start the service on demand, forward")
    ap.add_argument("--service", required=True, help="the service dir to start with `u`")
    ap.add_argument("--target", required=True, help="HOST:PORT, [V6]:PORT or /unix/path the service listens on")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the target to accept")
    ap.add_argument("--no-splice", action="store_true", help="copy through user space (for comparison)")
    a = ap.parse_args(argv)
    target, why = parse_address(a.target)
    if target is None:
        sys.stderr.write("pysix-proxy: --target: %s\n" % why)
        return 100
    listeners = listen_fds()
    if not listeners:
        sys.stderr.write("pysix-proxy: no listeners (LISTEN_FDS/LISTEN_PID): run me as a socket service\n")
        return 100
    _raise_nofile()
    import _signal as signal
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    loop = IOLoop()
    Proxy(loop, listeners, target, a.target, a.service, a.timeout, splice=not a.no_splice)
    loop.add_signal(signal.SIGTERM, lambda s: loop.stop())
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
