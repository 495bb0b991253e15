"""The supervision systems the benchmarks compare, each behind the same small interface.

Every service is a `run` that marks its start with a file `started/NAME.PID`
(one per incarnation) and execs a long sleep, so boot, restart and stop are
seen the same way for every system.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from typing import List, Optional

import procs

SLEEP = "exec sleep 100000"


def which(cmd: str) -> Optional[str]:
    return shutil.which(cmd)


class System:
    name = "?"
    needs: List[str] = []
    # The metrics (the `what` of Bench.each, by prefix) a system takes part in; None: all
    only_in: Optional[tuple] = None

    def __init__(self, work: str) -> None:
        self.work = work
        self.proc: Optional[subprocess.Popen] = None
        self.n = 0

    # layout ----------------------------------------------------------------
    def service_dir(self, i: int) -> str:
        return os.path.join(self.work, "scan", "s%d" % i)

    def run_script(self, i: int) -> str:
        return "#!/bin/sh\n: > %s/started/s%d.$$\n%s\n" % (self.work, i, SLEEP)

    def setup(self, n: int) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(os.path.join(self.work, "started"))
        self.n = n
        for i in range(n):
            d = self.service_dir(i)
            os.makedirs(d)
            with open(os.path.join(d, "run"), "w") as f:
                f.write(self.run_script(i))
            os.chmod(os.path.join(d, "run"), 0o755)
        self.backdate()

    def backdate(self, seconds: float = 10.0) -> None:
        """Make the tree look old, as an image's is: runsvdir ignores a scan dir
        changed within the current second, which would add up to 1 s to its boot."""
        t = time.time() - seconds
        for top, dirs, files in os.walk(self.work):
            for name in dirs + files:
                os.utime(os.path.join(top, name), (t, t))

    # life ------------------------------------------------------------------
    def command(self) -> List[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.work)

    def stop_signal(self) -> int:
        return signal.SIGTERM

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal())

    def kill_all(self) -> None:
        """Clean-up after a metric, whatever happened: the root's whole tree, the services
        and supervisors that left it, anything still living under the work dir."""
        # One system runs at a time, so all our descendants are its (we are a subreaper:
        # escaped services come back to us) and so is what runs in its work dir. Never a
        # pid from a marker or a reaped root as such: pids are reused (pid_max may be 32768).
        pids = set(procs.descendants(os.getpid())[1:]) | set(procs.under(self.work))
        procs.kill(pids)
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        wait_until(lambda: not any(procs.alive(p) for p in pids), 5, 0.001)
        procs.reap()
        self.proc = None

    # observation -----------------------------------------------------------
    def mark_start(self) -> None:
        """A file made right before start(): its time is what run_starts() counts from."""
        with open(os.path.join(self.work, "boot-t0"), "w"):
            pass

    def run_starts(self) -> List[float]:
        """When each marker was made, in ms after mark_start(), sorted. File times are
        the kernel's coarse clock (a tick, 4 ms here, and behind the fine one by up to
        two), so both ends are read from files: each figure is good to ~4 ms."""
        t0 = os.stat(os.path.join(self.work, "boot-t0")).st_mtime_ns
        started = os.path.join(self.work, "started")
        return sorted((os.stat(os.path.join(started, m)).st_mtime_ns - t0) / 1e6 for m in self.markers())

    def markers(self) -> List[str]:
        try:
            return os.listdir(os.path.join(self.work, "started"))
        except OSError:
            return []

    def started_names(self) -> set:
        return {m.split(".")[0] for m in self.markers()}

    def service_pids(self) -> List[int]:
        return [int(m.split(".")[1]) for m in self.markers()]

    def supervision_pids(self) -> List[int]:
        """The root and its descendants, minus the services and theirs."""
        if self.proc is None:
            return []
        services = set(self.service_pids())
        out, todo = [], [self.proc.pid]
        while todo:
            p = todo.pop()
            if p in services:
                continue
            out.append(p)
            todo.extend(procs.children(p))
        return out

    # control -----------------------------------------------------------------
    def down_wait(self, i: int) -> List[str]:
        raise NotImplementedError

    def up_wait(self, i: int) -> List[str]:
        raise NotImplementedError

    def status(self, i: int) -> List[str]:
        raise NotImplementedError


class S6(System):
    name = "s6"
    needs = ["s6-svscan", "s6-svc", "s6-svstat"]

    def command(self) -> List[str]:
        return ["s6-svscan", os.path.join(self.work, "scan")]

    def down_wait(self, i):
        return ["s6-svc", "-wd", "-T", "5000", "-d", self.service_dir(i)]

    def up_wait(self, i):
        return ["s6-svc", "-wu", "-T", "5000", "-u", self.service_dir(i)]

    def status(self, i):
        return ["s6-svstat", self.service_dir(i)]


class Pysix(S6):
    name = "pysix"
    needs = ["pysix-svscan", "pysix-svc", "pysix-svstat"]

    def command(self):
        return ["pysix-svscan", os.path.join(self.work, "scan")]

    def down_wait(self, i):
        return ["pysix-svc", "-wd", "-T", "5000", "-d", self.service_dir(i)]

    def up_wait(self, i):
        return ["pysix-svc", "-wu", "-T", "5000", "-u", self.service_dir(i)]

    def status(self, i):
        return ["pysix-svstat", self.service_dir(i)]


class Runit(System):
    name = "runit"
    needs = ["runsvdir", "runsv", "sv"]

    def command(self):
        return ["runsvdir", "-P", os.path.join(self.work, "scan")]

    def stop_signal(self):
        return signal.SIGHUP   # runsvdir: TERM every runsv (each stops its service), then exit

    def down_wait(self, i):
        return ["sv", "-w", "5", "down", self.service_dir(i)]

    def up_wait(self, i):
        return ["sv", "-w", "5", "up", self.service_dir(i)]

    def status(self, i):
        return ["sv", "status", self.service_dir(i)]


class Supervisord(System):
    name = "supervisord"
    needs = ["supervisord", "supervisorctl"]

    def setup(self, n: int) -> None:
        super().setup(n)
        conf = ["[supervisord]", "nodaemon=true", "logfile=%s/supervisord.log" % self.work,
                "pidfile=%s/supervisord.pid" % self.work, "loglevel=warn",
                "[unix_http_server]", "file=%s/supervisor.sock" % self.work,
                "[rpcinterface:supervisor]",
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
                "[supervisorctl]", "serverurl=unix://%s/supervisor.sock" % self.work]
        for i in range(n):
            conf += ["[program:s%d]" % i, "command=%s/run" % self.service_dir(i), "startsecs=0",
                     "autorestart=true", "stopwaitsecs=10", "stdout_logfile=NONE", "stderr_logfile=NONE"]
        with open(os.path.join(self.work, "supervisord.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        self.backdate()

    def command(self):
        return ["supervisord", "-n", "-c", os.path.join(self.work, "supervisord.conf")]

    def ctl(self, *args):
        return ["supervisorctl", "-c", os.path.join(self.work, "supervisord.conf")] + list(args)

    def down_wait(self, i):
        return self.ctl("stop", "s%d" % i)

    def up_wait(self, i):
        return self.ctl("start", "s%d" % i)

    def status(self, i):
        return self.ctl("status", "s%d" % i)


class Floor(System):
    """The floor of a forked CPython supervisor (bench/floor.py), on the bench's
    interpreter: what pysix's per-supervisor CPU and memory are measured against."""
    name = "floor"
    only_in = ("boot N=", "stop-all N=", "PSS N=", "explain")
    args: List[str] = []

    def command(self):
        return [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor.py"),
                os.path.join(self.work, "scan")] + self.args


