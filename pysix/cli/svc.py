"""pysix-svc [-wu|-wU|-wd|-wD|-wr|-wR] [-T ms] [-abqhkti12pcyroduDUxOQ] SD: s6-svc 2.11.

Exit codes as s6-svc: 0 done, 99 timed out waiting, 1 the service failed
permanently or its supervisor exited while waiting, 100 usage or nobody
listening, 111 system error (SD missing, no status file).
"""
from __future__ import annotations

import getopt
import os
import sys
from typing import List, Optional

from ..control import SUPERVISE_LETTERS, NoSuchDir, NotListening, write_control

USAGE = "pysix-svc: usage: pysix-svc [ -wu | -wU | -wd | -wD | -wr | -wR ] [ -T timeout ] [ -abqhkti12pcyroduDUxOQ ] servicedir\n"


def _die(code: int, msg: str) -> int:
    sys.stderr.write("pysix-svc: fatal: %s\n" % msg)
    return code


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt.getopt(args, SUPERVISE_LETTERS + "w:T:")
    except getopt.GetoptError as e:
        sys.stderr.write("pysix-svc: fatal: %s\n" % e.msg + USAGE)
        return 100
    letters = ""
    want = ""
    timeout = 0
    for o, v in opts:
        if o == "-w":
            if v not in ("u", "U", "d", "D", "r", "R"):
                return _die(100, "-w wants one of u U d D r R, not %r" % v)
            want = v
        elif o == "-T":
            if not v.isdigit():
                return _die(100, "-T wants a number of milliseconds, not %r" % v)
            timeout = int(v)
        else:
            letters += o[1]
    if len(rest) != 1:
        sys.stderr.write(USAGE)
        return 100
    if len(letters) > 62:
        return _die(100, "too many commands (at most 62)")
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
            sys.stderr.write("pysix-svc: warning: %s has no notification-fd: waiting for %s instead\n"
                             % (sd, "up" if want == "U" else "restart"))
            want = want.lower()
        from ..waitgoal import TIMEOUT, NoStatus, wait
        try:
            n = wait([sd], want, False, timeout, send if letters else None, strict_down=bool(letters))
        except NoStatus as e:
            return _die(111, "unable to read status: %s" % e)
        if n == TIMEOUT:
            return _die(99, "timed out")
        return 1 if n else 0
    except NotListening:
        return _die(100, "unable to control %s: supervisor not listening" % sd)
    except NoSuchDir:
        return _die(111, "unable to control %s: No such file or directory" % sd)
    except OSError as e:
        return _die(111, "unable to control %s: %s" % (sd, e.strerror))
