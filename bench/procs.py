"""Process bookkeeping for the benchmarks: find, kill and reap everything a run started.

The runner makes itself a child subreaper, so nothing it starts can escape to
the host's init (runsv with `runsvdir -P`, services that setsid, orphans of a
killed root all come back to it); at the end it kills every descendant and
reaps them. As a second net, anything running under the work
dir (by cwd) is found by `under()`.
"""
from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import threading
import time
from typing import Dict, Iterable, List, Optional, Tuple

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid: int) -> List[str]:
    """Fields of /proc/PID/stat after the comm: [state, ppid, pgrp, ...]."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def children_map() -> Dict[int, List[int]]:
    kids: Dict[int, List[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                kids.setdefault(int(_stat(int(d))[1]), []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def children(pid: int) -> List[int]:
    """pid's children, from /proc/PID/task/*/children (no full /proc scan)."""
    out: List[int] = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def descendants(root: int, kids: Optional[Dict[int, List[int]]] = None) -> List[int]:
    """root and all its descendants, root first."""
    if kids is None and not os.path.exists("/proc/self/task/%d/children" % os.getpid()):
        kids = children_map()   # kernel without CONFIG_PROC_CHILDREN
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []) if kids is not None else children(p))
    return out


def pss_kib(pids: Iterable[int]) -> int:
    """Sum of `Pss:` in /proc/PID/smaps_rollup over pids."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def alive(pid: int) -> bool:
    """Running (a zombie counts as gone)."""
    try:
        return _stat(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def under(path: str) -> List[int]:
    """Live processes whose cwd lies under path (the work dir; every service runs in its dir)."""
    path = os.path.realpath(path)
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % d)
        except OSError:
            continue
        if cwd.endswith(" (deleted)"):
            cwd = cwd[:-len(" (deleted)")]
        if (cwd == path or cwd.startswith(path + "/")) and alive(int(d)):
            out.append(int(d))
    return out


def kill(pids: Iterable[int]) -> None:
    """SIGKILL each pid and its process group (services often lead their own)."""
    for pid in pids:
        if pid <= 1 or pid == os.getpid():
            continue
        for target in (-pid, pid):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass


def reap() -> None:
    """Collect every exited child (as subreaper, orphans come back to us)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_everything(work: str, timeout: float = 5.0) -> List[int]:
    """Kill all our descendants and all processes under work; return those still alive after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        me = os.getpid()
        left = [p for p in descendants(me)[1:] if alive(p)] + under(work)
        # Our own tool processes (ps, pgrep...) are not ours to leave; nothing else should be.
        if not left:
            reap()
            return []
        kill(left)
        reap()
        if time.monotonic() > deadline:
            return left
        time.sleep(0.01)


def wait_exit(p: subprocess.Popen, timeout: float) -> bool:
    """Wait for p to exit, waking the moment it does (a pidfd; Popen.wait(timeout)
    sleeps in steps growing to 50 ms, which would quantise the timings); reap it."""
    if p.poll() is not None:
        return True
    try:
        fd = os.pidfd_open(p.pid)
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        try:
            select.select([fd], [], [], timeout)
        finally:
            os.close(fd)
    else:
        deadline = time.monotonic() + timeout
        while p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0002)
    try:
        p.wait(0)
        return True
    except subprocess.TimeoutExpired:
        return False


def run_timed(argv: List[str], timeout: float) -> Tuple[int, str, float]:
    """Run argv to its end: (exit code, stderr, ms). Waits without polling (communicate()
    with a timeout would poll); a timer kills it after timeout."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    try:
        _, err = p.communicate()
    finally:
        timer.cancel()
    return p.returncode, err, (time.perf_counter() - t0) * 1000


def wait_gone(pid: int, timeout: float, fd: int = -1) -> bool:
    """Wait until pid (not necessarily our child) has exited: on fd, a pidfd opened
    on it beforehand (readable the moment it exits), else by polling /proc."""
    if fd >= 0:
        r, _, _ = select.select([fd], [], [], timeout)
        return bool(r) or not alive(pid)
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0002)
    return True


def pidfd(pid: int) -> int:
    """A pidfd on pid, or -1 where the kernel or Python has none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return -1


def kill_group(p: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGKILL p's process group if p still runs (once reaped, its pid may be someone
    else's), then wait for p, bounded; reaps it."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    wait_exit(p, timeout)


def clean_up(work: str, timeout: float = 5.0) -> None:
    """After one run: SIGKILL all our descendants and everything under work, wait, reap."""
    pids = set(descendants(os.getpid())[1:]) | set(under(work))
    kill(pids)
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.001)
    reap()
