"""Waiting for services to reach a state, as s6-svwait / s6-svlisten1 2.11 do.

`Goal` is the pure per-service state machine fed with event letters;
`wait()` subscribes to each service's `event/` first, reads the status files
second (so nothing is missed), runs an optional action (s6-svc's letters),
and waits with a deadline.
"""
from __future__ import annotations

import os
import select
import time
from typing import Callable, List, Optional

from . import fifodir
from .status import Status, unpack_status

TIMEOUT = -1


class Goal:
    """One service's progress towards `want` (u, U, d, D, r or R).

    `strict_down`: for r/R, first wait for down-and-ready (s6-svlisten1),
    not just down (s6-svwait).
    """

    def __init__(self, want: str, st: Status, strict_down: bool = False) -> None:
        self.want = want
        self.up = st.up
        self.ready = st.ready
        self.strict_down = strict_down
        self.went_down = want not in "rR"
        self.failed = False
        self.done = False
        self._check()

    def feed(self, letters: bytes) -> None:
        for c in letters.decode("ascii", "replace"):
            if self.done:
                return
            if c == "u":
                self.up, self.ready = True, False
            elif c == "U":
                self.up, self.ready = True, True
            elif c == "d":
                self.up, self.ready = False, False
            elif c == "D":
                self.up, self.ready = False, True
            elif c == "O":
                if self.want in "uUrR":
                    self.failed = self.done = True
                    return
            elif c == "x":
                self._check()
                if not self.done:
                    self.failed = self.done = True
                return
            else:
                continue
            self._check()

    def _check(self) -> None:
        if not self.went_down:
            if not self.up and (self.ready or not self.strict_down):
                self.went_down = True
            else:
                return
        w = self.want
        if w in "uU" or w in "rR":
            ok = self.up and (self.ready or w in "ur")
        elif w == "d":
            ok = not self.up
        else:  # D
            ok = not self.up and self.ready
        if ok:
            self.done = True


class NoStatus(Exception):
    """A service dir without a readable status file (s6 exit 111)."""


def read_status(sd: str) -> Status:
    try:
        with open(os.path.join(sd, "supervise", "status"), "rb") as f:
            return unpack_status(f.read())
    except (OSError, ValueError) as e:
        raise NoStatus("%s: %s" % (sd, getattr(e, "strerror", None) or e))


def wait(sds: List[str], want: str, any_mode: bool, timeout_ms: int,
         action: Optional[Callable[[], None]] = None, strict_down: bool = False) -> int:
    """Number of services that failed, or TIMEOUT; NoStatus / OSError on errors."""
    subs = []
    try:
        for sd in sds:
            subs.append(fifodir.subscribe(os.path.join(sd, "event")))
        goals = [Goal(want, read_status(sd), strict_down) for sd in sds]
        if action is not None:
            action()
        deadline = time.monotonic() + timeout_ms / 1000.0 if timeout_ms else None
        fds = {rfd: g for (rfd, _), g in zip(subs, goals)}
        while True:
            finished = [g for g in goals if g.done]
            if (any_mode and finished) or len(finished) == len(goals):
                return sum(1 for g in finished if g.failed)
            left = None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return TIMEOUT
            ready, _, _ = select.select(list(fds), [], [], left)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                fds[fd].feed(data)
    finally:
        for rfd, path in subs:
            fifodir.unsubscribe(rfd, path)
