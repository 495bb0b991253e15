"""The unitsboot metric: pysix-init booting N sleepers written as unit files vs as service dirs.

Both trees run the same program (`sh -c` marking its start, then a long
sleep); the unit tree goes through stage 1's conversion and
pysix-unit-exec, the services.d tree does not. Timed from the spawn of
pysix-init until every program has marked its start.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import Dict, List

import procs
import skel
from systems import wait_until


def unit_sleepers(units: str, markers: str, n: int, user: bool = False) -> None:
    """With user, each unit has User=root: its run goes through pysix-unit-exec (a
    Python start per service) instead of sh alone."""
    shutil.rmtree(units, ignore_errors=True)
    os.makedirs(units)
    for i in range(n):
        with open(os.path.join(units, "s%d.service" % i), "w") as f:
            f.write("[Unit]\nDescription=sleeper %d\n\n[Service]\nExecStart=/bin/sh -c "
                    "\": > '%s/s%d.'$$; %s\"\n%s" % (i, markers, i, skel.SLEEP, "User=root\n" if user else ""))


def run_once(work: str, mode: str, n: int, env: Dict[str, str]) -> float:
    """mode: "dirs" (services.d), "units" or "units-user" (see unit_sleepers)."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    markers = os.path.join(work, "started")
    root = os.path.join(work, "root")
    services = os.path.join(root, "etc", "services.d")
    if mode != "dirs":
        os.makedirs(markers)
        os.makedirs(services)
        unit_sleepers(os.path.join(root, "etc", "container-init", "units"), markers, n, mode == "units-user")
    else:
        skel.sleepers(services, markers, n)
    names = {"s%d" % i for i in range(n)}
    t0 = time.perf_counter()
    p = subprocess.Popen(["pysix-init", "--root", root], env=env, cwd=work, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        if not wait_until(lambda: skel.started(markers) >= names or p.poll() is not None, 30):
            raise RuntimeError("not every service started within 30 s")
        if p.poll() is not None:
            raise RuntimeError("pysix-init exited (%s) during boot" % p.returncode)
        ms = (time.perf_counter() - t0) * 1000
        p.send_signal(signal.SIGTERM)
        if not procs.wait_exit(p, 15):
            raise RuntimeError("pysix-init did not exit within 15 s of SIGTERM")
        return ms
    finally:
        procs.kill_group(p)


LABELS: List = [("pysix (services.d)", "dirs"), ("pysix (unit files)", "units"),
                ("pysix (unit files, User=)", "units-user")]
