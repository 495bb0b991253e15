"""pysix-logutil-service [-f FIFO] DIR: s6-overlay v2's `logutil-service`, with pysix-log.

For `NAME/log/run`: drops to the user `nobody` (32768:32768 where there is
none, as v2), empties the environment and logs stdin (or FIFO) into DIR
with the rotation of S6_LOGGING_SCRIPT (default `n20 s1000000 T`: 20
archives, 1 MB each, ISO 8601 stamps), read from the saved container
environment as v2 does. Of s6-log's script, `nN`, `sN`, `T`, `t` and the
directory are understood; anything else is reported once and ignored. DIR
(or its parent, for the logger to create it) must be writable by nobody.
"""
import os
import sys

from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

PROG = "logutil-service"
DEFAULT_SCRIPT = "n20 s1000000 T"
FALLBACK_IDS = (32768, 32768)   # v2's default when there is no `nobody`


def script_options(script: str) -> "Tuple[List[str], List[str]]":
    """S6_LOGGING_SCRIPT -> (pysix-log options, directives it cannot follow)."""
    opts, ignored = ["-n", "20", "-s", "1000000", "-t", "none"], []
    for word in script.split():
        if word[:1] in ("n", "s") and word[1:].isdigit():
            i = opts.index("-" + word[0])
            opts[i + 1] = word[1:]
        elif word in ("T", "t"):
            opts[opts.index("-t") + 1] = "iso" if word == "T" else "tai64n"
        else:
            ignored.append(word)
    return opts, ignored


def _nobody() -> "Tuple[int, int]":
    import pwd
    try:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return FALLBACK_IDS


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, "f:")
    except UsageError as e:
        sys.stderr.write("%s: fatal: %s; usage: %s [ -f fifo ] DIR\n" % (PROG, e.msg, PROG))
        return 100
    if len(rest) != 1:
        sys.stderr.write("%s: usage: %s [ -f fifo ] DIR\n" % (PROG, PROG))
        return 100
    fifo = dict(opts).get("-f")
    if fifo:
        try:
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)   # as v2's redirfd -rnb: no wait for a writer
            os.set_blocking(fd, True)
            os.dup2(fd, 0)
            os.close(fd)
        except OSError as e:
            sys.stderr.write("%s: fatal: unable to open %s: %s\n" % (PROG, fifo, e.strerror))
            return 111
    from .printcontenv import saved_value
    script = saved_value("S6_LOGGING_SCRIPT")
    script = DEFAULT_SCRIPT if script is None else os.fsdecode(script)
    logopts, ignored = script_options(script)
    if ignored:
        sys.stderr.write("%s: warning: S6_LOGGING_SCRIPT: ignoring %s (pysix-log knows n, s, T, t)\n"
                         % (PROG, " ".join(ignored)))
    from .log import main as log_main
    import importlib
    importlib.import_module("pysix.log")   # now: as nobody the library may not be readable
    if os.getuid() == 0:
        uid, gid = _nobody()
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        except OSError as e:
            sys.stderr.write("%s: fatal: unable to become nobody: %s\n" % (PROG, e.strerror))
            return 111
    os.environ.clear()
    return log_main(logopts + [rest[0]])
