"""pysix-init [--root DIR] [--] [CMD ARGS...]: the container's PID 1."""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "pysix-init: usage: pysix-init [ --root DIR ] [ -- ] [ CMD ARGS... ]\n"


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    root = os.environ.get("PYSIX_ROOT", "/")
    while args and args[0].startswith("-"):
        a = args.pop(0)
        if a == "--":
            break
        if a == "--root" and args:
            root = args.pop(0)
        elif a.startswith("--root="):
            root = a[len("--root="):]
        elif a in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        else:
            sys.stderr.write("pysix-init: fatal: unknown option %r\n" % a + USAGE)
            return 100
    if not os.path.isdir(root):
        sys.stderr.write("pysix-init: fatal: --root %s: not a directory\n" % root)
        return 100
    from ..init import Init
    return Init(root, args).run()
