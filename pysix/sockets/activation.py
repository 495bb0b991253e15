"""The supervisor's side of socket activation (native mode, and proxy mode's real service).

native: run gets the listeners as fd 3.. with LISTEN_FDS, LISTEN_FDNAMES and
LISTEN_PID (sd_listen_fds' protocol). posix_spawn cannot put the child's own
pid in its environment, so run is started through `sh -c 'LISTEN_PID=$$ exec
"$@"'`: the shell's pid is run's pid after the exec (measured: ~1 ms, a
Python shim ~20 ms). With `activate on-connect` (the default) every start
waits until a listener is readable, i.e. a connection is pending in its
backlog; the supervisor never accepts.

proxy: the real service does not listen on the public address (NAME.proxy
does, see proxydir.py); with on-connect it starts down, and the proxy
writes `u` to its control FIFO on the first connection.
"""
import os
import select

from ..execshim import sh_quote, wrap
from . import handoff
from .bind import bind_all, read_spec

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple
    from ..supervise.supervisor import Supervisor

LISTEN_FDS_START = 3


class Activation:
    def __init__(self, sup: "Supervisor") -> None:
        self.sup = sup
        self.fds: List[int] = handoff.take()
        self.waiting = False
        spec, warns = read_spec(".")
        for w in warns:
            sup.warn(w)
        self.spec = spec
        if spec is None:
            for fd in self.fds:     # the file went bad since the scanner bound them
                os.close(fd)
            self.fds = []
            return
        if spec.mode == "native" and not self.fds and not handoff.forked:
            # pysix-supervise alone (no scanner): hold them ourselves.
            socks, why = bind_all(spec, os.path.join(os.getcwd(), "socket"))
            if why:
                sup.warn(why)
            self.fds = [handoff_fd(s) for s in socks]
        self.names = ":".join([spec.name or os.path.basename(os.getcwd())] * len(self.fds))

    def initial_want_up(self, want_up: bool) -> bool:
        """A proxied service started on demand begins down (the proxy writes `u`)."""
        s = self.spec
        return want_up and not (s is not None and s.mode == "proxy" and s.activate == "on-connect")

    # the gate before each start ------------------------------------------------
    def may_start(self) -> bool:
        """False: wait for a connection first; the supervisor is told to start when one is pending."""
        s = self.spec
        if s is None or s.mode != "native" or s.activate != "on-connect" or not self.fds:
            return True
        if self.waiting:
            return False
        if select.select(self.fds, [], [], 0)[0]:
            return True
        self.waiting = True
        for fd in self.fds:
            self.sup.loop.add_reader(fd, self._connection)
        self.sup.policy.waiting_for = "waiting for a connection"
        self.sup.policy.publish()
        return False

    def _connection(self) -> None:
        self.stop_waiting()
        if self.sup.want_up:
            self.sup.start()

    def stop_waiting(self) -> None:
        if self.waiting:
            self.waiting = False
            for fd in self.fds:
                self.sup.loop.remove_reader(fd)
            self.sup.policy.waiting_for = ""

    # what to spawn -----------------------------------------------------------------
    def argv(self, path: str, args: "List[str]", notif: "Optional[int]",
             prelude: "List[str]") -> "Tuple[str, List[str], list]":
        """(path, args, file actions) for spawn(): the listeners dup2'd to 3.., through the exec shim."""
        if not self.fds or self.spec is None or self.spec.mode != "native":
            path, args = wrap(path, args, prelude)
            return path, args, []
        n = len(self.fds)
        if notif is not None and LISTEN_FDS_START <= notif < LISTEN_FDS_START + n:
            self.sup.warn("notification-fd %d is also a listener's fd (3..%d): the listener wins"
                          % (notif, LISTEN_FDS_START + n - 1))
        actions = [(os.POSIX_SPAWN_DUP2, fd, LISTEN_FDS_START + i) for i, fd in enumerate(self.fds)]
        env = ["LISTEN_FDS=%d LISTEN_FDNAMES=%s LISTEN_PID=$$" % (n, sh_quote(self.names)),
               "export LISTEN_FDS LISTEN_FDNAMES LISTEN_PID"]
        path, args = wrap(path, args, prelude + env)
        return path, args, actions


def handoff_fd(sock) -> int:
    import fcntl
    fd = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, handoff.HIGH_FD)
    sock.close()
    return fd
