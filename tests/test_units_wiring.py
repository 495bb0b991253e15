"""The plain files units are converted to, applied by the supervisor: restart,
restart-delay, exit-container-on-failure, user/working-directory; and the
seed's ExitContainerOnFailure= unit end to end."""
import os
import subprocess
import time

import pytest

from helpers import make_sd, read_status, wait_for
from test_policies import start_scan, state, stop

INIT = ["unshare", "--pid", "--fork", "--mount-proc", "pysix-init"]


def unit_root(tmp, name, text):
    """A root whose only unit file is `name` (an empty services.d beside it)."""
    root = os.path.join(tmp, "r")
    os.makedirs(os.path.join(root, "etc", "services.d"))
    units = os.path.join(root, "etc", "container-init", "units")
    os.makedirs(units)
    with open(os.path.join(units, name), "w") as f:
        f.write(text)
    return root


def starts(log):
    try:
        return open(log).read().split()
    except OSError:
        return []


@pytest.mark.parametrize("policy,code,restarted", [
    ("no", 0, False), ("no", 3, False), ("on-failure", 0, False), ("on-failure", 3, True),
    ("always", 0, True), ("on-failure", "TERM", False), ("on-failure", "KILL", True),
])
def test_restart_policy(tmp, procs, policy, code, restarted):
    scan = os.path.join(tmp, "scan")
    log = os.path.join(tmp, "log")
    end = "kill -%s $$" % code if isinstance(code, str) else "exit %d" % code
    sd = make_sd(os.path.join(scan, "svc"), "echo x >> %s; %s" % (log, end), restart=policy + "\n")
    p = start_scan(procs, scan)
    wait_for(lambda: starts(log), what="first start")
    if restarted:
        wait_for(lambda: len(starts(log)) >= 2, timeout=5, what="restart")
    else:
        time.sleep(1.5)   # past the 1 s restart throttle: a restart would have happened
        assert len(starts(log)) == 1
        st = read_status(sd)
        unclean = code not in (0, "TERM")
        assert not st.up and st.wantup != unclean   # a failure also drops want-up, as a restart limit does
        assert state(sd)[0] == ("failed" if unclean else "down"), state(sd)
    stop(p)


def test_restart_delay(tmp, procs):
    scan = os.path.join(tmp, "scan")
    log = os.path.join(tmp, "log")
    # Up for more than 1 s, so without restart-delay pysix restarts it at once.
    make_sd(os.path.join(scan, "svc"), "date +%%s.%%N >> %s; sleep 1.1; exit 1" % log, restart_delay="1500\n")
    p = start_scan(procs, scan)
    wait_for(lambda: len(starts(log)) >= 2, timeout=10, what="restart")
    t = [float(x) for x in starts(log)[:2]]
    assert t[1] - t[0] >= 1.1 + 1.4, t
    stop(p)


def test_exit_container_on_failure_plain_service(tmp, procs):
    root = os.path.join(tmp, "r")
    marks = os.path.join(tmp, "marks")
    make_sd(os.path.join(root, "etc", "services.d", "job"), "sleep 0.3; exit 5", restart="no\n",
            exit_container_on_failure="")
    make_sd(os.path.join(root, "etc", "services.d", "side"), "exec sleep 1000",
            finish="#!/bin/sh\necho side-finish >> %s\n" % marks)
    p = procs.start(INIT + ["--root", root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 5, out.decode()
    assert "exit-container-on-failure" in out.decode()
    assert open(marks).read() == "side-finish\n"   # through the ordered stop


def test_exit_container_on_failure_unit_after_start_limit(tmp, procs):
    root = unit_root(tmp, "app.service",
                     "[Unit]\nStartLimitBurst=2\nStartLimitIntervalSec=30s\n[Service]\n"
                     "ExecStart=/bin/sh -c 'exit 7'\nRestart=on-failure\nRestartSec=100ms\nExitContainerOnFailure=true\n")
    t0 = time.monotonic()
    p = procs.start(INIT + ["--root", root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 7, out.decode()
    assert "restart limit: 2 deaths" in out.decode()   # StartLimitBurst=2: two starts, as systemd
    assert time.monotonic() - t0 < 10


def test_clean_exit_of_a_unit_with_restart_no_is_not_a_failure(tmp, procs):
    root = unit_root(tmp, "job.service", "[Service]\nExecStart=/bin/true\nExitContainerOnFailure=true\n")
    p = procs.start(INIT + ["--root", root, "--", "sh", "-c", "sleep 1.5; echo still-here"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0 and b"still-here" in out, out.decode()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change ids")
def test_plain_service_dir_user_and_working_directory(tmp, procs):
    root = os.path.join(tmp, "r")
    out = os.path.join(tmp, "out")
    open(out, "w").close()
    os.chmod(out, 0o666)
    make_sd(os.path.join(root, "etc", "services.d", "svc"), "echo $(id -u) $(pwd) $HOME >> %s; exec sleep 1000" % out,
            user="nobody\n", working_directory="/tmp\n")
    p = procs.start(INIT + ["--root", root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    got = wait_for(lambda: open(out).read().split(), timeout=10, what="service output")
    import pwd
    nobody = pwd.getpwnam("nobody")
    assert got == [str(nobody.pw_uid), "/tmp", nobody.pw_dir]
    from helpers import pid1_of
    import signal
    os.kill(pid1_of(p), signal.SIGTERM)
    p.communicate(timeout=20)
    assert p.returncode == 0


def test_machine_waits_restart_delay_after_a_down():
    from pysix.supervise import machine as m
    core = m.Core()
    m.step(core, m.EV_SPAWNED, 100, now=0.0)
    core.restart_delay = 2.0
    fx = m.step(core, m.EV_RUN_DIED, None, now=10.0)        # up 10 s: pysix alone would restart at once
    assert (m.FX_DEADLINE, 2.0) in fx and (m.FX_START,) not in fx
    core2 = m.Core()
    m.step(core2, m.EV_SPAWNED, 100, now=0.0)
    core2.restart_delay = 0.2
    fx = m.step(core2, m.EV_RUN_DIED, None, now=0.1)        # the 1 s throttle is longer: it wins
    assert any(f[0] == m.FX_DEADLINE and abs(f[1] - 0.9) < 1e-9 for f in fx)
