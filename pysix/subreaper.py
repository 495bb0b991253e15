"""prctl(PR_SET_CHILD_SUBREAPER): orphans of our descendants come back to us.

The standard library has no prctl: it is called through `_ctypes` alone
(cfunc.py), after pysix-svscan's first forks (speed.py)."""
PR_SET_CHILD_SUBREAPER = 36


def set_subreaper() -> bool:
    try:
        from .cfunc import bind
        return bind("prctl")(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError, ImportError):
        return False
