"""The supervisor's side of odd files and scripts it cannot exec (issue 15 items 7, 9, 10)."""
import os
import subprocess
import time

import pytest

from helpers import make_sd, pid_alive, read_pysix_state, wait_for
from test_races import stop, supervisor_of, up_pid


# the supervisor side of odd files and unexecutable scripts (issue 15 items 7, 9) --

def test_a_0644_run_runs_through_its_interpreter(tmp, procs):
    a = make_sd(os.path.join(tmp, "a"), None)
    with open(os.path.join(a, "run"), "w") as f:
        f.write("#!/bin/sh\nexec sleep 1000\n")
    os.chmod(os.path.join(a, "run"), 0o644)
    p = procs.start(["pysix-supervise", a])
    run = wait_for(lambda: up_pid(a), timeout=5, what="a 0644 run started via #!")
    procs.track(run)
    stop(p)


def test_spawn_failure_is_said_in_pysix_state_and_the_supervisor_lives(tmp, procs):
    a = make_sd(os.path.join(tmp, "a"), None)
    with open(os.path.join(a, "run"), "w") as f:
        f.write("no shebang here\n")
    p = procs.start(["pysix-supervise", a], stderr=subprocess.PIPE)
    st = wait_for(lambda: (lambda s: s if s and s.reason else None)(read_pysix_state(a)), timeout=5)
    assert st.state == "down" and st.reason.startswith("spawn failed: ./run: not executable")
    assert p.poll() is None
    stop(p)
    assert p.stderr.read().decode().count("unable to spawn") == 1, "said once, not at every retry"


@pytest.mark.parametrize("odd", ["dir", "fifo", "dangling"])
def test_an_odd_dependencies_file_leaves_the_supervisor_running(tmp, procs, odd):
    scan = os.path.join(tmp, "scan")
    a = make_sd(os.path.join(scan, "a"), "exec sleep 1000")
    dep = os.path.join(a, "dependencies")
    if odd == "dir":
        os.mkdir(dep)
    elif odd == "fifo":
        os.mkfifo(dep)
    else:
        os.symlink("/nonexistent/x", dep)
    p = procs.start(["pysix-svscan", scan], stderr=subprocess.PIPE)
    st = wait_for(lambda: (lambda s: s if s and s.state == "failed" else None)(read_pysix_state(a)), timeout=5)
    assert "dependencies" in st.reason
    sup = supervisor_of(a)
    time.sleep(1.5)
    assert supervisor_of(a) == sup, "the supervisor died and was respawned"
    stop(p)
    err = p.stderr.read().decode()
    assert "fatal" not in err and "Traceback" not in err, err


def test_a_dangling_control_symlink_is_replaced(tmp, procs):
    a = make_sd(os.path.join(tmp, "a"), "exec sleep 1000")
    os.makedirs(os.path.join(a, "supervise"))
    os.symlink("/nonexistent/control", os.path.join(a, "supervise", "control"))
    p = procs.start(["pysix-supervise", a])
    run = wait_for(lambda: up_pid(a), timeout=5)
    procs.track(run)
    assert subprocess.run(["pysix-svc", "-d", a], timeout=10).returncode == 0
    wait_for(lambda: not pid_alive(run), timeout=5)
    stop(p)
