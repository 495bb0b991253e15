"""pysix-svwait [-u|-U|-d|-D|-r|-R] [-a|-o] [-t ms] SD...: s6-svwait 2.11.

Exit: 0 reached, the number of services that failed (permanent failure or
supervisor exit) otherwise, 99 timed out, 100 usage, 111 system error.
"""
from __future__ import annotations

import getopt
import sys
from typing import List, Optional

USAGE = "pysix-svwait: usage: pysix-svwait [ -U | -u | -D | -d | -R | -r ] [ -a | -o ] [ -t timeout ] servicedir...\n"


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt.getopt(args, "uUdDrRaot:")
    except getopt.GetoptError as e:
        sys.stderr.write("pysix-svwait: fatal: %s\n" % e.msg + USAGE)
        return 100
    want, any_mode, timeout = "u", False, 0
    for o, v in opts:
        if o == "-t":
            if not v.isdigit():
                sys.stderr.write("pysix-svwait: fatal: -t wants a number of milliseconds, not %r\n" % v)
                return 100
            timeout = int(v)
        elif o in ("-a", "-o"):
            any_mode = o == "-o"
        else:
            want = o[1]
    if not rest:
        sys.stderr.write(USAGE)
        return 100
    from ..waitgoal import TIMEOUT, NoStatus, wait
    try:
        n = wait(rest, want, any_mode, timeout)
    except NoStatus as e:
        sys.stderr.write("pysix-svwait: fatal: unable to read status: %s\n" % e)
        return 111
    except OSError as e:
        sys.stderr.write("pysix-svwait: fatal: %s: %s\n" % (getattr(e, "filename", "") or "", e.strerror))
        return 111
    if n == TIMEOUT:
        sys.stderr.write("pysix-svwait: fatal: timed out\n")
        return 99
    return n
