"""The one event loop of every pysix process: fds, signals and timers.

Signals arrive through `signal.set_wakeup_fd()`: the C handler writes the
signal number into a non-blocking pipe and the loop dispatches it like any
other readable fd, so no logic ever runs inside a signal handler. With no
timer armed the loop sleeps in epoll with no timeout: an idle process
makes zero wake-ups.
"""
import heapq
import os
import select
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)
import time

from .specialised import and_, call

_PIPE_FLAGS = os.O_NONBLOCK | os.O_CLOEXEC   # folded once: 3.12 never specialises |
TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Dict, List, Optional


_UNHOOK = (-1,)     # Loop.leave's argument
_OUT = select.EPOLLOUT
_WRITABLE = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP   # what wakes a writer


def _nothing(signum, frame):  # the wakeup fd carries the signal
    pass


class Timer:
    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: "Callable[[], None]"):
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: "Timer") -> bool:
        return self.when < other.when


class Loop:
    def __init__(self) -> None:
        self._ep = call(select.epoll)   # call(): specialised.py
        os.set_inheritable(self._ep.fileno(), False)
        self._readers: Dict[int, Callable[[], None]] = {}
        self._writers: Dict[int, Callable[[], None]] = {}
        self._timers: List[Timer] = []
        self._sig_handlers: Dict[int, Callable[[int], None]] = {}
        self._sig_r = -1
        self._sig_w = -1
        self.running = False

    # fds ---------------------------------------------------------------
    def add_reader(self, fd: int, callback: "Callable[[], None]") -> None:
        had = fd in self._readers or fd in self._writers
        self._readers[fd] = callback
        self._update(fd, had)

    def remove_reader(self, fd: int) -> None:
        if self._readers.pop(fd, None) is not None:
            self._update(fd, True)

    def add_writer(self, fd: int, callback: "Callable[[], None]") -> None:
        """`callback` whenever `fd` can be written (remove it once drained)."""
        had = fd in self._readers or fd in self._writers
        self._writers[fd] = callback
        self._update(fd, had)

    def remove_writer(self, fd: int) -> None:
        if self._writers.pop(fd, None) is not None:
            self._update(fd, True)

    def _update(self, fd: int, registered: bool) -> None:
        # + of two distinct bits, not |: 3.12 specialises only the first (speed.py)
        mask = (select.EPOLLIN if fd in self._readers else 0) + (select.EPOLLOUT if fd in self._writers else 0)
        if mask and not registered:
            try:
                self._ep.register(fd, mask)   # EPERM (a file, /dev/null) is the caller's to hear
            except OSError:
                self._readers.pop(fd, None)
                self._writers.pop(fd, None)
                raise
            return
        try:
            if mask:
                self._ep.modify(fd, mask)
            else:
                self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    # timers ------------------------------------------------------------
    def call_later(self, delay: float, callback: "Callable[[], None]") -> "Timer":
        t = call(Timer, call(time.monotonic) + call(max, 0.0, delay), callback)     # call(): specialised.py
        heapq.heappush(self._timers, t)
        return t

    # signals -----------------------------------------------------------
    def add_signal(self, signum: int, callback: "Callable[[int], None]") -> None:
        if self._sig_r < 0:
            self._sig_r, self._sig_w = os.pipe2(_PIPE_FLAGS)
            call(signal.set_wakeup_fd, self._sig_w, warn_on_full_buffer=False)   # call(): specialised.py
            self.add_reader(self._sig_r, getattr(self, "_read_signals"))
        self._sig_handlers[signum] = callback
        signal.signal(signum, _nothing)

    def _read_signals(self) -> None:
        try:
            data = os.read(self._sig_r, 512)
        except BlockingIOError:
            return
        # Several SIGCHLDs collapse into one reap pass; others are all kept
        # (a second SIGTERM means something to PID 1).
        reaped = False
        for signum in tuple(data):      # 3.12 iterates a tuple specialised, not bytes
            if signum == signal.SIGCHLD:
                if reaped:
                    continue
                reaped = True
            cb = self._sig_handlers.get(signum)
            if cb is not None:
                cb(signum)

    # running -----------------------------------------------------------
    def stop(self) -> None:
        self.running = False

    def run_once(self, max_wait: "Optional[float]" = None) -> None:
        timers = self._timers
        while timers and timers[0].cancelled:
            heapq.heappop(timers)
        timeout = -1.0
        if timers:
            # no max() (variable arguments), time.monotonic() through call(), no
            # `&` or `|` below: what every supervisor runs at each event is all
            # specialised on 3.12 (speed.py)
            timeout = timers[0].when - call(time.monotonic)
            if timeout < 0.0:
                timeout = 0.0
        if max_wait is not None and (timeout < 0.0 or max_wait < timeout):
            timeout = max_wait
        try:
            # 32 events a turn (level-triggered: the rest come next turn); the
            # default, 1023, makes every poll malloc 12 KiB (speed.py)
            events = self._ep.poll(timeout, 32)
        except InterruptedError:
            events = ()
        for fd, ev in events:
            if ev != _OUT or fd not in self._writers:   # anything but writability is the reader's
                cb = self._readers.get(fd)
                if cb is not None:
                    cb()
            cb = self._writers.get(fd)
            if cb is not None and and_(ev, _WRITABLE):
                cb()
        if timers:
            now = call(time.monotonic)
            while timers and (timers[0].cancelled or timers[0].when <= now):
                t = heapq.heappop(timers)
                if not t.cancelled:
                    t.cancel()
                    call(t.callback)    # callbacks of all kinds: a plain call missed (a page written)

    def run(self) -> None:
        self.running = True
        while self.running:
            self.run_once()

    def leave(self) -> None:
        """In a forked child that starts its own loop: no more signal wakeups
        into our pipe, and nothing else. The child's closerange closes the fds;
        emptying the dicts and lists here would write the pages it shares with
        the parent, which become its own copies (measured by bench explain)."""
        if self._sig_r >= 0:
            try:
                # a * call: 3.12 cannot specialise a plain call of this
                # built-in, and a failed one writes this page in every child
                signal.set_wakeup_fd(*_UNHOOK)
            except ValueError:
                pass

    def close(self) -> None:
        """Release the loop's fds (a forked child starts its own loop)."""
        if self._sig_r >= 0:
            try:
                signal.set_wakeup_fd(-1)
            except ValueError:
                pass
            os.close(self._sig_r)
            os.close(self._sig_w)
            self._sig_r = self._sig_w = -1
        self._ep.close()
        self._readers.clear()
        self._writers.clear()
        self._timers.clear()
