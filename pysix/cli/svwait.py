"""pysix-svwait [-u|-U|-d|-D|-r|-R] [-a|-o] [-t ms] SD...: s6-svwait 2.11.

Exit: 0 reached, the number of services that failed (permanent failure or
supervisor exit) otherwise (at most 98, so it never reads as a timeout or
wraps to 0 as s6's would past 255), 99 timed out, 100 usage, 111 system error.
-r/-R wait until all services are down at once, then for up, as s6-svwait.
"""
import sys

from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "usage: pysix-svwait [ -U | -u | -D | -d | -R | -r ] [ -a | -o ] [ -t timeout ] servicedir..."


def _die(code: int, msg: str) -> int:
    sys.stderr.write("pysix-svwait: fatal: %s\n" % msg)
    return code


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, "uUdDrRaot:")
    except UsageError as e:
        return _die(100, "%s; %s" % (e.msg, USAGE))
    want, any_mode, timeout = "u", False, 0
    for o, v in opts:
        if o == "-t":
            if not (v.isascii() and v.isdigit()):
                return _die(100, "-t wants a number of milliseconds, not %r; %s" % (v, USAGE))
            timeout = int(v)
        elif o in ("-a", "-o"):
            any_mode = o == "-o"
        else:
            want = o[1]
    if not rest:
        return _die(100, "no service directory given; %s" % USAGE)
    from ..waitgoal import TIMEOUT, NoStatus, NoSubscribe, wait
    try:
        n = wait(rest, want, any_mode, timeout)
    except NoSubscribe as e:
        return _die(111, "unable to subscribe to events for %s" % e)
    except NoStatus as e:
        return _die(111, "unable to read status for %s" % e)
    except OSError as e:
        return _die(111, "%s: %s" % (e.filename or "wait", e.strerror))
    if n == TIMEOUT:
        return _die(99, "timed out")
    if n:
        # The count is the exit code, as s6-svwait 2.11 (capped: 99 means timeout).
        _die(n, "%d service(s) reported permanent failure or their supervisor died" % n)
        return min(n, 98)
    return 0
