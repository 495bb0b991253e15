"""The speed tricks of pysix/speed.py hold: a forked supervisor imports nothing.

An import after the fork runs importlib and creates module objects in every
supervisor (one lazy import per start cost each 1.8 ms and ~120 copied
pages). The real scanner runs a tree whose services go through the paths a
supervisor has: start, readiness, death and restart, finish, control
letters, dependencies, the exit; each supervisor writes down the modules it
imported after its fork.
"""
import os
import subprocess
import sys

from helpers import make_sd, read_status, wait_for

HARNESS = r'''
import os, sys
out = sys.argv[2]
import pysix.supervise as sv
real = sv.run_supervisor

def watched(path, name, **kw):
    before = set(sys.modules)
    real_exit = os._exit

    def leave(code):
        with open(os.path.join(out, name.replace("/", ".")), "w") as f:
            f.write("\n".join(sorted(set(sys.modules) - before)) + "\n")
        real_exit(code)
    os._exit = leave
    return real(path, name, **kw)

sv.run_supervisor = watched
from pysix.cli.svscan import main
sys.exit(main([sys.argv[1]]))
'''


def test_supervisors_import_nothing_after_the_fork(tmp, procs):
    scan = os.path.join(tmp, "scan")
    out = os.path.join(tmp, "imports")
    os.makedirs(out)
    # a: ready through notification-fd, dies once (restart, finish), then stays up
    make_sd(os.path.join(scan, "a"),
            'if [ -e ../../died ]; then echo >&3; exec sleep 100; fi\n: > ../../died\necho >&3\nexit 3',
            notification_fd="3", finish="#!/bin/sh\nexit 0\n")
    # b: depends on a, has a log, a down-signal and a timeout-kill
    make_sd(os.path.join(scan, "b"), "exec sleep 100", dependencies="a\n", down_signal="SIGINT\n",
            timeout_kill="200\n")
    make_sd(os.path.join(scan, "b", "log"), "exec cat >/dev/null")
    harness = os.path.join(tmp, "harness.py")
    with open(harness, "w") as f:
        f.write(HARNESS)
    p = procs.start([sys.executable, harness, scan, out])
    wait_for(lambda: os.path.exists(os.path.join(tmp, "died")), 10, what="a's first run")
    for sd in ("a", "b"):
        wait_for(lambda sd=sd: (read_status(os.path.join(scan, sd)) or 0) and read_status(os.path.join(scan, sd)).pid,
                 15, what="%s up" % sd)
    svc = ["pysix-svc"]
    for args in (["-h"], ["-a"], ["-d"], ["-wD", "-T", "5000"], ["-o"], ["-u"], ["-wu", "-T", "5000"]):
        subprocess.run(svc + args + [os.path.join(scan, "b")], timeout=10, check=True)
    subprocess.run(["pysix-svscanctl", "-t", scan], timeout=10, check=True)
    p.wait(20)
    found = {}
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name)) as f:
            found[name] = [m for m in f.read().split() if m]
    assert sorted(found) == ["a", "b", "b.log"], found
    assert found == {name: [] for name in found}, "imported after the fork (add to speed.SUPERVISOR_MODULES): %r" % found
