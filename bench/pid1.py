"""PID 1 in a PID namespace: pysix-init against s6-svscan, tini and dumb-init.

Each init runs one "child" program (as its CMD, or as s6-svscan's only
service). Three scenarios: a storm of orphans (time until no zombie is left,
zombies leaked), SIGTERM to PID 1 (until the child got it, until PID 1
exited), and the exit code of PID 1 when its child exits 42.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional

import procs

# The child: makes N orphans (each a grandchild whose parent exits at once),
# then watches the namespace's /proc until no zombie is left; writes
# "total_ms tail_ms leaked" to OUT (tail: from the last orphan made until no
# zombie was left; leaked: zombies still there 5 s after the storm) and exits 42.
STORM = r'''
import os, sys, time
n, out = int(sys.argv[1]), sys.argv[2]
t0 = time.monotonic()
for _ in range(n):
    if os.fork() == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
    os.wait()
t1 = time.monotonic()
def zombies():
    z = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        z += 1
            except OSError:
                pass
    return z
left = zombies()
while left and time.monotonic() - t1 < 5:
    time.sleep(0.001)
    left = zombies()
t2 = time.monotonic()
with open(out, "w") as f:
    f.write("%.3f %.3f %d" % ((t2 - t0) * 1000, (t2 - t1) * 1000, left))
sys.exit(42)
'''

TERM_CHILD = r'''
import signal, sys, time, os
out = sys.argv[1]
def got(s, f):
    open(out, "w").write("%.9f" % time.time())
    sys.exit(0)
signal.signal(signal.SIGTERM, got)
open(out + ".ready", "w").close()
while True:
    time.sleep(1)
'''


class Init:
    name = "?"
    needs: List[str] = []

    def __init__(self, work: str) -> None:
        self.work = work

    def argv(self, child: List[str]) -> List[str]:
        raise NotImplementedError


class PysixInit(Init):
    name = "pysix"
    needs = ["pysix-init"]

    def argv(self, child):
        root = os.path.join(self.work, "root")
        os.makedirs(os.path.join(root, "etc", "services.d"), exist_ok=True)
        return ["pysix-init", "--root", root, "--"] + child


class Tini(Init):
    name = "tini"
    needs = ["tini"]

    def argv(self, child):
        return ["tini", "--"] + child


class DumbInit(Init):
    name = "dumb-init"
    needs = ["dumb-init"]

    def argv(self, child):
        return ["dumb-init"] + child


class S6Svscan(Init):
    """s6-svscan as PID 1 with the child as its only service (s6 has no CMD)."""
    name = "s6"
    needs = ["s6-svscan"]

    def argv(self, child):
        sd = os.path.join(self.work, "scan", "child")
        shutil.rmtree(os.path.join(self.work, "scan"), ignore_errors=True)
        os.makedirs(sd)
        with open(os.path.join(sd, "run"), "w") as f:
            f.write("#!/bin/sh\nexec %s\n" % " ".join("'%s'" % a for a in child))
        with open(os.path.join(sd, "finish"), "w") as f:
            # When the child ends, stop the whole tree, as a container would.
            f.write("#!/bin/sh\nexec s6-svscanctl -t ..\n")
        os.chmod(os.path.join(sd, "run"), 0o755)
        os.chmod(os.path.join(sd, "finish"), 0o755)
        return ["s6-svscan", os.path.join(self.work, "scan")]


INITS = [PysixInit, S6Svscan, Tini, DumbInit]
NS = ["unshare", "--pid", "--fork", "--mount-proc"]


def _ns_pid1(p: subprocess.Popen, timeout: float = 5.0) -> Optional[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = procs.children(p.pid)
        if kids:
            return kids[0]
        if p.poll() is not None:   # unshare is gone: no PID 1 will come
            return None
        time.sleep(0.001)
    return None


def storm(init: Init, orphans: int) -> Dict[str, float]:
    out = os.path.join(init.work, "storm.out")
    script = os.path.join(init.work, "storm.py")
    with open(script, "w") as f:
        f.write(STORM)
    if os.path.exists(out):
        os.unlink(out)
    p = subprocess.Popen(NS + init.argv([sys.executable, script, str(orphans), out]),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=init.work)
    try:
        code = p.wait(60)
    finally:
        procs.kill_group(p)   # the namespace's processes die with its PID 1
    if not os.path.exists(out):   # the child never finished its count
        return {"storm_ms": None, "reap_ms": None, "zombies_leaked": None, "exit_code_child_42": code}
    with open(out) as f:
        total, tail, leaked = f.read().split()
    return {"storm_ms": float(total), "reap_ms": float(tail), "zombies_leaked": int(leaked),
            "exit_code_child_42": code}


def term(init: Init) -> Dict[str, float]:
    out = os.path.join(init.work, "term.out")
    script = os.path.join(init.work, "term.py")
    with open(script, "w") as f:
        f.write(TERM_CHILD)
    for fn in (out, out + ".ready"):
        if os.path.exists(fn):
            os.unlink(fn)
    p = subprocess.Popen(NS + init.argv([sys.executable, script, out]),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=init.work)
    try:
        pid1 = _ns_pid1(p)
        if pid1 is None:
            raise RuntimeError("no PID 1 appeared in the namespace")
        deadline = time.monotonic() + 10
        while not os.path.exists(out + ".ready") and time.monotonic() < deadline:
            time.sleep(0.001)
        if not os.path.exists(out + ".ready"):
            raise RuntimeError("the child never started")
        time.sleep(0.05)   # PID 1 has done its start-up: its memory as it idles
        pss = procs.pss_kib([pid1])
        t0 = time.time()
        os.kill(pid1, signal.SIGTERM)
        if not procs.wait_exit(p, 30):
            raise RuntimeError("PID 1 did not exit within 30 s of SIGTERM")
        t_exit = time.time()
        got = float(open(out).read()) if os.path.exists(out) else float("nan")
    finally:
        procs.kill_group(p)   # the namespace's processes die with its PID 1
    return {"term_to_child_ms": (got - t0) * 1000, "term_to_exit_ms": (t_exit - t0) * 1000, "pss_kib": pss}


def stop_after_boot(argv: List[str], env: Dict[str, str], cwd: str, all_up, settle: float,
                    boot_timeout: float = 30.0, exit_timeout: float = 60.0) -> Dict[str, float]:
    """Start argv as PID 1 of a fresh PID namespace, wait until all_up() (bounded), let it
    settle, SIGTERM PID 1 from outside. Returns {"ms": until PID 1 has exited}: a pidfd on
    PID 1, exact and the same for every init. Whatever happens, the namespace is gone on return."""
    p = subprocess.Popen(NS + argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    fds: List[int] = []
    try:
        pid1 = _ns_pid1(p)
        if pid1 is None:
            raise RuntimeError("no PID 1 appeared in the namespace")
        fd = procs.pidfd(pid1)
        fds.append(fd)
        deadline = time.monotonic() + boot_timeout
        while not all_up():
            if p.poll() is not None:
                raise RuntimeError("PID 1 exited (%s) before every service was up" % p.returncode)
            if time.monotonic() > deadline:
                raise RuntimeError("not every service was up within %g s" % boot_timeout)
            time.sleep(0.0005)
        time.sleep(settle)
        if p.poll() is not None or not procs.alive(pid1):
            raise RuntimeError("PID 1 exited (%s) before the SIGTERM" % p.returncode)
        t0 = time.perf_counter()
        os.kill(pid1, signal.SIGTERM)
        if not procs.wait_gone(pid1, exit_timeout, fd):
            raise RuntimeError("PID 1 did not exit within %g s of SIGTERM" % exit_timeout)
        t1 = time.perf_counter()
        procs.wait_exit(p, 10)
        return {"ms": (t1 - t0) * 1000}
    finally:
        for f in fds:
            if f >= 0:
                os.close(f)
        procs.kill_group(p)   # the namespace's processes die with its PID 1
