"""pysix-printcontenv VAR: print one variable of the saved container environment.

s6-overlay's `printcontenv` (use it under that name via
pysix-install-s6-names): the value and a newline on stdout, exit 0; exit 1
with no output when VAR is not saved. With KEEP_ENV (nothing saved) VAR is
read from the current environment. 100: bad usage.
"""
import os
import sys

from .. import contenv, settings

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional


def saved_value(var: str) -> "Optional[bytes]":
    """VAR as saved at boot (or as now, with KEEP_ENV), or None."""
    name = os.fsencode(var)
    keep, _ = settings.get_int("KEEP_ENV")
    d = None if keep else contenv.find_dir(dict(os.environ))
    if d is None:
        return os.environb.get(name)
    try:
        with open(os.path.join(os.fsencode(d), name), "rb") as f:
            return f.read().split(b"\0", 1)[0]
    except OSError:
        return None


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0] or "/" in args[0]:
        sys.stderr.write("printcontenv: usage: printcontenv VARIABLE\n")
        return 100
    value = saved_value(args[0])
    if value is None:
        return 1
    sys.stdout.flush()
    os.write(1, value + b"\n")
    return 0
