"""Ending a pysix command without the interpreter's teardown.

Tearing down every module at exit costs 1-2 ms (for a client, as much as
its imports; for PID 1, part of `docker stop`). Once main() has returned a
command has nothing left to release (FIFOs unlinked, files written with
os.write and closed), so flush stdio and _exit.
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable


def run(main: Callable[[], int]) -> None:
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
