"""pysix-svc [-wu|-wU|-wd|-wD|-wr|-wR] [-T ms] [-abqhkti12pcyroduDUxOQ] SD: s6-svc 2.11.

Exit codes as s6-svc: 0 done, 99 timed out waiting, 1 the service failed
permanently or its supervisor exited while waiting, 100 usage or nobody
listening, 111 system error (SD missing, no status file).

-w waits natively (no s6-svlisten1): subscribe to SD/event, read the status,
write the letters, wait. Beyond s6: with letters and nobody listening it
exits 100 at once, where s6-svlisten1 would wait for the timeout.
"""
import os
import sys

from ..control import SUPERVISE_LETTERS, NoSuchDir, NotListening, write_control
from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "usage: pysix-svc [ -wu | -wU | -wd | -wD | -wr | -wR ] [ -T timeout ] [ -abqhkti12pcyroduDUxOQ ] servicedir"


def _die(code: int, msg: str) -> int:
    sys.stderr.write("pysix-svc: fatal: %s\n" % msg)
    return code


def _usage(msg: str) -> int:
    return _die(100, "%s; %s" % (msg, USAGE))    # one line, as s6 tools do


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, SUPERVISE_LETTERS + "w:T:")
    except UsageError as e:
        return _usage(e.msg)
    letters = ""
    want = ""
    timeout = 0
    for o, v in opts:
        if o == "-w":
            if v not in ("u", "U", "d", "D", "r", "R"):
                return _usage("-w wants one of u U d D r R, not %r" % v)
            want = v
        elif o == "-T":
            if not (v.isascii() and v.isdigit()):
                return _usage("-T wants a number of milliseconds, not %r" % v)
            timeout = int(v)
        else:
            letters += o[1]
    if not rest:
        return _usage("no service directory given")
    if len(rest) > 1:   # s6-svc 2.11 drives the first one only
        sys.stderr.write("pysix-svc: warning: ignoring extra arguments\n")
    if len(letters) > 62:
        return _usage("too many commands (at most 62)")
    sd = rest[0]
    ctl = os.path.join(sd, "supervise", "control")

    def send() -> None:
        write_control(ctl, letters.encode())

    try:
        if not want:
            send()
            return 0
        if want in "UR" and not (os.path.exists(os.path.join(sd, "notification-fd"))
                                 or os.path.exists(os.path.join(sd, "check"))):
            sys.stderr.write("pysix-svc: warning: %s/notification-fd not present"
                             " - ignoring request for readiness notification\n" % sd)
            want = want.lower()
        from ..waitgoal import TIMEOUT, NoStatus, NoSubscribe, wait
        try:
            # With letters s6-svc runs s6-svlisten1, whose -r waits for down-and-ready.
            n = wait([sd], want, False, timeout, send if letters else None, strict_down=bool(letters))
        except NoSubscribe as e:
            return _die(111, "unable to subscribe to events for %s" % e)
        except NoStatus as e:
            return _die(111, "unable to read status for %s" % e)
        if n == TIMEOUT:
            return _die(99, "timed out")
        if n:
            return _die(1, "%s failed permanently or its supervisor died" % sd)
        return 0
    except NotListening:
        return _die(100, "unable to control %s: supervisor not listening" % sd)
    except NoSuchDir:
        return _die(111, "unable to control %s: %s" % (sd, _why_missing(sd)))
    except OSError as e:
        return _die(111, "unable to control %s: %s" % (sd, e.strerror))


def _why_missing(sd: str) -> str:
    try:
        os.stat(os.path.join(sd, "supervise"))
    except OSError as e:
        return e.strerror or str(e)
    return "No such file or directory"
