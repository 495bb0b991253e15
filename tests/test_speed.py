"""The speed tricks of pysix/speed.py hold: a forked supervisor imports nothing,
and on CPython 3.12+ what it calls is immortal.

An import after the fork runs importlib and creates module objects in every
supervisor (one lazy import per start cost each 1.8 ms and ~120 copied
pages). The real scanner runs a tree whose services go through the paths a
supervisor has: start, readiness, death and restart, finish, control
letters, dependencies, the exit; each supervisor writes down the modules it
imported after its fork.
"""
import glob
import os
import platform
import subprocess
import sys

import pytest

from helpers import make_sd, read_status, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _immortal_python():
    """A CPython with immortal objects (3.12, 3.13): this one, or one on the machine; None."""
    if sys.version_info[:2] in ((3, 12), (3, 13)):
        return sys.executable
    for pattern in ("/root/.pyenv/versions/3.12*/bin/python3", "/usr/bin/python3.12", "/usr/bin/python3.13"):
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[-1]
    return None


IMMORTAL_PY = _immortal_python()
INTERPRETERS = [sys.executable] + ([IMMORTAL_PY] if IMMORTAL_PY not in (None, sys.executable) else [])

HARNESS = r'''
import os, sys
out = sys.argv[2]
import pysix.supervise as sv
real = sv.run_supervisor

def watched(path, name, **kw):
    before = set(sys.modules)
    real_exit = os._exit

    def leave(code):
        with open(os.path.join(out, name.replace("/", ".")), "w") as f:
            f.write("\n".join(sorted(set(sys.modules) - before)) + "\n")
        real_exit(code)
    os._exit = leave
    return real(path, name, **kw)

sv.run_supervisor = watched
from pysix.cli.svscan import main
sys.exit(main([sys.argv[1]]))
'''


@pytest.mark.parametrize("python", INTERPRETERS, ids=lambda p: os.path.basename(p) if p != sys.executable else "this")
def test_supervisors_import_nothing_after_the_fork(tmp, procs, python):
    scan = os.path.join(tmp, "scan")
    out = os.path.join(tmp, "imports")
    os.makedirs(out)
    # a: ready through notification-fd, dies once (restart, finish), then stays up
    make_sd(os.path.join(scan, "a"),
            'if [ -e ../../died ]; then echo >&3; exec sleep 100; fi\n: > ../../died\necho >&3\nexit 3',
            notification_fd="3", finish="#!/bin/sh\nexit 0\n")
    # b: depends on a, has a log, a down-signal and a timeout-kill
    make_sd(os.path.join(scan, "b"), "exec sleep 100", dependencies="a\n", down_signal="SIGINT\n",
            timeout_kill="200\n")
    make_sd(os.path.join(scan, "b", "log"), "exec cat >/dev/null")
    harness = os.path.join(tmp, "harness.py")
    with open(harness, "w") as f:
        f.write(HARNESS)
    p = procs.start([python, harness, scan, out])
    wait_for(lambda: os.path.exists(os.path.join(tmp, "died")), 10, what="a's first run")
    for sd in ("a", "b"):
        wait_for(lambda sd=sd: (read_status(os.path.join(scan, sd)) or 0) and read_status(os.path.join(scan, sd)).pid,
                 15, what="%s up" % sd)
    svc = ["pysix-svc"]
    for args in (["-h"], ["-a"], ["-d"], ["-wD", "-T", "5000"], ["-o"], ["-u"], ["-wu", "-T", "5000"]):
        subprocess.run(svc + args + [os.path.join(scan, "b")], timeout=10, check=True)
    subprocess.run(["pysix-svscanctl", "-t", scan], timeout=10, check=True)
    p.wait(20)
    found = {}
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name)) as f:
            found[name] = [m for m in f.read().split() if m]
    assert sorted(found) == ["a", "b", "b.log"], found
    assert found == {name: [] for name in found}, "imported after the fork (add to speed.SUPERVISOR_MODULES): %r" % found


