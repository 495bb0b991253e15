"""Start order, readiness checks, oneshots, restart limits, on-failure (service-dir files)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from helpers import make_sd, pid_alive, read_status, wait_for

STAMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stamp.sh")


def stamped_run(log, name):
    """A run script that records when it started, then says it is ready (the
    service dir gets notification-fd 3), and records when it got TERM."""
    # the trap first: a TERM right after the start stamp must be recorded too
    return "trap '%s %s stop-%s; exit 0' TERM; %s %s start-%s; echo >&3; while :; do sleep 0.05; done" % (
        STAMP, log, name, STAMP, log, name)


def events(log):
    out = {}
    for line in open(log):
        what, t = line.split()
        out[what] = float(t)
    return out


def state(sd):
    try:
        return open(os.path.join(sd, "supervise", "pysix-state")).read().split("\n")
    except OSError:
        return None


def start_scan(procs, scan):
    return procs.start(["pysix-svscan", scan], stderr=subprocess.PIPE)


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(20)


def test_chain_starts_in_order_and_stops_in_reverse(tmp, procs):
    scan, log = os.path.join(tmp, "scan"), os.path.join(tmp, "log")
    make_sd(os.path.join(scan, "a"), stamped_run(log, "a"), notification_fd="3")
    make_sd(os.path.join(scan, "b"), stamped_run(log, "b"), dependencies="a  # the database\n", notification_fd="3")
    make_sd(os.path.join(scan, "c"), stamped_run(log, "c"), dependencies="b\n", notification_fd="3")
    p = start_scan(procs, scan)
    wait_for(lambda: os.path.exists(log) and "start-c" in open(log).read(), timeout=10, what="c started")
    p.send_signal(signal.SIGTERM)
    p.wait(20)
    ev = events(log)
    assert ev["start-a"] < ev["start-b"] < ev["start-c"]
    assert ev["stop-c"] < ev["stop-b"] < ev["stop-a"]


def test_diamond_and_parallel_independents(tmp, procs):
    scan, log = os.path.join(tmp, "scan"), os.path.join(tmp, "log")
    make_sd(os.path.join(scan, "base"), stamped_run(log, "base"), notification_fd="3")
    make_sd(os.path.join(scan, "left"), stamped_run(log, "left"), dependencies="base\n", notification_fd="3")
    make_sd(os.path.join(scan, "right"), stamped_run(log, "right"), dependencies="base\n", notification_fd="3")
    make_sd(os.path.join(scan, "top"), stamped_run(log, "top"), dependencies="left\nright\n", notification_fd="3")
    p = start_scan(procs, scan)
    wait_for(lambda: os.path.exists(log) and "start-top" in open(log).read(), timeout=10)
    stop(p)
    ev = events(log)
    assert ev["start-base"] < min(ev["start-left"], ev["start-right"])
    assert max(ev["start-left"], ev["start-right"]) < ev["start-top"]
    assert ev["stop-top"] < min(ev["stop-left"], ev["stop-right"])
    assert max(ev["stop-left"], ev["stop-right"]) < ev["stop-base"]


def test_twenty_independent_services_start_in_about_the_time_of_one(tmp, procs):
    def boot(n):
        scan = os.path.join(tmp, "scan%d" % n)
        sds = [make_sd(os.path.join(scan, "s%d" % i), "sleep 0.3; echo >&3; exec sleep 1000",
                       notification_fd="3") for i in range(n)]
        t0 = time.monotonic()
        p = start_scan(procs, scan)
        wait_for(lambda: all((lambda s: s and s.ready and s.up)(read_status(sd)) for sd in sds), timeout=20)
        took = time.monotonic() - t0
        stop(p)
        return took
    one, twenty = boot(1), boot(20)
    print("1 service ready in %.0f ms, 20 independent services ready in %.0f ms" % (one * 1000, twenty * 1000))
    assert twenty < one + 1.5   # in series it would take more than 20 * 0.3 s


def test_cycle_and_missing_dependency_stay_down_with_reason_rest_starts(tmp, procs):
    scan = os.path.join(tmp, "scan")
    x = make_sd(os.path.join(scan, "x"), "exec sleep 1000", dependencies="y\n")
    y = make_sd(os.path.join(scan, "y"), "exec sleep 1000", dependencies="x\n")
    m = make_sd(os.path.join(scan, "m"), "exec sleep 1000", dependencies="ghost\n")
    ok = make_sd(os.path.join(scan, "ok"), "exec sleep 1000")
    p = start_scan(procs, scan)
    wait_for(lambda: (lambda s: s and s.up)(read_status(ok)))
    # every one of the three, y too: its supervisor may be the last to get there
    wait_for(lambda: all(state(sd) and state(sd)[0] == "failed" for sd in (x, y, m)))
    assert "dependency cycle" in state(x)[1] and "x" in state(x)[1] and "y" in state(x)[1]
    assert state(m)[1] == "missing dependency: ghost"
    assert not read_status(y).up and not read_status(m).up
    human = subprocess.run(["pysix-svstat", "--pysix", m], capture_output=True, text=True).stdout
    assert "failed (missing dependency: ghost)" in human
    js = json.loads(subprocess.run(["pysix-svstat", "--json", x], capture_output=True, text=True).stdout)[0]
    assert js["state"] == "failed" and "cycle" in js["reason"]
    stop(p)
    assert b"dependency cycle" in p.stderr.read()


def test_check_readiness_with_a_port_opened_late(tmp, procs):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    scan = os.path.join(tmp, "scan")
    server = ("import socket, time; time.sleep(0.6); s = socket.socket(); "
              "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', %d)); "
              "s.listen(); time.sleep(1000)" % port)
    web = make_sd(os.path.join(scan, "web"), "exec python3 -c \"%s\"" % server,
                  check="#!/bin/sh\nexec python3 -c \"import socket; socket.create_connection(('127.0.0.1', %d), 1)\"\n" % port)
    app = make_sd(os.path.join(scan, "app"), "exec sleep 1000", dependencies="web\n")
    p = start_scan(procs, scan)
    wait_for(lambda: (lambda s: s and s.up)(read_status(web)))
    # Each supervisor publishes its own state: wait for what is asserted.
    wait_for(lambda: state(web) and state(web)[0] == "starting", what="web starting")
    wait_for(lambda: state(app) and state(app)[0] == "waiting", what="app waiting")
    assert "web" in state(app)[1]
    assert not read_status(web).ready
    st = wait_for(lambda: (lambda s: s if s and s.ready else None)(read_status(web)), timeout=10)
    assert (st.readystamp - st.stamp) / 1e9 >= 0.5
    wait_for(lambda: (lambda s: s and s.up)(read_status(app)), timeout=5, what="app after web ready")
    assert subprocess.run(["pysix-svwait", "-U", "-t", "100", web]).returncode == 0
    stop(p)


def test_timeout_ready_reports_not_ready(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "never"), "exec sleep 1000", check="#!/bin/sh\nexit 1\n", timeout_ready="300")
    p = start_scan(procs, scan)
    wait_for(lambda: state(sd) and "not ready after 300 ms" in state(sd)[1], timeout=5)
    stop(p)


def test_oneshot_migration_that_dependents_wait_for(tmp, procs):
    scan, log = os.path.join(tmp, "scan"), os.path.join(tmp, "log")
    mig = make_sd(os.path.join(scan, "migrate"), "%s %s start-migrate; sleep 0.4; %s %s end-migrate" % (
        STAMP, log, STAMP, log), type="oneshot\n")
    make_sd(os.path.join(scan, "app"), stamped_run(log, "app"), dependencies="migrate\n", notification_fd="3")
    p = start_scan(procs, scan)
    wait_for(lambda: os.path.exists(log) and "start-app" in open(log).read(), timeout=10)
    ev = events(log)
    assert ev["end-migrate"] < ev["start-app"]
    time.sleep(1.2)
    assert open(log).read().count("start-migrate") == 1   # not restarted
    assert state(mig)[0] == "done"
    subprocess.run(["pysix-svc", "-u", mig])
    wait_for(lambda: open(log).read().count("end-migrate") == 2, timeout=5, what="rerun on -u")
    stop(p)


def test_failing_oneshot_blocks_dependents_and_is_failed(tmp, procs):
    scan = os.path.join(tmp, "scan")
    mig = make_sd(os.path.join(scan, "migrate"), "exit 3", type="oneshot\n")
    app = make_sd(os.path.join(scan, "app"), "exec sleep 1000", dependencies="migrate\n")
    p = start_scan(procs, scan)
    wait_for(lambda: state(mig) and state(mig)[0] == "failed", timeout=5)
    assert "exit code 3" in state(mig)[1]
    time.sleep(0.3)
    assert state(app)[0] == "waiting" and not read_status(app).up
    stop(p)


# The end of a script that started a real run: ended by pid, whatever failed.
_END_RUN = """
finally:
    if sup.pid:
        os.kill(sup.pid, signal.SIGKILL)
        os.waitpid(sup.pid, 0)