class FloorSized(Floor):
    """The same floor, forked from a scanner that has imported and prepared what
    pysix-svscan does: the difference to `floor` is what the scanner's size costs."""
    name = "floor-sized"
    args = ["--pysix-sized"]


class FloorS6(Floor):
    """The floor doing s6-supervise's on-disk protocol too (event/, events, death_tally,
    the status writes s6 does): the floor of a forked Python supervisor s6's tools drive."""
    name = "floor-s6"
    args = ["--s6-protocol"]


class FloorPysix(Floor):
    """floor-s6 plus the system calls pysix's supervisor makes beyond s6's (identity
    record, pysix-state, its looks for optional files, the tree-stop check), with no
    Python logic around them: the rest of pysix's figure is its code."""
    name = "floor-pysix"
    args = ["--pysix-protocol"]


class FloorS6Prepared(Floor):
    """floor-s6 prepared before its forks as pysix's scanner prepares its own
    (the life rehearsed, immortal objects, libc's fork): floor.py --prepared."""
    name = "floor-s6-prep"
    args = ["--s6-protocol", "--prepared"]


class FloorPysixPrepared(Floor):
    """floor-pysix prepared the same way: the least pysix's calls cost a supervisor
    forked as pysix forks its own; pysix's figure minus this is its code."""
    name = "floor-pysix-prep"
    args = ["--pysix-protocol", "--prepared"]


TREES = [Pysix, S6, Runit, Supervisord, Floor, FloorSized, FloorS6, FloorPysix,
         FloorS6Prepared, FloorPysixPrepared]


def wait_until(pred, timeout: float, step: float = 0.0005) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
