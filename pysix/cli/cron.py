"""pysix-cron -i INTERVAL [-d DELAY] [-q...] -- [-]COMMANDLINE: a periodic job as a service.

Runs `/bin/sh -c COMMANDLINE` every INTERVAL seconds, start to start, the
first time after DELAY (default 0). Runs never overlap: one that lasts
longer than the interval delays the next, which then starts at once, and
says so. A failing run makes pysix-cron exit with its code, unless the
command line starts with `-`. TERM/INT: the running command gets TERM (KILL
5 s later), then pysix-cron exits 0. As dcrond's levels: -q: only warnings
and failures; -qq: only failures; -qqq: nothing (the exit code still tells).
"""
import os
import signal
import sys
import time

from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "pysix-cron: usage: pysix-cron -i INTERVAL [ -d DELAY ] [ -q... ] -- [-]COMMANDLINE\n"
KILL_AFTER = 5.0


def _usage(msg: str) -> int:
    sys.stderr.write("pysix-cron: fatal: %s\n" % msg + USAGE)
    return 100


def _seconds(opt: str, v: str) -> "Optional[float]":
    try:
        x = float(v)
    except ValueError:
        return None
    return x if x >= 0 and x == x and x != float("inf") else None


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, "i:d:q")
    except UsageError as e:
        return _usage(e.msg)
    interval = None
    delay, quiet = 0.0, 0
    for o, v in opts:
        if o == "-q":
            quiet = min(quiet + 1, 3)
            continue
        x = _seconds(o, v)
        if x is None:
            return _usage("%s wants a non-negative number of seconds, not %r" % (o, v))
        if o == "-i":
            interval = x
        else:
            delay = x
    if interval is None or interval <= 0:
        return _usage("-i INTERVAL (seconds, more than 0) is required")
    if len(rest) != 1 or not rest[0].strip("- "):
        return _usage("one command line expected after --")
    line = rest[0]
    may_fail = line.startswith("-")
    if may_fail:
        line = line[1:]
    return Cron(line, interval, delay, may_fail, quiet).run()


class Cron:
    def __init__(self, line: str, interval: float, delay: float, may_fail: bool, quiet: int) -> None:
        from ..loop import Loop
        from ..reaper import Reaper
        self.line, self.interval, self.may_fail, self.quiet = line, interval, may_fail, quiet
        self.loop = Loop()
        self.reaper = Reaper(self.loop)
        self.child = 0
        self.started = 0.0
        self.next_at = time.monotonic() + delay
        self.code = 0
        self.stopping = False
        self.kill_timer = None

    def say(self, level: int, msg: str) -> None:
        """level 0: failures (hidden by -qqq), 1: warnings (hidden by -qq), 2: each run (hidden by -q)."""
        if level + self.quiet <= 2:
            sys.stderr.write("pysix-cron: %s\n" % msg)
            sys.stderr.flush()

    def run(self) -> int:
        self.loop.add_signal(signal.SIGTERM, self.stop)
        self.loop.add_signal(signal.SIGINT, self.stop)
        self.loop.call_later(self.next_at - time.monotonic(), self.start)
        self.loop.run()
        return self.code

    def start(self) -> None:
        if self.stopping:
            return
        self.started = time.monotonic()
        try:
            self.child = os.posix_spawn("/bin/sh", ["sh", "-c", self.line], os.environ, setsigmask=(),
                                        setsigdef=(signal.SIGPIPE, signal.SIGTERM, signal.SIGINT))
        except OSError as e:
            self.say(0, "fatal: unable to run /bin/sh: %s" % e.strerror)
            self.code = 111
            self.loop.stop()
            return
        self.say(2, "run started: %s" % self.line)
        self.reaper.watch(self.child, self.finished)

    def finished(self, pid: int, st: int) -> None:
        from ..reaper import exit_code
        self.child = 0
        took = time.monotonic() - self.started
        code = exit_code(st)
        if self.stopping:
            if self.kill_timer is not None:
                self.kill_timer.cancel()
            self.loop.stop()
            return
        if code and not self.may_fail:
            self.say(0, "run failed with code %d: exiting" % code)
            self.code = code
            self.loop.stop()
            return
        self.say(1 if code else 2, "run exited %d after %.1f s" % (code, took))
        self.next_at += self.interval
        now = time.monotonic()
        if self.next_at < now:
            self.say(1, "warning: run took %.1f s, longer than the %g s interval; next run starts now"
                     % (took, self.interval))
            self.next_at = now
        self.loop.call_later(self.next_at - now, self.start)

    def stop(self, sig: int) -> None:
        self.stopping = True
        if not self.child:
            self.loop.stop()
            return
        os.kill(self.child, signal.SIGTERM)
        self.kill_timer = self.loop.call_later(KILL_AFTER, lambda: self.child and os.kill(self.child, signal.SIGKILL))
