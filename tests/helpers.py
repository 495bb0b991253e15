"""Helpers for process tests: service dirs, bounded waits, process clean-up."""
import os
import signal
import subprocess
import time
from typing import Callable, List, Optional

from pysix.policy import STATE_FILE, PolicyState, parse_state
from pysix.status import Status, unpack_status


def make_sd(path: str, run: Optional[str], **files: str) -> str:
    """A service dir with a `run` shell script and extra files.

    `files` maps names (use '_' for '-', e.g. notification_fd='3') to contents;
    a value starting with '#!' is made executable.
    """
    os.makedirs(path, exist_ok=True)
    if run is not None:
        write_exec(os.path.join(path, "run"), "#!/bin/sh\n" + run + "\n")
    for name, content in files.items():
        fn = os.path.join(path, name.replace("_", "-"))
        if content.startswith("#!"):
            write_exec(fn, content)
        else:
            with open(fn, "w") as f:
                f.write(content)
    return path


def write_exec(fn: str, content: str) -> None:
    with open(fn, "w") as f:
        f.write(content)
    os.chmod(fn, 0o755)


def wait_for(pred: Callable[[], object], timeout: float = 5.0, interval: float = 0.01, what: str = "condition"):
    """Poll `pred` until it returns a true value; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def read_status(sd: str) -> Optional[Status]:
    try:
        with open(os.path.join(sd, "supervise", "status"), "rb") as f:
            return unpack_status(f.read())
    except (OSError, ValueError):
        return None


def up_pid(sd: str) -> int:
    """The pid of a service's run process while its status says up; 0 otherwise."""
    st = read_status(sd)
    return st.pid if st is not None and st.up else 0


def stop(p: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM a supervisor or scanner we started and wait for it to exit."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout)


def pid1_of(p: subprocess.Popen, timeout: float = 10.0) -> int:
    """Host pid of the PID 1 of the namespace `p` (an `unshare --pid --fork`) made: its child."""
    def child() -> Optional[int]:
        try:
            for t in os.listdir("/proc/%d/task" % p.pid):
                with open("/proc/%d/task/%s/children" % (p.pid, t)) as f:
                    kids = f.read().split()
                if kids:
                    return int(kids[0])
        except OSError:
            pass
        return None
    return wait_for(child, timeout=timeout, what="PID 1 of the namespace")


def read_pysix_state(sd: str) -> Optional[PolicyState]:
    """pysix's own `supervise/pysix-state` of a service dir; None if absent or unreadable."""
    try:
        with open(os.path.join(sd, STATE_FILE), "rb") as f:
            return parse_state(f.read())
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as dead.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ProcSet:
    """Processes started by a test, each in its own session; killed at the end."""

    def __init__(self) -> None:
        self.procs: List[subprocess.Popen] = []
        self.pids: List[int] = []     # other processes a test made: SIGKILLed by pid at the end

    def track(self, *pids: int) -> None:
        self.pids.extend(p for p in pids if p)

    def busy(self, n: int = 3) -> None:
        """Keep the cores busy with `n` CPU-bound loops until the test ends."""
        import sys
        for _ in range(n):
            self.start([sys.executable, "-c", "while True: pass"])

    def start(self, args, **kw) -> subprocess.Popen:
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def kill_all(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for p in self.procs:
            if p.poll() is None:
                for sig in (signal.SIGTERM,):
                    try:
                        os.killpg(p.pid, sig)
                    except OSError:
                        pass
        deadline = time.monotonic() + 3
        for p in self.procs:
            try:
                p.wait(max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                pass


def kill_tree_of(sd: str) -> None:
    """Kill whatever pid a status file names (test clean-up for orphans)."""
    st = read_status(sd)
    if st and st.pid:
        try:
            os.kill(st.pid, signal.SIGKILL)
        except OSError:
            pass
