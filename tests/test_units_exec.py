"""pysix-unit-exec as a process: environment, ids, directory, ExecStartPre, oneshot, forking."""
import json
import os
import signal
import subprocess
import sys

import pytest

from helpers import pid_alive, wait_for

HELPER = [sys.executable, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                       "bin", "pysix-unit-exec")]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change ids")


def cmd(*argv, ignore=False, arg0=None):
    return {"argv": list(argv), "ignore_failure": ignore, "arg0": arg0}


def run_spec(procs, sd, spec, timeout=10):
    os.makedirs(sd, exist_ok=True)
    spec.setdefault("unit", "t.service")
    spec.setdefault("type", "simple")
    with open(os.path.join(sd, "unit.json"), "w") as f:
        json.dump(spec, f)
    p = procs.start(HELPER + ["--spec", "unit.json"], cwd=sd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out.decode(), err.decode()


def test_environment_and_files_and_expansion_order(tmp, procs):
    envf = os.path.join(tmp, "app.env")
    open(envf, "w").write("FROM_FILE=yes\nBOTH=file\n")
    code, out, err = run_spec(procs, os.path.join(tmp, "sd"), {
        "environment": [["BOTH", "unit"], ["ONLY", "unit only"]],
        "environment_files": [[envf, False], [os.path.join(tmp, "missing"), True]],
        "exec_start": [cmd("/bin/sh", "-c", 'echo "$FROM_FILE|$BOTH|$ONLY"')]})
    assert code == 0, err
    assert out == "yes|file|unit only\n"   # EnvironmentFile= wins over Environment=, as in systemd


def test_missing_environment_file_fails(tmp, procs):
    code, _, err = run_spec(procs, os.path.join(tmp, "sd"), {
        "environment_files": [["/nonexistent/env", False]], "exec_start": [cmd("/bin/true")]})
    assert code == 111 and "EnvironmentFile=/nonexistent/env" in err


def test_working_directory_and_optional(tmp, procs):
    code, out, _ = run_spec(procs, os.path.join(tmp, "sd"), {"working_directory": tmp,
                                                             "exec_start": [cmd("/bin/pwd")]})
    assert code == 0 and out.strip() == tmp
    code, _, err = run_spec(procs, os.path.join(tmp, "sd"), {"working_directory": "/nonexistent",
                                                             "exec_start": [cmd("/bin/pwd")]})
    assert code == 111 and "WorkingDirectory=/nonexistent" in err
    code, _, _ = run_spec(procs, os.path.join(tmp, "sd"), {"working_directory": "-/nonexistent",
                                                           "exec_start": [cmd("/bin/pwd")]})
    assert code == 0


@ROOT_ONLY
def test_user_group_and_supplementary_groups_from_container_files(tmp, procs):
    pw, gr = os.path.join(tmp, "passwd"), os.path.join(tmp, "group")
    open(pw, "w").write("app:x:12345:12345:App:%s:/bin/sh\n" % tmp)
    open(gr, "w").write("app:x:12345:\nstaff:x:23456:\nextra:x:34567:bob,app\n")
    code, out, err = run_spec(procs, os.path.join(tmp, "sd"), {
        "user": "app", "group": "staff", "passwd": pw, "group_file": gr, "working_directory": "~",
        "exec_start": [cmd("/bin/sh", "-c", 'echo "$(id -u) $(id -g) $(id -G) $HOME $USER $(pwd)"')]})
    assert code == 0, err
    assert out.split() == ["12345", "23456", "23456", "34567", tmp, "app", tmp]
    code, _, err = run_spec(procs, os.path.join(tmp, "sd"), {
        "user": "ghost", "passwd": pw, "group_file": gr, "exec_start": [cmd("/bin/true")]})
    assert code == 111 and "User=ghost: unknown user ghost" in err


def test_exec_start_pre_and_ignore_prefix(tmp, procs):
    marks = os.path.join(tmp, "marks")
    code, _, err = run_spec(procs, os.path.join(tmp, "sd"), {
        "exec_start_pre": [cmd("/bin/false", ignore=True), cmd("/bin/sh", "-c", "echo pre >> " + marks)],
        "exec_start": [cmd("/bin/sh", "-c", "echo main >> " + marks)]})
    assert code == 0, err
    assert open(marks).read() == "pre\nmain\n"
    code, _, err = run_spec(procs, os.path.join(tmp, "sd"), {
        "exec_start_pre": [cmd("/bin/sh", "-c", "exit 3")], "exec_start": [cmd("/bin/sh", "-c", "echo no >> " + marks)]})
    assert code == 3 and "ExecStartPre=/bin/sh exited 3" in err
    assert open(marks).read() == "pre\nmain\n"


def test_oneshot_runs_commands_in_order_and_final_ignore(tmp, procs):
    code, out, _ = run_spec(procs, os.path.join(tmp, "sd"), {"type": "oneshot", "exec_start": [
        cmd("/bin/echo", "one"), cmd("/bin/sh", "-c", "echo two; exit 4", ignore=True),
        cmd("/bin/sh", "-c", "echo three; exit 5", ignore=True)]})
    assert code == 0 and out == "one\ntwo\nthree\n"
    code, out, _ = run_spec(procs, os.path.join(tmp, "sd"), {"type": "oneshot", "exec_start": [
        cmd("/bin/sh", "-c", "exit 6"), cmd("/bin/echo", "never")]})
    assert code == 6 and out == ""
    code, out, _ = run_spec(procs, os.path.join(tmp, "sd"), {"type": "oneshot", "exec_start": []})
    assert code == 0


def test_arg0_prefix(tmp, procs):
    code, out, _ = run_spec(procs, os.path.join(tmp, "sd"), {
        "exec_start": [cmd("/bin/sh", "-c", 'echo "$0"', arg0="custom-name")]})
    assert out.strip() == "custom-name"


def _forking_unit(tmp, procs, w, parent_lasts):
    """A Type=forking unit whose daemon (pid in d.pid) appends `term` to `ready`
    and exits 7 on SIGTERM; the helper started on it, readiness to fd `w`."""
    pidfile, ready = os.path.join(tmp, "d.pid"), os.path.join(tmp, "ready")
    daemon = os.path.join(tmp, "daemon")
    with open(daemon, "w") as f:
        f.write("trap 'echo term >> %s; exit 7' TERM; echo $$ > %s; while :; do sleep 0.05; done\n" % (ready, pidfile))
    sd = os.path.join(tmp, "sd")
    os.makedirs(sd)
    with open(os.path.join(sd, "unit.json"), "w") as f:
        json.dump({"unit": "d.service", "type": "forking", "pid_file": pidfile, "notify_fd": w,
                   "exec_start": [cmd("/bin/sh", "-c", "/bin/sh %s & sleep %s" % (daemon, parent_lasts))]}, f)
    p = procs.start(HELPER + ["--spec", "unit.json"], cwd=sd, pass_fds=(w,), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(w)
    return p, pidfile, ready


def test_forking_follows_pid_file_forwards_signals_and_exits_as_the_daemon(tmp, procs):
    r, w = os.pipe()
    p, pidfile, ready = _forking_unit(tmp, procs, w, "0.2")
    assert os.read(r, 10) == b"\n"   # readiness once the parent exited and the pid file was read
    os.close(r)
    main = int(open(pidfile).read())
    assert main != p.pid and pid_alive(main) and pid_alive(p.pid)
    os.kill(p.pid, signal.SIGTERM)   # the supervisor's down-signal, forwarded
    p.communicate(timeout=10)
    assert p.returncode == 7 and open(ready).read() == "term\n"
    wait_for(lambda: not pid_alive(main), what="daemon gone")


def _full_pipe():
    """A pipe whose write end blocks: a readiness write on it waits until we read."""
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)   # the flag is the file's: the helper shares it
    return r, w


def _blocked_writing(pid):
    with open("/proc/%d/wchan" % pid) as f:
        return "pipe_write" in f.read()


def test_forking_forwards_a_stop_signal_sent_as_soon_as_it_is_ready(tmp, procs):
    # The TERM is sent while the readiness newline is still being written:
    # the forwarding must be in place by then, or the default action kills
    # the helper (orphaning the daemon) and an inherited SIG_IGN loses it.
    r, w = _full_pipe()
    p, pidfile, ready = _forking_unit(tmp, procs, w, "0.1")
    wait_for(lambda: _blocked_writing(p.pid), timeout=10, what="the readiness write to block")
    main = int(open(pidfile).read())
    os.kill(p.pid, signal.SIGTERM)
    wait_for(lambda: os.path.exists(ready), timeout=10, what="the daemon to get the TERM")
    while os.read(r, 65536).endswith(b"x"):
        pass
    os.close(r)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 7, err
    assert open(ready).read() == "term\n"
    wait_for(lambda: not pid_alive(main), what="daemon gone")


def test_forking_without_a_daemon_left_fails(tmp, procs):
    code, _, err = run_spec(procs, os.path.join(tmp, "sd"), {"type": "forking", "exec_start": [cmd("/bin/true")]})
    assert code == 1 and "left no daemon" in err


def test_plain_service_dir_mode(tmp, procs):
    sd = os.path.join(tmp, "plain")
    os.makedirs(sd)
    open(os.path.join(sd, "working-directory"), "w").write(tmp + "\n")
    p = procs.start(HELPER + ["--service-dir", sd, "--", "/bin/pwd"], stdout=subprocess.PIPE)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 0 and out.decode().strip() == tmp
