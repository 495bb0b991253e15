"""pysix-run against dinit: its messages, its exit status, -q levels, bad values (issue 14)."""
import os
import re
import signal
import subprocess
import time

import pytest

from helpers import pid1_of, wait_for

PID1 = ["unshare", "--pid", "--fork", "--mount-proc"]
MODE = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


def run(args, pid1=False, timeout=30):
    return subprocess.run((PID1 if pid1 else []) + ["pysix-run"] + args, capture_output=True, text=True,
                          timeout=timeout)


@MODE
def test_dinit_messages_and_status_of_the_seed_example(pid1):
    r = run(["-d", "0", "--", "sleep", "0.5", "--", "sleep", "30"], pid1=pid1)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("pysix-run: ")]
    started = [re.fullmatch(r"pysix-run: Started (\d+) 'sleep'", ln) for ln in lines[:2]]
    assert all(started), r.stderr
    first, second = (int(m.group(1)) for m in started)
    assert lines[2:] == ["pysix-run: Child %d 'sleep' exited with status 0" % first,
                         "pysix-run: Stopped child %d 'sleep', exited with status 15" % second,
                         "pysix-run: Exiting, status 15"], r.stderr
    assert r.returncode == 15


@MODE
def test_first_failure_counts_before_the_stopped_ones(pid1):
    r = run(["-d", "0", "--", "sleep", "30", "--", "sh", "-c", "sleep 0.3; exit 4"], pid1=pid1)
    assert r.returncode == 4, r.stderr
    assert "Child" in r.stderr and "exited with status 4" in r.stderr and "Stopped child" in r.stderr


@MODE
def test_quiet_levels(tmp, pid1):
    args = ["-d", "0", "--", "sh", "-c", "echo out; echo err >&2; sleep 0.3; exit 3", "--", "sleep", "30"]
    r0 = run(args, pid1=pid1)
    assert "Started" in r0.stderr and "Exiting, status 3" in r0.stderr and r0.returncode == 3
    # -q: errors only (the command's failure), and the commands' output
    r1 = run(["-q"] + args, pid1=pid1)
    assert r1.returncode == 3 and r1.stdout == "out\n"
    assert [re.sub(r"\d+", "N", ln) for ln in r1.stderr.splitlines() if ln != "err"] == [
        "pysix-run: Child N 'sh' exited with status N"], r1.stderr
    # -qq: only the commands' own output
    r2 = run(["-qq"] + args, pid1=pid1)
    assert r2.returncode == 3 and r2.stdout == "out\n" and r2.stderr == "err\n", r2.stderr
    # -qqq: nothing at all
    r3 = run(["-qqq"] + args, pid1=pid1)
    assert r3.returncode == 3 and r3.stdout == "" and r3.stderr == ""


@pytest.mark.parametrize("opt", ["-k", "-d"])
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e300", "86401", "-1", "x"])
def test_bad_seconds_are_a_one_line_usage_error(opt, value):
    r = run([opt, value, "--", "true"])
    assert r.returncode == 100 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("pysix-run: fatal: option %s" % opt) and "Traceback" not in r.stderr


def test_commands_see_the_callers_environment_only(tmp):
    dump = os.path.join(tmp, "env")
    r = run(["-qq", "-d", "0", "--", "sh", "-c", "env > %s" % dump])
    assert r.returncode == 0, r.stderr
    names = {ln.split("=", 1)[0] for ln in open(dump).read().splitlines() if "=" in ln}
    assert not any(n.startswith(("PYSIX_VERBOSITY", "PYSIX_SERVICES_GRACETIME", "PYSIX_KILL_GRACETIME"))
                   for n in names), names


@MODE
def test_term_to_pysix_run_stops_in_order_with_the_stopped_status(tmp, pid1, procs):
    mark = os.path.join(tmp, "up")
    p = procs.start((PID1 if pid1 else []) + ["pysix-run", "-d", "0", "--", "sh", "-c",
                    "touch %s; exec sleep 30" % mark], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: os.path.exists(mark), timeout=20, what="the command started")
    target = pid1_of(p) if pid1 else p.pid
    time.sleep(0.2)
    os.kill(target, signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 15, err
    assert "Stopped child" in err.decode() and "Exiting, status 15" in err.decode()
