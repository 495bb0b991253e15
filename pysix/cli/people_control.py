"""`pysix start|stop|restart|kill NAME...|all`: s6-svc's letters, by name, waited for.

start `u` (then waits for up, or ready where the service signals it), stop
`d` (waits for down), restart = stop then start (works from any state,
failed included), kill `k` (SIGKILL; waits until it died, after which its
supervisor restarts it if it is wanted up). All the services of one command
are driven in parallel. Waits end at -T ms (default 10000, 0: none) with a
message naming what did not make it and exit 1.
"""
import os
import sys
import time

from .. import servicestate as ss
from ..control import NoSuchDir, NotListening, write_control
from .people import EXIT_SYSTEM, Fatal, parse, parse_ms, usage_error

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

    from .people import Context

DEFAULT_TIMEOUT_MS = 10000


def main(ctx: "Context", cmd: str, args: "List[str]") -> int:
    opts, names = parse(args, cmd, "T:W", ["timeout=", "no-wait"])
    timeout, wait = DEFAULT_TIMEOUT_MS, True
    for o, v in opts:
        if o in ("-T", "--timeout"):
            timeout = parse_ms(v, o, cmd)
        elif o in ("-W", "--no-wait"):
            wait = False
    if not names:
        raise usage_error("name a service, or `all`", cmd)
    # `all` leaves loggers alone: each follows its service, and stopping one first loses output.
    names = ctx.resolve(names, cmd, allow_all=True, loggers_in_all=False)
    scandir = ctx.scandir()
    sds = [os.path.join(scandir, n) for n in names]
    deadline = time.monotonic() + timeout / 1000 if timeout else None
    if cmd == "stop":
        ok = step(sds, "d", "d", wait, deadline)
    elif cmd == "start":
        ok = start(sds, wait, deadline)
    elif cmd == "restart":
        ok = step(sds, "d", "d", True, deadline) and start(sds, wait, deadline)
    else:
        up = [sd for sd in sds if ss.pid(ss.look(scandir, os.path.relpath(sd, scandir)))]
        if not up:
            sys.stderr.write("pysix: kill: nothing to kill: %s not running\n" % ", ".join(names))
            return 0
        ok = step(up, "k", "d", wait, deadline)
    if ok:
        return 0
    report(scandir, names, cmd, timeout)
    return 1


def _send(sds: "List[str]", letters: str) -> None:
    for sd in sds:
        try:
            write_control(os.path.join(sd, "supervise", "control"), letters.encode())
        except NotListening:
            raise Fatal("%s: no supervisor is listening (is pysix-init running?)" % sd, EXIT_SYSTEM) from None
        except NoSuchDir:
            raise Fatal("%s: no such service directory" % sd, EXIT_SYSTEM) from None
        except OSError as e:
            raise Fatal("%s: cannot write its control FIFO: %s" % (sd, e.strerror), EXIT_SYSTEM) from None


def _left_ms(deadline: "Optional[float]") -> int:
    if deadline is None:
        return 0
    return max(1, int((deadline - time.monotonic()) * 1000))


def step(sds: "List[str]", letters: str, want: str, wait: bool, deadline: "Optional[float]",
         send_to: "Optional[List[str]]" = None) -> bool:
    """Send `letters` (to `send_to`, default sds), then wait until every sd reached
    `want`: subscribed before sending, so nothing is missed."""
    targets = sds if send_to is None else send_to
    if not wait:
        _send(targets, letters)
        return True
    from ..waitgoal import NoStatus, NoSubscribe
    from ..waitgoal import wait as wait_for
    try:
        n = wait_for(sds, want, False, _left_ms(deadline), lambda: _send(targets, letters))
    except (NoSubscribe, NoStatus) as e:
        raise Fatal(str(e), EXIT_SYSTEM) from None
    return n == 0    # else TIMEOUT (-1) or how many failed for good


def start(sds: "List[str]", wait: bool, deadline: "Optional[float]") -> bool:
    """`u` to all; wait for ready where the service says so, for up elsewhere."""
    if not wait:
        _send(sds, "u")
        return True
    ready = [sd for sd in sds if _signals_ready(sd)]
    plain = [sd for sd in sds if sd not in ready]
    _send(sds, "")   # fail on a missing supervisor before sending anything
    if not ready:
        return step(plain, "u", "u", True, deadline)
    ok = step(ready, "u", "U", True, deadline, send_to=sds)
    # This wait reads the status files after subscribing: what already happened counts.
    return step(plain, "", "u", True, deadline) and ok if plain else ok


def _signals_ready(sd: str) -> bool:
    """Readiness worth waiting for: notification-fd or check, and not a oneshot (which ends)."""
    try:
        with open(os.path.join(sd, "type"), "rb") as f:
            if f.read(64).strip() == b"oneshot":
                return False
    except OSError:
        pass
    return os.path.exists(os.path.join(sd, "notification-fd")) or os.path.exists(os.path.join(sd, "check"))


def report(scandir: str, names: "List[str]", cmd: str, timeout: int) -> None:
    """Say which services did not get there, and in what state they are."""
    bits = []
    for n in names:
        s = ss.look(scandir, n)
        if ss.healthy(s, False) if cmd in ("start", "restart") else not ss.pid(s):
            continue    # this one got there
        bits.append("%s is %s" % (n, ss.describe(s)))
    if ss.tree_stopping(scandir):
        bits.append("the whole tree is stopping")
    sys.stderr.write("pysix: %s did not take effect%s: %s; see `pysix status` and `pysix logs`\n" % (
        cmd, " within %g s" % (timeout / 1000) if timeout else "", ", ".join(bits)))
