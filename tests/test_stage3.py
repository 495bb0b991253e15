"""pysix-init's tables (stage 3 phases, PID 1 signals, settings) and the exit-code ladder."""
import os
import signal
import subprocess
import time

import pytest

from helpers import make_sd, pid1_of, wait_for, write_exec
from pysix import pid1signals, settings, stage3

PID1 = ["unshare", "--pid", "--fork", "--mount-proc"]


# tables, in process ------------------------------------------------------------

def test_every_phase_leads_to_exit():
    for p in stage3.PHASES[:-1]:
        seen, name = set(), p.name
        while name != "exit":
            assert name not in seen
            seen.add(name)
            name = stage3.next_phase(name, stage3.DONE)
    assert [p.name for p in stage3.PHASES][:4] == ["stop-cmd", "stop-services", "cont-finish", "kill-rest"]


def test_deadlines_and_hurry():
    cfg, _ = settings.load({"PYSIX_SERVICES_GRACETIME": "1500", "PYSIX_KILL_FINISH_MAXTIME": "0"})
    by = stage3.BY_NAME
    assert stage3.deadline_ms(by["stop-cmd"], cfg, False) == 1500
    assert stage3.deadline_ms(by["stop-cmd"], cfg, True) == 1500       # the CMD keeps its grace
    assert stage3.deadline_ms(by["cont-finish"], cfg, False) is None   # 0 = no bound
    assert stage3.deadline_ms(by["cont-finish"], cfg, True) == 0
    assert stage3.deadline_ms(by["kill-rest"], cfg, False) == 3000
    assert stage3.deadline_ms(by["kill-rest"], cfg, True) == 0
    assert stage3.deadline_ms(by["stop-services"], cfg, True) is None  # the scanner's
    assert stage3.deadline_ms(by["sigkill-rest"], cfg, True) == stage3.KILL_WAIT_MS


def test_config_is_frozen_and_read_once():
    cfg, warnings = settings.load({"S6_KILL_GRACETIME": "12", "PYSIX_KILL_GRACETIME": "34", "PYSIX_TRACE": "x"})
    assert cfg.KILL_GRACETIME == 34 and cfg["KILL_GRACETIME"] == 34 and cfg.TRACE == 0
    assert len(warnings) == 1 and "PYSIX_TRACE" in warnings[0]
    with pytest.raises(AttributeError):
        cfg.KILL_GRACETIME = 1
    assert cfg._replace(VERBOSITY=-1).VERBOSITY == -1
    assert list(settings.Config._fields[:len(settings.SETTINGS)]) == [s.name for s in settings.SETTINGS]


def test_signal_table():
    A = pid1signals.action
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        assert A(s, True) == pid1signals.STOP
    for s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGALRM, signal.SIGCONT,
              signal.SIGPWR, signal.SIGRTMIN):
        assert A(s, True) == pid1signals.FORWARD
    for s in (signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU):
        assert A(s, True) == pid1signals.JOB_CONTROL
    # CMD_RECEIVE_SIGNALS=1: s6-overlay's five go to the CMD; QUIT still stops.
    assert A(signal.SIGTERM, True, True) == pid1signals.FORWARD and A(signal.SIGQUIT, True, True) == pid1signals.STOP
    # Without a CMD: s6-overlay's table.
    assert A(signal.SIGHUP, False) == pid1signals.RESCAN and A(signal.SIGUSR1, False) == pid1signals.STOP
    assert A(signal.SIGWINCH, False) == pid1signals.IGNORE
    # Once stopping: the live CMD gets everything; after it, a stop signal hurries.
    assert pid1signals.during_stop(pid1signals.STOP, True) == pid1signals.FORWARD
    assert pid1signals.during_stop(pid1signals.STOP, False) == pid1signals.STOP
    assert pid1signals.during_stop(pid1signals.FORWARD, False) == pid1signals.IGNORE
    # Before the CMD exists: stop signals stop, the rest wait for it.
    assert pid1signals.before_cmd(signal.SIGTERM, pid1signals.FORWARD) == pid1signals.STOP
    assert pid1signals.before_cmd(signal.SIGHUP, pid1signals.FORWARD) == pid1signals.IGNORE
    assert pid1signals.before_cmd(signal.SIGTSTP, pid1signals.JOB_CONTROL) == pid1signals.IGNORE
    assert signal.SIGPIPE not in pid1signals.handled(True) and signal.SIGCHLD not in pid1signals.handled(True)


def test_bin_pysix_init_blocks_the_same_set():
    import _signal
    src = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", "pysix-init")).read()
    line = [ln for ln in src.splitlines() if ln.startswith("_signal.pthread_sigmask")][0]
    got = eval(line.split(",", 1)[1].rsplit(")", 1)[0], {"_signal": _signal})
    assert got == pid1signals.EARLY_BLOCK
    # The block comes before any other import.
    code = [ln for ln in src.splitlines() if ln.strip() and not ln.startswith("#")]
    assert code[:2] == ["import _signal", line]


# the exit-code ladder, as PID 1 and as subreaper ---------------------------------------

def tree(root, services=None, init=None):
    for name, (run, files) in (services or {}).items():
        make_sd(os.path.join(root, "etc", "services.d", name), run, **files)
    os.makedirs(os.path.join(root, "etc", "cont-init.d"), exist_ok=True)
    for name, body in (init or {}).items():
        write_exec(os.path.join(root, "etc", "cont-init.d", name), "#!/bin/sh\n" + body + "\n")
    os.makedirs(os.path.join(root, "etc", "services.d"), exist_ok=True)
    return root


