"""Sending a signal where the target may already be gone: the one kill helper."""
import os


def kill(pid: int, sig: int) -> bool:
    """Signal `pid` (a negative pid: its process group); False if it is gone or not ours."""
    try:
        os.kill(pid, sig)
        return True
    except OSError:
        return False


def pidfd_kill(fd: int, sig: int) -> bool:
    """Signal the one process a pidfd names (never a newer owner of its pid)."""
    import _signal
    try:
        _signal.pidfd_send_signal(fd, sig)
        return True
    except OSError:
        return False
