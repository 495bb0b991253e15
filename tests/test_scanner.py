"""pysix-svscan: trees of 50 services, change notification, torn trees, log pipes that lose nothing."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from helpers import make_sd, pid_alive, stop, up_pid, wait_for, write_exec

HAVE_S6 = shutil.which("s6-svscanctl") is not None


def all_up(sds):
    pids = [up_pid(sd) for sd in sds]
    return pids if all(pids) else None


def supervisors_of(pid):
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {comm: int(p) for p, comm in (l.split(None, 1) for l in out.splitlines())}


def test_fifty_services_one_supervisor_each_named_in_comm(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sds = [make_sd(os.path.join(scan, "s%02d" % i), "exec sleep 1000") for i in range(50)]
    os.makedirs(os.path.join(scan, ".hidden"))
    write_exec(os.path.join(scan, ".hidden", "run"), "#!/bin/sh\nexec sleep 1000\n")
    open(os.path.join(scan, "afile"), "w").close()
    t0 = time.monotonic()
    p = procs.start(["pysix-svscan", scan])
    pids = wait_for(lambda: all_up(sds), timeout=20, what="50 services up")
    print("boot of 50 services: %.0f ms" % ((time.monotonic() - t0) * 1000))
    sups = supervisors_of(p.pid)
    assert len(sups) == 50 and "sv:s00" in sups
    assert not os.path.exists(os.path.join(scan, ".hidden", "supervise"))
    stop(p)
    assert p.returncode == 0
    assert not any(pid_alive(x) for x in pids)


def test_new_dir_noticed_removed_dir_stops(tmp, procs):
    scan = os.path.join(tmp, "scan")
    a = make_sd(os.path.join(scan, "a"), "exec sleep 1000")
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: up_pid(a))
    staging = make_sd(os.path.join(tmp, "staging-b"), "exec sleep 1000")
    os.rename(staging, os.path.join(scan, "b"))
    b = os.path.join(scan, "b")
    bpid = wait_for(lambda: up_pid(b), timeout=3, what="b picked up without svscanctl")
    bsup = supervisors_of(p.pid)["sv:b"]
    shutil.rmtree(b)
    wait_for(lambda: not pid_alive(bpid) and not pid_alive(bsup), timeout=5, what="b's supervisor and service gone")
    stop(p)


def test_svscanctl_rescan_and_letters(tmp, procs):
    scan = os.path.join(tmp, "scan")
    a = make_sd(os.path.join(scan, "a"), "exec sleep 1000")
    p = procs.start(["pysix-svscan", scan], stderr=subprocess.PIPE)
    wait_for(lambda: up_pid(a))
    assert subprocess.run(["pysix-svscanctl", "-a", scan]).returncode == 0
    with open(os.path.join(scan, ".s6-svscan", "control"), "wb") as f:
        f.write(b"?")
    time.sleep(0.2)
    assert p.poll() is None
    assert subprocess.run(["pysix-svscanctl", "-X", scan]).returncode == 100
    assert subprocess.run(["pysix-svscanctl", "-a", os.path.join(tmp, "nope")]).returncode == 111
    apid = up_pid(a)
    assert subprocess.run(["pysix-svscanctl", "-t", scan]).returncode == 0
    assert p.wait(10) == 0
    assert b"unknown control command" in p.stderr.read()
    assert not pid_alive(apid)


@pytest.mark.skipif(not HAVE_S6, reason="s6 is not installed")
def test_real_s6_svscanctl_drives_pysix_svscan(tmp, procs):
    scan = os.path.join(tmp, "scan")
    a = make_sd(os.path.join(scan, "a"), "exec sleep 1000")
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: up_pid(a))
    apid = up_pid(a)
    assert subprocess.run(["s6-svscanctl", "-t", scan]).returncode == 0
    assert p.wait(10) == 0 and not pid_alive(apid)


def test_second_scanner_refused(tmp, procs):
    scan = os.path.join(tmp, "scan")
    make_sd(os.path.join(scan, "a"), "exec sleep 1000")
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: os.path.exists(os.path.join(scan, ".s6-svscan", "control")))
    time.sleep(0.2)
    r = subprocess.run(["pysix-svscan", scan], capture_output=True, text=True, timeout=10)
    assert r.returncode == 100 and "already running" in r.stderr
    stop(p)


def test_signal_scripts_replace_defaults_and_finish_runs(tmp, procs):
    scan = os.path.join(tmp, "scan")
    a = make_sd(os.path.join(scan, "a"), "exec sleep 1000")
    ctl = os.path.join(scan, ".s6-svscan")
    os.makedirs(ctl)
    mark = os.path.join(tmp, "marks")
    write_exec(os.path.join(ctl, "SIGUSR1"), "#!/bin/sh\necho usr1 >> %s\n" % mark)
    write_exec(os.path.join(ctl, "finish"), "#!/bin/sh\necho finish \"$0\" >> %s\nexit 5\n" % mark)
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: up_pid(a))
    p.send_signal(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(mark) and "usr1" in open(mark).read())
    assert p.poll() is None
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 5
    assert "finish .s6-svscan/finish" in open(mark).read()


def test_orphans_of_services_are_reaped_by_the_scanner(tmp, procs):
    scan = os.path.join(tmp, "scan")
    a = make_sd(os.path.join(scan, "a"), "(sleep 0.3 &) ; exec sleep 1000")
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: up_pid(a))
    time.sleep(1.0)
    zombies = subprocess.run(["ps", "-o", "stat=", "--ppid", str(p.pid)], capture_output=True, text=True).stdout
    assert "Z" not in zombies
    stop(p)


def test_torn_tree_keeps_running_and_says_what_is_wrong(tmp, procs):
    scan = os.path.join(tmp, "scan")
    good = make_sd(os.path.join(scan, "good"), "exec sleep 1000")
    os.makedirs(os.path.join(scan, "norun"))
    # 0644 and no #! line: neither exec'd nor run through an interpreter.
    noexec = make_sd(os.path.join(scan, "noexec"), None)
    with open(os.path.join(noexec, "run"), "w") as f:
        f.write("exec sleep 1000\n")
    os.chmod(os.path.join(noexec, "run"), 0o644)
    os.symlink("/nonexistent", os.path.join(scan, "dangling"))
    victim = make_sd(os.path.join(scan, "victim"), "exec sleep 1000")
    p = procs.start(["pysix-svscan", scan], stderr=subprocess.PIPE)
    wait_for(lambda: up_pid(good) and up_pid(victim))
    vpid = up_pid(victim)
    shutil.rmtree(victim)
    open(victim, "w").close()   # the dir replaced by a file
    wait_for(lambda: not pid_alive(vpid), timeout=5, what="victim stopped")
    assert p.poll() is None and up_pid(good)
    with open(os.path.join(noexec, "run"), "w") as f:
        f.write("#!/bin/sh\nexec sleep 1000\n")
    subprocess.run(["pysix-svc", "-u", noexec])
    wait_for(lambda: up_pid(noexec), timeout=5, what="fixed run started on -u")
    stop(p)
    err = p.stderr.read().decode()
    assert "norun" in err and "./run" in err
    assert "noexec" in err and "not executable" in err
    assert "dangling" in err
    assert "Traceback" not in err


def test_log_pipe_loses_no_line_when_either_side_is_killed(tmp, procs):
    scan = os.path.join(tmp, "scan")
    out = os.path.join(tmp, "logged")
    last = os.path.join(tmp, "last")
    # The writer resumes its counter after each restart and records, after each
    # successful write, the last number written: every number up to it must be
    # in the logger's output, in order, exactly once.
    writer = os.path.join(tmp, "writer.py")
    with open(writer, "w") as f:
        f.write("import os, sys\n"
                "last = %r\n"
                "try:\n    n = int(open(last).read() or 0)\nexcept (OSError, ValueError):\n    n = 0\n"
                "while True:\n"
                "    n += 1\n"
                "    os.write(1, b'%%d\\n' %% n)\n"
                "    with open(last + '.new', 'w') as f: f.write(str(n))\n"
                "    os.rename(last + '.new', last)\n" % last)
    svc = make_sd(os.path.join(scan, "svc"), "exec python3 %s" % writer)
    os.makedirs(os.path.join(svc, "log"))
    os.makedirs(out)
    write_exec(os.path.join(svc, "log", "run"), "#!/bin/sh\nexec pysix-log -s 100M %s\n" % out)
    def written():
        try:
            return int(open(last).read())
        except (OSError, ValueError):
            return 0
    p = procs.start(["pysix-svscan", scan])
    logger = os.path.join(svc, "log")
    wait_for(lambda: up_pid(svc) and up_pid(logger), timeout=30, what="svc and its logger up")
    for i in range(6):
        # Mid-stream: this incarnation has written (loaded cores may take a while to start python).
        before = written()
        wait_for(lambda: written() >= before + 10, timeout=30, what="the writer writing")
        # The service is SIGKILLed mid-stream; the logger is restarted the way
        # an operator does (TERM: it writes what it has read, then exits).
        victim = svc if i % 2 == 0 else logger
        pid = up_pid(victim)
        if pid:
            os.kill(pid, signal.SIGKILL if victim == svc else signal.SIGTERM)
        wait_for(lambda: up_pid(victim) and up_pid(victim) != pid, timeout=30, what="restart")
    wait_for(lambda: written() > 100, timeout=30, what="more than 100 lines written")
    stop(p)   # the logger drains the pipe before the scanner exits
    n = int(open(last).read())
    got = [int(x) for x in open(os.path.join(out, "current")).read().split()]
    assert n > 100
    # A writer killed between its write and its record writes that number
    # again after the restart: a repeat is the writer's, a gap would be a loss.
    firsts = []
    for x in got:
        if x not in firsts[-2:]:
            firsts.append(x)
    assert firsts[:n] == list(range(1, n + 1))


def test_prefix_mode_whole_lines_never_torn(tmp, procs):
    scan = os.path.join(tmp, "scan")
    body = "x" * 3000
    for i in range(4):
        make_sd(os.path.join(scan, "w%d" % i),
                "i=0; while [ $i -lt 200 ]; do echo \"w%d-$i-%s\"; i=$((i+1)); done; exec sleep 1000" % (i, body))
    p = procs.start(["pysix-svscan", "-p", scan], stdout=subprocess.PIPE)
    lines = []
    buf = b""
    deadline = time.monotonic() + 20
    while len(lines) < 800 and time.monotonic() < deadline:
        buf += os.read(p.stdout.fileno(), 65536)
        *done, buf = buf.split(b"\n")
        lines += done
    stop(p)
    assert len(lines) >= 800
    for line in lines[:800]:
        name, rest = line.split(b" | ", 1)
        assert rest.startswith(name + b"-") and rest.endswith(body.encode()), line[:80]
