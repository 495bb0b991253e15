"""pysix-supervise DIR: supervise one service directory (s6-supervise)."""
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--"]:
        args = args[1:]
    if len(args) != 1 or (args[0].startswith("-") and args[0] != "-"):
        sys.stderr.write("pysix-supervise: usage: pysix-supervise DIR\n")
        return 100
    from ..supervise import run_supervisor
    return run_supervisor(args[0])
