"""pysix-init as PID 1 of a PID namespace: exit codes, zombies, docker stop, policies, env."""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time

import pytest

from helpers import make_sd, pid1_of, wait_for, write_exec

INIT = ["unshare", "--pid", "--fork", "--mount-proc", "pysix-init"]


def tree(root, services=None, init=None, finish=None):
    for name, (run, files) in (services or {}).items():
        make_sd(os.path.join(root, "etc", "services.d", name), run, **files)
    for d, scripts in (("cont-init.d", init or {}), ("cont-finish.d", finish or {})):
        os.makedirs(os.path.join(root, "etc", d), exist_ok=True)
        for name, body in scripts.items():
            write_exec(os.path.join(root, "etc", d, name), "#!/bin/sh\n" + body + "\n")
    os.makedirs(os.path.join(root, "etc", "services.d"), exist_ok=True)
    return root


def start(procs, root, cmd=(), env=None, prefix=()):
    e = dict(os.environ)
    e.update(env or {})
    return procs.start(list(prefix) + INIT + ["--root", root, "--"] + list(cmd), env=e,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_up(root, name):
    from helpers import read_status
    sd = os.path.join(root, "run", "pysix", "services", name)
    return wait_for(lambda: (lambda s: s.pid if s and s.up else 0)(read_status(sd)), timeout=10,
                    what="%s up" % name)


def test_zombie_storm_leaves_no_zombie(tmp, procs):
    root = tree(os.path.join(tmp, "r"), {
        "storm": ("i=0; while [ $i -lt 1000 ]; do (sleep 0.2 &) ; i=$((i+1)); done; "
                  "touch %s/r/run/pysix/storm-done; exec sleep 1000" % tmp, {})})
    p = start(procs, root, ["sh", "-c", "while [ ! -e %s/run/pysix/storm-done ]; do sleep 0.05; done; "
                                        "sleep 1; echo zombies=$(ps -eo stat= | grep -c '^Z'); exit 0" % root])
    out, _ = p.communicate(timeout=60)
    counts = [l for l in out.decode().split() if l.startswith("zombies=")]
    assert p.returncode == 0
    # The CMD counted the zombies in the namespace a second after the storm.
    assert counts == ["zombies=0"], out.decode()[-500:]


def test_docker_stop_runs_finish_scripts_and_leaves_nothing(tmp, procs):
    marks = os.path.join(tmp, "marks")
    root = tree(os.path.join(tmp, "r"), {
        "web": ("exec sleep 1000", {"finish": "#!/bin/sh\necho web-finish $1 $2 >> %s\n" % marks}),
        "worker": ("exec sleep 1000", {}),
        "logged": ("while :; do echo tick; sleep 0.05; done", {}),
    }, init={"10-init": "echo init-ran >> %s" % marks},
        finish={"10-bye": "echo cont-finish-ran >> %s" % marks})
    make_sd(os.path.join(root, "etc", "services.d", "logged", "log"), "exec cat > /dev/null")
    p = start(procs, root)
    pid1 = pid1_of(p)
    for n in ("web", "worker", "logged"):
        wait_up(root, n)
    t0 = time.monotonic()
    os.kill(pid1, signal.SIGTERM)
    out, _ = p.communicate(timeout=20)
    took = time.monotonic() - t0
    print("docker stop of a 3-service tree: %.0f ms" % (took * 1000))
    assert p.returncode == 0, out.decode()
    text = open(marks).read()
    assert "init-ran" in text and "web-finish 256 15" in text and "cont-finish-ran" in text
    assert text.index("web-finish") < text.index("cont-finish-ran")
    assert took < 3.0   # no fixed sleep anywhere (s6-overlay: always > 3 s)


def test_ctrl_c_to_the_whole_process_group_still_stops_in_order(tmp, procs):
    """A terminal's Ctrl-C (docker run -it) signals the whole foreground
    process group: pysix-init's ordered stop must still happen (finish
    scripts, then cont-finish.d), not every supervisor quitting at once."""
    marks = os.path.join(tmp, "marks")
    root = tree(os.path.join(tmp, "r"), {
        "web": ("exec sleep 1000", {"finish": "#!/bin/sh\necho web-finish $1 $2 >> %s\n" % marks}),
    }, finish={"10-bye": "echo cont-finish-ran >> %s" % marks})
    p = start(procs, root)
    pid1 = pid1_of(p)
    wait_up(root, "web")
    os.killpg(os.getpgid(pid1), signal.SIGINT)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 0, out.decode()
    text = open(marks).read()
    assert "web-finish 256 15" in text, text        # TERMed by the ordered stop, then its finish ran
    assert text.index("web-finish") < text.index("cont-finish-ran")


def start_stubborn(tmp, procs, grace_ms):
    """pysix-init with one service that ignores TERM, once it is up: (Popen, PID 1's host pid)."""
    # up comes at the spawn, before the shell ran its trap: a TERM then would end it
    trapped = os.path.join(tmp, "trapped")
    root = tree(os.path.join(tmp, "r"), {"stubborn": ("trap '' TERM; : > %s; while :; do sleep 0.05; done" % trapped, {})})
    p = start(procs, root, env={"PYSIX_SERVICES_GRACETIME": str(grace_ms)})
    pid1 = pid1_of(p)
    wait_up(root, "stubborn")
    wait_for(lambda: os.path.exists(trapped), timeout=10, what="the service to ignore TERM")
    return p, pid1


def test_service_ignoring_term_is_killed_after_grace_not_before(tmp, procs):
    p, pid1 = start_stubborn(tmp, procs, 1500)
    t0 = time.monotonic()
    os.kill(pid1, signal.SIGTERM)
    p.communicate(timeout=20)
    took = time.monotonic() - t0
    assert 1.4 < took < 6.0, took


def test_second_term_skips_grace(tmp, procs):
    p, pid1 = start_stubborn(tmp, procs, 20000)
    t0 = time.monotonic()
    os.kill(pid1, signal.SIGTERM)
    time.sleep(0.3)
    os.kill(pid1, signal.SIGTERM)
    p.communicate(timeout=15)
    assert time.monotonic() - t0 < 5.0


@pytest.mark.parametrize("policy,code,cmd_ran", [("0", 0, True), ("1", 3, True), ("2", 3, False)])
def test_cont_init_failure_policies(tmp, procs, policy, code, cmd_ran):
    marks = os.path.join(tmp, "marks")
    root = tree(os.path.join(tmp, "r"), {"svc": ("exec sleep 1000", {})},
                init={"10-fail": "exit 3", "20-next": "echo next >> %s" % marks})
    p = start(procs, root, ["sh", "-c", "echo cmd >> %s" % marks],
              env={"S6_BEHAVIOUR_IF_STAGE2_FAILS": policy})
    out, _ = p.communicate(timeout=20)
    assert p.returncode == code, out.decode()
    text = open(marks).read() if os.path.exists(marks) else ""
    assert ("cmd" in text) == cmd_ran


def test_halt_code_and_overlay_exit_code_file(tmp, procs):
    root = tree(os.path.join(tmp, "r"), {"app": ("sleep 0.3; exec pysix-halt 7", {})})
    p = start(procs, root)
    p.communicate(timeout=20)
    assert p.returncode == 7
    root2 = tree(os.path.join(tmp, "r2"), {"app": (
        "mkdir -p ../../../s6-linux-init-container-results; echo 5 > ../../../s6-linux-init-container-results/exitcode; "
        "sleep 0.2; exec pysix-svscanctl -t ..", {})})
    p = start(procs, root2)
    p.communicate(timeout=20)
    assert p.returncode == 5


def test_environment_round_trips_through_with_contenv(tmp, procs):
    root = tree(os.path.join(tmp, "r"))
    out = os.path.join(tmp, "dump")
    env = dict(os.environb)
    env.update({b"EMPTY": b"", b"MULTI": b"line1\nline2\n", b"BIN": b"\xff\xfe caf\xc3\xa9"})
    # The CMD gets the container's environment only: where the state lives is the container's to say.
    env[b"PYSIX_RUNDIR"] = os.path.join(root, "run", "pysix").encode()
    script = ("import os, sys; open(sys.argv[1], 'wb').write(repr({k: os.environb.get(k) for k in "
              "(b'EMPTY', b'MULTI', b'BIN')}).encode())")
    p = procs.start(INIT + ["--root", root, "--", "sh", "-c",
                            "env -i PATH=\"$PATH\" PYTHONPATH=\"$PYTHONPATH\" PYSIX_RUNDIR=$PYSIX_RUNDIR %s %s -c \"$0\" %s" % (
                                shutil.which("with-contenv"), sys.executable, out), script],
                    env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    o, _ = p.communicate(timeout=20)
    assert p.returncode == 0, o
    got = eval(open(out).read())
    assert got == {b"EMPTY": b"", b"MULTI": b"line1\nline2\n", b"BIN": b"\xff\xfe caf\xc3\xa9"}


def test_read_only_etc_and_tmpfs_run(tmp, procs):
    root = tree(os.path.join(tmp, "r"), {"svc": ("exec sleep 1000", {})})
    inner = ("mount --bind {r}/etc {r}/etc && mount -o remount,ro,bind {r}/etc && "
             "mkdir -p {r}/run && mount -t tmpfs tmpfs {r}/run && "
             "exec pysix-init --root {r} -- sh -c 'touch {r}/etc/x 2>/dev/null && exit 9; "
             "pysix-svwait -u -t 5000 {r}/run/pysix/services/svc'").format(r=root)
    p = procs.start(["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", inner],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0, out.decode()


def test_non_root_user(tmp, procs):
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    root = tree(os.path.join(tmp, "r"), {"svc": ("exec sleep 1000", {})})
    for d, _, files in os.walk(tmp):
        os.chmod(d, 0o755)
    rundir = os.path.join(tmp, "rundir")
    os.makedirs(rundir)
    os.chown(rundir, nobody.pw_uid, nobody.pw_gid)
    p = procs.start(["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid, "--clear-groups",
                     "env", "PYSIX_RUNDIR=%s" % rundir, "pysix-init", "--root", root, "--",
                     "sh", "-c", "pysix-svwait -u -t 5000 %s/services/svc && id -u" % rundir],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0, out.decode()
    assert str(nobody.pw_uid) in out.decode().split()


def test_not_pid1_reaps_orphans_as_subreaper(tmp, procs):
    root = tree(os.path.join(tmp, "r"), {"svc": ("(sleep 0.2 &); exec sleep 1000", {})})
    p = procs.start(["pysix-init", "--root", root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_up(root, "svc")
    time.sleep(0.8)
    zombies = subprocess.run(["ps", "-o", "stat=", "--ppid", str(p.pid)], capture_output=True, text=True).stdout
    assert "Z" not in zombies
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=15)
    assert p.returncode == 0


def test_cmd_receive_signals(tmp, procs):
    mark = os.path.join(tmp, "got")
    root = tree(os.path.join(tmp, "r"))
    up = os.path.join(tmp, "up")
    p = start(procs, root, ["sh", "-c", "trap 'echo term > %s; exit 0' TERM; touch %s; while :; do sleep 0.05; done"
                            % (mark, up)], env={"S6_CMD_RECEIVE_SIGNALS": "1"})
    pid1 = pid1_of(p)
    wait_for(lambda: os.path.exists(up), timeout=20, what="the CMD's trap set")   # earlier, TERM stops (143)
    os.kill(pid1, signal.SIGTERM)
    p.communicate(timeout=15)
    assert p.returncode == 0 and open(mark).read().strip() == "term"


def test_cmd_waits_for_services_ready(tmp, procs):
    root = tree(os.path.join(tmp, "r"), {"slow": ("sleep 0.7; echo >&3; exec sleep 1000", {"notification_fd": "3"})})
    p = start(procs, root, ["pysix-svstat", "-o", "ready", os.path.join(root, "run/pysix/services/slow")],
              env={"PYSIX_CMD_WAIT_FOR_SERVICES": "1"})
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 0 and b"true" in out.split()
