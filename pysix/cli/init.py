"""pysix-init [--root DIR] [--units DIR] [--drop-in DIR] [--strict-units] [--validate] [--] [CMD ARGS...]: the container's PID 1."""
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = ("pysix-init: usage: pysix-init [ --root DIR ] [ --units DIR ] [ --drop-in DIR ] [ --strict-units ]"
         " [ --validate ] [ -- ] [ CMD ARGS... ]\n")
_UNIT_OPTS = {"--units": "units", "--drop-in": "dropin"}


def main(argv: "Optional[List[str]]" = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    root = os.environ.get("PYSIX_ROOT", "/")
    units = {"units": None, "dropin": None, "strict": False, "validate": False}
    while args and args[0].startswith("-"):
        a = args.pop(0)
        if a == "--":
            break
        if a == "--root" and args:
            root = args.pop(0)
        elif a.startswith("--root="):
            root = a[len("--root="):]
        elif a.partition("=")[0] in _UNIT_OPTS and ("=" in a or args):
            k, eq, v = a.partition("=")
            units[_UNIT_OPTS[k]] = v if eq else args.pop(0)
        elif a in ("--strict-units", "--validate"):
            units[a[2:].split("-")[0]] = True
        elif a in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        else:
            sys.stderr.write("pysix-init: fatal: unknown option %r\n" % a + USAGE)
            return 100
    if not os.path.isdir(root):
        sys.stderr.write("pysix-init: fatal: --root %s: not a directory\n" % root)
        return 100
    from ..trace import container_init_aliases
    container_init_aliases(os.environ)
    from ..units.cli import prepare
    code = prepare(root, units)
    if code is not None:
        return code
    from ..init import Init
    init = Init(root, args)
    init.units = units
    return init.run()
