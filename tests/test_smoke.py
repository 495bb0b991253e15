"""End-to-end smoke tests of the main paths: one supervisor, the scanner, PID 1.

The thorough tests of each part live in their own files; these make sure the
pieces fit together, with real processes, signals and FIFOs.
"""
import os
import shutil
import signal
import subprocess
import time

import pytest

from helpers import make_sd, pid_alive, read_status, wait_for

HAVE_S6 = shutil.which("s6-svc") is not None
needs_s6 = pytest.mark.skipif(not HAVE_S6, reason="s6 is not installed (apt-get install s6)")


def sv_up(sd):
    st = read_status(sd)
    return st is not None and st.up and st.pid


def test_supervise_runs_and_obeys_control_fifo(tmp, procs):
    sd = make_sd(os.path.join(tmp, "a"), "exec sleep 1000")
    p = procs.start(["pysix-supervise", sd])
    pid = wait_for(lambda: sv_up(sd), what="service up")
    assert pid_alive(pid)
    with open(os.path.join(sd, "supervise", "control"), "wb") as f:
        f.write(b"d")
    wait_for(lambda: not pid_alive(pid), what="service down")
    st = wait_for(lambda: (lambda s: s if s and not s.up and s.ready else None)(read_status(sd)))
    assert st.signal == signal.SIGTERM and not st.wantup
    with open(os.path.join(sd, "supervise", "control"), "wb") as f:
        f.write(b"x")
    assert p.wait(5) == 0


@needs_s6
def test_real_s6_clients_drive_pysix(tmp, procs):
    sd = make_sd(os.path.join(tmp, "a"), "echo >&3; exec sleep 1000", notification_fd="3")
    procs.start(["pysix-supervise", sd])
    wait_for(lambda: read_status(sd), what="status file")
    assert subprocess.run(["s6-svwait", "-U", "-t", "5000", sd]).returncode == 0
    assert subprocess.run(["s6-svok", sd]).returncode == 0
    out = subprocess.run(["s6-svstat", "-o", "up,ready,wantedup,normallyup", sd],
                         capture_output=True, text=True).stdout.split()
    assert out == ["true", "true", "true", "true"]
    assert subprocess.run(["s6-svc", "-wD", "-T", "5000", "-d", sd]).returncode == 0
    assert subprocess.run(["s6-svc", "-wU", "-T", "5000", "-u", sd]).returncode == 0
    assert subprocess.run(["s6-svc", "-xd", sd]).returncode == 0
    wait_for(lambda: subprocess.run(["s6-svok", sd]).returncode == 1, what="supervisor gone")


def test_partial_readiness_never_freezes_the_supervisor(tmp, procs):
    # s6 2.11 blocks in read() here; pysix must keep obeying commands.
    sd = make_sd(os.path.join(tmp, "h"), "printf abc >&3; exec sleep 1000", notification_fd="3")
    procs.start(["pysix-supervise", sd])
    pid = wait_for(lambda: sv_up(sd))
    time.sleep(0.1)
    with open(os.path.join(sd, "supervise", "control"), "wb") as f:
        f.write(b"d")
    wait_for(lambda: not pid_alive(pid), what="service taken down despite partial readiness data")


def test_scanner_starts_every_service_and_stops_them(tmp, procs):
    scan = os.path.join(tmp, "scan")
    for i in range(10):
        make_sd(os.path.join(scan, "s%d" % i), "exec sleep 1000")
    p = procs.start(["pysix-svscan", scan])
    pids = wait_for(lambda: [x for x in (sv_up(os.path.join(scan, "s%d" % i)) for i in range(10)) if x]
                    if all(sv_up(os.path.join(scan, "s%d" % i)) for i in range(10)) else None,
                    what="10 services up")
    make_sd(os.path.join(scan, "late"), "exec sleep 1000")
    wait_for(lambda: sv_up(os.path.join(scan, "late")), what="new dir picked up without a rescan command")
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0
    for pid in pids:
        assert not pid_alive(pid)


def _ns_init(root, cmd, procs, env=None):
    return procs.start(["unshare", "--pid", "--fork", "--mount-proc", "pysix-init", "--root", root, "--"] + cmd,
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("cmd,code", [(["true"], 0), (["sh", "-c", "exit 3"], 3),
                                      (["sh", "-c", "kill -TERM $$"], 143)])
def test_pid1_exit_code_is_the_cmds(tmp, procs, cmd, code):
    root = os.path.join(tmp, "root")
    make_sd(os.path.join(root, "etc", "services.d", "svc"), "exec sleep 1000")
    p = _ns_init(root, cmd, procs)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == code, out


def test_pid1_primary_service_crash_stops_container(tmp, procs):
    root = os.path.join(tmp, "root")
    make_sd(os.path.join(root, "etc", "services.d", "app"), "sleep 0.2; exit 7", primary="")
    make_sd(os.path.join(root, "etc", "services.d", "helper"), "exec sleep 1000")
    p = _ns_init(root, [], procs)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 7, out
