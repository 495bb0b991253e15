"""`pysix`, the command for people, against real trees started with pysix-svscan / pysix-init.

The shared tree has a crash-looping service, one that fails (restart-limit),
one waiting for a dependency that is down on purpose, a service that
notifies readiness with a logger stamping TAI64N, and a plain one.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from helpers import ProcSet, make_sd, read_pysix_state, read_status, up_pid, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "bin", "*")))
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("PYSIX_SCANDIR", "PYSIX_RUNDIR", "PYSIX_ROOT", "NO_COLOR")}


def pysix(args, scandir=None, timeout=20, **env):
    e = dict(CLEAN_ENV, **env)
    if scandir:
        e["PYSIX_SCANDIR"] = scandir
    return subprocess.run(["pysix"] + args, env=e, capture_output=True, text=True, timeout=timeout)


def pstate(sd):
    try:
        return open(os.path.join(sd, "supervise", "pysix-state")).read().split("\n")[0]
    except OSError:
        return None


def ready(sd):
    st = read_status(sd)
    return st is not None and st.up and st.ready


@pytest.fixture(scope="module")
def tree():
    base = tempfile.mkdtemp(prefix="pysix-people-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    scan = os.path.join(base, "scan")
    make_sd(os.path.join(scan, "crash"), "echo crashing; exit 3")
    make_sd(os.path.join(scan, "failer"), "exit 7", restart_limit="1 60\n")
    make_sd(os.path.join(scan, "off"), "exec sleep 1000", down="")
    make_sd(os.path.join(scan, "waiter"), "exec sleep 1000", dependencies="off\n")
    make_sd(os.path.join(scan, "plain"), "exec sleep 1000")
    make_sd(os.path.join(scan, "web"), "echo >&3; exec 3>&-; while :; do echo hello from web; sleep 0.1; done",
            notification_fd="3")
    make_sd(os.path.join(scan, "web", "log"), "exec pysix-log -t tai64n -s 2000 -n 3 ./main")
    procs = ProcSet()
    try:
        yield from _tree_up(procs, scan)
    finally:            # a fixture that fails before its yield still ends what it started
        procs.kill_all()
        shutil.rmtree(base, ignore_errors=True)


def _tree_up(procs, scan):
    procs.start(["pysix-svscan", scan], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    sd = lambda n: os.path.join(scan, n)   # noqa: E731
    wait_for(lambda: pstate(sd("failer")) == "failed", timeout=15, what="failer failed")
    wait_for(lambda: pstate(sd("waiter")) == "waiting", timeout=10, what="waiter waiting")
    wait_for(lambda: ready(sd("web")) and up_pid(sd("web/log")) and up_pid(sd("plain")), timeout=10, what="web up")
    wait_for(lambda: os.path.exists(sd("crash/supervise/death_tally"))
             and os.path.getsize(sd("crash/supervise/death_tally")) >= 14, timeout=10, what="crash died once")
    cur = sd("web/log/main/current")
    wait_for(lambda: os.path.exists(cur) and os.path.getsize(cur) > 0, timeout=10, what="web's first log line")
    yield scan


def rows(out):
    lines = out.splitlines()
    header = lines[0]
    # columns by the header's positions: REASON is the rest of the line
    cols = ["NAME", "STATE", "PID", "FOR", "DEATHS", "LAST", "REASON"]
    starts = [header.index(c) for c in cols]
    out = {}
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        out[cells[0]] = dict(zip(cols, cells))
    return out


def test_status_table(tree):
    r = pysix(["status"], tree)
    assert r.returncode == 0, r.stderr
    assert "\033[" not in r.stdout          # not a terminal: no colour
    t = rows(r.stdout)
    assert list(t) == ["crash", "failer", "off", "plain", "waiter", "web", "web/log"]
    assert t["web"]["STATE"] == "ready" and t["web"]["PID"] == str(up_pid(os.path.join(tree, "web")))
    assert t["web/log"]["STATE"] == "up" and t["plain"]["STATE"] == "up"
    assert t["failer"]["STATE"] == "failed" and t["failer"]["LAST"] == "exit 7"
    assert "restart limit" in t["failer"]["REASON"] and int(t["failer"]["DEATHS"]) >= 2
    assert t["waiter"]["STATE"] == "waiting" and t["waiter"]["REASON"] == "waiting for off"
    assert t["off"]["STATE"] == "down" and t["off"]["PID"] == "-"
    assert t["crash"]["LAST"] == "exit 3" and int(t["crash"]["DEATHS"]) >= 1
    assert re.fullmatch(r"\d+s|\d+m\d\ds", t["plain"]["FOR"])
    # columns are aligned: every row's STATE starts where the header's does
    lines = r.stdout.splitlines()
    col = lines[0].index("STATE")
    assert all(line[col - 2:col] == "  " and line[col] != " " for line in lines)


def test_status_names_json_and_errors(tree):
    r = pysix(["status", "--json", "web", "failer"], tree)
    assert r.returncode == 0, r.stderr
    objs = json.loads(r.stdout)
    assert [o["name"] for o in objs] == ["web", "failer"]
    assert objs[0]["state"] == "ready" and objs[0]["pid"] > 0 and objs[0]["supervised"]
    assert objs[1]["state"] == "failed" and objs[1]["last_exit"]["code"] == 7 and objs[1]["reason"]
    assert objs[1]["window_seconds"] == 60
    r = pysix(["status", "nosuch"], tree)
    assert r.returncode == 100 and "unknown service 'nosuch'" in r.stderr and r.stderr.count("\n") == 1
    r = pysix(["status", "--bogus"], tree)
    assert r.returncode == 100 and r.stderr.count("\n") == 1 and "--bogus" in r.stderr


def test_status_colour_only_on_a_terminal_and_never_with_no_color(tree):
    import pty
    for no_color in ("", "1"):
        master, slave = pty.openpty()
        e = dict(CLEAN_ENV, PYSIX_SCANDIR=tree, TERM="xterm")
        if no_color:
            e["NO_COLOR"] = no_color
        p = subprocess.Popen(["pysix", "status", "failer"], env=e, stdout=slave, stderr=slave)
        os.close(slave)
        out = b""
        try:
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            p.wait(10)
            os.close(master)
        assert (b"\033[31m" in out) == (not no_color), out


def test_health_exit_codes(tree):
    t0 = time.monotonic()
    r = pysix(["health"], tree)
    took = time.monotonic() - t0
    assert r.returncode == 1
    line = r.stdout.strip()
    assert "\n" not in line and line.startswith("unhealthy: ")
    for bad in ("crash", "failer failed", "waiter waiting for off"):
        assert bad in line
    assert "off" not in line.replace("waiting for off", "")     # down on purpose: not a problem
    assert "plain" not in line and "web" not in line
    print("pysix health: %.0f ms" % (took * 1000))
    r = pysix(["health", "web", "web/log", "plain"], tree)
    assert r.returncode == 0 and r.stdout.startswith("healthy: 3 services"), r.stdout
    r = pysix(["health", "off"], tree)      # named: down is unhealthy
    assert r.returncode == 1 and "off down" in r.stdout
    assert pysix(["health", "--live", "web", "plain"], tree).returncode == 0
    r = pysix(["health", "nosuch"], tree)
    assert r.returncode == 100
    r = pysix(["health"], os.path.join(tree, "nonexistent"), PYSIX_ROOT="/nonexistent-root")
    assert r.returncode == 1 and r.stdout.startswith("unhealthy: no live scan dir")


def test_health_needs_readiness_unless_live(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "slow"), "exec sleep 1000", notification_fd="3")
    procs.start(["pysix-svscan", scan], stderr=subprocess.DEVNULL)
    wait_for(lambda: up_pid(sd), timeout=10, what="slow up")
    r = pysix(["health"], scan)
    assert r.returncode == 1 and "slow starting" in r.stdout
    assert pysix(["health", "--live"], scan).returncode == 0


def test_start_stop_restart_kill_wait_until_done(tmp, procs):
    scan = os.path.join(tmp, "scan")
    a = make_sd(os.path.join(scan, "a"), "echo >&3; exec sleep 1000", notification_fd="3")
    b = make_sd(os.path.join(scan, "b"), "exec sleep 1000")
    make_sd(os.path.join(scan, "b", "log"), "exec cat >/dev/null")
    make_sd(os.path.join(scan, "needs"), "exec sleep 1000", dependencies="gate\n")
    make_sd(os.path.join(scan, "gate"), "exec sleep 1000", down="")
    procs.start(["pysix-svscan", scan], stderr=subprocess.DEVNULL)
    wait_for(lambda: ready(a) and up_pid(b) and up_pid(os.path.join(b, "log")), timeout=10, what="a, b up")
    logger = up_pid(os.path.join(b, "log"))

    r = pysix(["stop", "all"], scan)
    assert r.returncode == 0, r.stderr
    assert not up_pid(a) and not up_pid(b)          # done when the command returns
    assert up_pid(os.path.join(b, "log")) == logger  # `all` leaves loggers alone

    r = pysix(["start", "a", "b", "-T", "5000"], scan)     # options after names
    assert r.returncode == 0, r.stderr
    assert ready(a) and up_pid(b)

    old = up_pid(a)
    r = pysix(["restart", "a"], scan)
    assert r.returncode == 0, r.stderr
    assert ready(a) and up_pid(a) != old

    old = up_pid(b)
    r = pysix(["kill", "b"], scan)
    assert r.returncode == 0, r.stderr
    assert up_pid(b) != old
    wait_for(lambda: up_pid(b), timeout=5, what="b restarted by its supervisor")

    t0 = time.monotonic()
    r = pysix(["start", "-T", "300", "needs"], scan)
    took = time.monotonic() - t0
    assert r.returncode == 1 and 0.3 <= took < 5
    assert r.stderr.count("\n") == 1 and "within 0.3 s" in r.stderr and "needs is waiting for gate" in r.stderr

    r = pysix(["start", "-T", "5000", "gate"], scan)
    assert r.returncode == 0
    wait_for(lambda: up_pid(os.path.join(scan, "needs")), timeout=5, what="needs started once gate is up")

    for args, msg in ((["stop"], "name a service"), (["stop", "a", "all"], "`all` must be the only name"),
                      (["stop", "-T", "soon", "a"], "-T wants a number of milliseconds"),
                      (["stop", "zz"], "unknown service 'zz'")):
        r = pysix(args, scan)
        assert r.returncode == 100 and msg in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)


def test_control_without_supervisor_fails_clearly(tmp):
    scan = os.path.join(tmp, "scan")
    make_sd(os.path.join(scan, "a"), "exec sleep 1000")
    r = pysix(["start", "a"], scan)
    assert r.returncode == 111 and "no supervisor is listening" in r.stderr


def test_logs_tail_decode_and_no_log_dir(tree):
    r = pysix(["logs", "-n", "3", "web"], tree)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:      # TAI64N became the local time
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} hello from web", line), line
    stamp = time.mktime(time.strptime(lines[-1][:19], "%Y-%m-%d %H:%M:%S"))
    assert abs(stamp - time.time()) < 60
    assert pysix(["logs", "-n", "3", "web/log"], tree).returncode == 0
    r = pysix(["logs", "plain"], tree)
    assert r.returncode == 0 and r.stdout == "" and "output goes to the container's stdout" in r.stderr


def test_logs_read_archives_after_rotation(tree):
    d = os.path.join(tree, "web", "log", "main")
    # web writes a line every 0.1 s, ~50 lines before a rotation: slower on loaded cores.
    wait_for(lambda: glob.glob(os.path.join(d, "@*.s")), timeout=60, what="an archive (-s 2000)")
    r = pysix(["logs", "-n", "200", "web"], tree)
    lines = r.stdout.splitlines()
    assert len(lines) > len(open(os.path.join(d, "current")).read().splitlines())
    assert lines == sorted(lines)       # archives first, oldest first


def test_logs_follow(tree, procs):
    e = dict(CLEAN_ENV, PYSIX_SCANDIR=tree)
    p = procs.start(["pysix", "logs", "-f", "-n", "0", "web", "failer"], env=e,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()      # the service writes every 0.1 s
    assert line.endswith("hello from web\n")
    os.killpg(p.pid, signal.SIGINT)
    p.wait(5)
    assert p.returncode == 0
    assert "failer has no log/" in p.stderr.read()


def test_root_finds_the_tree_of_pysix_init(tmp, procs):
    root = os.path.join(tmp, "root")
    make_sd(os.path.join(root, "etc", "services.d", "svc"), "exec sleep 1000")
    p = procs.start(["pysix-init", "--root", root], env=CLEAN_ENV,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sd = os.path.join(root, "run", "pysix", "services", "svc")
    wait_for(lambda: up_pid(sd), timeout=10, what="svc up under pysix-init")
    r = pysix(["--root", root, "status"])
    assert r.returncode == 0 and "svc" in r.stdout and " up " in r.stdout, r.stdout + r.stderr
    r = pysix(["status"], PYSIX_ROOT=root)
    assert r.returncode == 0 and "svc" in r.stdout
    assert pysix(["health"], PYSIX_ROOT=root).returncode == 0
    # pysix-halt honours PYSIX_ROOT too: the exit code is the one given
    r = subprocess.run(["pysix-halt", "5"], env=dict(CLEAN_ENV, PYSIX_ROOT=root), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert p.wait(20) == 5


def test_find_scandir_order(tmp, monkeypatch):
    from pysix.findscan import candidates, find_scandir
    explicit, guessed = candidates("/r", {"PYSIX_SCANDIR": "/s", "PYSIX_RUNDIR": "/d"})
    assert explicit == ["/s", "/d/services", "/r/run/pysix/services"]
    assert guessed[-2:] == ["/var/run/s6/services", "/run/s6/services"]
    assert "/tmp/pysix-%d/services" % os.getuid() in guessed
    _, guessed = candidates(None, {})
    assert guessed[0] == "/run/pysix/services"
    os.makedirs(os.path.join(tmp, "run", "pysix", "services"))
    assert find_scandir(tmp, {})[0] == os.path.join(tmp, "run", "pysix", "services")


def test_check_run_version_completion(tree, tmp):
    r = pysix(["--root", os.path.join(ROOT, "skeleton"), "check"])
    assert r.returncode == 0 and "0 errors" in r.stderr, r.stderr
    r = pysix(["run", "--", "sh", "-c", "exit 4"])
    assert r.returncode == 4, r.stderr
    r = pysix(["version"])
    assert r.returncode == 0 and re.fullmatch(r"pysix \(pysix\) \d+\.\d+\.\d+\n", r.stdout)
    r = pysix(["completion", "bash"])
    assert r.returncode == 0
    script = os.path.join(tmp, "c.bash")
    open(script, "w").write(r.stdout)
    probe = ('source %s; COMP_WORDS=(pysix restart we); COMP_CWORD=2; _pysix; echo "${COMPREPLY[*]}";'
             ' COMP_WORDS=(pysix he); COMP_CWORD=1; _pysix; echo "${COMPREPLY[*]}"' % script)
    out = subprocess.run(["bash", "-c", probe], env=dict(CLEAN_ENV, PYSIX_SCANDIR=tree),
                         capture_output=True, text=True, timeout=20).stdout.splitlines()
    assert out == ["web web/log", "health help"]
    assert pysix(["completion", "zsh"]).returncode == 100


@pytest.mark.parametrize("prog", BIN)
def test_every_command_has_help_and_version(prog):
    r = subprocess.run([prog, "--help"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and r.stderr == ""
    text = r.stdout
    assert text.startswith("usage: %s" % prog), text
    assert "Exit code" in text and "Example" in text and "--help" in text
    r = subprocess.run([prog, "--version"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and re.fullmatch(r"%s \(pysix\) \d+\.\d+\.\d+\n" % re.escape(prog), r.stdout)


def test_every_pysix_subcommand_has_help():
    from pysix.cli.people import COMMANDS
    for cmd in COMMANDS:
        r = pysix([cmd, "--help"]) if cmd != "help" else pysix(["help"])
        if cmd in ("check", "run"):     # aliases: the real command's own answer
            r = pysix(["help", cmd])
        assert r.returncode == 0 and r.stdout.startswith("usage: pysix"), (cmd, r.stdout, r.stderr)


@pytest.mark.parametrize("argv,code", [(["pysix-svc"], 100), (["pysix-svstat"], 100), (["pysix-svwait", "-t", "x"], 100),
                                       (["pysix-svok"], 100), (["pysix-halt", "x"], 100), (["pysix", "nope"], 100),
                                       (["pysix-svscan", "-Z"], 100), (["pysix-svscanctl", "-Z"], 100),
                                       (["pysix-log", "-Z"], 100), (["pysix-supervise"], 100)])
def test_usage_errors_stay_one_line_with_s6_codes(argv, code):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=20, env=CLEAN_ENV)
    assert r.returncode == code and r.stderr.count("\n") == 1 and r.stdout == "", r.stderr


def test_follower_keeps_up_across_a_rotation(tmp):
    from pysix.logview import Follower
    cur = os.path.join(tmp, "current")
    with open(cur, "wb") as f:
        f.write(b"old\n")
    fol = Follower(tmp)
    assert fol.poll() == []                     # starts at the end
    with open(cur, "ab") as f:
        f.write(b"one\ntw")
    assert fol.poll() == [b"one\n"]             # a partial line waits for its end
    with open(cur, "ab") as f:
        f.write(b"o\nlast of old\n")
    os.rename(cur, os.path.join(tmp, "@400000006000000000000000.s"))
    with open(cur, "wb") as f:
        f.write(b"first of new\n")
    assert fol.poll() == [b"two\n", b"last of old\n", b"first of new\n"]


def test_decode_tai64n_to_local_time():
    from pysix.logview import decode
    from pysix.status import tain_pack
    ns = 1_700_000_000_123_456_789
    line = b"@" + tain_pack(ns).hex().encode() + b" hello\n"
    want = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_700_000_000)) + ".123456 hello\n"
    assert decode(line) == want
    assert decode(b"2026-01-01T00:00:00.000000Z as written\n") == "2026-01-01T00:00:00.000000Z as written\n"
    assert decode(b"@nothex not a stamp\n") == "@nothex not a stamp\n"


def test_health_fails_as_soon_as_the_tree_stops(tmp, procs):
    scan = os.path.join(tmp, "scan")
    make_sd(os.path.join(scan, "slowstop"), "trap 'sleep 3; exit 0' TERM; while :; do sleep 0.1; done")
    p = procs.start(["pysix-svscan", scan], stderr=subprocess.DEVNULL)
    sd = os.path.join(scan, "slowstop")
    wait_for(lambda: up_pid(sd), timeout=10, what="slowstop up")
    assert pysix(["health"], scan).returncode == 0
    p.send_signal(signal.SIGTERM)
    wait_for(lambda: os.path.exists(os.path.join(scan, ".s6-svscan", "pysix-stopping")), timeout=5, what="the stop")
    r = pysix(["health"], scan)
    assert r.returncode == 1 and "the whole tree is stopping" in r.stdout
    assert "the whole tree is stopping" in pysix(["status"], scan).stdout
    p.wait(20)


def test_supervisors_report_what_happens_to_pid1s_stderr(tmp, procs):
    root = os.path.join(tmp, "root")
    sv = os.path.join(root, "etc", "services.d")
    make_sd(os.path.join(sv, "web"), "sleep 0.3; echo >&3; exec sleep 1000", notification_fd="3")
    make_sd(os.path.join(sv, "crash"), "sleep 0.2; exit 3", restart_limit="1 30")
    p = procs.start(["pysix-init", "--root", root], stderr=subprocess.PIPE)
    live = os.path.join(root, "run", "pysix", "services")
    wait_for(lambda: (lambda st: st and st.state == "failed")(read_pysix_state(os.path.join(live, "crash"))),
             timeout=15, what="crash failed")
    wait_for(lambda: (lambda s: s and s.ready)(read_status(os.path.join(live, "web"))), timeout=10)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    err = err.decode()
    assert re.search(r"^web: up \(pid \d+\)$", err, re.M), err
    assert re.search(r"^web: ready after 0\.\d s$", err, re.M), err
    assert re.search(r"^crash: exited with code 3 after 0\.\d s; restarting in 0\.\d s$", err, re.M), err
    assert re.search(r"^crash: failed: 2 deaths in 30 s; giving up$", err, re.M), err
    assert "web: exited" not in err and "web: killed" not in err, "an asked-for stop is no news"


def test_a_bare_scanner_reports_nothing(tmp, procs):
    scan = os.path.join(tmp, "scan")
    a = make_sd(os.path.join(scan, "a"), "exec sleep 1000")
    p = procs.start(["pysix-svscan", scan], stderr=subprocess.PIPE)
    wait_for(lambda: (lambda s: s and s.up)(read_status(a)), timeout=10)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    assert b"a: up" not in err