IMMORTAL_CHECK = r'''
import gc, os, sys, weakref
from pysix import speed
from pysix.status import Status
import pysix.supervise.supervisor as sup

class Held:         # what a scanner callback may hold: a service, a file
    pass
held = Held()
gone = weakref.ref(held)
callback = lambda st, s=held: s            # made by a call, holding an object
bound = [].append                          # a built-in bound to an object
mod = type(sys)("made")                    # a module: its constants, a lambda's constant
exec("LIMITS = (70000, 'a b')\ndef f():\n    return lambda: 'c d'\n", mod.__dict__)
sys.modules["made"] = mod
def kw(*, where="".join(["a", " place"]), n=int("864192")):     # made at run time, not constants
    pass
speed.prepare_fork()
imm = sys.getrefcount(None)
print("function", sys.getrefcount(sup.run_supervisor) == imm)
print("method", sys.getrefcount(sup.Supervisor.setup) == imm)
print("code", sys.getrefcount(sup.run_supervisor.__code__) == imm)
print("default", all(sys.getrefcount(v) == imm for v in sup.run_supervisor.__defaults__ if v is not None))
print("keyword default", all(sys.getrefcount(v) == imm for v in kw.__kwdefaults__.values()))
doc = sup.run_supervisor.__code__.co_consts[0]     # a constant, not interned (it has spaces)
print("constant", " " in doc and sys.getrefcount(doc) == imm)
print("class", sys.getrefcount(sup.Supervisor) == imm)
print("record", sys.getrefcount(Status) == imm, sys.getrefcount(Status.__new__) == imm)
print("builtin", sys.getrefcount(os.read) == imm)
fork = speed.fork_function()    # called once per fork, between two forks: a page each if counted
print("fork", fork is os.fork or (sys.getrefcount(fork) == imm
                                  and all(sys.getrefcount(c.cell_contents) == imm for c in fork.__closure__)))
print("module", sys.getrefcount(sup) == imm)
print("module constant", sys.getrefcount(sup.STOPPING) == imm, sys.getrefcount(os.O_CLOEXEC) == imm)
print("constant tuple", all(sys.getrefcount(x) == imm for x in (mod.LIMITS,) + mod.LIMITS))
print("nested constant", sys.getrefcount(mod.f().__code__.co_consts[-1]) == imm)
print("callback", sys.getrefcount(callback) != imm)
print("bound", sys.getrefcount(bound) != imm)
del callback, held
print("freed", gone() is None)
'''


@pytest.mark.skipif(not IMMORTAL_PY, reason="no CPython 3.12 or 3.13 on this machine")
def test_what_supervisors_call_is_immortal_and_scanner_state_is_not():
    """Calling a function in a forked supervisor writes no reference count.

    A callback the scanner holds (it may drop it, and with it a service or a
    file) stays mortal and is freed when dropped.
    """
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([IMMORTAL_PY, "-S", "-c", IMMORTAL_CHECK], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert [ln for ln in lines if ln and "False" in ln] == [], r.stdout


def test_no_immortal_objects_before_312():
    """3.11 has no immortal objects: nothing is written, nothing is claimed."""
    from pysix import speed
    if sys.version_info[:2] in ((3, 12), (3, 13)):
        pytest.skip("this interpreter has immortal objects")
    assert speed._immortalize() == 0


@pytest.mark.skipif(not IMMORTAL_PY, reason="no CPython 3.12 or 3.13 on this machine")
def test_pid1_with_only_a_cmd_prepares_no_fork(tmp, procs):
    """The supervisors' set-up (their modules, _ctypes, the immortal objects) waits
    for a first supervisor: pysix-init as PID 1 with only a CMD stays a bare
    interpreter (as a subreaper, outside a namespace, it loads ctypes for prctl)."""
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc"))
    marker = os.path.join(tmp, "cmd-started")
    init = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", "pysix-init")
    p = procs.start(["unshare", "--pid", "--fork", "--mount-proc", IMMORTAL_PY, "-S", init, "--root", root,
                     "--", "sh", "-c", ": > %s; exec sleep 100" % marker],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(marker), 20, what="the CMD")
    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
        pid1 = int(f.read().split()[0])
    procs.pids.append(pid1)
    with open("/proc/%d/maps" % pid1) as f:
        maps = f.read()
    os.kill(pid1, 15)
    assert p.wait(20) == 143
    assert "python3" in maps and "_ctypes" not in maps


PID1_MODULES = r'''
import os, sys
out = sys.argv.pop(1)
real_exit = os._exit
def leave(code):    # what pysix-init loaded, when it returns or calls os._exit
    with open(out, "w") as f:
        f.write("\n".join(sorted(sys.modules)))
    real_exit(code)
os._exit = leave
from pysix.cli.init import main
leave(main(sys.argv[1:]))
'''


def test_pid1_with_only_a_cmd_loads_no_supervisor(tmp):
    """As a tini (PID 1, only a CMD, nothing in /etc) pysix-init never loads
    a supervisor's modules: they wait for a first fork (~0.4 MiB of its PSS)."""
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc"))
    harness, out = os.path.join(tmp, "harness.py"), os.path.join(tmp, "modules")
    with open(harness, "w") as f:
        f.write(PID1_MODULES)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-S", harness, out,
                        "--root", root, "--", "sh", "-c", "exit 3"], env=env, timeout=30, capture_output=True)
    assert r.returncode == 3, r.stderr
    modules = open(out).read().split("\n")
    assert "pysix.scan" in modules and "pysix.init" in modules
    assert [m for m in modules if m.startswith("pysix.supervise.") and m != "pysix.supervise.identity"] == []
    assert "__future__" not in modules and "typing" not in modules     # a module each: speed.py


