"""Reading a service's logger output for people: find the dir, decode, follow.

Where a logger writes is up to its `log/run`, so the dir is found from the
running logger first (the `current` it holds open, seen in /proc), then
from the usual places (`log/main`, the skeleton's $RUNDIR/log/NAME), then
from the last word of a `pysix-log`/`s6-log` line in `log/run`. Lines
stamped with TAI64N (`pysix-log -t tai64n`, s6-log's `t`) get the local
time instead; other lines are shown as they are.
"""
import os
import time

from .status import tain_unpack, unpack_status

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Iterator, List, Optional


def _logger_pid(sd: str) -> int:
    try:
        with open(os.path.join(sd, "log", "supervise", "status"), "rb") as f:
            st = unpack_status(f.read())
    except (OSError, ValueError):
        return 0
    return st.pid if st.up else 0


def _from_proc(pid: int) -> "Optional[str]":
    fds = "/proc/%d/fd" % pid
    try:
        names = os.listdir(fds)
    except OSError:
        return None
    for n in names:
        try:
            target = os.readlink(os.path.join(fds, n))
        except OSError:
            continue
        if os.path.basename(target) == "current" and target.startswith("/"):
            return os.path.dirname(target)
    return None


def _from_script(sd: str) -> "Optional[str]":
    """The last word of the line running pysix-log or s6-log, shell defaults expanded."""
    try:
        with open(os.path.join(sd, "log", "run"), encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    assigned = {}
    for line in lines:
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) == 1 and "=" in words[0] and not words[0].startswith("="):
            k, v = words[0].split("=", 1)
            assigned[k] = _expand(v.strip("\"'"), assigned)
            continue
        if any(os.path.basename(w) in ("pysix-log", "s6-log", "svlogd", "multilog") for w in words):
            d = _expand(words[-1].strip("\"'"), assigned)
            return d if os.path.isabs(d) else os.path.join(sd, "log", d)
    return None


def _expand(word: str, assigned: dict) -> str:
    """$X, ${X} and ${X:-default}, from the script's own assignments, then the environment."""
    out, i = "", 0
    while i < len(word):
        c = word[i]
        if c != "$":
            out += c
            i += 1
            continue
        if word[i + 1:i + 2] == "{":
            j = word.find("}", i)
            if j < 0:
                return out + word[i:]
            body = word[i + 2:j]
            name, _, default = body.partition(":-")
            val = assigned.get(name, os.environ.get(name, ""))
            out += val or _expand(default, assigned)
            i = j + 1
            continue
        j = i + 1
        while j < len(word) and (word[j].isalnum() or word[j] == "_"):
            j += 1
        name = word[i + 1:j]
        out += assigned.get(name, os.environ.get(name, ""))
        i = j
    return out


def find_logdir(scandir: str, name: str) -> "Optional[str]":
    sd = os.path.join(scandir, name)
    pid = _logger_pid(sd)
    d = _from_proc(pid) if pid else None
    if d:
        return d
    rundir = os.path.dirname(os.path.abspath(scandir))
    for cand in (os.path.join(sd, "log", "main"), os.path.join(rundir, "log", name), _from_script(sd)):
        if cand and os.path.isfile(os.path.join(cand, "current")):
            return cand
    return None


def files(logdir: str) -> "List[str]":
    """Archives oldest first (their names sort by time), then `current`."""
    try:
        names = os.listdir(logdir)
    except OSError:
        return []
    arch = sorted(n for n in names if n.startswith("@") and n.endswith((".s", ".u")))
    return [os.path.join(logdir, n) for n in arch] + [os.path.join(logdir, "current")]


def decode(line: bytes) -> str:
    """A line with a leading TAI64N label shown with the local time instead."""
    if len(line) > 25 and line[:1] == b"@" and line[25:26] in (b" ", b"\n", b""):
        try:
            ns = tain_unpack(bytes.fromhex(line[1:25].decode("ascii")))
        except (ValueError, UnicodeDecodeError):
            ns = None
        if ns is not None:
            sec, rest = divmod(ns, 1_000_000_000)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(sec)) + ".%06d" % (rest // 1000)
            line = stamp.encode() + line[25:]
    return line.decode("utf-8", "replace")


def tail(logdir: str, n: int) -> "List[bytes]":
    """The last n lines across archives and `current` (n < 0: all)."""
    out: List[bytes] = []
    for fn in reversed(files(logdir)):
        try:
            with open(fn, "rb") as f:
                lines = f.read().splitlines(keepends=True)
        except OSError:
            continue
        out = lines + out
        if 0 <= n <= len(out):
            break
    return out if n < 0 else out[len(out) - n:] if n else []


class Follower:
    """New lines of DIR/current, across rotations (the file renamed, a new one made)."""

    def __init__(self, logdir: str) -> None:
        self.path = os.path.join(logdir, "current")
        self.f = None
        self.ino = -1
        self.partial = b""
        self._open(at_end=True)

    def _open(self, at_end: bool) -> None:
        try:
            f = open(self.path, "rb")
        except OSError:
            return
        if self.f is not None:
            self.f.close()
        self.f = f
        self.ino = os.fstat(f.fileno()).st_ino
        if at_end:
            f.seek(0, os.SEEK_END)

    def poll(self) -> "List[bytes]":
        out: List[bytes] = []
        if self.f is not None:
            out += self._drain()
        try:
            ino = os.stat(self.path).st_ino
        except OSError:
            ino = -1
        if ino != -1 and ino != self.ino:    # rotated: finish the old file, start the new one
            if self.f is not None:
                out += self._drain()
            self._open(at_end=False)
            out += self._drain()
        return out

    def _drain(self) -> "List[bytes]":
        data = self.partial + (self.f.read() or b"")
        lines = data.splitlines(keepends=True)
        self.partial = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        return lines


def follow(dirs: "List[str]") -> "Iterator[List[List[bytes]]]":
    """The new lines of each dir (a list per dir), each time one changes. Never ends.

    Woken by dnotify (a write to `current`, a rotation's rename), not by
    polling; the signal is blocked and taken with sigtimedwait, so no
    handler runs. Without dnotify, it looks every 0.2 s.
    """
    import _signal
    import fcntl
    fs = [Follower(d) for d in dirs]
    watched = []
    _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGIO})
    for d in dirs:
        try:
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_MODIFY | fcntl.DN_CREATE | fcntl.DN_RENAME
                        | fcntl.DN_DELETE | fcntl.DN_MULTISHOT)
            watched.append(fd)
        except OSError:
            watched = []
            break
    # A write between reading and waiting leaves SIGIO pending: nothing is missed.
    timeout = 5.0 if watched else 0.2
    while True:
        yield [f.poll() for f in fs]
        _signal.sigtimedwait({_signal.SIGIO}, timeout)
