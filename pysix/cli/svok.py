"""pysix-svok SD: exit 0 if a supervisor runs on SD, 1 if not (s6-svok 2.11)."""
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--"]:
        args = args[1:]
    # s6-svok 2.11 looks at the first directory and ignores the rest.
    if not args or (args[0].startswith("-") and args[0] != "-"):
        sys.stderr.write("pysix-svok: fatal: usage: pysix-svok servicedir\n")
        return 100
    from ..lockprobe import supervised
    try:
        return 0 if supervised(args[0]) else 1
    except OSError as e:
        sys.stderr.write("pysix-svok: fatal: unable to check %s: %s\n" % (args[0], e.strerror))
        return 111