REHEARSAL_CHECK = r'''
import dis, os, sys
import _signal as signal
from pysix import speed
import pysix.supervise.supervisor as sv

def specialised(fn):   # instructions CPython rewrote for the types it saw (3.12+; not
    # the superinstructions, LOAD_FAST__LOAD_FAST..., made when the code is)
    return sum(1 for i in dis.get_instructions(fn, adaptive=True)
               if i.opname not in dis.opmap and "__" not in i.opname)

def failed(fn, only=None):   # instructions left generic with their counter backed off
    # (specialising them failed): each writes its code's page on every run
    raw, out, i = fn.__code__._co_code_adaptive, [], 0
    while i < len(raw):
        op = dis._deoptop(raw[i])
        caches = dis._inline_cache_entries[op]
        if caches and raw[i] == op and (raw[i + 2] & 15) > 1 and only in (None, dis.opname[op]):
            out.append(dis.opname[op])
        i += 2 + 2 * caches
    return out

def failed_ors(fn):
    return len(failed(fn, "BINARY_OP"))

ctl = sys.argv[1]
r, w = os.pipe2(os.O_NONBLOCK)
def on_sig(signum, frame):
    pass
for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGUSR1):
    signal.signal(s, on_sig)
signal.set_wakeup_fd(w, warn_on_full_buffer=False)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
before = specialised(sv.Supervisor._start), specialised(sv.Supervisor.setup)
fds = sorted(os.listdir("/proc/self/fd"))
handlers = [signal.getsignal(s) for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1)]
ok = speed.rehearse(ctl)
print("ok", ok)
print("cold before", before == (0, 0))
print("specialised after", specialised(sv.Supervisor._start) > 20 and specialised(sv.Supervisor.setup) > 20)
print("tree removed", os.listdir(ctl) == [])
print("fds", sorted(os.listdir("/proc/self/fd")) == fds)
print("handlers", [signal.getsignal(s) for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1)] == handlers)
print("wakeup fd", signal.set_wakeup_fd(-1) == w)
print("mask", signal.pthread_sigmask(signal.SIG_BLOCK, ()) == {signal.SIGUSR2})
try:
    os.waitpid(-1, os.WNOHANG)
    print("children False")
except ChildProcessError:
    print("children reaped True")
print("cwd", os.getcwd() == sys.argv[2])
from pysix import atomic, ctldir
print("flags folded", [failed_ors(f) for f in (ctldir.take_lock, ctldir.open_control, atomic.write_atomic)] == [0, 0, 0])
# what every supervisor runs, written so that 3.12 specialises all of it:
# f-strings, not %; concatenation, not os.path.join; record fields read
# through one-argument getters; Loop.run and leave rehearsed too
from pysix import policy, servicedir, status, execspec, loop
from pysix.sockets import bind
from pysix.supervise import identity, spawn, policy as svpolicy
left = {f.__qualname__: failed(f) for f in (
    status.pack_status, status.tain_pack, policy.format_state, identity.format_record, identity.proc_stat,
    bind.read_spec, execspec.exec_wrapper, spawn.spawn, loop.Loop._update, loop.Loop.run, loop.Loop.leave,
    svpolicy.Policy.publish)}
# calls of classes and of built-ins taking no or variable arguments, `==` on
# tuples and bytes, stat fields, `|`, a set iterated, a method read as a value:
# through specialised.py's forms (each of these wrote a page of every supervisor)
from pysix import fifodir, specialised as forms
from pysix.supervise import machine
for f in (sv.Supervisor.__init__, sv.Supervisor.setup, sv.Supervisor._start, sv.Supervisor.status,
          sv.Supervisor.event, sv.Supervisor.feed, sv.Supervisor._dir_gone, sv.Supervisor._tree_check,
          svpolicy.Policy.__init__, svpolicy.Policy.state, svpolicy.Policy.write_now, policy.PolicyState.__new__,
          loop.Loop.__init__, loop.Loop.call_later, loop.Loop.add_signal, identity.ticks_now,
          identity.parse_stat, fifodir.make_fifodir, machine.step, sv.make_ctldir, forms.isdir,
          # and at a death and the stop: `&`, `>>`, `%`, `/`, min(), list and bytes `+`, a
          # class called, time.time_ns(), keywords, bytes iterated, str.startswith
          status.death_from_wstat, status.pack_tally, status.unpack_tally, status.split_wait,
          machine.up_died, machine._take_down, loop.Loop.run_once, loop.Loop._read_signals,
          svpolicy.Policy.at_death, svpolicy.Policy.restart_delay, sv.Supervisor.apply,
          sv.Supervisor.on_run_death, sv.Supervisor._record_death, sv.Supervisor._timeout_kill, sv.Supervisor._seconds,
          sv.Supervisor.reap, sv.Supervisor._on_signal, sv.Supervisor.finish_exit, servicedir.open_regular):
    left[f.__qualname__] = failed(f)
fork = speed.fork_function()    # the libc fork: its call of a ctypes function too
for _ in range(3):
    pid = fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
left["fork"] = failed(fork)
print("run, leave and reap rehearsed", specialised(loop.Loop.run) > 0 and specialised(loop.Loop.leave) > 0
      and specialised(sv.Supervisor.reap) > 0)
print("nothing generic", {k: v for k, v in left.items() if v} == {}, left)
'''