"""

# Services that are up but not yet ready: a running oneshot, a check not passed.
_NOT_READY_WHEN_UP = pytest.mark.parametrize(
    "files", [{"type": "oneshot\n"}, {"check": "#!/bin/sh\nexit 1\n"}], ids=["oneshot", "check"])


# Both scripts below: after each status a supervisor writes, what the
# readiness query says (`seen`), as a dependent woken then would see it.
_LOOK_AFTER_EACH_STATUS = """
from pysix.servicepolicy import service_ready_for_dependents
from pysix.supervise import supervisor
seen = []
write = supervisor.write_atomic
def write_and_look(path, data, *mode):
    write(path, data, *mode)
    if path == "supervise/status":
        seen.append(service_ready_for_dependents("."))
supervisor.write_atomic = write_and_look
"""
_UP_CHECK = _LOOK_AFTER_EACH_STATUS + """
import os, sys
import _signal as signal
from pysix.loop import Loop
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
os.chdir(sys.argv[1])
sup = supervisor.Supervisor(os.path.basename(sys.argv[1]), Loop())
try:
    sup.setup()     # spawns run: status down, then up
    with open("supervise/pysix-state") as f:
        state = f.read().split()[0]
    print(sup.pid, state, ",".join(map(str, seen)))
""" + _END_RUN


@_NOT_READY_WHEN_UP
def test_status_up_never_precedes_the_state_dependents_read(tmp, files):
    """A dependent reads pysix-state, and s6's status only without one: up
    and no notification-fd there means ready. So from the moment the status
    says up, pysix-state must say what up means: a running oneshot is not
    done, a service whose check has not passed is starting. (Written at the
    end of the loop turn, a dependent starting meanwhile went ahead: seen as
    pysix-run starting what followed a failed `:wait:` command.)"""
    sd = make_sd(os.path.join(tmp, "scan", "dep"), "exec sleep 1000", **files)
    r = subprocess.run([sys.executable, "-c", _UP_CHECK, sd], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    pid, state, seen = r.stdout.split()
    assert int(pid) > 0 and (state, seen) == ("starting", "False,False"), r.stdout


_READ_AROUND_A_START = """
import os, sys
import _signal as signal
from pysix import servicepolicy
from pysix.loop import Loop
from pysix.supervise import supervisor
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
os.chdir(sys.argv[1])
sup = supervisor.Supervisor(os.path.basename(sys.argv[1]), Loop())
opened = []
def open_after_a_start(path, *args):
    if len(opened) == 1:    # the start lands between the query's first read and its second
        sup.setup()         # status down, then pysix-state, then status up
    opened.append(path)
    return open(path, *args)
