"""libc functions the standard library lacks, called through `_ctypes` alone.

`ctypes`' Python half costs ~2.4 ms to import on 3.12 (`_ctypes` 0.8 ms,
which pysix-svscan loads anyway on 3.12 and 3.13: speed._immortalize), so a
call is bound here from the C module's own types: a function pointer class
with its flags and result type, looked up in the program's symbol table.
"""
TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable

_handle = None


class _Program:
    """What _ctypes asks a library for: its dlopen handle (here the program's:
    every libc symbol is found in it)."""

    def __init__(self, handle: int) -> None:
        self._handle = handle


def bind(name: str, keep_gil: bool = False, keep_errno: bool = True) -> "Callable[..., int]":
    """The libc function `name`, returning a C int; errno is kept (errno())
    unless `keep_errno` is False.

    `keep_gil`: the call holds the GIL (ctypes.PyDLL), so the thread state
    is the same on both sides of it: what a fork() made here needs.
    """
    global _handle
    import _ctypes
    if _handle is None:
        _handle = _Program(_ctypes.dlopen(None))

    class Int(_ctypes._SimpleCData):
        _type_ = "i"

    class Func(_ctypes.CFuncPtr):
        _flags_ = (_ctypes.FUNCFLAG_CDECL | (_ctypes.FUNCFLAG_USE_ERRNO if keep_errno else 0)
                   | (_ctypes.FUNCFLAG_PYTHONAPI if keep_gil else 0))
        _restype_ = Int

    return Func((name, _handle))


def errno() -> int:
    """errno as the last bound call left it."""
    import _ctypes
    return _ctypes.get_errno()