def run_init(procs, root, cmd=(), env=None, pid1=True, timeout=30):
    e = dict(os.environ)
    e.update(env or {})
    p = procs.start((PID1 if pid1 else []) + ["pysix-init", "--root", root, "--"] + list(cmd), env=e,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = p.communicate(timeout=timeout)
    return p.returncode, out.decode(errors="replace")


MODE = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


@MODE
def test_rung1_the_cmds_code(tmp, procs, pid1):
    root = tree(os.path.join(tmp, "r"), {"p": ("sleep 0.3; exit 4", {"primary": ""})})
    assert run_init(procs, root, ["sh", "-c", "exit 5"], pid1=pid1)[0] == 5
    # A primary service dying stops the container: the CMD gets TERM, its code still comes first.
    assert run_init(procs, root, ["sleep", "30"], pid1=pid1)[0] == 143


def stop_during_cont_init(tmp, procs, pid1, sig, env=None):
    """Send sig to pysix-init while a cont-init script runs, before the CMD (`touch` of a
    mark) started; the exit code and output. The CMD never runs."""
    mark = os.path.join(tmp, "cmd-ran")
    root = tree(os.path.join(tmp, "r"), init={"10-slow": "touch %s/slow-began; sleep 2" % tmp})
    p = procs.start((PID1 if pid1 else []) + ["pysix-init", "--root", root, "--", "touch", mark],
                    env=dict(os.environ, **(env or {})),
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_for(lambda: os.path.exists(os.path.join(tmp, "slow-began")), what="cont-init running")
    os.kill(pid1_of(p) if pid1 else p.pid, sig)
    out, _ = p.communicate(timeout=20)
    assert not os.path.exists(mark)
    return p.returncode, out


@MODE
def test_rung1_stop_before_the_cmd_started(tmp, procs, pid1):
    code, out = stop_during_cont_init(tmp, procs, pid1, signal.SIGINT)
    assert code == 130, out


@MODE
def test_cmd_receive_signals_term_before_the_cmd_started_still_stops(tmp, procs, pid1):
    code, out = stop_during_cont_init(tmp, procs, pid1, signal.SIGTERM, {"S6_CMD_RECEIVE_SIGNALS": "1"})
    assert code == 143, out


@MODE
def test_rung2_primary_service(tmp, procs, pid1):
    root = tree(os.path.join(tmp, "r"), {"p": ("sleep 0.2; exit 4", {"primary": ""}),
                                         "other": ("exec sleep 1000", {})})
    assert run_init(procs, root, pid1=pid1)[0] == 4


@MODE
def test_rung3_halt(tmp, procs, pid1):
    root = tree(os.path.join(tmp, "r"), {"app": ("sleep 0.2; exec pysix-halt 7", {})})
    assert run_init(procs, root, pid1=pid1)[0] == 7


@MODE
@pytest.mark.parametrize("cmd,code", [(["true"], 3), (["sh", "-c", "exit 6"], 6), ((), 3)])
def test_rung4_stage2_failure_turns_a_zero_into_its_code(tmp, procs, pid1, cmd, code):
    root = tree(os.path.join(tmp, "r"), {"app": ("sleep 0.3; exec pysix-halt 0", {})} if not cmd else None,
                init={"10-fail": "exit 3"})
    assert run_init(procs, root, cmd, env={"S6_BEHAVIOUR_IF_STAGE2_FAILS": "1"}, pid1=pid1)[0] == code


@MODE
def test_rung5_zero(tmp, procs, pid1):
    root = tree(os.path.join(tmp, "r"), {"app": ("exec sleep 1000", {})})
    e = dict(os.environ)
    p = procs.start((PID1 if pid1 else []) + ["pysix-init", "--root", root], env=e,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_for(lambda: os.path.exists(os.path.join(root, "run", "pysix", "services", "app", "supervise", "status")),
             what="app supervised")
    time.sleep(0.2)
    target = pid1_of(p) if pid1 else p.pid
    os.kill(target, signal.SIGUSR1)   # without a CMD, USR1 stops the container as s6-overlay's does
    p.communicate(timeout=20)
    assert p.returncode == 0


# hurry ---------------------------------------------------------------------------

@MODE
def test_second_term_after_the_cmd_is_gone_hurries_the_services(tmp, procs, pid1):
    root = tree(os.path.join(tmp, "r"), {"stubborn": ("trap '' TERM; while :; do sleep 0.05; done", {})})
    e = dict(os.environ, PYSIX_SERVICES_GRACETIME="20000")
    p = procs.start((PID1 if pid1 else []) + ["pysix-init", "--root", root, "--", "sleep", "30"], env=e,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    st = os.path.join(root, "run", "pysix", "services", "stubborn", "supervise", "status")
    wait_for(lambda: os.path.exists(st), what="stubborn supervised")
    time.sleep(0.3)
    target = pid1_of(p) if pid1 else p.pid
    t0 = time.monotonic()
    os.kill(target, signal.SIGTERM)   # sleep dies at once; stubborn would get 20 s
    time.sleep(0.5)
    os.kill(target, signal.SIGTERM)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 143, out
    assert time.monotonic() - t0 < 10, "the second TERM did not cut stubborn's 20 s grace"
