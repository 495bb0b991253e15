"""pysix-check [--strict] [--root DIR]: lint ROOT/etc/{cont-init.d,services.d,cont-finish.d}.

One line per finding on stdout (`ERROR path: what` / `WARNING path: what`),
a summary on stderr. Exit 1 if there is an error (or, with --strict, a
warning), 0 otherwise, 100 on bad usage.
"""
import os
import sys

from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "pysix-check: usage: pysix-check [ --strict ] [ --root DIR ]\n"


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, "", ["strict", "root="])
    except UsageError as e:
        sys.stderr.write("pysix-check: fatal: %s\n" % e.msg + USAGE)
        return 100
    if rest:
        sys.stderr.write("pysix-check: fatal: unexpected argument %r\n" % rest[0] + USAGE)
        return 100
    strict = False
    root = os.environ.get("PYSIX_ROOT", "/")
    for o, v in opts:
        if o == "--strict":
            strict = True
        else:
            root = v
    if not os.path.isdir(root):
        sys.stderr.write("pysix-check: fatal: --root %s: not a directory\n" % root)
        return 100
    from ..check import ERROR, check_tree
    findings = check_tree(root)
    for f in findings:
        sys.stdout.write(str(f) + "\n")
    errors = sum(1 for f in findings if f.level == ERROR)
    warnings = len(findings) - errors
    sys.stderr.write("pysix-check: %d errors, %d warnings\n" % (errors, warnings))
    return 1 if errors or (strict and warnings) else 0
