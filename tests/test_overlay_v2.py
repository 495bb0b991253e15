"""s6-overlay v2 images under pysix-init (--root trees, a PID namespace): the v2
paths, 0644 scripts, services added by cont-init, fix-attrs.d, the exit-code recipe."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from helpers import pid1_of, wait_for

INIT = ["unshare", "--pid", "--fork", "--mount-proc", "pysix-init"]
HAVE_S6 = shutil.which("s6-svscanctl") is not None


def put(root, rel, text, mode=0o644):
    fn = os.path.join(root, rel)
    os.makedirs(os.path.dirname(fn), exist_ok=True)
    with open(fn, "w") as f:
        f.write(text)
    os.chmod(fn, mode)
    return fn


def v2_tree(root, svscanctl):
    """Every script 0644, as v2 images shipped them; paths are ROOT's v2 paths."""
    v = root + "/var/run/s6"
    put(root, "etc/fix-attrs.d/01-data", "/data true nobody 0600 0700\n")
    put(root, "data/secret", "x")
    put(root, "etc/cont-init.d/10-add", (
        "#!/bin/sh\n"
        "printf 'from-cont-init' > {v}/container_environment/ADDED\n"
        "mkdir -p {r}/etc/services.d/late\n"
        "printf '#!/bin/sh\\necho late-started\\nexec sleep 1000\\n' > {r}/etc/services.d/late/run\n"
        "chmod 0644 {r}/etc/services.d/late/run\n").format(v=v, r=root))
    put(root, "etc/services.d/app/run", (
        "#!/usr/bin/env sh\n"
        "echo \"cwd=$(pwd)\"\n"
        "echo \"added=$(with-contenv sh -c 'echo $ADDED')\"\n"
        "exec sh -c 'sleep 0.3; exit 3'\n"))
    put(root, "etc/services.d/app/finish", (
        "#!/bin/sh\n"
        "echo \"$1\" > {v}/env-stage3/S6_STAGE2_EXITED\n"
        "exec {ctl} -t {v}/services\n").format(v=v, ctl=svscanctl))


@pytest.mark.parametrize("svscanctl", ["pysix-svscanctl"] + (["s6-svscanctl"] if HAVE_S6 else []))
def test_v2_tree_boots_and_exits_with_the_finish_code(tmp, procs, svscanctl):
    root = os.path.join(tmp, "r")
    v2_tree(root, svscanctl)
    p = procs.start(INIT + ["--root", root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.communicate(timeout=30)[0].decode()
    assert p.returncode == 3, out
    assert "cwd=%s/run/s6/services/app\n" % root in out, out
    assert "added=from-cont-init\n" in out and "late-started\n" in out, out
    st = os.stat(os.path.join(root, "data", "secret"))
    if os.getuid() == 0:
        assert (st.st_uid, st.st_mode & 0o777) == (65534, 0o600), oct(st.st_mode)
    # /etc was not touched: the scripts are still 0644.
    assert os.stat(os.path.join(root, "etc/cont-init.d/10-add")).st_mode & 0o777 == 0o644
    assert os.path.realpath(os.path.join(root, "run/pysix/services")) == os.path.join(root, "run/s6/services")
    assert os.path.realpath(os.path.join(root, "var/run/s6/etc/cont-init.d")) == os.path.join(root, "etc/cont-init.d")


def test_stale_exit_code_of_a_previous_boot_is_removed_and_settings_warn(tmp, procs):
    root = os.path.join(tmp, "r")
    os.makedirs(os.path.join(root, "etc", "services.d"))
    put(root, "run/s6/env-stage3/S6_STAGE2_EXITED", "9")
    env = dict(os.environ, S6_LOGGING="1", S6_READ_ONLY_ROOT="1")
    p = procs.start(INIT + ["--root", root, "--", "true"], stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, env=env)
    out = p.communicate(timeout=30)[0].decode()
    assert p.returncode == 0, out
    assert "warning: S6_LOGGING=1 has no effect: there is no catch-all logger" in out
    assert "warning: S6_READ_ONLY_ROOT=1 has no effect: none is needed: pysix never writes /etc" in out


def test_bad_fix_attrs_line_is_one_line_and_boot_goes_on(tmp, procs):
    root = os.path.join(tmp, "r")
    os.makedirs(os.path.join(root, "etc", "services.d"))
    fn = put(root, "etc/fix-attrs.d/bad", "/nothing true nosuchuser 0644 0755\n")
    p = procs.start(INIT + ["--root", root, "--", "true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.communicate(timeout=30)[0].decode()
    assert p.returncode == 0, out
    assert ("pysix-init: fix-attrs.d: %s line 1: account 'nosuchuser': unknown user 'nosuchuser' "
            "and no ,uid:gid fallback\n" % fn) in out
    env = dict(os.environ, S6_BEHAVIOUR_IF_STAGE2_FAILS="2")
    p = procs.start(INIT + ["--root", root, "--", "sleep", "100"], stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, env=env)
    out = p.communicate(timeout=30)[0].decode()
    assert p.returncode == 1, out


def test_svscanctl_t_from_a_finish_during_the_stop_keeps_the_grace_times(tmp, procs):
    """The v2 finish runs `s6-svscanctl -t` on every death, the shutdown's TERM too:
    that is not a second stop request (which would skip every grace time)."""
    root = os.path.join(tmp, "r")
    v2_tree(root, "pysix-svscanctl")
    put(root, "etc/services.d/app/run", "#!/bin/sh\necho started\nexec sleep 1000\n")
    put(root, "etc/services.d/slow/run", "#!/bin/sh\ntrap 'sleep 0.5; echo slow-clean; exit 0' TERM\n"
                                         "while :; do sleep 0.05; done\n")
    p = procs.start(INIT + ["--root", root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pid1 = pid1_of(p)
    wait_for(lambda: os.path.exists(os.path.join(root, "run/s6/services/slow/supervise/status")))
    time.sleep(0.5)
    os.kill(pid1, signal.SIGTERM)
    out = p.communicate(timeout=30)[0].decode()
    assert p.returncode == 0, out
    assert "second stop request" not in out and "slow-clean" in out, out
