"""The small tools: pysix-setuidgid, pysix-cron, pysix-check, pysix-run, and the trace."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from helpers import make_sd, pid1_of, wait_for, write_exec
from pysix import deps
from pysix.check import check_tree


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 30)
    return subprocess.run(args, **kw)


# pysix-setuidgid -------------------------------------------------------------

def test_setuidgid_drops_to_nobody_with_home():
    r = run(["pysix-setuidgid", "nobody", "sh", "-c", "id -u; id -G; echo $HOME $USER"])
    uid, groups, env = r.stdout.splitlines()
    import pwd
    pw = pwd.getpwnam("nobody")
    assert r.returncode == 0 and int(uid) == pw.pw_uid
    assert str(pw.pw_gid) in groups.split() and "0" not in groups.split()
    assert env == "%s nobody" % pw.pw_dir


@pytest.mark.parametrize("args,code,words", [
    (["nosuchuser", "true"], 100, "unknown user: nosuchuser"),
    (["nobody:nosuchgroup", "true"], 100, "unknown group"),
    (["nobody", "/no/such/prog"], 127, "unable to exec /no/such/prog"),
    (["nobody"], 100, "usage")])
def test_setuidgid_bad_input(args, code, words):
    r = run(["pysix-setuidgid"] + args)
    assert r.returncode == code and words in r.stderr and r.stderr.count("\n") == 1


# pysix-cron ------------------------------------------------------------------

def test_cron_runs_periodically_and_stops_cleanly_mid_run(tmp, procs):
    log = os.path.join(tmp, "runs")

    def runs():
        try:
            return len(open(log).read().split())
        except OSError:
            return 0
    t0 = time.monotonic()
    p = procs.start(["pysix-cron", "-i", "0.2", "--", "echo run >> %s" % log], stderr=subprocess.PIPE)
    wait_for(lambda: runs() >= 4, timeout=30, what="4 runs")
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0
    took = time.monotonic() - t0
    n = runs()
    # Start to start on a 0.2 s grid: never more runs than the grid holds, however loaded the cores.
    assert 4 <= n <= int(took / 0.2) + 1, (n, took)
    got = os.path.join(tmp, "got-term")
    began = os.path.join(tmp, "began")
    p = procs.start(["pysix-cron", "-i", "10", "--",
                     "trap 'echo term > %s; exit 1' TERM; : > %s; sleep 30 & wait" % (got, began)],
                    stderr=subprocess.PIPE)
    wait_for(lambda: os.path.exists(began), timeout=30, what="the run began, its TERM trap set")
    p.send_signal(signal.SIGTERM)
    assert p.wait(15) == 0
    assert open(got).read().strip() == "term"


def test_cron_failure_and_dash_prefix(tmp):
    assert run(["pysix-cron", "-i", "0.1", "--", "exit 4"]).returncode == 4
    log = os.path.join(tmp, "runs")
    p = subprocess.Popen(["pysix-cron", "-q", "-i", "0.1", "--", "-echo x >> %s; exit 2" % log],
                         stderr=subprocess.PIPE)
    try:
        wait_for(lambda: os.path.exists(log) and len(open(log).read().split()) >= 3, what="3 failing runs")
        assert p.poll() is None
    finally:
        p.terminate()
        p.wait(5)


def test_cron_overlong_run_delays_the_next_and_says_so(tmp):
    r = subprocess.Popen(["pysix-cron", "-i", "0.2", "--", "sleep 0.5"], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.3)
    finally:
        r.terminate()
        err = r.communicate(timeout=8)[1]
    assert "longer than the 0.2 s interval" in err


@pytest.mark.parametrize("args", [["--", "true"], ["-i", "-1", "--", "true"], ["-i", "abc", "--", "true"],
                                  ["-i", "1"], ["-x", "-i", "1", "--", "true"], ["-i", "0", "--", "true"]])
def test_cron_bad_input(args):
    r = run(["pysix-cron"] + args)
    assert r.returncode == 100 and "pysix-cron: fatal:" in r.stderr and "Traceback" not in r.stderr


# pysix-check -----------------------------------------------------------------

def test_check_finds_each_kind_of_problem(tmp):
    root = os.path.join(tmp, "img")
    sd = os.path.join(root, "etc", "services.d")
    make_sd(os.path.join(sd, "ok"), "exec sleep 1", finish="#!/bin/sh\nexit 0\n")
    make_sd(os.path.join(sd, "typo"), "exec true", finsh="#!/bin/sh\n")
    make_sd(os.path.join(sd, "badint"), "exec true", timeout_kill="soon", down_signal="SIGNOPE")
    make_sd(os.path.join(sd, "noexec"), "exec true")
    os.chmod(os.path.join(sd, "noexec", "run"), 0o644)
    make_sd(os.path.join(sd, "crlf"), None)
    write_exec(os.path.join(sd, "crlf", "run"), "#!/bin/sh\r\nexec true\r\n")
    make_sd(os.path.join(sd, "nointerp"), None)
    write_exec(os.path.join(sd, "nointerp", "run"), "#!/no/such/shell\n")
    make_sd(os.path.join(sd, "a"), "exec true", dependencies="b\n", primary="")
    make_sd(os.path.join(sd, "b"), "exec true", dependencies="a\n", primary="")
    make_sd(os.path.join(sd, "lonely"), "exec true", dependencies="ghost\n", on_failure="nobody-here\n",
            restart_limit="five", type="daemon")
    os.makedirs(os.path.join(sd, "logless", "log"))
    write_exec(os.path.join(sd, "logless", "run"), "#!/bin/sh\nexec true\n")
    open(os.path.join(sd, "stray-file"), "w").close()
    text = "\n".join(str(f) for f in check_tree(root))
    for needle in ("typo/finsh: unknown file, ignored (did you mean finish?)",
                   "badint/timeout-kill: invalid value 'soon'", "badint/down-signal: unknown signal",
                   "crlf/run: has CRLF", "nointerp/run: interpreter /no/such/shell",
                   "dependency cycle: a -> b -> a", "lonely/dependencies: unknown service ghost",
                   "lonely/on-failure: unknown service nobody-here", "lonely/restart-limit", "lonely/type",
                   "logless/log: no run file", "more than one primary service", "stray-file: not a directory"):
        assert needle in text, needle
    assert "ok/" not in text and "noexec/" not in text   # 0644 is fine: init runs it (v2 did)
    r = run(["pysix-check", "--root", root])
    assert r.returncode == 1 and "errors" in r.stderr


def test_check_strict_and_clean_tree(tmp):
    root = os.path.join(tmp, "img")
    make_sd(os.path.join(root, "etc", "services.d", "s"), "exec true", notes="x")
    assert run(["pysix-check", "--root", root]).returncode == 0
    assert run(["pysix-check", "--strict", "--root", root]).returncode == 1
    assert run(["pysix-check", "--bogus"]).returncode == 100
    assert run(["pysix-check", "--root", "skeleton"], cwd=os.path.dirname(os.path.dirname(__file__))).returncode == 0


# the dependency graph ----------------------------------------------------------

def test_graph_functions():
    g = {"a": [], "b": ["a"], "c": ["b"], "d": ["a"], "e": ["b", "d"], "x": ["y"], "y": ["x"], "z": ["ghost"],
         "w": ["z"]}
    missing, cycles = deps.check_graph(g)
    assert missing == {"z": ["ghost"]}
    assert [sorted(c) for c in cycles] == [["x", "y"]]
    bad = deps.blocked(g)
    assert set(bad) == {"x", "y", "z", "w"} and "ghost" in bad["z"] and "cycle" in bad["x"]
    assert deps.start_levels(g) == [["a"], ["b", "d"], ["c", "e"]]
    assert deps.stop_order(g)[0] == ["c", "e"]
    assert deps.check_graph({"s": ["s"]})[1] == [["s"]]


# pysix-run -------------------------------------------------------------------

def test_run_starts_in_order_stops_in_reverse_with_first_failure_code(tmp):
    log = os.path.join(tmp, "log")
    a = "echo start-a >> {l}; trap 'echo stop-a >> {l}; exit 0' TERM; while :; do sleep 0.05; done".format(l=log)
    b = "echo start-b >> {l}; trap 'echo stop-b >> {l}; exit 0' TERM; while :; do sleep 0.05; done".format(l=log)
    c = "echo start-c >> {l}; sleep 0.3; exit 4".format(l=log)
    r = run(["pysix-run", "-d", "0.2", "--", ":wait:sh", "-c", "echo migrate >> %s" % log,
             "--", "sh", "-c", a, "--", "sh", "-c", b, "--", "sh", "-c", c])
    assert r.returncode == 4, r.stderr
    lines = open(log).read().split()
    assert lines[:4] == ["migrate", "start-a", "start-b", "start-c"]
    assert lines.index("stop-b") < lines.index("stop-a")


def test_run_failed_wait_and_ignored_failure(tmp):
    log = os.path.join(tmp, "log")
    r = run(["pysix-run", "-d", "0", "--", ":wait:sh", "-c", "exit 3", "--", "sh", "-c", "echo never >> %s" % log])
    assert r.returncode == 3 and not os.path.exists(log)
    # The ignored failure leaves the stopped sleep's TERM as the first non-zero status (dinit's rule).
    r = run(["pysix-run", "-q", "-d", "0", "--", "-sh", "-c", "sleep 0.5; exit 9", "--", "sleep", "1000"])
    assert r.returncode == 15
    r = run(["pysix-run", "-qq", "-d", "0", "--", "-:wait:sh", "-c", "exit 9", "--", "sh", "-c", "exit 0"])
    assert r.returncode == 0 and "pysix-init:" not in r.stderr


def test_run_kill_timeout(tmp):
    t0 = time.monotonic()
    r = run(["pysix-run", "-d", "0", "-k", "1", "--", "sh", "-c", "trap '' TERM; while :; do sleep 0.05; done",
             "--", "sh", "-c", "sleep 0.3; exit 0"])
    took = time.monotonic() - t0
    assert r.returncode == 9 and 1.0 < took < 5.0, took   # 9: the stubborn one got SIGKILL


@pytest.mark.parametrize("args", [[], ["sleep", "1"], ["--"], ["-d", "x", "--", "true"], ["-k", "-1", "--", "true"],
                                  ["-z", "--", "true"], ["--", "true", "--"]])
def test_run_bad_input(args):
    r = run(["pysix-run"] + args)
    assert r.returncode == 100 and "pysix-run: fatal:" in r.stderr and "Traceback" not in r.stderr


def test_run_as_pid1_reaps_and_stops_on_term(tmp, procs):
    mark = os.path.join(tmp, "started")
    p = procs.start(["unshare", "--pid", "--fork", "--mount-proc", "pysix-run", "-d", "0", "--",
                     "sh", "-c", "(sleep 0.1 &); touch %s; exec sleep 1000" % mark],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = pid1_of(p)
    wait_for(lambda: os.path.exists(mark), timeout=20, what="the command started")
    time.sleep(0.3)
    os.kill(first, signal.SIGTERM)
    out, _ = p.communicate(timeout=15)
    assert p.returncode == 15, out   # the stopped sleep's status, as dinit reports it


# the trace -------------------------------------------------------------------

def test_trace_records_a_real_boot_and_shutdown(tmp):
    root = os.path.join(tmp, "r")
    sd = os.path.join(root, "etc", "services.d")
    make_sd(os.path.join(sd, "plain"), "exec sleep 1000")
    make_sd(os.path.join(sd, "notifier"), "echo >&3; exec sleep 1000", notification_fd="3")
    for d, body in (("cont-init.d", "echo init"), ("cont-finish.d", "echo bye")):
        os.makedirs(os.path.join(root, "etc", d))
        write_exec(os.path.join(root, "etc", d, "10-x"), "#!/bin/sh\n%s\n" % body)
    trace = os.path.join(tmp, "trace.jsonl")
    r = run(["pysix-init", "--root", root, "--", "sh", "-c", "pysix-svwait -U -t 5000 %s/run/pysix/services/notifier; exit 3" % root],
            env=dict(os.environ, PYSIX_TRACE="1", PYSIX_TRACE_FILE=trace))
    assert r.returncode == 3
    recs = [json.loads(l) for l in open(trace)]
    assert all({"t", "pid", "kind"} <= set(rec) for rec in recs)
    stages = [(x["stage"], x["phase"]) for x in recs if x["kind"] == "stage"]
    assert stages == [(1, "begin"), (1, "end"), (2, "begin"), (2, "end"), (3, "begin"), (3, "end")]
    scripts = [x for x in recs if x["kind"] == "script"]
    assert [s["stage"] for s in scripts] == ["cont-init", "cont-finish"]
    assert all(s["code"] == 0 and s["ms"] >= 0 for s in scripts)
    events = {(x["name"], x["event"]) for x in recs if x["kind"] == "service"}
    for name in ("plain", "notifier"):
        assert {(name, "supervisor"), (name, "spawn"), (name, "down")} <= events
    assert ("notifier", "ready") in events
    phases = [x["phase"] for x in recs if x["kind"] == "phase"]
    assert phases == ["stop-cmd", "stop-services", "cont-finish", "kill-rest"]
    assert recs[-1] == {**recs[-1], "kind": "exit", "code": 3}


# pysix-cron -q levels (issue 14) ------------------------------------------------

@pytest.mark.parametrize("q,runs,warnings,failures", [
    ("", True, True, True), ("-q", False, True, True), ("-qq", False, False, True), ("-qqq", False, False, False)])
def test_cron_quiet_levels(tmp, q, runs, warnings, failures):
    flags = [q] if q else []
    # A `-` run that fails is a warning; three of them, then a real failure ends pysix-cron.
    count = os.path.join(tmp, "n")
    line = "-n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s; exit 2" % (
        count, count)
    p = subprocess.Popen(["pysix-cron"] + flags + ["-i", "0.05", "--", line], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: os.path.exists(count) and open(count).read().strip() >= "3", what="3 runs")
    finally:
        p.terminate()
        _, err = p.communicate(timeout=5)
    assert ("run started" in err) == runs, err
    assert ("run exited 2" in err) == warnings, err
    r = run(["pysix-cron"] + flags + ["-i", "0.05", "--", "exit 4"])
    assert r.returncode == 4
    assert ("run failed with code 4" in r.stderr) == failures, r.stderr
    if not failures:
        assert r.stderr == ""


def test_check_flags_what_fails_at_boot_and_nothing_v2_ran(tmp):
    root = os.path.join(tmp, "img")
    etc = os.path.join(root, "etc")
    os.makedirs(os.path.join(root, "usr", "bin"))   # the image's own bin dirs decide what it has
    write_exec(os.path.join(root, "usr", "bin", "s6-svc"), "#!/bin/sh\n")
    scripts = {
        "cont-init.d/10-ok": ("#!/bin/sh\ns6-svc -u /x\n", 0o644),              # 0644 + #!: v2 ran it
        "cont-init.d/20-nohash": ("echo hi\n", 0o644),
        "cont-init.d/30-sh": ("#!/bin/sh\nif true; then\necho\n", 0o755),
        "cont-init.d/40-bash": ("#!/usr/bin/env bash\nx=( a b\n", 0o755),
        "cont-finish.d/50-el": ("#!/bin/execlineb -P\nforeground { s6-echo hi\n", 0o644),
        "cont-finish.d/60-el-ok": ("#!/bin/execlineb -S1\nforeground { s6-svscanctl -t /var/run/s6/services }\n"
                                   "s6-log n3 /var/log/x\n", 0o644),
    }
    for rel, (text, mode) in scripts.items():
        fn = os.path.join(etc, rel)
        os.makedirs(os.path.dirname(fn), exist_ok=True)
        with open(fn, "w") as f:
            f.write(text)
        os.chmod(fn, mode)
    env = {k: v for k, v in os.environ.items() if not k.startswith("S6_")}
    env.update(S6_LOGGING="1")
    r = run(["pysix-check", "--root", root], env=env)
    lines = r.stdout.splitlines()
    p = lambda rel: os.path.join(etc, rel)   # noqa: E731
    assert not [x for x in lines if "10-ok" in x], lines
    want = ["ERROR %s: no #! line: it cannot be run (not a binary either)" % p("cont-init.d/20-nohash"),
            "WARNING %s: no such directory: no service will be started (fine for an image that only runs a CMD; "
            "wrong --root?)" % p("services.d"),
            "WARNING S6_LOGGING=1: has no effect: there is no catch-all logger: all output goes to the "
            "container's stdout/stderr (use a log/ service, e.g. `logutil-service`, for files)"]
    for w in want:
        assert w in lines, (w, lines)
    assert any(x.startswith("ERROR %s: syntax error (sh -n): " % p("cont-init.d/30-sh")) for x in lines), lines
    assert any(x.startswith("ERROR %s: syntax error (bash -n): " % p("cont-init.d/40-bash")) for x in lines), lines
    if shutil.which("execlineb"):
        assert "ERROR %s: syntax error (execlineb): execlineb: fatal: unmatched {" % p("cont-finish.d/50-el") in lines
        assert not [x for x in lines if "60-el-ok" in x and x.startswith("ERROR")], lines
    assert ("WARNING %s: calls s6-svscanctl, which the image does not have (RUN pysix-install-s6-names)"
            % p("cont-finish.d/60-el-ok")) in lines
    assert ("WARNING %s: calls s6-log, which the image does not have (not provided by pysix: install s6 "
            "(apt-get install s6))" % p("cont-finish.d/60-el-ok")) in lines
    assert not [x for x in lines if "calls s6-echo" in x and "50-el" not in x], lines
    assert r.returncode == 1
