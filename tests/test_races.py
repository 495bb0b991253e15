"""The seven races and wrong kills of issue 12, each against real processes.

Supervisors are SIGKILLed by the pid that holds their lock, services are
counted by a token unique to the test in their argv, and the loaded-machine
variants keep the cores busy with CPU-bound loops the test starts and ends.
"""
import os
import random
import signal
import subprocess
import time

import pytest

from helpers import make_sd, pid_alive, read_status, wait_for, write_exec
from pysix.lockprobe import lock_holder
from pysix.supervise import identity


def up_pid(sd):
    st = read_status(sd)
    return st.pid if st is not None and st.up and not st.finishing else 0


def supervisor_of(sd):
    return lock_holder(os.path.join(sd, "supervise", "lock"))


def token():
    return "%d.%06d" % (random.randrange(10 ** 6, 10 ** 7), random.randrange(10 ** 6))


def copies(tok):
    """Live processes whose argv is exactly `sleep TOKEN`."""
    out = []
    want = b"sleep\0" + tok.encode() + b"\0"
    for n in os.listdir("/proc"):
        if n.isdigit():
            try:
                with open("/proc/%s/cmdline" % n, "rb") as f:
                    if f.read() == want and pid_alive(int(n)):
                        out.append(int(n))
            except OSError:
                pass
    return out


def stop(p, timeout=15):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout)


def lines(fn):
    try:
        with open(fn) as f:
            return f.read().split("\n")[:-1]
    except FileNotFoundError:
        return []


# 1. a killed supervisor's successor takes the running service over ------------

def test_killed_supervisor_is_taken_over_not_restarted(tmp, procs):
    scan = os.path.join(tmp, "scan")
    tok = token()
    fin = os.path.join(tmp, "finish.log")
    a = make_sd(os.path.join(scan, "a"), "exec sleep " + tok,
                finish="#!/bin/sh\necho \"$1 $2\" >> %s\n" % fin)
    p = procs.start(["pysix-svscan", scan])
    run = wait_for(lambda: up_pid(a), what="a up")
    procs.track(run)
    sup = supervisor_of(a)
    os.kill(sup, signal.SIGKILL)
    wait_for(lambda: supervisor_of(a) not in (0, sup), timeout=5, what="a new supervisor")
    time.sleep(0.3)
    assert pid_alive(run), "the service was restarted: a supervisor crash cost a restart"
    assert copies(tok) == [run]
    assert up_pid(a) == run, "status must show the adopted run up with its pid"
    # svc acts on the adopted run; its death is seen at once and goes through finish.
    subprocess.run(["pysix-svc", "-d", a], check=True, timeout=10)
    wait_for(lambda: not pid_alive(run), timeout=5, what="the adopted run stopped by svc -d")
    wait_for(lambda: lines(fin), timeout=5, what="finish after the adopted run's death")
    assert lines(fin) == ["256 15"], "finish gets the real wait status the scanner reaped"
    subprocess.run(["pysix-svc", "-u", a], check=True, timeout=10)
    new = wait_for(lambda: up_pid(a), what="a started again")
    procs.track(new)
    # A death nobody asked for, of a run adopted a second time: restarted.
    os.kill(supervisor_of(a), signal.SIGKILL)
    wait_for(lambda: supervisor_of(a) not in (0, sup), timeout=5, what="a third supervisor")
    time.sleep(0.3)
    os.kill(new, signal.SIGKILL)
    third = wait_for(lambda: (lambda x: x if x not in (0, new) else 0)(up_pid(a)), timeout=5,
                     what="restart after the adopted run died")
    procs.track(third)
    assert lines(fin)[-1] == "256 9"
    # up comes at the spawn: the run execs `sleep TOKEN` a moment later
    wait_for(lambda: copies(tok), timeout=5, what="the restarted run to exec sleep")
    assert copies(tok) == [third]
    stop(p)
    wait_for(lambda: not copies(tok), timeout=5, what="all copies gone after the stop")


def test_killed_supervisor_during_finish_lets_finish_complete(tmp, procs):
    scan = os.path.join(tmp, "scan")
    marks = os.path.join(tmp, "marks")
    a = make_sd(os.path.join(scan, "a"), "echo run >> %s; exec sleep 1000" % marks,
                finish="#!/bin/sh\nsleep 0.6\necho finish >> %s\n" % marks)
    p = procs.start(["pysix-svscan", scan])
    run = wait_for(lambda: up_pid(a))
    os.kill(run, signal.SIGTERM)
    wait_for(lambda: (read_status(a) or read_status(a)).finishing, timeout=5, what="finishing")
    os.kill(supervisor_of(a), signal.SIGKILL)
    wait_for(lambda: lines(marks).count("run") == 2, timeout=6, what="restart after the finish")
    assert lines(marks) == ["run", "finish", "run"], "finish killed, or run started beside it"
    procs.track(up_pid(a))
    stop(p)


