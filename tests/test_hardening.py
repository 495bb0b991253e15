"""Issue 15: a hijacked run dir, private secrets, failed boots that say so, odd files.

Security tests run as real non-root users (nobody: the victim, daemon: the
attacker) in a private mount namespace whose /tmp is a fresh tmpfs, so
nothing a test plants in /tmp is seen outside it.
"""
import errno
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from helpers import make_sd, read_status, wait_for, write_exec
from pysix import fscopy, policy, prefix, servicedir, shebang
from pysix.contenv import dump

VICTIM, ATTACKER = 65534, 1     # nobody, daemon


def as_user(uid: int) -> str:
    return "setpriv --reuid=%d --regid=%d --clear-groups env -u XDG_RUNTIME_DIR" % (uid, uid)


def in_private_tmp(procs, script: str, timeout: float = 60, tmp_opts: str = "mode=1777"):
    """Run `script` (sh) in a mount namespace with its own tmpfs /tmp: (rc, output)."""
    p = procs.start(["unshare", "--mount", "--propagation", "private", "sh", "-uc",
                     "mount -t tmpfs -o %s tmpfs /tmp || exit 99\n%s" % (tmp_opts, script)],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=timeout)
    return p.returncode, out.decode("utf-8", "replace")


def tree(root: str, **services: str) -> str:
    for name, run in services.items():
        make_sd(os.path.join(root, "etc", "services.d", name), run)
    os.makedirs(os.path.join(root, "etc", "services.d"), exist_ok=True)
    for d, _, _ in os.walk(root):
        os.chmod(d, 0o755)
    return root


# 1. the /tmp/pysix-UID fallback ---------------------------------------------------

@pytest.mark.parametrize("plant", ["world-writable dir", "symlink to the attacker's dir"])
def test_fallback_planted_by_another_user_is_refused(tmp, procs, plant):
    root = tree(os.path.join(tmp, "r"), svc="exec sleep 1000")    # root/run: not writable by the victim
    att = as_user(ATTACKER)
    if plant == "world-writable dir":
        planting = ("{a} mkdir /tmp/pysix-{v} && {a} chmod 777 /tmp/pysix-{v} && "
                    "{a} ln -s /tmp/victim /tmp/pysix-{v}/services")
    else:
        planting = "{a} mkdir -m 777 /tmp/att && {a} ln -s /tmp/att /tmp/pysix-{v}"
    script = ("mkdir /tmp/victim && echo precious > /tmp/victim/keep && chown -R {v}:{v} /tmp/victim\n"
              + planting + "\n"
              "{vic} pysix-init --root {r} -- true; echo rc=$?\n"
              "ls -A /tmp/victim | sed 's/^/victim:/'; ls -A /tmp/pysix-{v}/ | sed 's/^/planted:/'\n")
    rc, out = in_private_tmp(procs, script.format(a=att, v=VICTIM, vic=as_user(VICTIM), r=root))
    assert "rc=111" in out, out
    assert "refusing /tmp/pysix-%d" % VICTIM in out, out
    assert "victim:keep" in out, out                     # nothing of the victim's was removed
    assert "planted:container_environment" not in out, out  # no secrets handed to the attacker


