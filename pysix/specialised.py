"""Forms of a call, a comparison and a subscript that CPython 3.12 specialises.

For code every forked supervisor runs: an instruction 3.12 cannot specialise
(a call of a class or of a built-in taking no or variable arguments, `==` on
tuples or bytes, a field of an os.stat result) writes its counter into its
code object each time it runs, a page copied in every supervisor (measured
in speed.py). `call(f, *args)` is `f(*args)` made through a built-in whose
call 3.12 specialises; `eq`, `ne` and `getitem` are `==`, `!=` and `x[i]`
as such built-ins, and `and_`, `rshift`, `mod` and `truediv` are `&`, `>>`,
`%` and `/` (3.12 specialises only `+`, `-` and `*`, of two ints or two
floats). Cheap to import: clients' records use it too.
"""
from _operator import and_, eq, getitem, mod, ne, rshift, truediv
from os import stat
from stat import S_ISDIR, ST_MODE

try:
    from _operator import call
except ImportError:     # before 3.11, where nothing is specialised anyway
    def call(f, /, *args, **kwargs):    # type: ignore[no-redef]
        return f(*args, **kwargs)



def isdir(path: str) -> bool:
    """os.path.isdir, whose `st.st_mode` 3.12 does not specialise."""
    try:
        return S_ISDIR(getitem(stat(path), ST_MODE))
    except (OSError, ValueError):
        return False


__all__ = ["and_", "call", "eq", "getitem", "isdir", "mod", "ne", "rshift", "truediv"]