servicepolicy.open = open_after_a_start
try:
    ready = servicepolicy.service_ready_for_dependents(".")
    print(sup.pid, ready, len(opened))
""" + _END_RUN


@_NOT_READY_WHEN_UP
def test_a_start_between_the_readiness_querys_reads_is_not_ready(tmp, files):
    """The query reads two files, and a supervisor's start writes both: a
    dependent looking while its dependency starts must not see a running
    oneshot, or a check not passed, as ready. (Reading pysix-state first,
    absent, then s6's status, up: ready by s6's rule. Seen as a dependent
    started while its oneshot ran, about once in 30 boots of 16 pairs.)"""
    sd = make_sd(os.path.join(tmp, "scan", "dep"), "exec sleep 1000", **files)
    r = subprocess.run([sys.executable, "-c", _READ_AROUND_A_START, sd], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    pid, ready, reads = r.stdout.split()
    assert int(pid) > 0 and int(reads) == 2, r.stdout
    assert ready == "False", "a dependent would start now"


_ADOPT_CHECK = _LOOK_AFTER_EACH_STATUS + """
import os, subprocess, sys, time
import _signal as signal
from pysix.loop import Loop
from pysix.status import unpack_status
sd = sys.argv[1]
first = subprocess.Popen(["pysix-supervise", sd])
run = 0
try:
    deadline = time.monotonic() + 10
    while not run and time.monotonic() < deadline:
        try:
            with open(os.path.join(sd, "supervise", "pysix-state")) as f:
                if f.read().startswith("starting"):
                    with open(os.path.join(sd, "supervise", "status"), "rb") as g:
                        run = unpack_status(g.read()).pid
        except OSError:
            pass
        time.sleep(0.01)
    first.kill()        # the supervisor dies; its run goes on
    first.wait(10)
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    os.chdir(sd)
    sup = supervisor.Supervisor(os.path.basename(sd), Loop())
    sup.setup()         # takes the run over: its status, then the `s` event
    with open("supervise/pysix-state") as f:
        state = f.read().split()[0]
    print(run, sup.pid, state, ",".join(map(str, seen)))