@pytest.mark.skipif(not IMMORTAL_PY, reason="no CPython 3.12 or 3.13 on this machine")
def test_rehearsal_specialises_a_supervisors_code_and_leaves_no_trace(tmp):
    """speed.rehearse lives a supervisor's start and stop in this process: its
    bytecode is specialised before any fork, and the process is left as it
    was (signal handlers, wakeup fd and mask, fds, cwd, no child, no files)."""
    ctl = os.path.join(tmp, ".s6-svscan")
    os.makedirs(ctl)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([IMMORTAL_PY, "-S", "-c", REHEARSAL_CHECK, ctl, tmp], capture_output=True, text=True,
                       timeout=30, env=env, cwd=tmp)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.split("\n") if ln]
    assert len(lines) == 13 and [ln for ln in lines if "False" in ln] == [], r.stdout + r.stderr


def test_rehearsal_that_cannot_build_its_tree_changes_nothing(tmp):
    """A control dir it cannot write in (read-only, gone): False, and the
    process is as it was; the forks then cost what they did without it."""
    from pysix import speed
    import _signal
    fds = sorted(os.listdir("/proc/self/fd"))
    handler = _signal.getsignal(_signal.SIGTERM)
    here = os.getcwd()
    assert speed.rehearse(os.path.join(tmp, "no-such-dir")) is False
    assert sorted(os.listdir("/proc/self/fd")) == fds
    assert _signal.getsignal(_signal.SIGTERM) == handler and os.getcwd() == here
    assert not os.path.exists(os.path.join(tmp, "no-such-dir"))


SCANNER_REHEARSAL = r'''
import os, sys
from pysix import speed
real = speed.rehearse
def recorded(ctl):
    from pysix.supervise import spawn
    env = spawn.ENV is not None     # set before: the rehearsal runs the path the forks will
    ok = real(ctl)
    with open(sys.argv[2], "a") as f:
        f.write("%s %s env=%s\n" % (ok, sorted(os.listdir(ctl)), env))
    return ok
speed.rehearse = recorded
from pysix.cli.svscan import main
sys.exit(main([sys.argv[1]]))
'''


