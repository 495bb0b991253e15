"""pysix-log [-s SIZE] [-n COUNT] [-t iso|tai64n|none] [-p PREFIX] [-e] [-l LINEMAX] DIR

Defaults: SIZE 1000000 bytes (k and M suffixes accepted), COUNT 10
archives, no timestamp, no prefix, LINEMAX 65536 bytes. -e copies every
line to stderr too. Exit: 0 at the end of input or on TERM/INT/HUP, 100
bad usage, 111 the directory cannot be used.
"""
import os
import sys

from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "usage: pysix-log [-s SIZE] [-n COUNT] [-t iso|tai64n|none] [-p PREFIX] [-e] [-l LINEMAX] DIR"


def parse_size(v: str) -> "Optional[int]":
    mult = 1
    if v[-1:] in ("k", "K"):
        mult, v = 1000, v[:-1]
    elif v[-1:] in ("m", "M"):
        mult, v = 1000000, v[:-1]
    if not v.isdigit() or not v.isascii():
        return None
    return int(v) * mult


def _usage(msg: str) -> int:
    sys.stderr.write("pysix-log: fatal: %s; %s\n" % (msg, USAGE))   # one line, as s6 tools do
    return 100


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, "s:n:t:p:el:")
    except UsageError as e:
        return _usage(e.msg)
    size, count, stamp, prefix, to_stderr, linemax = 1000000, 10, "none", b"", False, 65536
    for o, v in opts:
        if o in ("-s", "-l"):
            n = parse_size(v)
            if n is None or n < 1:
                return _usage("%s wants a positive size such as 100k or 1M, not %r" % (o, v))
            if o == "-s":
                size = n
            else:
                linemax = n
        elif o == "-n":
            if not v.isdigit():
                return _usage("-n wants a number of archives, not %r" % v)
            count = int(v)
        elif o == "-t":
            if v not in ("iso", "tai64n", "none"):
                return _usage("-t wants iso, tai64n or none, not %r" % v)
            stamp = v
        elif o == "-p":
            prefix = os.fsencode(v) + (b" " if v and not v.endswith(" ") else b"")
        elif o == "-e":
            to_stderr = True
    if len(rest) != 1:
        return _usage("one directory expected")
    d = rest[0]
    try:
        os.mkdir(d, 0o700)    # the last component only, as s6-log does
    except FileExistsError:
        pass
    except OSError as e:
        sys.stderr.write("pysix-log: fatal: unable to mkdir %s: %s\n" % (d, e.strerror))
        return 111
    if not os.path.isdir(d):
        sys.stderr.write("pysix-log: fatal: %s is not a directory\n" % d)
        return 111
    from ..log import run
    try:
        return run(d, size, count, stamp, prefix, to_stderr, linemax)
    except (RuntimeError, OSError) as e:
        msg = str(e) if isinstance(e, RuntimeError) else "%s: %s" % (e.filename or d, e.strerror)
        sys.stderr.write("pysix-log: fatal: %s\n" % msg)
        return 111
