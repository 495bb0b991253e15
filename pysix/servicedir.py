"""Reading a service directory's small files with s6 2.11's exact rules.

`parse_uint()` and `parse_signal_file()` are pure (bytes in, value or error
out) so the supervisor, the linter and the tests agree on what is valid.
The `read_*` helpers open files relative to a directory and return
(value, error message or None); the caller decides how to report.
"""
import errno
import os
import stat
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)

from .signames import parse_signal
from .specialised import getitem

# Open flags folded once: CPython 3.12 does not specialise `|` on ints, so each
# call's ORs would write its code's page in every forked supervisor (speed.py).
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

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
    "restart-limit", "on-failure", "requires",
    # the settings unit files have (pysix.units.lint checks them)
    "restart", "restart-delay", "exit-container-on-failure", "user", "group",
    "working-directory", "conditions", "unit.json",
    "socket", "kill-mode", "pysix-generated",   # sockets/, killmode.py
})

DEFAULT_TIMEOUT_FINISH = 5000
DEFAULT_MAX_DEATH_TALLY = 100
MAX_DEATH_TALLY = 4096


def parse_uint(data: bytes) -> "Optional[int]":
    """s6's integer file rule: first 11 bytes, cut at newline, digits only, 32 bits."""
    data = data[:11].split(b"\n", 1)[0]
    if not data or not data.isdigit():
        return None
    n = int(data)
    return n if n < (1 << 32) else None


def parse_signal_file(data: bytes) -> "Optional[int]":
    """First line of `down-signal` (15 bytes at most): a name or a number."""
    line = data[:15].split(b"\n", 1)[0]
    try:
        return parse_signal(line.decode("ascii"))
    except UnicodeDecodeError:
        return None


QUOTE_MAX = 60          # characters of a file's content a message quotes
LINES_MAX = 65536       # bytes of a list file (dependencies, on-failure) read at most


class BadFile(OSError):
    """A service-dir file that cannot be used; str() is one line naming it and why.

    An OSError, so callers that catch OSError keep working; `strerror` is the
    short problem ("is a directory"), `reason` the whole line.
    """

    def __init__(self, path: str, problem: str, err: int = 0) -> None:
        super().__init__(err, problem, path)
        self.reason = "%s: %s" % (path, problem)

    def __str__(self) -> str:
        return self.reason


def quote(data: bytes, limit: int = QUOTE_MAX) -> str:
    """File content for a message: quoted, escaped to printable ASCII, at most
    `limit` characters of it (then "...")."""
    out = []
    n = 0
    for b in data[:limit]:
        c = _ESCAPES.get(b) or (chr(b) if 32 <= b < 127 else "\\x%02x" % b)
        if n + len(c) > limit:
            break
        out.append(c)
        n += len(c)
    cut = len(out) < len(data)
    return "'%s'%s" % ("".join(out), "..." if cut else "")


_ESCAPES = {10: "\\n", 9: "\\t", 13: "\\r", 92: "\\\\", 39: "\\'"}


def os_problem(e: "OSError") -> str:
    """What an OSError means, in words (EMFILE and ENFILE name what ran out)."""
    if e.errno in (errno.EMFILE, errno.ENFILE):
        return "out of file descriptors"
    if e.errno == errno.ELOOP:
        return "too many levels of symlinks"
    return (e.strerror or str(e)).lower() if e.strerror else str(e)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def in_dir(sd: str, name: str) -> str:
    """os.path.join(sd, name) for a relative name, as concatenation: CPython
    3.12 never specialises a call to join (it takes *args), and in a
    supervisor an unspecialised call writes a page (speed.py)."""
    return sd + name if not sd or sd[-1:] == "/" else sd + "/" + name


def lexists(path: str) -> bool:
    """os.path.lexists without raising: an absent file costs one faccessat2,
    not an OSError (a supervisor tests ~15 optional files per start; see speed.py)."""
    return os.access(path, os.F_OK, follow_symlinks=False)


