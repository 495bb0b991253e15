"""Ending a short-lived client without the interpreter's teardown.

Tearing down every module at exit costs a client 1-2 ms, as much as its
imports. Once main() has returned a client has nothing left to release (its
FIFOs are unlinked and its files closed by then), so flush stdio and _exit.
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable


def run(main: Callable[[], int]) -> None:
    """sys.exit(main()), minus the teardown."""
    rc = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        sys.exit(rc)    # the interpreter's own exit reports the failed flush, as it always did
    os._exit(rc)
