"""kill-mode: what run leaves behind dies with it (cgroup v2, else the session); `process` keeps s6's way."""
import json
import os
import shutil
import signal
import subprocess

import pytest

from helpers import make_sd, pid_alive, read_status
from helpers import wait_for as _wait_for

from pysix.killmode import parse_mode
from pysix.lockprobe import lock_holder


def wait_for(pred, timeout=30.0, **kw):
    return _wait_for(pred, timeout=timeout, **kw)


def up_pid(sd):
    st = read_status(sd)
    return st.pid if st is not None and st.up else 0


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        p.wait(20)


def child_of(sd, n=1):
    fn = os.path.join(sd, "child%d" % n)
    wait_for(lambda: os.path.exists(fn) and open(fn).read().strip(), what=fn)
    return int(open(fn).read())


def track_new_children(procs, sd, old1, old2):
    """The children a restarted run made (its files rewritten), ended at the test's end."""
    n1 = wait_for(lambda: (lambda n: n if n != old1 else 0)(child_of(sd, 1)), what="new child1")
    n2 = wait_for(lambda: (lambda n: n if n != old2 else 0)(child_of(sd, 2)), what="new child2")
    procs.track(n1, n2)
    return n1, n2


# Two leftovers: one in run's session, one that left it with setsid.
RUN = "sleep 1000 & echo $! > child1; setsid sleep 1000 & echo $! > child2; exec sleep 1000"


def test_parse_mode():
    assert parse_mode(None) == ("control-group", None)
    assert parse_mode(b"process\n") == ("process", None)
    mode, why = parse_mode(b"cgroups")
    assert mode == "control-group" and "kill-mode: 'cgroups'" in why


def test_session_mode_ends_leftovers_at_death_and_down(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), RUN)
    env = dict(os.environ, PYSIX_CGROUP_ROOT="/nonexistent")   # session mode wherever this runs
    p = procs.start(["pysix-svscan", scan], env=env)
    pid = wait_for(lambda: up_pid(sd), what="up")
    c1, c2 = child_of(sd, 1), child_of(sd, 2)
    procs.track(c1, c2)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(c1), what="session leftover ended")
    assert pid_alive(c2)        # left the session: only a cgroup catches it
    os.kill(c2, signal.SIGKILL)
    # svc -d: the same through the down signal.
    wait_for(lambda: up_pid(sd) and up_pid(sd) != pid, what="restarted")
    old1, old2 = c1, c2
    c1 = wait_for(lambda: (lambda n: n if n != old1 else 0)(child_of(sd, 1)), what="new child1")
    procs.track(c1, wait_for(lambda: (lambda n: n if n != old2 else 0)(child_of(sd, 2)), what="new child2"))
    subprocess.run(["pysix-svc", "-d", sd], check=True, timeout=20)
    wait_for(lambda: not pid_alive(c1), what="leftover ended by svc -d")
    assert not os.path.exists(os.path.join(sd, "supervise", "pysix-cgroup"))
    stop(p)


def test_process_mode_leaves_them(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), RUN, kill_mode="process\n")
    p = procs.start(["pysix-svscan", scan])
    pid = wait_for(lambda: up_pid(sd), what="up")
    c1, c2 = child_of(sd, 1), child_of(sd, 2)
    procs.track(c1, c2)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: up_pid(sd) and up_pid(sd) != pid, what="restarted")
    track_new_children(procs, sd, c1, c2)     # they live on too: ended by pid at the end
    assert pid_alive(c1)
    stop(p)


def _cgroup2_in_a_mount_namespace():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "--mount", "sh", "-c", "mount -t cgroup2 none /sys/fs/cgroup"],
                       capture_output=True, timeout=20)
    return r.returncode == 0


