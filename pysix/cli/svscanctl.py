"""pysix-svscanctl [-zabhitqnN] SCANDIR: send letters to a scanner (s6-svscanctl)."""
import os
import sys

from ..control import SVSCAN_LETTERS, NoSuchDir, NotListening, write_control
from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "pysix-svscanctl: usage: pysix-svscanctl [ -zabhitqnN ] scandir\n"


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, SVSCAN_LETTERS)
    except UsageError as e:
        sys.stderr.write("pysix-svscanctl: fatal: %s; %s" % (e.msg, USAGE[len("pysix-svscanctl: "):]))   # one line
        return 100
    if len(rest) != 1:
        sys.stderr.write(USAGE)
        return 100
    letters = "".join(o[1] for o, _ in opts).encode()
    ctl = os.path.join(rest[0], ".s6-svscan", "control")
    try:
        write_control(ctl, letters)
    except NotListening:
        sys.stderr.write("pysix-svscanctl: fatal: unable to control %s: supervisor not listening\n" % rest[0])
        return 100
    except NoSuchDir:
        sys.stderr.write("pysix-svscanctl: fatal: unable to control %s: No such file or directory\n" % rest[0])
        return 111
    except OSError as e:
        sys.stderr.write("pysix-svscanctl: fatal: unable to control %s: %s\n" % (rest[0], e.strerror))
        return 111
    return 0
