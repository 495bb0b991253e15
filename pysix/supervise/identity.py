"""Who is running: the identity record of a service's process, `supervise/pysix-run`.

s6's status file holds a pid, and a pid alone names nothing: after a reboot,
or once the process is gone, the same number is someone else. The record
adds what makes a process unique on this machine: its start time (clock ticks
since boot, /proc/PID/stat field 22) and the kernel's boot id. A supervisor
adopts or signals a process left by its predecessor only when all three
match.

Lines (one per record, written atomically by the supervisor):
  run PID START BOOT        run is alive
  finish PID START BOOT     finish is alive
  spawning SUPPID TICKS BOOT  about to spawn run (TICKS: clock ticks since boot);
                            a supervisor killed before it could write `run`
                            leaves this, and its successor looks for the child.
The scanner writes `supervise/pysix-reaped` (`PID START WSTAT`) when it reaps
a process that a dead supervisor's record names, so the adopting supervisor
learns the real wait status.
"""
import os
import time

from ..specialised import call

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

RECORD = "supervise/pysix-run"
REAPED = "supervise/pysix-reaped"
KINDS = ("run", "finish", "spawning")

_boot: "Optional[str]" = None
_tck = 0
_READ = os.O_RDONLY | os.O_CLOEXEC


def boot_id() -> str:
    global _boot
    if _boot is None:
        try:
            with open("/proc/sys/kernel/random/boot_id", "rb") as f:
                _boot = f.read().strip().decode("ascii", "replace") or "-"
        except OSError:
            _boot = "-"
    return _boot


def ticks_now() -> int:
    """Clock ticks since boot, the unit of /proc/PID/stat's start time."""
    global _tck
    if not _tck:
        _tck = float(os.sysconf("SC_CLK_TCK"))     # float * float is specialised, float * int not
    return call(int, call(time.clock_gettime, time.CLOCK_BOOTTIME) * _tck)   # call(): specialised.py


def parse_stat(data: bytes) -> "Optional[Tuple[str, int, int, int]]":
    """(state, ppid, session, start ticks) from /proc/PID/stat contents (pure)."""
    try:
        f = data.rsplit(b")", 1)[1].split()
        return f[0].decode("ascii", "replace"), call(int, f[1]), call(int, f[3]), call(int, f[19])
    except (IndexError, ValueError):
        return None


def proc_stat(pid: int) -> "Optional[Tuple[str, int, int, int]]":
    try:
        fd = os.open(f"/proc/{pid}/stat", _READ)
    except OSError:
        return None
    try:
        return parse_stat(os.read(fd, 4096))
    except OSError:
        return None
    finally:
        os.close(fd)


def format_record(kind: str, pid: int, start: int, boot: str) -> bytes:
    return f"{kind} {pid:d} {start:d} {boot}\n".encode("ascii", "replace")


def parse_record(data: bytes) -> "Optional[Tuple[str, int, int, str]]":
    """(kind, pid, start, boot) or None for anything malformed (pure)."""
    parts = data.split(b"\n", 1)[0].split()
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    kind = parts[0].decode("ascii", "replace")
    if kind not in KINDS or int(parts[1]) <= 0:
        return None
    return kind, int(parts[1]), int(parts[2]), parts[3].decode("ascii", "replace")


def matches(rec: "Tuple[str, int, int, str]", boot: str, stat: "Optional[Tuple[str, int, int, int]]") -> bool:
    """The process behind `stat` is exactly the one `rec` names (pure)."""
    return stat is not None and rec[3] == boot and stat[3] == rec[2]


def read_record(path: str = RECORD) -> "Optional[Tuple[str, int, int, str]]":
    if not os.access(path, os.F_OK, follow_symlinks=False):
        return None     # the usual case, without an exception (speed.py)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return parse_record(os.read(fd, 256))
    except OSError:
        return None
    finally:
        os.close(fd)


def read_reaped(pid: int, start: int, path: str = REAPED) -> "Optional[int]":
    """The wait status the scanner recorded for exactly that process, if any."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        parts = os.read(fd, 128).split()
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(parts) == 3 and all(p.isdigit() for p in parts) and int(parts[0]) == pid \
            and int(parts[1]) == start:
        return int(parts[2]) & 0xFFFF
    return None


def find_unrecorded(parent: int, since_ticks: int, cwd: str) -> "List[int]":
    """Candidates for a run spawned by a supervisor killed before it wrote
    its record: session leaders re-parented to `parent` (the scanner) that
    started at or after `since_ticks`; those whose cwd is `cwd` first."""
    found: List[Tuple[int, int]] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for n in names:
        if not n.isdigit():
            continue
        pid = int(n)
        st = proc_stat(pid)
        if st is None or st[1] != parent or st[2] != pid or st[3] < since_ticks - 1:
            continue
        try:
            here = os.readlink("/proc/%d/cwd" % pid) == cwd
        except OSError:
            here = False
        found.append((0 if here else 1, pid))
    return [pid for _, pid in sorted(found)]
