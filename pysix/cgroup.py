"""cgroup v2 for services: find a writable hierarchy, make a service's group, end it.

Used only when /sys/fs/cgroup itself is a cgroup2 mount we may write (the
usual case in a container with its own cgroup namespace); a hybrid host's
/sys/fs/cgroup/unified is not used by default (PYSIX_CGROUP_ROOT names any
mount, for tests). A service's group is `<our cgroup>/pysix-<id>/<name>`, where <id>
is derived from the scan dir, so two trees on one host never share groups.
"""
from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

MOUNT = "/sys/fs/cgroup"
KILL_WAIT = 1.0             # seconds cgroup.kill is given to empty a group


def _is_cgroup2(path: str) -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                parts = pre.split()
                if len(parts) > 4 and parts[4] == path and post.split()[:1] == ["cgroup2"]:
                    return True
    except OSError:
        pass
    return False


_base: Optional[tuple] = None    # (pid, answer): read once by the scanner, before its forks (speed.py)


def base() -> Optional[str]:
    """The writable cgroup2 dir this process is in, or None (session mode).

    Cached per process: a forked supervisor is in its scanner's cgroup."""
    global _base
    if _base is None or _base[0] != os.getppid() and _base[0] != os.getpid():
        _base = (os.getpid(), _find_base())
    return _base[1]


def _find_base() -> Optional[str]:
    root = os.environ.get("PYSIX_CGROUP_ROOT") or MOUNT
    if not _is_cgroup2(root):
        return None
    try:
        with open("/proc/self/cgroup") as f:
            rel = next((ln[3:].strip() for ln in f if ln.startswith("0::")), None)
    except OSError:
        return None
    if rel is None:
        return None
    path = os.path.normpath(root + "/" + rel.lstrip("/"))
    if not os.path.isdir(path):     # a cgroup namespace we are not at the root of: use the mount root
        path = root
    return path if os.access(path, os.W_OK) else None


def service_path(cg_base: str, service_dir: str, name: str) -> str:
    import hashlib      # only where a cgroup is used: its import costs ms
    tree = hashlib.sha1(os.path.dirname(os.path.realpath(service_dir)).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return os.path.join(cg_base, "pysix-" + tree, name.replace("/", "."))


def make(path: str) -> None:
    os.makedirs(path, exist_ok=True)


def enter(path: str, pid: int) -> None:
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write("%d\n" % pid)


def procs(path: str) -> List[int]:
    """Every pid in the group and its descendants."""
    out: List[int] = []
    for d, subdirs, _ in os.walk(path):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                out.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            pass
    return out


def kill_all(path: str) -> bool:
    """cgroup.kill (SIGKILL to every member, atomically); False where the kernel has none."""
    try:
        with open(os.path.join(path, "cgroup.kill"), "w") as f:
            f.write("1")
        return True
    except OSError:
        return False


def wait_empty(path: str, timeout: float = KILL_WAIT) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while procs(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(0.05, delay * 2)
    return True


def remove(path: str) -> None:
    """rmdir the group (and its parent, once empty); a busy one stays."""
    for d in (path, os.path.dirname(path)):
        try:
            os.rmdir(d)
        except OSError:
            return


def memory_current(path: str) -> Optional[int]:
    try:
        with open(os.path.join(path, "memory.current")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None
