"""prctl(PR_SET_CHILD_SUBREAPER): orphans of our descendants come back to us.

The standard library has no prctl, so this goes through ctypes, whose import
costs 4-9 ms: pysix-svscan calls it after its first forks (speed.py)."""
from __future__ import annotations


def set_subreaper() -> bool:
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0   # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False
