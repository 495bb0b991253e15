"""Waiting for services to reach a state, as s6-svwait / s6-svlisten1 2.11 do.

`Waiter` is the pure state machine over all the services of one wait, fed
with event letters; `wait()` subscribes to each service's `event/` first,
reads the status files second (so nothing is missed), runs an optional
action (s6-svc's letters), and waits with a deadline.
"""
import os
import select
import time

from . import fifodir
from .status import unpack_status

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs a client ms to import; annotations are strings anyway
    from typing import Callable, List, Optional

    from .status import Status

TIMEOUT = -1


class Waiter:
    """Progress of n services towards `want` (u, U, d, D, r or R).

    As s6 2.11: `u`/`U`/`d`/`D` letters set (up, ready); `O` while waiting
    for up and `x` anywhere short of the goal count one failure and make that
    service count as arrived. `r`/`R` first wait until ALL services are down
    at once (even with `any_mode`, as s6-svwait does), then for up (`R`:
    and ready). `strict_down` (s6-svlisten1, i.e. s6-svc -wr/-wR with
    letters): that first phase wants down-and-ready.

    Unlike s6, the goal is checked after every letter, not once per read, so
    a quick `dDu` in one read still counts as "was down". A service whose
    supervisor exited (`x`) stays arrived through both phases of r/R; s6
    would wait for it until the timeout.
    """

    def __init__(self, want: str, statuses: "List[Status]", any_mode: bool = False,
                 strict_down: bool = False) -> None:
        if want not in ("u", "U", "d", "D", "r", "R"):
            raise ValueError("want must be one of u U d D r R, not %r" % want)
        self.want = want
        self.any_mode = any_mode
        self.strict_down = strict_down
        self.up = [st.up for st in statuses]
        self.ready = [st.ready for st in statuses]
        self.failed = [False] * len(statuses)
        self.gone = [False] * len(statuses)     # arrived for good (O or x)
        self.restarting = want in "rR"           # still in the "all down" phase
        self.done = False
        self._check()

    @property
    def failures(self) -> int:
        return sum(self.failed)

    def _goal(self):
        """(want up, want ready) of the current phase."""
        if self.restarting:
            return False, self.strict_down
        return self.want in "uUrR", self.want in "UDR"

    def _at(self, i: int) -> bool:
        wup, wready = self._goal()
        return self.gone[i] or (self.up[i] == wup and (self.ready[i] or not wready))

    def _final(self, i: int) -> bool:
        """At the last phase's goal (what `x` is judged against)."""
        wup, wready = self.want in "uUrR", self.want in "UDR"
        return self.up[i] == wup and (self.ready[i] or not wready)

    def _check(self) -> None:
        n = len(self.up)
        if self.restarting:
            if not all(self._at(i) for i in range(n)):
                return
            self.restarting = False
        arrived = sum(1 for i in range(n) if self._at(i))
        self.done = arrived > 0 if self.any_mode else arrived == n

    def feed(self, i: int, letters: bytes) -> None:
        """Letters read from service i's subscriber FIFO; other bytes are ignored."""
        for c in letters.decode("ascii", "replace"):
            if self.done:
                return
            if self.gone[i]:
                continue
            if c in "uUdD":
                self.up[i] = c in "uU"
                self.ready[i] = c in "UD"
            elif c == "O":
                if self.restarting or self.want not in "uUrR":
                    continue
                self.failed[i] = self.gone[i] = True
            elif c == "x":
                self.failed[i] = not self._final(i)
                self.gone[i] = True
            else:
                continue
            self._check()


class NoStatus(Exception):
    """A service dir without a readable status file (s6 exit 111)."""


def read_status(sd: str) -> "Status":
    try:
        with open(os.path.join(sd, "supervise", "status"), "rb") as f:
            return unpack_status(f.read())
    except (OSError, ValueError) as e:
        raise NoStatus("%s: %s" % (sd, getattr(e, "strerror", None) or e))


class NoSubscribe(Exception):
    """`SD/event` could not be created or subscribed to (s6 exit 111)."""


def wait(sds: "List[str]", want: str, any_mode: bool, timeout_ms: int,
         action: "Optional[Callable[[], None]]" = None, strict_down: bool = False) -> int:
    """Number of services that failed, or TIMEOUT (timeout_ms 0 = none).

    NoSubscribe / NoStatus / whatever `action` raises on errors.
    """
    # Deadline from the start, as s6 computes it before subscribing.
    deadline = time.monotonic() + timeout_ms / 1000.0 if timeout_ms else None
    subs = []
    try:
        for sd in sds:
            try:
                subs.append(fifodir.subscribe(os.path.join(sd, "event")))
            except OSError as e:
                raise NoSubscribe("%s: %s" % (sd, e.strerror or e)) from None
        waiter = Waiter(want, [read_status(sd) for sd in sds], any_mode, strict_down)
        if action is not None:
            action()
        index = {rfd: i for i, (rfd, _) in enumerate(subs)}
        poller = select.poll()
        for rfd in index:
            poller.register(rfd, select.POLLIN)
        while not waiter.done:
            left_ms = None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return TIMEOUT
                left_ms = max(1, int(left * 1000 + 0.999))   # never busy-loop on 0
            for fd, _ in poller.poll(left_ms):
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                waiter.feed(index[fd], data)
        return waiter.failures
    finally:
        for rfd, path in subs:
            fifodir.unsubscribe(rfd, path)
