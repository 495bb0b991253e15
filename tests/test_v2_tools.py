"""The s6-overlay v2 tool names: pysix-install-s6-names, printcontenv,
s6-envuidgid (against the real one), logutil-service."""
import os
import pwd
import shutil
import subprocess
import sys
import time

import pytest


HAVE_S6 = shutil.which("s6-envuidgid") is not None


def run(*args, **kw):
    kw.setdefault("timeout", 20)
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def test_install_s6_names_links_and_never_overwrites(tmp):
    d = os.path.join(tmp, "bin")
    os.makedirs(d)
    with open(os.path.join(d, "s6-svc"), "w") as f:
        f.write("#!/bin/sh\necho real\n")
    os.chmod(os.path.join(d, "s6-svc"), 0o755)
    # PATH without the real s6 tools (/usr/bin), but with pysix's and python's.
    env = dict(os.environ, PATH=os.path.dirname(shutil.which("pysix-svc")) + ":" + os.path.dirname(sys.executable))
    r = run("pysix-install-s6-names", d, env=env)
    assert r.returncode == 0, r.stderr
    assert "%s/s6-svc: kept (already there; pysix's pysix-svc works beside it)" % d in r.stdout
    assert run(os.path.join(d, "s6-svc")).stdout == "real\n"
    for name in ("s6-svscanctl", "s6-svwait", "s6-setuidgid", "s6-envuidgid", "s6-svstat", "s6-svok",
                 "printcontenv", "with-contenv", "logutil-service"):
        assert os.path.islink(os.path.join(d, name)), name
    assert run(os.path.join(d, "s6-svok"), tmp).returncode == 1
    again = run("pysix-install-s6-names", d, env=env)
    assert again.returncode == 0 and again.stdout.count("(already)") == 9
    # A real tool elsewhere on PATH keeps its name too.
    d2 = os.path.join(tmp, "bin2")
    r = run("pysix-install-s6-names", d2, env=dict(env, PATH=env["PATH"] + ":" + d))
    assert "%s/s6-svc: not made (%s/s6-svc is on PATH" % (d2, d) in r.stdout


def test_printcontenv_reads_the_saved_environment(tmp):
    ce = os.path.join(tmp, "container_environment")
    os.makedirs(ce)
    with open(os.path.join(ce, "A"), "wb") as f:
        f.write(b"two\nlines")
    env = dict(os.environ, PYSIX_RUNDIR=tmp, A="live")
    assert run("pysix-printcontenv", "A", env=env).stdout == "two\nlines\n"
    assert run("pysix-printcontenv", "NOPE", env=env).returncode == 1
    assert run("pysix-printcontenv", "A", env=dict(env, S6_KEEP_ENV="1")).stdout == "live\n"
    assert run("pysix-printcontenv").returncode == 100


@pytest.mark.skipif(not HAVE_S6, reason="s6 is not installed (apt-get install s6)")
@pytest.mark.parametrize("args", [
    "nobody", "root", "-u nobody", "-g nogroup", "-B nobody:nogroup", "-B nobody", "-n nobody",
    "-n 1234", "-n 12:34", "-u -n 12", "-g -n 12", "nosuch", "-i nosuch", "-D 5:6:7,8 nosuch",
    "-B -D 5:6 nosuch:nosuch", "-B -D 5:6 nobody:nosuch", "-u -D 5:6 nosuch", "-g nosuch",
    "-D 5:6 -n nosuch", "-B -D 5:6 :", "-B :nogroup", "-D x nosuch", "-n"])
def test_envuidgid_matches_s6_envuidgid(args):
    def env_of(tool):
        r = run("env", "-i", "PATH=" + os.environ["PATH"], "PYTHONPATH=" + os.environ["PYTHONPATH"],
                tool, *args.split(), "env")
        lines = [x for x in r.stdout.splitlines() if x.split("=")[0] in ("UID", "GID", "GIDLIST")]
        return r.returncode, sorted(lines), r.stderr.replace("pysix-envuidgid", "s6-envuidgid")
    assert env_of("pysix-envuidgid") == env_of("s6-envuidgid")


@pytest.mark.skipif(os.getuid() != 0, reason="dropping to nobody needs root")
def test_logutil_service_logs_as_nobody_with_the_saved_script(tmp, procs):
    ce = os.path.join(tmp, "container_environment")
    os.makedirs(ce)
    with open(os.path.join(ce, "S6_LOGGING_SCRIPT"), "w") as f:
        f.write("n3 s2000 T !gzip")
    logdir = os.path.join(tmp, "log")
    os.makedirs(logdir)
    nobody = pwd.getpwnam("nobody")
    os.chown(logdir, nobody.pw_uid, nobody.pw_gid)
    p = procs.start(["pysix-logutil-service", os.path.join(logdir, "app")], stdin=subprocess.PIPE,
                    stderr=subprocess.PIPE, env=dict(os.environ, PYSIX_RUNDIR=tmp))
    p.stdin.write(b"hello\n")
    p.stdin.close()
    assert p.wait(10) == 0
    err = p.stderr.read().decode()
    assert err == "logutil-service: warning: S6_LOGGING_SCRIPT: ignoring !gzip (pysix-log knows n, s, T, t)\n"
    cur = os.path.join(logdir, "app", "current")
    assert os.stat(cur).st_uid == nobody.pw_uid
    line = open(cur).read()
    assert line.endswith(" hello\n") and line[:2] == time.strftime("%Y")[:2], line