def test_fallback_is_created_private_and_xdg_runtime_dir_is_preferred(tmp, procs):
    root = tree(os.path.join(tmp, "r"), svc="exec sleep 1000")
    vic = as_user(VICTIM).replace(" env -u XDG_RUNTIME_DIR", " env")
    show = "sh -c 'echo rundir=$PYSIX_RUNDIR; stat -c \"mode=%a uid=%u\" $PYSIX_RUNDIR'"
    script = ("{vic} -u XDG_RUNTIME_DIR pysix-init --root {r} -- {show}\n"
              "mkdir -m 700 /tmp/xdg && chown {v}:{v} /tmp/xdg\n"
              "{vic} XDG_RUNTIME_DIR=/tmp/xdg pysix-init --root {r} -- {show}\n"
              "{a} mkdir -m 777 /tmp/xdg-att\n"
              "{vic} XDG_RUNTIME_DIR=/tmp/xdg-att pysix-init --root {r} -- {show}\n"
              "{a} ls /tmp/pysix-{v} >/dev/null 2>&1 && echo attacker-can-list\n")
    rc, out = in_private_tmp(procs, script.format(vic=vic, a=as_user(ATTACKER), v=VICTIM, r=root, show=show))
    lines = out.splitlines()
    assert "rundir=/tmp/pysix-%d" % VICTIM in lines, out
    assert "mode=700 uid=%d" % VICTIM in lines, out
    assert "rundir=/tmp/xdg/pysix" in lines, out
    assert "XDG_RUNTIME_DIR=/tmp/xdg-att ignored: it is owned by uid %d, not %d" % (ATTACKER, VICTIM) in out, out
    assert lines.count("rundir=/tmp/pysix-%d" % VICTIM) == 2, out
    assert "attacker-can-list" not in out, out


