"""pysix-halt [CODE]: stop the container from inside, with an exit code.

Writes CODE to $PYSIX_RUNDIR/exitcode, then asks the scanner of
$PYSIX_SCANDIR to stop (what s6-overlay's `halt` and
`s6-svscanctl -t /var/run/s6/services` do). For finish scripts. Outside
the tree (no PYSIX_RUNDIR), it is found as `pysix` finds it: PYSIX_ROOT's
run/pysix, /run/pysix, the non-root fallback.
"""
import os
import sys

from ..control import NoSuchDir, NotListening, write_control

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and not args[0].isdigit()):
        sys.stderr.write("pysix-halt: usage: pysix-halt [ CODE ] (CODE: 0-255)\n")
        return 100
    rundir, scandir = _paths()
    if args:
        code = int(args[0])
        if code > 255:
            sys.stderr.write("pysix-halt: fatal: exit code %d is out of range 0-255\n" % code)
            return 100
        tmp = os.path.join(rundir, "exitcode.new")
        try:
            with open(tmp, "w") as f:
                f.write("%d\n" % code)
            os.rename(tmp, os.path.join(rundir, "exitcode"))
        except OSError as e:
            sys.stderr.write("pysix-halt: fatal: cannot write %s: %s\n" % (tmp, e.strerror))
            return 111
    try:
        write_control(os.path.join(scandir, ".s6-svscan", "control"), b"t")
    except (NotListening, NoSuchDir):
        sys.stderr.write("pysix-halt: fatal: no pysix-init is listening on %s\n" % scandir)
        return 100
    except OSError as e:
        sys.stderr.write("pysix-halt: fatal: cannot signal %s: %s\n" % (scandir, e.strerror))
        return 111
    return 0


def _paths() -> "Tuple[str, str]":
    """(run dir, scan dir): the tree's own variables, else the live tree found."""
    env = os.environ
    rundir = env.get("PYSIX_RUNDIR")
    if rundir:
        return rundir, env.get("PYSIX_SCANDIR") or os.path.join(rundir, "services")
    from ..findscan import find_scandir
    scandir = find_scandir(None, env)[0] or "/run/pysix/services"
    return os.path.dirname(os.path.abspath(scandir)), scandir
