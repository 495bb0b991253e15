"""Reading a service directory's small files with s6 2.11's exact rules.

`parse_uint()` and `parse_signal_file()` are pure (bytes in, value or error
out) so the supervisor, the linter and the tests agree on what is valid.
The `read_*` helpers open files relative to a directory and return
(value, error message or None); the caller decides how to report.
"""
from __future__ import annotations

import os
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)

from .signames import parse_signal

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Optional, Tuple

# Files s6-supervise and pysix give a meaning to; anything else in a
# service directory is ignored by the supervisor (the linter warns).
KNOWN_FILES = frozenset({
    "run", "finish", "down", "notification-fd", "lock-fd", "timeout-kill",
    "timeout-finish", "max-death-tally", "down-signal", "nosetsid",
    "flag-newpidns", "template", "instance", "instances", "data", "env",
    "log", "supervise", "event", "README", "README.md",
    # pysix additions
    "dependencies", "primary", "check", "timeout-ready", "type",
    "restart-limit", "on-failure",
})

DEFAULT_TIMEOUT_FINISH = 5000
DEFAULT_MAX_DEATH_TALLY = 100
MAX_DEATH_TALLY = 4096


def parse_uint(data: bytes) -> Optional[int]:
    """s6's integer file rule: first 11 bytes, cut at newline, digits only, 32 bits."""
    data = data[:11].split(b"\n", 1)[0]
    if not data or not data.isdigit():
        return None
    n = int(data)
    return n if n < (1 << 32) else None


def parse_signal_file(data: bytes) -> Optional[int]:
    """First line of `down-signal` (15 bytes at most): a name or a number."""
    line = data[:15].split(b"\n", 1)[0]
    try:
        return parse_signal(line.decode("ascii"))
    except UnicodeDecodeError:
        return None


def read_small(dirfd_path: str, name: str, limit: int = 64) -> Optional[bytes]:
    """File contents (at most `limit` bytes), or None if it does not exist.

    Other errors propagate as OSError so the caller can name them.
    """
    try:
        fd = os.open(os.path.join(dirfd_path, name), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


def read_uint(sd: str, name: str, default: Optional[int]) -> Tuple[Optional[int], Optional[str]]:
    """An integer file: (value, None), or (default, 'why') when it is bad."""
    try:
        data = read_small(sd, name, 11)
    except OSError as e:
        return default, "%s/%s: cannot read: %s" % (sd, name, e.strerror)
    if data is None:
        return default, None
    n = parse_uint(data)
    if n is None:
        return default, "%s/%s: invalid value %r (want a non-negative integer)" % (
            sd, name, data[:11].split(b"\n", 1)[0].decode("ascii", "replace"))
    return n, None


def read_down_signal(sd: str) -> Tuple[int, Optional[str]]:
    try:
        data = read_small(sd, "down-signal", 15)
    except OSError as e:
        return signal.SIGTERM, "%s/down-signal: cannot read: %s" % (sd, e.strerror)
    if data is None:
        return signal.SIGTERM, None
    sig = parse_signal_file(data)
    if sig is None:
        return signal.SIGTERM, "%s/down-signal: invalid signal %r, using SIGTERM" % (
            sd, data.split(b"\n", 1)[0].decode("ascii", "replace"))
    return sig, None


def is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def read_lines(sd: str, name: str) -> Optional[list]:
    """Non-empty, non-comment lines of a text file; None if it does not exist."""
    try:
        with open(os.path.join(sd, name), "rb") as f:
            text = f.read(65536).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out