def open_regular(sd: str, name: str) -> "Optional[int]":
    """An fd on sd/name if it is a regular file (symlinks followed), None if absent.

    Never blocks (a FIFO is opened O_NONBLOCK and refused); raises BadFile
    for a dangling symlink, a directory, a FIFO, an unreadable file...
    """
    path = in_dir(sd, name)
    if not lexists(path):
        return None         # absent (a missing parent counts as absent too)
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        try:
            target = os.readlink(path)
        except OSError:
            return None     # absent (a missing parent counts as absent too)
        raise BadFile(path, "dangling symlink to %s" % quote(os.fsencode(target)), errno.ENOENT)
    except OSError as e:
        raise BadFile(path, "cannot open: %s" % os_problem(e), e.errno or 0)
    try:
        mode = getitem(os.fstat(fd), stat.ST_MODE)     # .st_mode: never specialised (specialised.py)
    except OSError as e:
        os.close(fd)
        raise BadFile(path, "cannot stat: %s" % os_problem(e), e.errno or 0)
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((k for test, k in _KINDS if test(mode)), "not a regular file")
        raise BadFile(path, "is %s, not a regular file" % kind, errno.EISDIR if stat.S_ISDIR(mode) else 0)
    return fd


def read_small(dirfd_path: str, name: str, limit: int = 64) -> "Optional[bytes]":
    """File contents (at most `limit` bytes), or None if it does not exist.

    Anything odd (directory, FIFO, dangling symlink, unreadable) raises
    BadFile, an OSError whose str() is the one-line reason.
    """
    fd = open_regular(dirfd_path, name)
    if fd is None:
        return None
    try:
        return os.read(fd, limit)
    except OSError as e:
        raise BadFile(os.path.join(dirfd_path, name), "cannot read: %s" % os_problem(e), e.errno or 0)
    finally:
        os.close(fd)


def read_file(sd: str, name: str, limit: int = 64) -> "Tuple[Optional[bytes], Optional[str]]":
    """(contents or None if absent, None) or (None, one-line reason)."""
    try:
        return read_small(sd, name, limit), None
    except BadFile as e:
        return None, e.reason


def read_uint(sd: str, name: str, default: "Optional[int]") -> "Tuple[Optional[int], Optional[str]]":
    """An integer file: (value, None), or (default, 'why') when it is bad."""
    data, why = read_file(sd, name, 11)
    if why:
        return default, why
    if data is None:
        return default, None
    n = parse_uint(data)
    if n is None:
        return default, "%s/%s: invalid value %s (want a non-negative integer)" % (
            sd, name, quote(data[:11].split(b"\n", 1)[0]))
    return n, None


def read_down_signal(sd: str) -> "Tuple[int, Optional[str]]":
    data, why = read_file(sd, "down-signal", 15)
    if why:
        return signal.SIGTERM, why + ", using SIGTERM"
    if data is None:
        return signal.SIGTERM, None
    sig = parse_signal_file(data)
    if sig is None:
        return signal.SIGTERM, "%s/down-signal: invalid signal %s, using SIGTERM" % (
            sd, quote(data.split(b"\n", 1)[0]))
    return sig, None


def is_executable(path: str) -> bool:
    return lexists(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def read_lines(sd: str, name: str) -> "Optional[list]":
    """Non-empty, non-comment lines of a text file; None if it does not exist.

    Raises BadFile (an OSError) when it is odd, too large or binary.
    """
    lines, why = read_lines_checked(sd, name)
    if why:
        raise BadFile(os.path.join(sd, name), why.split(": ", 1)[1] if ": " in why else why)
    return lines


def read_lines_checked(sd: str, name: str) -> "Tuple[Optional[list], Optional[str]]":
    """(lines or None if absent, None), or (None, one-line reason)."""
    data, why = read_file(sd, name, LINES_MAX + 1)
    if why or data is None:
        return None, why
    path = in_dir(sd, name)
    if len(data) > LINES_MAX:
        return None, "%s: larger than %d bytes" % (path, LINES_MAX)
    if b"\0" in data:
        return None, "%s: binary content (NUL byte): %s" % (path, quote(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "%s: not UTF-8 text: %s" % (path, quote(data))
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out, None
