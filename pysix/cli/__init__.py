"""pysix's commands, one module each; `run_main()` is how each executable in bin/ ends.

Here, not in a module of its own: every command imports this package anyway,
and one module fewer is ~0.1 ms and a dozen system calls of each command's
start (speed.py).

Tearing down every module at exit costs 1-2 ms (for a client, as much as
its imports; for PID 1, part of `docker stop`). Once main() has returned a
command has nothing left to release (FIFOs unlinked, files written with
os.write and closed), so run_main() flushes stdio and _exits.
"""
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable


def run_main(main: "Callable[[], int]") -> None:
    """sys.exit(main()), minus the teardown; `PROG --help`/`--version` answered first."""
    argv = sys.argv
    if len(argv) > 1 and argv[1] in ("--help", "--version"):
        from .helptext import answer    # only then: the texts cost a client nothing
        rc = answer(argv[0], argv[1])
    else:
        rc = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        sys.exit(rc)    # the interpreter's own exit reports the failed flush, as it always did
    os._exit(rc)
