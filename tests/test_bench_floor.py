"""bench/floor.py, the floor pysix's per-supervisor figures are compared with,
is a working supervisor: otherwise its figures would say nothing.

It makes an s6 status file the s6 tools and pysix read, restarts a killed
service, obeys `d` and `u` on its control FIFO, and on SIGTERM stops every
service and exits; the same with `--pysix-sized` and with `--s6-protocol`,
which also sends s6's events to a subscriber and keeps death_tally, and
with `--prepared` (a supervisor's life rehearsed in the scanner first).
"""
import os
import signal
import sys

import pytest

from helpers import make_sd, pid_alive, read_status, up_pid, wait_for
from pysix import fifodir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOOR = os.path.join(ROOT, "bench", "floor.py")


@pytest.mark.parametrize("extra", [[], ["--pysix-sized"], ["--s6-protocol"], ["--pysix-protocol"],
                                   ["--s6-protocol", "--prepared"], ["--pysix-protocol", "--prepared"]],
                         ids=["bare", "pysix-sized", "s6", "pysix", "s6-prepared", "pysix-prepared"])
def test_floor_is_a_working_supervisor(tmp, procs, extra):
    scan = os.path.join(tmp, "scan")
    sds = [make_sd(os.path.join(scan, n), "exec sleep 1000") for n in ("a", "b")]
    s6 = "--s6-protocol" in extra or "--pysix-protocol" in extra
    # a subscriber made before the supervisor: it creates event/ as s6's clients do
    sub = fifodir.subscribe(os.path.join(sds[0], "event")) if s6 else None
    root = procs.start([sys.executable, FLOOR, scan] + extra)
    pids = [wait_for(lambda sd=sd: up_pid(sd), 10, what="%s up" % sd) for sd in sds]
    procs.track(*pids)
    assert all(pid_alive(p) for p in pids)
    if "--prepared" in extra:   # the rehearsal's service is gone, and was no service of the tree
        assert sorted(os.listdir(scan)) == ["a", "b"]
    if s6:
        assert wait_for(lambda: _events(sub) == b"su" or None, 10, what="s and u")
        assert oct(os.stat(os.path.join(sds[1], "event")).st_mode & 0o7777) == "0o3730"

    os.kill(pids[0], signal.SIGKILL)    # restarted, a new pid
    new = wait_for(lambda: up_pid(sds[0]) not in (0, pids[0]) and up_pid(sds[0]), 10, what="restart")
    procs.track(new)
    if s6:
        assert wait_for(lambda: _events(sub) == b"sudDu" or None, 10, what="dD then u")
        with open(os.path.join(sds[0], "supervise", "death_tally"), "rb") as f:
            tally = f.read()
        assert len(tally) == 14 and tally[12:] == bytes((128 + 9, 9))   # killed by SIGKILL
    if "--pysix-protocol" in extra:
        rec = open(os.path.join(sds[0], "supervise", "pysix-run"), "rb").read().split()
        assert rec[0] == b"run" and int(rec[1]) == new
        assert open(os.path.join(sds[0], "supervise", "pysix-state")).read() == "up\n\n0\n"

    ctl = os.path.join(sds[1], "supervise", "control")
    with open(ctl, "wb", buffering=0) as f:
        f.write(b"d")
    st = wait_for(lambda: (lambda s: s if s is not None and not s.up else None)(read_status(sds[1])), 10,
                  what="down after d")
    assert os.WIFSIGNALED(st.wstat) and os.WTERMSIG(st.wstat) == signal.SIGTERM and not pid_alive(pids[1])
    with open(ctl, "wb", buffering=0) as f:
        f.write(b"u")
    up = wait_for(lambda: up_pid(sds[1]), 10, what="up after u")
    procs.track(up)

    root.send_signal(signal.SIGTERM)
    assert root.wait(10) == 0
    wait_for(lambda: not pid_alive(new) and not pid_alive(up), 10, what="services gone")
    if s6:
        assert _events(sub) == b"sudDudDx"
        fifodir.unsubscribe(*sub)


_SEEN = {}


def _events(sub):
    """Every letter the subscriber has heard so far."""
    try:
        _SEEN[sub] = _SEEN.get(sub, b"") + os.read(sub[0], 64)
    except BlockingIOError:
        pass
    return _SEEN.get(sub, b"")