def test_scanner_rehearses_before_a_big_first_batch_only(tmp, procs):
    """A first scan of REHEARSE_MIN services or more is rehearsed once, its
    tree gone by the first fork; every service comes up, and the rehearsal's
    run is no service of the tree. A smaller first batch is not rehearsed."""
    from pysix import speed
    for n, want in ((speed.REHEARSE_MIN, 1), (speed.REHEARSE_MIN - 1, 0)):
        scan = os.path.join(tmp, "scan%d" % n)
        for i in range(n):
            make_sd(os.path.join(scan, "s%d" % i), "exec sleep 100")
        rec = os.path.join(tmp, "rehearsed%d" % n)
        harness = os.path.join(tmp, "harness.py")
        with open(harness, "w") as f:
            f.write(SCANNER_REHEARSAL)
        p = procs.start([sys.executable, harness, scan, rec])
        for i in range(n):
            wait_for(lambda i=i: (read_status(os.path.join(scan, "s%d" % i)) or 0) and
                     read_status(os.path.join(scan, "s%d" % i)).pid, 15, what="s%d up" % i)
        assert sorted(os.listdir(scan)) == [".s6-svscan"] + sorted("s%d" % i for i in range(n))
        subprocess.run(["pysix-svscanctl", "-t", scan], timeout=10, check=True)
        assert p.wait(20) == 0
        lines = open(rec).read().splitlines() if os.path.exists(rec) else []
        assert len(lines) == want, lines
        if want:
            assert lines[0].startswith("True ") and "pysix-rehearsal" not in lines[0], lines
            assert lines[0].endswith(" env=True"), lines


@pytest.mark.parametrize("leftover", ["symlink", "tree"])
def test_rehearsal_removes_a_leftover_and_follows_no_symlink(tmp, leftover):
    """A tree left by a killed scanner is removed first; a symlink, there or
    inside it, is removed itself: what it points to is untouched."""
    from pysix import speed
    ctl = os.path.join(tmp, ".s6-svscan")
    os.makedirs(ctl)
    outside = os.path.join(tmp, "outside")
    os.makedirs(outside)
    keep = os.path.join(outside, "keep")
    open(keep, "w").write("x")
    left = os.path.join(ctl, speed.REHEARSAL)
    if leftover == "symlink":
        os.symlink(outside, left)
    else:
        os.makedirs(os.path.join(left, "svc", "supervise"))
        os.symlink(outside, os.path.join(left, "svc", "supervise", "status"))
        os.symlink(keep, os.path.join(left, "svc", "run"))
    assert speed.rehearse(ctl) is True
    assert os.listdir(ctl) == []
    assert os.listdir(outside) == ["keep"] and open(keep).read() == "x"


@pytest.mark.parametrize("sd", ["", ".", "./", "a", "a/", "/srv/svc", "/srv/svc/", "../x"])
def test_in_dir_is_join_for_a_relative_name(sd):
    """servicedir.in_dir replaces os.path.join on the supervisor's path (3.12
    specialises concatenation, never a call to join): same result."""
    from pysix.servicedir import in_dir
    for name in ("run", "supervise/status", "log"):
        assert in_dir(sd, name) == os.path.join(sd, name)


FORK_CHOICE = r'''
import os, sys
from pysix import speed
fast = speed.fork_function()
print(fast is not os.fork)
r, w = os.pipe()
pid = fast()
if pid == 0:
    # the child runs Python, spawns and reaps a process, and exits with a code
    p = os.posix_spawn("/bin/sh", ["sh", "-c", "exit 3"], dict(os.environ))
    os.write(w, b"%d %d" % (os.getpid(), os.waitpid(p, 0)[1] >> 8))
    os._exit(7)
_, st = os.waitpid(pid, 0)
child, spawned = map(int, os.read(r, 64).split())
print(child == pid, st >> 8, spawned)
import MODULE
print(speed.fork_function() is os.fork)
'''


@pytest.mark.parametrize("python", INTERPRETERS)
@pytest.mark.parametrize("module", ["threading", "random", "logging"])
def test_supervisors_are_forked_by_libc_until_at_fork_work_is_needed(python, module):
    """With nothing that needs CPython's after-fork work, the scanner forks
    through libc (speed.fork_function) and the child is a working Python
    process; once a module that registers at-fork callbacks is loaded, os.fork."""
    # -S: a .pth file (this machine's, on 3.11) may import threading or random at start-up
    code, out, err = _run_in_own_group([python, "-S", "-c", FORK_CHOICE.replace("MODULE", module)])
    assert code == 0, err
    assert out.split() == ["True", "True", "7", "3", "True"]


