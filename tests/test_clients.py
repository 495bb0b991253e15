"""pysix-svc, pysix-svstat, pysix-svok and pysix-svwait: usage and errors,
byte-for-byte against s6-svstat on chosen status records, and exit codes
against a real s6-supervise 2.11 (spec sections 3, 4, 9, 10).
"""
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from helpers import make_sd, read_status, wait_for
from pysix.cli import svc, svok, svstat, svwait
from pysix.status import (FLAG_FINISHING, FLAG_PAUSED, FLAG_READY, FLAG_WANTUP, Status,
                          pack_status)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S = 10**9
HAVE_S6 = all(os.path.exists("/usr/bin/" + t) for t in
              ("s6-supervise", "s6-svc", "s6-svstat", "s6-svok", "s6-svwait"))
needs_s6 = pytest.mark.skipif(not HAVE_S6, reason="real s6 2.11 not installed in /usr/bin "
                              "(apt-get install s6): nothing to compare with")
ALL = ("up,wantedup,normallyup,ready,paused,pid,exitcode,signal,signum,"
       "updownsince,readysince,updownfor,readyfor")


def run(*args, timeout=10):
    """A command's (exit code, stdout, stderr); every call is bounded."""
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def inproc(main, *args):
    """A client's main() in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


class LockHolder:
    """Another process holding SD/supervise/lock (our own lock is invisible to F_GETLK)."""

    CODE = ("import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n")

    def __init__(self, procs, sd):
        os.makedirs(os.path.join(sd, "supervise"), exist_ok=True)
        self.sd = sd
        self.p = procs.start([sys.executable, "-c", self.CODE, os.path.join(sd, "supervise", "lock")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "locked"

    def write(self, st, down=False):
        tmp = os.path.join(self.sd, "supervise", "status.new")
        with open(tmp, "wb") as f:
            f.write(pack_status(st))
        os.rename(tmp, os.path.join(self.sd, "supervise", "status"))
        down_file = os.path.join(self.sd, "down")
        if down:
            open(down_file, "w").close()
        elif os.path.exists(down_file):
            os.unlink(down_file)


# ---- the executables, usage and errors (no s6 needed) ----

@pytest.mark.parametrize("exe", sorted(os.listdir(os.path.join(ROOT, "bin"))))
def test_executables_drop_their_own_dir_then_run_one_main(exe):
    fn = os.path.join(ROOT, "bin", exe)
    assert os.stat(fn).st_mode & 0o777 == 0o755
    with open(fn) as f:
        code = [ln for ln in f.read().splitlines() if ln.strip() and not ln.startswith("#")]
    drop = code.index('if not (sys.flags.isolated or getattr(sys.flags, "safe_path", False)):')
    assert code[drop + 1].startswith("    del sys.path[0]   #")
    assert "import sys" in code[:drop]
    assert not any(ln.startswith(("from pysix", "import pysix", "import site")) for ln in code[:drop])
    assert code[-3].startswith("from pysix.cli.") and code[-3].endswith(" import main")
    assert code[-2:] == ["from pysix.cli import run_main", "run_main(main)"]


def _copy_exe(tmp, exe):
    d = os.path.join(tmp, "bin")
    os.makedirs(d, exist_ok=True)
    return shutil.copy(os.path.join(ROOT, "bin", exe), d)


def test_a_pysix_planted_beside_an_executable_is_not_imported(tmp):
    # Python puts a script's own directory first on sys.path: a `pysix` there
    # (or any module a client imports) would shadow the real one.
    exe = _copy_exe(tmp, "pysix-svok")
    os.makedirs(os.path.join(tmp, "bin", "pysix", "cli"))
    for rel in ("pysix/__init__.py", "pysix/cli/__init__.py"):
        with open(os.path.join(tmp, "bin", rel), "w") as f:
            f.write("raise SystemExit(99)\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, exe, os.path.join(tmp, "nope")], env=env, capture_output=True,
                       text=True, timeout=20)
    assert (r.returncode, r.stderr) == (1, "")          # svok: not supervised


@pytest.mark.skipif(sys.version_info < (3, 11), reason="-P (no script dir on sys.path) is 3.11's")
def test_an_executable_under_safe_path_keeps_the_first_entry(tmp):
    # Under -P (or PYTHONSAFEPATH) sys.path[0] is not the script's dir but the
    # first PYTHONPATH entry, here the one pysix is found in.
    exe = _copy_exe(tmp, "pysix-svok")
    env = dict(os.environ, PYTHONPATH=ROOT)
    for argv, extra in (([sys.executable, "-P", exe], {}), ([sys.executable, exe], {"PYTHONSAFEPATH": "1"})):
        r = subprocess.run(argv + [os.path.join(tmp, "nope")], env=dict(env, **extra), capture_output=True,
                           text=True, timeout=20)
        assert (r.returncode, r.stderr) == (1, ""), argv


@pytest.mark.parametrize("main,args", [
    (svc.main, ["-Z", "sd"]), (svc.main, ["-T", "abc", "-wu", "sd"]), (svc.main, ["-T", "-5", "sd"]),
    (svc.main, ["-w", "z", "sd"]), (svc.main, ["-wuU", "sd"]), (svc.main, []), (svc.main, ["-u"]),
    (svc.main, ["-" + "h" * 63, "sd"]),
    (svstat.main, ["-Z", "sd"]), (svstat.main, ["-o", "bogus", "sd"]), (svstat.main, []),
    (svstat.main, ["-o", ",".join(["up"] * 17), "sd"]), (svstat.main, ["--nope", "sd"]),
    (svok.main, []), (svok.main, ["-x"]),
    (svwait.main, []), (svwait.main, ["-t", "1.5", "sd"]), (svwait.main, ["-x", "sd"]),
])
def test_usage_errors_exit_100_on_one_line(main, args):
    rc, out, err = inproc(main, *args)
    assert rc == 100 and out == ""
    assert err.count("\n") <= 1 and "Traceback" not in err
    if err:
        assert err.startswith("pysix-sv")


def test_bad_input_through_the_executables(tmp):
    for cmd in (["pysix-svc", "-Z", tmp], ["pysix-svstat", "-o", "nope", tmp], ["pysix-svok"],
                ["pysix-svwait", "-t", "x", tmp]):
        rc, out, err = run(*cmd)
        assert rc == 100 and err.count("\n") == 1 and "Traceback" not in err, cmd


def test_missing_or_broken_service_dirs(tmp, procs):
    nope = os.path.join(tmp, "nope")
    afile = os.path.join(tmp, "afile")
    open(afile, "w").close()
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    assert inproc(svc.main, "-u", nope)[0] == 111
    assert inproc(svc.main, "-wu", "-u", "-T", "100", nope)[0] == 111
    assert inproc(svc.main, "-u", empty)[0] == 100            # nobody listening
    assert inproc(svok.main, nope)[0] == 1
    assert inproc(svok.main, empty)[0] == 1
    assert inproc(svok.main, afile)[0] == 111                # ENOTDIR is an error, as s6
    rc, out, err = inproc(svstat.main, nope)
    assert (rc, out) == (1, "")
    assert err == "pysix-svstat: fatal: unable to read status for %s: s6-supervise not running\n" % nope
    assert inproc(svstat.main, afile)[0] == 111
    rc, _, err = inproc(svwait.main, "-u", "-t", "100", empty)
    assert rc == 111 and "status" in err and err.count("\n") == 1
    # Held lock, short status file: 111 for readers, never a traceback.
    held = LockHolder(procs, os.path.join(tmp, "held"))
    with open(os.path.join(held.sd, "supervise", "status"), "wb") as f:
        f.write(b"abc")
    for main, args in ((svstat.main, [held.sd]), (svwait.main, ["-t", "100", held.sd]),
                       (svc.main, ["-wd", "-T", "100", held.sd])):
        rc, _, err = inproc(main, *args)
        assert rc == 111 and "35" in err and err.count("\n") == 1, main


def test_several_dirs_and_json(tmp, procs):
    a = LockHolder(procs, os.path.join(tmp, "a"))
    now = time.time_ns()
    a.write(Status(now - S // 2, now - S // 2, 4242, 0, FLAG_WANTUP | FLAG_READY))
    b = make_sd(os.path.join(tmp, "b"), "exec true", down="")       # supervisor gone: stale status
    os.mkdir(os.path.join(b, "supervise"))
    with open(os.path.join(b, "supervise", "status"), "wb") as f:
        f.write(pack_status(Status(now, now, 0, 0, FLAG_READY)))
    rc, out, err = inproc(svstat.main, a.sd, b)
    assert rc == 1
    assert out == "%s: up (pid 4242) 0 seconds, ready 0 seconds\n" % a.sd
    assert err == "pysix-svstat: fatal: unable to read status for %s: s6-supervise not running\n" % b
    rc, out, _ = inproc(svstat.main, "--json", a.sd, b, os.path.join(tmp, "c"))
    objs = json.loads(out)
    assert rc == 111 and isinstance(objs, list) and len(objs) == 3
    o = objs[0]
    assert (o["path"], o["supervised"], o["up"], o["pid"], o["ready"], o["wanted_up"],
            o["normally_up"], o["paused"], o["finishing"]) == \
        (a.sd, True, True, 4242, True, True, True, False, False)
    assert o["updown_for"] == 0 and abs(o["since"] - now / 1e9 + 0.5) < 0.01
    assert o["ready_since_tai64n"].startswith("@4000") and o["exitcode"] is None
    assert objs[1]["supervised"] is False and "error" not in objs[1] and objs[1]["normally_up"] is False
    assert objs[2]["supervised"] is False and "error" in objs[2]
    rc, out, _ = inproc(svstat.main, "--json", a.sd)
    assert rc == 0 and len(json.loads(out)) == 1                   # always an array


def _imported(argv, env=None):
    """The modules a command imported (-X importtime), and its exit code; -S
    leaves out what site and .pth files import, PYTHONPATH finds pysix."""
    r = subprocess.run([sys.executable, "-S", "-X", "importtime"] + argv, capture_output=True, text=True,
                       timeout=20, env=env)
    return r.returncode, [ln.rsplit("|", 1)[1].strip() for ln in r.stderr.splitlines()
                          if ln.startswith("import time:") and "|" in ln][1:]


def test_client_commands_import_little_and_no_signal_names_for_an_up_service(tmp, procs):
    # Each module is ~0.1 ms and a dozen system calls of a command's start
    # (speed.py), and json, argparse, subprocess or threading several. `from __future__ import annotations` imports a module of its
    # own, so no pysix module has it; signal names are imported only to print
    # a death by a signal.
    scan = os.path.join(tmp, "scan")
    a = LockHolder(procs, os.path.join(scan, "a"))
    now = time.time_ns()
    a.write(Status(now, now, 4242, 0, FLAG_WANTUP))
    b = os.path.join(tmp, "b")      # no supervisor: the early-exit paths import less, not more
    bin_ = os.path.join(ROOT, "bin")
    env = dict(os.environ, PYSIX_SCANDIR=scan)
    for argv, rc in ((["pysix-svstat", a.sd], 0), (["pysix-svstat", "-o", "up,state", a.sd], 0),
                     (["pysix-svok", a.sd], 0), (["pysix-svc", "-u", a.sd], 100),
                     (["pysix-svwait", "-u", "-t", "100", a.sd], 0), (["pysix-svscanctl", "-a", scan], 100),
                     (["pysix", "status"], 0), (["pysix", "health"], 0), (["pysix-svstat", b], 1),
                     (["with-contenv", "true"], 0), (["pysix-setuidgid", "root", "true"], 0)):
        got, mods = _imported([os.path.join(bin_, argv[0])] + argv[1:], env)
        assert got == rc and "pysix.cli" in mods, argv
        assert not {"__future__", "typing", "pysix.cli.fastexit", "json", "argparse", "subprocess", "threading",
                    "pysix.loop"} & set(mods), (argv, mods)
        if argv[0] == "pysix-svstat":
            assert "pysix.signames" not in mods, argv
    a.write(Status(now, now, 0, 15, FLAG_WANTUP))
    rc, out, _ = run(os.path.join(bin_, "pysix-svstat"), a.sd)
    assert (rc, out) == (0, "down (signal SIGTERM) 0 seconds, normally up, want up\n")


def test_plain_status_query_reads_no_pysix_state(tmp):
    # s6's one-line form shows nothing of pysix-state: neither the file nor
    # its parser (one module import, ~0.2 ms) is touched for it.
    sd = make_sd(os.path.join(tmp, "sd"), "exec true")
    code = ("import sys; from pysix.cli import svstat; svstat.main([sys.argv[1]]);"
            "print('pysix.policy' in sys.modules)")
    rc, out, _ = run(sys.executable, "-c", code, sd)
    assert out.strip() == "False"
    code = ("import sys; from pysix.cli import svstat; svstat.main(['-o', 'state', sys.argv[1]]);"
            "print('pysix.policy' in sys.modules)")
    rc, out, _ = run(sys.executable, "-c", code, sd)
    assert out.strip() == "True"


# ---- pysix-svstat against s6-svstat on chosen records ----

def _records(now):
    ago = lambda k: now - k * S - S // 2   # noqa: E731  k.5 s ago: the same whole age for both
    return [
        (Status(ago(0), ago(0), 0, 0, FLAG_READY), True),                      # start, down file
        (Status(ago(0), ago(0), 0, 0, FLAG_READY | FLAG_WANTUP), False),       # start, 2.11 quirk
        (Status(ago(3), ago(5), 1234, 0x0F, FLAG_WANTUP), False),              # up, not ready
        (Status(ago(3), ago(2), 1234, 0, FLAG_WANTUP | FLAG_READY | FLAG_PAUSED), True),
        (Status(ago(7), ago(9), 1234, 0x300, 0), True),                        # up, want down
        (Status(ago(1), ago(4), 777, 0x89, FLAG_FINISHING | FLAG_WANTUP), False),  # finish
        (Status(ago(2), ago(1), 0, 0x300, FLAG_READY | FLAG_WANTUP), False),
        (Status(ago(2), ago(1), 0, 0x86, FLAG_READY), True),                   # SIGABRT + core
        (Status(ago(2), ago(1), 0, 29, FLAG_READY), False),                    # SIGPOLL
        (Status(ago(2), ago(1), 0, 34, FLAG_READY), False),                    # SIG???
        (Status(ago(2), ago(1), 0, 0x7F, FLAG_READY), False),                  # not a signal
        (Status(now + 50 * S, now + 100 * S + S // 2, 0, 15, FLAG_READY), False),  # clock went back
    ]


def _trim_labels(res):
    """TAI64N labels cut to their seconds part."""
    out = " ".join(w[:17] if w.startswith("@4000") else w for w in res[1].split(" "))
    return (res[0], out) + res[2:]


@needs_s6
def test_svstat_matches_s6_svstat_byte_for_byte(tmp, procs):
    held = LockHolder(procs, os.path.join(tmp, "sd"))
    for st, down in _records(time.time_ns()):
        held.write(st, down)
        for opts in ([], ["-n"], ["-o", ALL], ["-uwNrpest"], ["-o", "up,"], ["-p", "-o", "re,updown"]):
            theirs = run("s6-svstat", *opts, held.sd)
            ours = inproc(svstat.main, *opts, held.sd)
            if st.stamp > time.time_ns():   # shown as each program's own "now": keep the seconds
                theirs, ours = _trim_labels(theirs), _trim_labels(ours)
            assert ours[:2] == theirs[:2], (st, down, opts)
    # And through the executable once.
    held.write(*_records(time.time_ns())[5])
    assert run("pysix-svstat", "-o", ALL, held.sd)[:2] == run("s6-svstat", "-o", ALL, held.sd)[:2]


# ---- the clients against a real s6-supervise ----

def _stop(sd):
    """End a real s6-supervise: bring the service down and exit (then the lock is free)."""
    subprocess.run(["s6-svc", "-xd", sd], capture_output=True, timeout=5)
    wait_for(lambda: subprocess.run(["s6-svok", sd]).returncode != 0, what="s6-supervise exit")


def _supervise(procs, sd):
    procs.start(["s6-supervise", sd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    wait_for(lambda: read_status(sd) and run("s6-svok", sd)[0] == 0, what="s6-supervise up")


def _subscribers(sd):
    try:
        return sum(1 for n in os.listdir(os.path.join(sd, "event")) if n.startswith("ftrig1:@"))
    except OSError:
        return 0


def _ages_close(a, b):
    """Two svstat outputs equal except whole-second ages off by at most 1."""
    ta, tb = a.split(), b.split()
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb):
        if x != y and not (x.isdigit() and y.isdigit() and abs(int(x) - int(y)) <= 1):
            return False
    return True


def _compare_svstat(sd):
    for opts in ([], ["-o", ALL]):
        theirs, ours = run("s6-svstat", *opts, sd), run("pysix-svstat", *opts, sd)
        assert ours[0] == theirs[0] == 0 and _ages_close(ours[1], theirs[1]), (ours, theirs)
    fields = run("s6-svstat", "-o", "up,ready,wantedup,normallyup,paused,pid,updownsince", sd)[1].split()
    o = json.loads(run("pysix-svstat", "--json", sd)[1])[0]
    assert o["supervised"] is True
    assert ["true" if v else "false" for v in (o["up"], o["ready"], o["wanted_up"], o["normally_up"],
                                                o["paused"])] == fields[:5]
    assert str(o["pid"] if o["up"] else -1) == fields[5] and o["since_tai64n"] == fields[6]


@needs_s6
def test_svc_and_friends_drive_real_s6_supervise(tmp, procs):
    sd = make_sd(os.path.join(tmp, "svc"), "echo >&3; exec sleep 1000", notification_fd="3")
    _supervise(procs, sd)
    try:
        assert run("pysix-svwait", "-U", "-t", "5000", sd)[0] == 0
        assert run("pysix-svok", sd)[0] == 0
        _compare_svstat(sd)                                      # up and ready
        pid = read_status(sd).pid
        assert run("pysix-svc", "-wr", "-T", "5000", "-r", sd)[0] == 0
        assert read_status(sd).up and read_status(sd).pid != pid
        assert run("pysix-svc", "-wd", "-T", "5000", "-k", "-d", sd)[0] == 0
        assert run("pysix-svwait", "-D", "-t", "5000", sd)[0] == 0
        _compare_svstat(sd)                                      # down (signal SIGKILL), ready
        assert run("pysix-svc", "-wu", "-T", "300", sd)[:2] == (99, "")   # wanted down: times out
        assert run("pysix-svc", "-wd", "-T", "300", sd)[0] == 0           # already there
        assert run("pysix-svwait", "-u", "-t", "300", sd)[0] == 99
        assert run("pysix-svc", "-wU", "-T", "5000", "-u", sd)[0] == 0
        assert run("pysix-svstat", "-o", "up,ready,wantedup", sd)[1] == "true true true\n"
        assert run("pysix-svc", "-wD", "-T", "5000", "-d", sd)[0] == 0
        assert run("pysix-svc", "-o", sd)[0] == 0                         # once, not restarted
        assert run("pysix-svwait", "-u", "-t", "5000", sd)[0] == 0
        assert run("pysix-svstat", "-o", "up,wantedup", sd)[1] == "true false\n"
        assert run("pysix-svc", "-wD", "-T", "5000", "-d", sd)[0] == 0
        assert run("pysix-svc", "-u", sd)[0] == 0
        assert run("pysix-svwait", "-u", "-t", "5000", sd)[0] == 0
        assert run("pysix-svc", "-wd", "-T", "5000", "-xd", sd)[0] == 0   # d comes before x
        wait_for(lambda: run("pysix-svok", sd)[0] == 1, what="s6-supervise exit")
        # A stale status file and nobody listening.
        assert run("pysix-svc", "-u", sd)[0] == 100
        rc, _, err = run("pysix-svc", "-wu", "-T", "300", "-u", sd)
        assert rc == 100 and "not listening" in err              # s6-svc would wait: 99
        assert run("pysix-svwait", "-u", "-t", "200", sd)[0] == 99  # no lock check, as s6
        assert run("pysix-svstat", sd)[0] == 1
    finally:
        _stop(sd)


@needs_s6
def test_svc_wU_without_notification_fd_waits_for_up(tmp, procs):
    sd = make_sd(os.path.join(tmp, "nn"), "exec sleep 1000", down="")
    _supervise(procs, sd)
    try:
        rc, out, err = run("pysix-svc", "-wU", "-T", "5000", "-u", sd)
        assert (rc, out) == (0, "")
        assert err == ("pysix-svc: warning: %s/notification-fd not present - ignoring request"
                       " for readiness notification\n" % sd)
        assert read_status(sd).up
    finally:
        _stop(sd)


@needs_s6
def test_svc_exit_1_on_permanent_failure(tmp, procs):
    # It comes up (u) but dies before it is ready: d, then finish exits 125: OD.
    sd = make_sd(os.path.join(tmp, "pf"), "exit 2", down="", notification_fd="3",
                 finish="#!/bin/sh\nexit 125\n")
    _supervise(procs, sd)
    try:
        rc, _, err = run("pysix-svc", "-wU", "-T", "5000", "-u", sd)
        assert rc == 1 and "failed permanently" in err
        assert run("pysix-svstat", "-o", "up,wantedup", sd)[1] == "false false\n"
    finally:
        _stop(sd)


@needs_s6
def test_svwait_all_any_and_failure_count_on_supervisor_exit(tmp, procs):
    a = make_sd(os.path.join(tmp, "a"), "exec sleep 1000", down="")
    b = make_sd(os.path.join(tmp, "b"), "exec sleep 1000", down="")
    _supervise(procs, a)
    _supervise(procs, b)
    try:
        assert run("pysix-svwait", "-o", "-d", "-t", "300", a, b)[0] == 0     # already down
        assert run("pysix-svwait", "-u", "-t", "300", a, b)[0] == 99
        anyw = procs.start(["pysix-svwait", "-o", "-u", "-t", "5000", a, b])
        allw = procs.start(["pysix-svwait", "-a", "-u", "-t", "5000", a, b])
        wait_for(lambda: _subscribers(a) == 2 and _subscribers(b) == 2, what="waiters subscribed")
        assert run("pysix-svc", "-u", a)[0] == 0
        assert anyw.wait(5) == 0
        time.sleep(0.2)
        assert allw.poll() is None                                        # b is still down
        assert run("pysix-svc", "-u", b)[0] == 0
        assert allw.wait(5) == 0
        assert run("pysix-svc", "-wD", "-T", "5000", "-d", a)[0] == 0
        assert run("pysix-svc", "-wD", "-T", "5000", "-d", b)[0] == 0
        # Both supervisors exit while waiters want them up: one failure each.
        both = procs.start(["pysix-svwait", "-u", "-t", "5000", a, b], stderr=subprocess.PIPE, text=True)
        one = procs.start(["pysix-svc", "-wu", "-T", "5000", a], stderr=subprocess.PIPE, text=True)
        wait_for(lambda: _subscribers(a) == 2 and _subscribers(b) == 1, what="waiters subscribed")
        assert run("pysix-svc", "-x", a)[0] == 0
        assert run("pysix-svc", "-x", b)[0] == 0
        assert both.wait(5) == 2 and "supervisor died" in both.stderr.read()
        assert one.wait(5) == 1 and "supervisor died" in one.stderr.read()
        assert run("pysix-svok", a)[0] == run("pysix-svok", b)[0] == 1
    finally:
        _stop(a)
        _stop(b)