finally:            # ended here, by pid, whatever failed
    if first.poll() is None:
        first.kill()
        first.wait(10)
    if run:
        os.kill(run, signal.SIGKILL)
"""


def test_an_adopted_oneshot_still_running_is_not_ready_for_its_dependents(tmp, procs):
    """A supervisor killed while its oneshot runs: the next one takes the run
    over and must say from its first status that the oneshot still runs.
    (It said up until the end of its first loop turn: after_spawn came after
    the status, and a dependent its `s` event woke could start meanwhile.)"""
    sd = make_sd(os.path.join(tmp, "scan", "migrate"), "exec sleep 1000", type="oneshot\n")
    r = subprocess.run([sys.executable, "-c", _ADOPT_CHECK, sd], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    run, pid, state, seen = r.stdout.split()
    procs.track(int(run))
    assert int(run) > 0 and pid == run, r.stdout + r.stderr      # taken over, not started again
    assert (state, seen) == ("starting", "False"), r.stdout


def test_restart_limit_marks_failed_with_OD_and_on_failure_runs(tmp, procs):
    from pysix import fifodir
    scan = os.path.join(tmp, "scan")
    flag = os.path.join(tmp, "alerted")
    crash = make_sd(os.path.join(scan, "crash"), "exit 4", restart_limit="2 30\n", on_failure="alert\n")
    make_sd(os.path.join(scan, "alert"), "echo alert >> %s" % flag, type="oneshot\n", down="")
    os.makedirs(os.path.join(crash, "event"), exist_ok=True)
    rfd, path = fifodir.subscribe(os.path.join(crash, "event"))
    p = start_scan(procs, scan)
    try:
        wait_for(lambda: state(crash) and state(crash)[0] == "failed", timeout=10)
        time.sleep(0.3)
        got = os.read(rfd, 4096)
    finally:
        fifodir.unsubscribe(rfd, path)
    assert got.endswith(b"OD") and got.count(b"u") == 3
    assert "restart limit: 3 deaths" in state(crash)[1] and state(crash)[2] == "3"
    assert not read_status(crash).wantup
    wait_for(lambda: os.path.exists(flag), timeout=5, what="on-failure service ran")
    time.sleep(1.2)
    assert not read_status(crash).up   # stays down
    subprocess.run(["pysix-svc", "-u", crash])   # clears the failure
    wait_for(lambda: state(crash)[0] != "failed", timeout=5)
    stop(p)


def test_primary_with_restart_limit_stops_the_container_with_its_code(tmp, procs):
    root = os.path.join(tmp, "r")
    make_sd(os.path.join(root, "etc", "services.d", "app"), "exit 6", primary="", restart_limit="1 30\n")
    make_sd(os.path.join(root, "etc", "services.d", "side"), "exec sleep 1000")
    p = procs.start(["unshare", "--pid", "--fork", "--mount-proc", "pysix-init", "--root", root],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 6, out.decode()
    assert out.decode().count("restart limit") >= 1


def test_requires_stops_a_dependent_when_what_it_requires_fails(tmp, procs):
    scan = os.path.join(tmp, "scan")
    db = make_sd(os.path.join(scan, "db"), "sleep 0.8; exit 1", restart_limit="0 60")
    web = make_sd(os.path.join(scan, "web"), "exec sleep 1000", dependencies="db\n", requires="db\n")
    other = make_sd(os.path.join(scan, "other"), "exec sleep 1000", dependencies="db\n")
    p = start_scan(procs, scan)
    wpid = wait_for(lambda: (lambda s: s.pid if s and s.up else 0)(read_status(web)), timeout=10)
    opid = wait_for(lambda: (lambda s: s.pid if s and s.up else 0)(read_status(other)), timeout=10)
    wait_for(lambda: state(db) and state(db)[0] == "failed", timeout=10, what="db failed")
    st = wait_for(lambda: (lambda s: s if s and s[0] == "failed" else None)(state(web)), timeout=10,
                  what="web stopped because db failed")
    assert "required db failed" in st[1]
    assert not pid_alive(wpid)
    time.sleep(1.2)
    assert not (read_status(web) or read_status(web)).up, "not restarted"
    assert pid_alive(opid), "dependencies alone only order the start"
    stop(p)