def _run_in_own_group(argv, timeout=30):
    """Run argv in a session of its own; whatever it forked is killed after, by group."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env=dict(os.environ, PYTHONPATH=ROOT))
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(p.pid, 9)
        except OSError:
            pass
        p.wait(10)
    return p.returncode, out, err


def test_a_failed_libc_call_raises_its_errno():
    """A bound libc call that fails leaves its errno for cfunc.errno()."""
    import errno
    from pysix import cfunc
    close = cfunc.bind("close")
    assert close(-1) == -1 and cfunc.errno() == errno.EBADF


def test_a_failed_libc_fork_raises_os_forks_error(monkeypatch):
    """The fork wrapper keeps no errno (ctypes' copy of it wrote pages between
    two forks): -1 from libc is tried again by os.fork, whose OSError, errno
    and all, is what the scanner sees; a pid is returned as it is."""
    import errno
    from pysix import speed
    tries = []

    def refused() -> int:
        tries.append(1)
        raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))
    monkeypatch.setattr(os, "fork", refused)
    with pytest.raises(OSError) as e:
        speed._checked(lambda: -1)()
    assert e.value.errno == errno.EAGAIN and tries == [1]
    assert speed._checked(lambda: 4321)() == 4321 and tries == [1]


def test_subreaper_without_ctypes():
    """prctl through _ctypes alone: an orphaned grandchild comes back to us,
    and ctypes (~2.4 ms to import) is never loaded."""
    code = r'''
import os, select, sys, time
from pysix.subreaper import set_subreaper
assert set_subreaper()
r, w = os.pipe()
me = os.getpid()
pid = os.fork()
if pid == 0:
    if os.fork() == 0:
        end = time.monotonic() + 10
        while os.getppid() != me and time.monotonic() < end:
            time.sleep(0.005)     # until the middle process is gone and we are reparented
        os.write(w, b"%d" % os.getppid())
        os._exit(0)
    os._exit(0)
os.waitpid(pid, 0)
ready, _, _ = select.select([r], [], [], 15)
print(ready and os.read(r, 32).decode() == str(os.getpid()), "ctypes" in sys.modules)
os.wait()
'''
    rc, out, err = _run_in_own_group([sys.executable, "-c", code])
    assert rc == 0, err
    assert out.split() == ["True", "False"]


FRESH_POOLS = r"""
import sys
from pysix import speed
n = speed.fresh_pools()
# the page of its pool each size class's next block is in (80 bytes up: 3.13
# allocates blocks of 48 and 64 bytes between two statements)
pages = {id(bytes(size - 33)) % speed.POOL_SIZE // 4096 for size in range(80, 513, 16)}
print(n > 0, n == len(speed._FILLERS), sorted(pages))
"""


@pytest.mark.parametrize("python", INTERPRETERS)
def test_fresh_pools_put_the_next_block_of_each_size_on_its_pools_first_page(python):
    """After speed.fresh_pools, a new object of every size class is a block
    in the first page of its pymalloc pool, the one its header is in: a
    forked supervisor's temporaries of that size write one page, not two."""
    code, out, err = _run_in_own_group([python, "-S", "-c", FRESH_POOLS])
    assert code == 0, err
    assert out.split() == ["True", "True", "[0]"]


FRESH_POOLS_AFTER_A_FREE = r"""
from pysix import speed
# 80-byte blocks over a few pools, the last one used past its first page
held, firsts = [], []
while len(firsts) < 3 or id(held[-1]) % speed.POOL_SIZE < 2 * 4096:
    held.append(bytes(47))
    if id(held[-1]) % speed.POOL_SIZE == speed.POOL_HEADER:
        firsts.append(held[-1])
# a full pool's first block freed: that pool is used first again, and its
# first block looks like a fresh pool's
victim = id(firsts[0])
held = [o for o in held if id(o) != victim]
del firsts
speed.fresh_pools()
print(id(bytes(47)) % speed.POOL_SIZE // 4096)
"""


@pytest.mark.parametrize("python", INTERPRETERS)
def test_fresh_pools_is_not_fooled_by_an_older_pools_free_first_block(python):
    """An older pool's first block, freed, is where its size class's next
    object goes, as a fresh pool's would; the pool after it is not fresh.
    speed.fresh_pools checks each class's next block and fills on."""
    code, out, err = _run_in_own_group([python, "-S", "-c", FRESH_POOLS_AFTER_A_FREE])
    assert code == 0, err
    assert out.split() == ["0"]


@pytest.mark.parametrize("setting", [{"PYTHONMALLOC": "malloc"}, {"PYTHONDEVMODE": "1"}])
def test_fresh_pools_keep_nothing_without_plain_pymalloc(setting):
    """Under another allocator or pymalloc's debug hooks the geometry is not
    the one assumed: nothing is allocated to be kept."""
    env = dict(os.environ, PYTHONPATH=ROOT, **setting)
    out = subprocess.run([sys.executable, "-S", "-c", "from pysix import speed; "
                          "print(speed.fresh_pools(), len(speed._FILLERS))"],
                         capture_output=True, text=True, env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "0"]


ENV_CHECK = r"""
import os, sys
from pysix import speed
from pysix.supervise import spawn
os.environ["PYSIX_TEST_VALUE"] = "".join(["a value ", "made at run time"])
spawn.ENV = env = speed.fork_env()
handed = ("/a/path/" + str(os.getpid()), [1, 2])
speed.prepare_fork(keep=[handed, *handed])
imm = sys.getrefcount(None)
print(sys.getrefcount(env) == imm, all(sys.getrefcount(k) == imm for k in env),
      all(sys.getrefcount(v) == imm for v in env.values()),
      all(sys.getrefcount(o) == imm for o in (handed, *handed)))
print(speed.fork_env() is env)
os.environ["PYSIX_TEST_VALUE"] = "changed"
new = speed.fork_env()
print(new is not env, new[b"PYSIX_TEST_VALUE"] == b"changed")
"""


@pytest.mark.skipif(not IMMORTAL_PY, reason="no CPython 3.12 or 3.13 on this machine")
def test_services_environment_and_what_the_first_batch_is_handed_are_immortal():
    """posix_spawn takes a reference to every key and value of the services'
    environment: immortal, they are not written (and copied) in each
    supervisor. The same dict is used while the environment is unchanged."""
    code, out, err = _run_in_own_group([IMMORTAL_PY, "-S", "-c", ENV_CHECK])
    assert code == 0, err
    assert out.split("\n")[:3] == ["True True True True", "True", "True True"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="LD_DEBUG is glibc's dynamic linker's")
def test_supervisors_bind_no_library_function_after_the_fork(tmp, procs):
    """The dynamic linker binds a function at its first call in a process:
    one a supervisor calls first in its own life (its set-up after the fork,
    setpgid, close_range) was looked up in every supervisor, its symbol
    tables read and a page written. The scanner calls each one before the
    forks (the rehearsal, speed._bind_child_calls), so from its fork to its
    exit at the tree's stop no supervisor binds anything (LD_DEBUG=bindings:
    a forked child writes its lines, prefixed by its pid, to the scanner's
    file; a program it execs, to a file of its own)."""
    from pysix import speed
    scan = os.path.join(tmp, "scan")
    names = ["s%d" % i for i in range(speed.REHEARSE_MIN)]
    for n in names:
        make_sd(os.path.join(scan, n), "exec sleep 100")
    prefix = os.path.join(tmp, "ld")
    # -S: no site (a .pth here imports threading, and with it loaded CPython's
    # own after-fork code runs in each child, os.fork being used: speed.fork_function)
    env = dict(os.environ, LD_DEBUG="bindings", LD_DEBUG_OUTPUT=prefix, PYTHONPATH=ROOT)
    p = procs.start([sys.executable, "-S", "-c",
                     "import sys; from pysix.cli.svscan import main; sys.exit(main(sys.argv[1:]))", scan], env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for n in names:
        wait_for(lambda n=n: (read_status(os.path.join(scan, n)) or 0) and read_status(os.path.join(scan, n)).pid,
                 15, what="%s up" % n)
    p.send_signal(15)
    assert p.wait(20) == 0
    mine = os.path.join(tmp, "ld.%d" % p.pid)
    assert os.path.exists(mine), sorted(os.listdir(tmp))
    bound = []
    with open(mine) as f:
        for line in f:
            pid, _, rest = line.strip().partition(":")
            if pid.isdigit() and int(pid) != p.pid and "binding" in rest:
                bound.append((int(pid), rest.rsplit("symbol", 1)[-1].strip()))
    assert bound == []


def test_specialised_isdir_answers_as_os_path_isdir(tmp):
    """specialised.isdir replaces os.path.isdir in a supervisor's set-up: the
    same answer for a directory, a file, a symlink to either, a dangling
    symlink, a missing path and a path through a file (never an OSError)."""
    from pysix.specialised import isdir
    d, f = os.path.join(tmp, "d"), os.path.join(tmp, "f")
    os.mkdir(d)
    open(f, "w").close()
    for name, target in (("ld", d), ("lf", f), ("dangling", os.path.join(tmp, "none"))):
        os.symlink(target, os.path.join(tmp, name))
    for p in (d, f, "ld", "lf", "dangling", "missing", os.path.join(f, "x"), "a\0b"):
        p = p if os.path.isabs(p) else os.path.join(tmp, p)
        assert isdir(p) == os.path.isdir(p), p


CODE_WATCH = r'''
import os, sys, types
out = sys.argv[2]
from pysix import speed
import pysix.supervise.supervisor as sv
snap = {}

def _codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from _codes(c)

def _pysix_codes():
    for name, mod in list(sys.modules.items()):
        if not name.startswith("pysix"):
            continue
        for v in list(vars(mod).values()):
            fs = [v] if isinstance(v, types.FunctionType) else []
            if isinstance(v, type) and v.__module__ == name:
                fs = [x for x in vars(v).values() if isinstance(x, types.FunctionType)]
                fs += [x.fget for x in vars(v).values() if isinstance(x, property)]
            for f in fs:
                for co in _codes(f.__code__):
                    if os.sep + "pysix" + os.sep in co.co_filename:   # not this harness's
                        yield co

real_prepare = speed.prepare_fork
def prepare(*a, **k):   # the scanner's code, as every supervisor is forked with it
    real_prepare(*a, **k)
    for co in _pysix_codes():
        snap[id(co)] = (co, bytes(co._co_code_adaptive))
speed.prepare_fork = prepare

real_exit = sv.Supervisor._exit
def leave(self):        # in the supervisor, at its very end: which of that code it wrote
    changed = sorted({co.co_qualname for co, raw in snap.values() if co._co_code_adaptive != raw})
    with open(os.path.join(out, self.name.replace("/", ".")), "w") as f:
        f.write("\n".join(changed) + "\n")
    real_exit(self)
sv.Supervisor._exit = leave
from pysix.cli.svscan import main
sys.exit(main([sys.argv[1]]))
'''

# Run only in a forked child, never before the fork (nothing to rehearse), or
# run by the scanner between the snapshot and the fork.
CHILD_ONLY = {"Scanner._child", "run_supervisor", "close_except",
              "Scanner._fork_all", "fork_function", "_checked.<locals>.fork"}


@pytest.mark.skipif(not IMMORTAL_PY, reason="no CPython 3.12 or 3.13 on this machine")
def test_a_supervisors_boot_and_stop_write_none_of_its_code(tmp, procs):
    """Every instruction a supervisor runs from its fork to its exit in a
    tree's stop was specialised before the fork (rehearsed, or written in a
    form 3.12 specialises): each one left to specialise, or failing to,
    writes its code object's page in every supervisor. The check is made
    by each supervisor itself, on its code's bytes, right before it exits."""
    from pysix import speed
    scan = os.path.join(tmp, "scan")
    out = os.path.join(tmp, "written")
    os.makedirs(out)
    names = ["s%d" % i for i in range(speed.REHEARSE_MIN)]
    for n in names:
        make_sd(os.path.join(scan, n), "exec sleep 100")
    harness = os.path.join(tmp, "harness.py")
    with open(harness, "w") as f:
        f.write(CODE_WATCH)
    p = procs.start([IMMORTAL_PY, harness, scan, out])
    for n in names:
        wait_for(lambda n=n: (read_status(os.path.join(scan, n)) or 0) and read_status(os.path.join(scan, n)).pid,
                 15, what="%s up" % n)
    p.send_signal(15)   # a tree's stop: each service killed by the TERM
    assert p.wait(20) == 0
    written = {}
    for n in names:
        with open(os.path.join(out, n)) as f:
            written[n] = sorted(set(f.read().split()) - CHILD_ONLY)
    assert written == {n: [] for n in names}