# 2. only the exact process a record names is ever adopted or signalled ---------

@pytest.mark.parametrize("how", ["status-only", "other-boot", "reused-pid"])
def test_a_stale_record_never_kills_an_unrelated_session_leader(tmp, procs, how):
    from pysix.status import FLAG_READY, FLAG_WANTUP, Status, pack_status
    a = make_sd(os.path.join(tmp, "a"), "exec sleep 1000")
    victim = procs.start(["setsid", "sleep", "1000"], start_new_session=False)
    wait_for(lambda: os.path.exists("/proc/%d" % victim.pid))
    time.sleep(0.05)
    os.makedirs(os.path.join(a, "supervise"))
    # An old status naming the victim's pid, from "before" the victim started.
    old = Status(time.time_ns() - 10 ** 10, time.time_ns() - 10 ** 10, victim.pid, 0,
                 FLAG_WANTUP | FLAG_READY)
    with open(os.path.join(a, "supervise", "status"), "wb") as f:
        f.write(pack_status(old))
    st = identity.proc_stat(victim.pid)
    if how == "other-boot":
        rec = identity.format_record("run", victim.pid, st[3], "00000000-0000-0000-0000-000000000000")
    elif how == "reused-pid":
        rec = identity.format_record("run", victim.pid, st[3] - 5, identity.boot_id())
    else:
        rec = None
    if rec:
        with open(os.path.join(a, identity.RECORD), "wb") as f:
            f.write(rec)
    sup = procs.start(["pysix-supervise", a])
    run = wait_for(lambda: (lambda x: x if x and x != victim.pid else 0)(up_pid(a)), timeout=5,
                   what="a fresh run")
    procs.track(run)
    time.sleep(0.3)
    assert victim.poll() is None, "an unrelated process was killed because its pid matched"
    stop(sup)


# 3. any sequence of supervisor kills leaves exactly one copy -------------------