def test_services_symlink_in_the_run_dir_is_never_followed(tmp, procs):
    root = tree(os.path.join(tmp, "r"), svc="exec sleep 1000")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    open(os.path.join(data, "keep"), "w").close()
    os.makedirs(os.path.join(root, "run", "pysix"))
    os.symlink(data, os.path.join(root, "run", "pysix", "services"))
    p = procs.start(["pysix-init", "--root", root, "--", "true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 111, out
    assert b"services: it is a symlink" in out, out
    assert os.listdir(data) == ["keep"]


# 2. the saved environment is private --------------------------------------------------

def test_container_environment_is_private_and_the_overlay_way_still_reads_it(tmp, procs):
    root = tree(os.path.join(tmp, "r"))
    os.makedirs(os.path.join(root, "etc", "cont-init.d"))
    write_exec(os.path.join(root, "etc", "cont-init.d", "10-add"),
               "#!/bin/sh\nprintf added > \"$PYSIX_RUNDIR/container_environment/ADDED\"\n")
    cmd = ("E=$PYSIX_RUNDIR/container_environment; stat -c 'perm %a %u' $E $E/SECRET; "
           "{a} cat $E/SECRET && echo LEAK; "
           "with-contenv pysix-setuidgid nobody sh -c 'echo got=$ADDED uid=$(id -u)'; "
           "{v} with-contenv true; echo nonroot=$?").format(a=as_user(ATTACKER), v=as_user(VICTIM))
    # The CMD gets exactly the container's environment (issue 14): the container says where the state is.
    script = "SECRET=s3cret PYSIX_RUNDIR=%s/run/pysix pysix-init --root %s -- sh -c \"$0\"" % (root, root)
    rc, out = in_private_tmp(procs, "C=%s\n%s" % (_shq(cmd), script.replace('"$0"', '"$C"')))
    assert "perm 700 0" in out and "perm 600 0" in out, out
    assert "LEAK" not in out and "s3cret" not in out, out
    assert "got=added uid=%d" % VICTIM in out, out
    assert "nonroot=111" in out and "drop privileges" in out, out


def _shq(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def test_dump_is_0700_0600_and_writes_no_file_through_a_symlink(tmp):
    path = os.path.join(tmp, "ce")
    outside = os.path.join(tmp, "outside")
    os.makedirs(outside)
    os.symlink(outside, path)      # a leftover symlink in the run dir: removed, not followed
    assert dump({b"A": b"1", b"B": b"x\ny"}, path) == []
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o700 and not os.path.islink(path)
    assert stat.S_IMODE(os.stat(os.path.join(path, "A")).st_mode) == 0o600
    assert os.listdir(outside) == []


# 3. special bits are masked in copies ----------------------------------------------------

def test_copies_drop_setuid_setgid_and_sticky(tmp):
    src = os.path.join(tmp, "run")
    write_exec(src, "#!/bin/sh\n")
    os.chmod(src, 0o4644)
    os.chown(src, ATTACKER, ATTACKER)
    fscopy.copy_file(src, os.path.join(tmp, "copy"), 0o111)
    st = os.stat(os.path.join(tmp, "copy"))
    assert stat.S_IMODE(st.st_mode) == 0o755 and st.st_uid == 0
    d = os.path.join(tmp, "d")
    os.mkdir(d)
    os.chmod(d, 0o3775)
    fscopy.make_dir_like(d, os.path.join(tmp, "d2"))
    assert stat.S_IMODE(os.stat(os.path.join(tmp, "d2")).st_mode) == 0o775


def test_live_copy_of_a_setuid_run_is_not_setuid(tmp, procs):
    root = tree(os.path.join(tmp, "r"), svc="exec sleep 1000")
    run = os.path.join(root, "etc", "services.d", "svc", "run")
    os.chown(run, ATTACKER, ATTACKER)
    os.chmod(run, 0o4644)
    p = procs.start(["pysix-init", "--root", root, "--", "stat", "-c", "mode=%a", "%s/run/pysix/services/svc/run" % root],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=20)
    assert b"mode=755" in out.split(), out


# 4. copies and removals never go through a symlink; odd sources never block ------------

def test_copy_file_refuses_an_existing_symlink_and_a_fifo(tmp):
    target = os.path.join(tmp, "target")
    open(target, "w").write("mine")
    src = os.path.join(tmp, "src")
    open(src, "w").write("new")
    os.symlink(target, os.path.join(tmp, "dst"))
    with pytest.raises(OSError):
        fscopy.copy_file(src, os.path.join(tmp, "dst"))
    assert open(target).read() == "mine"
    os.mkfifo(os.path.join(tmp, "fifo"))
    r = subprocess.run([sys.executable, "-c", "import sys; from pysix.fscopy import copy_file; "
                        "copy_file(sys.argv[1], sys.argv[2])", os.path.join(tmp, "fifo"),
                        os.path.join(tmp, "out")], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "not a regular file" in r.stderr


def test_clear_dir_and_remove_tree_unlink_symlinks_without_following(tmp):
    outside = os.path.join(tmp, "outside")
    os.makedirs(os.path.join(outside, "sub"))
    open(os.path.join(outside, "sub", "f"), "w").close()
    live = os.path.join(tmp, "live")
    os.makedirs(os.path.join(live, "svc", "deep"))
    os.symlink(outside, os.path.join(live, "svc", "deep", "link"))
    os.symlink(outside, os.path.join(live, "svc2"))
    os.makedirs(os.path.join(live, ".s6-svscan"))
    fscopy.clear_dir(live, keep=frozenset({".s6-svscan"}))
    assert os.listdir(live) == [".s6-svscan"]
    link = os.path.join(tmp, "link-to-outside")
    os.symlink(outside, link)
    fscopy.clear_dir(link)              # a symlinked dir is not entered
    assert os.path.exists(os.path.join(outside, "sub", "f"))
    fscopy.remove_tree(link)            # the link goes, not what it points to
    assert os.path.exists(os.path.join(outside, "sub", "f")) and not os.path.lexists(link)


# 5. a boot that fails exits non-zero ----------------------------------------------------------

def test_no_writable_run_dir_exits_111_and_runs_nothing(tmp, procs):
    root = tree(os.path.join(tmp, "r"), svc="exec sleep 1000")
    mark = os.path.join(tmp, "cmd-ran")
    os.chmod(tmp, 0o777)
    script = ("mount -o remount,ro /tmp\n"
              "{v} pysix-init --root {r} -- touch {m}; echo rc=$?\n").format(v=as_user(VICTIM), r=root, m=mark)
    rc, out = in_private_tmp(procs, script)
    assert "rc=111" in out, out
    assert "fatal: stage 1 failed: " in out, out
    assert not os.path.exists(mark)


# 6. a second instance takes the lock first and touches nothing ----------------------------------

def test_second_instance_refuses_and_touches_nothing(tmp, procs):
    root = tree(os.path.join(tmp, "r"), svc="exec sleep 1000")
    make_sd(os.path.join(root, "etc", "services.d", "logged", "log"), "exec cat > /dev/null")
    make_sd(os.path.join(root, "etc", "services.d", "logged"), "while :; do echo tick; sleep 0.1; done")
    first = procs.start(["pysix-init", "--root", root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        env=dict(os.environ, PYSIX_TRACE="1"))
    live = os.path.join(root, "run", "pysix")
    sd = os.path.join(live, "services", "svc")
    pid = wait_for(lambda: (lambda s: s.pid if s and s.up else 0)(read_status(sd)), timeout=10, what="svc up")
    wait_for(lambda: (lambda s: s and s.up)(read_status(os.path.join(live, "services", "logged", "log"))),
             timeout=10, what="logger up")

    def snapshot():
        return {p: os.lstat(os.path.join(live, p)).st_ino
                for p in ("services/svc/run", "services/logged/run", "container_environment",
                          "container_environment/PATH", "trace.jsonl")}
    before = snapshot()
    trace_size = os.path.getsize(os.path.join(live, "trace.jsonl"))
    for cmd, code in ((["pysix-init", "--root", root, "--", "true"], 111),
                      (["pysix-svscan", os.path.join(live, "services")], 100)):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20, env=dict(os.environ, PYSIX_TRACE="1"))
        assert r.returncode == code, r.stderr
        assert "another instance is already running" in r.stderr
    assert snapshot() == before
    assert os.path.getsize(os.path.join(live, "trace.jsonl")) >= trace_size
    assert read_status(sd).pid == pid
    first.send_signal(signal.SIGTERM)
    first.wait(20)


# 7. noexec /run --------------------------------------------------------------------------------

@pytest.mark.parametrize("head,want", [
    (b"#!/bin/sh\necho\n", ("/bin/sh", None)),
    (b"#!/usr/bin/env sh\n", ("/usr/bin/env", "sh")),
    (b"#! /usr/bin/with-contenv  sh -e \n", ("/usr/bin/with-contenv", "sh -e")),   # one argument, as Linux
    (b"#!/bin/sh", ("/bin/sh", None)),                                              # no newline at all
    (b"#!\t/bin/bash\t-x\n", ("/bin/bash", "-x")),
])
def test_shebang_parse(head, want):
    assert shebang.parse(head) == (want, "")


@pytest.mark.parametrize("head,why", [
    (b"\x7fELF\x02\x01", "a binary, not a script"),
    (b"", "no #! line"),
    (b"#!\n", "empty #! line"),
    (b"#!/bin/" + b"x" * 300, "#! line longer than 255 bytes"),
])
def test_shebang_reasons(head, why):
    assert shebang.parse(head) == (None, why)


def test_shebang_argv_reads_the_file_and_never_blocks(tmp):
    run = os.path.join(tmp, "run")
    write_exec(run, "#!/usr/bin/env sh\necho \"$0 $1\"\n")
    os.chmod(run, 0o644)
    argv, why = shebang.interpreter_argv(run, ["a"])
    assert (argv, why) == (["/usr/bin/env", "sh", run, "a"], "")
    assert subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout == "%s a\n" % run
    os.mkfifo(os.path.join(tmp, "fifo"))
    assert shebang.interpreter_argv(os.path.join(tmp, "fifo")) == (None, "not a regular file")
    assert shebang.interpreter_argv(os.path.join(tmp, "none")) == (None, "cannot read: No such file or directory")


def test_noexec_run_is_named_at_boot(tmp, procs):
    root = tree(os.path.join(tmp, "r"), svc="exec sleep 1000")
    os.makedirs(os.path.join(root, "run"))
    rc, out = in_private_tmp(procs, "mount -t tmpfs -o noexec tmpfs %s/run\npysix-init --root %s -- true\n"
                             % (root, root))
    assert "is on a noexec mount (%s/run)" % root in out, out
    assert "--tmpfs %s/run:exec" % root in out, out


# 8. PYSIX_PREFIX=1 -------------------------------------------------------------------------------

def test_prefixer_lines_and_flush():
    p = prefix.Prefixer("web")
    assert p.feed(b"a\nb") == b"web | a\n"
    assert p.feed(b"c\nd\ne") == b"web | bc\nweb | d\n"
    assert p.flush() == b"web | e\n" and p.flush() == b""
    assert p.feed(b"x" * prefix.LINE_MAX) == b"web | " + b"x" * prefix.LINE_MAX + b"\n"
    p.rename("api")
    assert p.feed(b"\n\n") == b"api | \napi | \n"


def test_prefix_flushes_the_last_line_and_keeps_stderr_apart(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "svc"), "printf 'out1\\nlast without newline'; printf 'err1\\nerr-last' >&2; "
                 "exec sleep 1000")
    p = procs.start(["pysix-svscan", "-p", scan], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: (lambda s: s and s.up)(read_status(sd)), timeout=10, what="svc up")
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert b"svc | out1\nsvc | last without newline\n" in out, (out, err)
    assert b"svc | err1\nsvc | err-last\n" in err, (out, err)
    assert b"err" not in out


def test_prefix_flushes_the_last_line_of_each_run_as_it_dies(tmp, procs):
    import fcntl
    scan = os.path.join(tmp, "scan")
    make_sd(os.path.join(scan, "svc"), "printf 'partial-%s' $$; exit 3")
    p = procs.start(["pysix-svscan", "-p", scan], stdout=subprocess.PIPE)
    fl = fcntl.fcntl(p.stdout.fileno(), fcntl.F_GETFL)
    fcntl.fcntl(p.stdout.fileno(), fcntl.F_SETFL, fl | os.O_NONBLOCK)
    got = b""

    def seen():
        nonlocal got
        try:
            got += os.read(p.stdout.fileno(), 65536) or b""
        except BlockingIOError:
            pass
        return got.count(b"svc | partial-") >= 2
    wait_for(seen, timeout=10, what="each run's unfinished line while the scanner runs")
    assert p.poll() is None
    assert all(line.startswith(b"svc | partial-") for line in got.splitlines()), got
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=20)


def test_a_stalled_stdout_never_blocks_the_scanner(tmp, procs):
    scan = os.path.join(tmp, "scan")
    make_sd(os.path.join(scan, "noisy"), "exec yes 'a line of output that fills pipes'")
    quiet = make_sd(os.path.join(scan, "quiet"), "exec sleep 1000")
    r, w = os.pipe()      # nobody reads r until the end: the container's stdout is stuck
    try:
        p = procs.start(["pysix-svscan", "-p", scan], stdout=w)
        wait_for(lambda: (lambda s: s and s.up)(read_status(quiet)), timeout=10)
        time.sleep(0.5)
        # The scanner still answers: a rescan request and a new service are handled.
        make_sd(os.path.join(scan, "late"), "exec sleep 1000")
        late = os.path.join(scan, "late")
        wait_for(lambda: (lambda s: s and s.up)(read_status(late)), timeout=10,
                 what="a service added while stdout is stuck")
        p.send_signal(signal.SIGTERM)
        p.wait(20)
    finally:
        os.close(w)
        os.close(r)


# 9/10. odd files in a service dir ------------------------------------------------------------------

def odd(sd: str, name: str, kind: str) -> None:
    path = os.path.join(sd, name)
    if kind == "dir":
        os.mkdir(path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling":
        os.symlink("/nonexistent/target", path)
    elif kind == "loop":
        os.symlink(name, path)


ODD = {"dir": "is a directory, not a regular file", "fifo": "is a FIFO, not a regular file",
       "dangling": "dangling symlink to '/nonexistent/target'", "loop": "too many levels of symlinks"}


@pytest.mark.parametrize("kind", sorted(ODD))
@pytest.mark.parametrize("name", ["dependencies", "timeout-ready", "down-signal", "type"])
def test_odd_file_gives_one_line_naming_it(tmp, kind, name):
    odd(tmp, name, kind)
    want = "%s/%s: " % (tmp, name)
    if name == "dependencies":
        lines, why = servicedir.read_lines_checked(tmp, name)
        with pytest.raises(OSError) as e:
            servicedir.read_lines(tmp, name)
        assert str(e.value) == why
    elif name == "down-signal":
        lines, why = servicedir.read_down_signal(tmp)
    elif name == "type":
        data, why = servicedir.read_file(tmp, name)
        with pytest.raises(OSError) as e:
            servicedir.read_small(tmp, name)
        assert ODD[kind] in e.value.strerror
    else:
        lines, why = servicedir.read_uint(tmp, name, 0)
    assert why.startswith(want) and ODD[kind] in why and "\n" not in why, why


def test_unreadable_file_as_non_root(tmp):
    sd = make_sd(os.path.join(tmp, "sd"), None, dependencies="a\n", timeout_ready="10")
    os.chmod(os.path.join(sd, "dependencies"), 0)
    code = ("import sys; from pysix.servicedir import read_lines_checked, read_uint; "
            "print(read_lines_checked(sys.argv[1], 'dependencies')[1]); print(read_uint(sys.argv[1], 'timeout-ready', 0))")
    r = subprocess.run(["setpriv", "--reuid=%d" % VICTIM, "--regid=%d" % VICTIM, "--clear-groups",
                        sys.executable, "-c", code, sd], capture_output=True, text=True, timeout=20)
    assert r.stdout.splitlines() == ["%s/dependencies: cannot open: permission denied" % sd, "(10, None)"], r


def test_huge_and_binary_files_are_cut_and_escaped(tmp):
    open(os.path.join(tmp, "dependencies"), "wb").write(os.urandom(200000))
    lines, why = servicedir.read_lines_checked(tmp, "dependencies")
    assert lines is None and why == "%s/dependencies: larger than 65536 bytes" % tmp
    open(os.path.join(tmp, "dependencies"), "wb").write(b"web\0\xff\x1b[31m" + b"z" * 5000)
    lines, why = servicedir.read_lines_checked(tmp, "dependencies")
    assert lines is None and "binary content" in why and len(why) < len(tmp) + 120, why
    assert "\x1b" not in why and "\\x1b" in why and why.endswith("...")
    open(os.path.join(tmp, "timeout-ready"), "wb").write(b"\x1b[2J123")
    n, why = servicedir.read_uint(tmp, "timeout-ready", 0)
    assert n == 0 and why == "%s/timeout-ready: invalid value '\\x1b[2J123' (want a non-negative integer)" % tmp


def test_bad_type_and_restart_limit_warn():
    assert policy.check_type(b"oneshot\n") == ("oneshot", None)
    assert policy.check_type(None) == ("longrun", None)
    t, why = policy.check_type(b"one-shot\n", "sd/type")
    assert t == "longrun" and why == "sd/type: unknown type 'one-shot' (want oneshot or longrun): running it as a longrun"
    assert policy.check_restart_limit(b"3 10\n") == ((3, 10.0), None)
    lim, why = policy.check_restart_limit(b"\0" * 1000, "sd/restart-limit")
    assert lim is None and why.startswith("sd/restart-limit: invalid value '\\x00") and len(why) < 150


def test_out_of_file_descriptors_is_said(tmp, monkeypatch):
    open(os.path.join(tmp, "timeout-kill"), "w").write("5")

    def emfile(*a, **k):
        raise OSError(errno.EMFILE, "Too many open files")
    monkeypatch.setattr(os, "open", emfile)
    n, why = servicedir.read_uint(tmp, "timeout-kill", 7)
    assert n == 7 and why == "%s/timeout-kill: cannot open: out of file descriptors" % tmp


def test_absent_files_are_not_errors(tmp):
    assert servicedir.read_file(tmp, "type") == (None, None)
    assert servicedir.read_lines_checked(tmp, "dependencies") == (None, None)
    assert servicedir.read_small(os.path.join(tmp, "nodir"), "supervise/status") is None