@pytest.mark.skipif(not _cgroup2_in_a_mount_namespace(), reason="needs root and a mountable cgroup2")
def test_cgroup_mode_ends_everything_even_what_left_the_session(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), RUN)
    # A private mount namespace where /sys/fs/cgroup is a real cgroup2 hierarchy.
    p = procs.start(["unshare", "--mount", "sh", "-c",
                     "mount -t cgroup2 none /sys/fs/cgroup && exec pysix-svscan \"$0\"", scan])
    pid = wait_for(lambda: up_pid(sd), what="up")
    c1, c2 = child_of(sd, 1), child_of(sd, 2)
    procs.track(c1, c2)
    cg = open(os.path.join(sd, "supervise", "pysix-cgroup")).read().strip()
    assert cg.startswith("/sys/fs/cgroup/pysix-") and cg.endswith("/web")
    js = json.loads(subprocess.run(["pysix-svstat", "--json", sd], capture_output=True, text=True,
                                   timeout=20).stdout)[0]
    assert js["kill_mode"] == "control-group" and js["cgroup"] == cg and "memory_current" in js
    with open("/proc/%d/cgroup" % c2) as f:
        assert f.read().strip().endswith(cg[len("/sys/fs/cgroup"):])
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(c1) and not pid_alive(c2), what="the whole cgroup ended")
    new = wait_for(lambda: up_pid(sd) != pid and up_pid(sd), what="restarted")
    n1 = wait_for(lambda: (lambda n: n if n != c1 else 0)(child_of(sd, 1)), what="new child1")
    n2 = wait_for(lambda: (lambda n: n if n != c2 else 0)(child_of(sd, 2)), what="new child2")
    procs.track(n1, n2)
    stop(p)      # the final stop ends the whole group too, and removes it
    assert not pid_alive(new)
    wait_for(lambda: not pid_alive(n1) and not pid_alive(n2), what="leftovers ended by the final stop")


def _adoption_ends_leftovers(tmp, procs, cgroup):
    """A supervisor SIGKILLed, the next one adopts its run; the run dies: its leftovers go too."""
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), RUN)
    err = os.path.join(tmp, "err")
    if cgroup:
        p = procs.start(["unshare", "--mount", "sh", "-c",
                         "mount -t cgroup2 none /sys/fs/cgroup && exec pysix-svscan \"$0\"", scan],
                        stderr=open(err, "wb"))
    else:
        p = procs.start(["pysix-svscan", scan], stderr=open(err, "wb"),
                        env=dict(os.environ, PYSIX_CGROUP_ROOT="/nonexistent"))
    pid = wait_for(lambda: up_pid(sd), what="up")
    c1, c2 = child_of(sd, 1), child_of(sd, 2)
    procs.track(c1, c2)
    lock = os.path.join(sd, "supervise", "lock")
    sup = wait_for(lambda: lock_holder(lock), what="supervisor")
    os.kill(sup, signal.SIGKILL)
    wait_for(lambda: ("took over run (pid %d)" % pid) in open(err).read(), what="run adopted")
    assert lock_holder(lock) not in (0, sup) and up_pid(sd) == pid
    os.kill(pid, signal.SIGKILL)
    try:
        wait_for(lambda: not pid_alive(c1), what="the adopted run's leftover ended")
        if cgroup:
            wait_for(lambda: not pid_alive(c2), what="the whole cgroup ended")
        wait_for(lambda: up_pid(sd) not in (0, pid), what="restarted")
        track_new_children(procs, sd, c1, c2)
        stop(p)
    finally:    # a failed wait: what the restarted run made is ended too
        for n in (1, 2):
            try:
                procs.track(int(open(os.path.join(sd, "child%d" % n)).read()))
            except (OSError, ValueError):
                pass


def test_adopted_run_leftovers_ended_session_mode(tmp, procs):
    _adoption_ends_leftovers(tmp, procs, cgroup=False)


@pytest.mark.skipif(not _cgroup2_in_a_mount_namespace(), reason="needs root and a mountable cgroup2")
def test_adopted_run_leftovers_ended_cgroup_mode(tmp, procs):
    _adoption_ends_leftovers(tmp, procs, cgroup=True)