@pytest.mark.parametrize("busy", [False, True])
def test_rapid_supervisor_kills_never_leave_two_copies(tmp, procs, busy):
    if busy:
        procs.busy(3)
    scan = os.path.join(tmp, "scan")
    tok = token()
    a = make_sd(os.path.join(scan, "a"), "exec sleep " + tok)
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: up_pid(a), timeout=10)
    rnd = random.Random(12)
    seen = set()
    bad = []
    for rnd_i in range(8):
        for _ in range(20):
            sup = supervisor_of(a)
            if sup:
                try:
                    os.kill(sup, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(rnd.uniform(0, 0.03))
            seen.update(copies(tok))
        time.sleep(1.5)
        wait_for(lambda: supervisor_of(a), timeout=10, what="a supervisor again")
        n = wait_for(lambda: copies(tok), timeout=10, what="the service running")
        seen.update(n)
        if len(n) != 1:
            bad.append((rnd_i, n))
    procs.track(*seen)
    assert not bad, "more than one copy running at pauses: %r" % bad
    stop(p)
    wait_for(lambda: not copies(tok), timeout=10, what="no copy outliving the scanner's stop")


# 4. a scanner restart keeps every service logging ------------------------------

def test_scanner_restart_then_logger_kill_keeps_service_and_log(tmp, procs):
    scan = os.path.join(tmp, "scan")
    out = os.path.join(tmp, "out")
    a = make_sd(os.path.join(scan, "a"), "trap '' PIPE\nwhile :; do echo tick; sleep 0.05; done")
    make_sd(os.path.join(a, "log"), "exec cat >> %s" % out)
    p1 = procs.start(["pysix-svscan", scan])
    run = wait_for(lambda: up_pid(a))
    logrun = wait_for(lambda: up_pid(os.path.join(a, "log")))
    procs.track(run, logrun, supervisor_of(a), supervisor_of(os.path.join(a, "log")))
    wait_for(lambda: len(lines(out)) > 3, what="logging")
    p1.kill()
    p1.wait(5)
    p2 = procs.start(["pysix-svscan", scan])
    time.sleep(0.5)
    os.kill(supervisor_of(os.path.join(a, "log")), signal.SIGKILL)
    time.sleep(0.3)
    os.kill(logrun, signal.SIGKILL)     # the old logger too: a new one must read the same pipe
    time.sleep(1.5)
    newlog = up_pid(os.path.join(a, "log"))
    procs.track(newlog, supervisor_of(os.path.join(a, "log")))
    n = len(lines(out))
    time.sleep(1.0)
    assert len(lines(out)) > n + 5, "the service's output no longer reaches a logger"
    assert up_pid(a) == run, "the service died (SIGPIPE) after the logger was replaced"
    procs.track(supervisor_of(a))
    stop(p2)


# 5. once a stop is asked for, nothing starts again; finish runs once per death --

def test_finish_stopping_the_container_runs_once(tmp, procs):
    procs.busy(3)
    for attempt in range(3):
        root = os.path.join(tmp, "root%d" % attempt)
        marks = os.path.join(root, "marks")
        sd = os.path.join(root, "etc", "services.d", "app")
        make_sd(sd, "echo run >> %s\nsleep 1.2\nexit 3" % marks,
                finish="#!/bin/sh\necho \"finish $1\" >> %s\n"
                       "[ \"$1\" = 3 ] && echo 3 > %s/code\n"
                       "exec pysix-svscanctl -t \"$PYSIX_SCANDIR\"\n" % (marks, root))
        cmd = ["sh", "-c", "trap 'sleep 0.5; exit 0' TERM; sleep 1000 & wait"]
        p = procs.start(["pysix-init", "--root", root, "--"] + cmd,
                        env=dict(os.environ, PYSIX_SERVICES_GRACETIME="3000"))
        p.wait(30)
        assert lines(marks) == ["run", "finish 3"], "attempt %d: %r" % (attempt, lines(marks))


# 6. a dependency is told to stop only once its dependents are down -------------

@pytest.mark.parametrize("busy", [False, True])
def test_reverse_stop_waits_for_slow_dependents(tmp, procs, busy):
    if busy:
        procs.busy(3)
    scan = os.path.join(tmp, "scan")
    log = os.path.join(tmp, "times")
    stamper = os.path.join(tmp, "stamp")
    write_exec(stamper, "#!/bin/sh\necho \"$1 $(date +%%s.%%N)\" >> %s\n" % log)
    stamp = stamper + " %s"
    make_sd(os.path.join(scan, "a"), "trap '%s; exit 0' TERM\nsleep 1000 & wait" % (stamp % "a-term"))
    make_sd(os.path.join(scan, "b"), "trap 'sleep 0.3; exit 0' TERM\nsleep 1000 & wait",
            dependencies="a\n",
            finish="#!/bin/sh\nsleep 0.2\n%s\n" % (stamp % "b-finished"))
    # Independent services that stop at once: their exits must not let `a` go early.
    for n in ("c", "d", "e"):
        make_sd(os.path.join(scan, n), "exec sleep 1000")
    p = procs.start(["pysix-svscan", scan])
    for n in "abcde":
        wait_for(lambda: up_pid(os.path.join(scan, n)), timeout=10)
    time.sleep(0.2)
    stop(p, 20)
    t = dict(l.split() for l in lines(log))
    assert "a-term" in t and "b-finished" in t, t
    assert float(t["a-term"]) >= float(t["b-finished"]), "a was told to stop before b was down"


# 7. the final SIGKILL has one owner: the supervisor ----------------------------

def _comm(pid: int) -> str:
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def test_grace_end_kills_the_supervised_run_not_a_pid_from_status(tmp, procs):
    root = os.path.join(tmp, "root")
    fin = os.path.join(root, "fin")
    sd = os.path.join(root, "etc", "services.d", "stubborn")
    make_sd(sd, "trap '' TERM\nexec sleep 1000",
            finish="#!/bin/sh\necho \"$1 $2\" > %s\n" % fin)
    victim = procs.start(["setsid", "sleep", "1000"], start_new_session=False)
    p = procs.start(["pysix-init", "--root", root], env=dict(os.environ, PYSIX_SERVICES_GRACETIME="300"))
    live = os.path.join(root, "run", "pysix", "services", "stubborn")
    run = wait_for(lambda: up_pid(live), timeout=10)
    procs.track(run)
    # Up is as soon as spawned: TERM must come once the shell has run its trap and
    # exec'd sleep (which keeps TERM ignored), or it ends the run before the grace.
    wait_for(lambda: _comm(run) == "sleep", timeout=10, what="the run to exec sleep")
    # A status that lies (and cannot be rewritten): only the supervisor knows its run.
    from pysix.status import pack_status
    st = read_status(live)
    os.mkdir(os.path.join(live, "supervise", "status.new"))
    with open(os.path.join(live, "supervise", "status"), "wb") as f:
        f.write(pack_status(st._replace(pid=victim.pid) if hasattr(st, "_replace") else
                            type(st)(st.stamp, st.readystamp, victim.pid, st.wstat, st.flags)))
    p.send_signal(signal.SIGTERM)
    p.wait(15)
    assert victim.poll() is None, "PID 1 SIGKILLed a pid it read back from supervise/status"
    assert not pid_alive(run)
    assert lines(fin) == ["256 9"], "the supervisor's own SIGKILL ended its run"

