"""pysix-init, tini and dumb-init side by side, on the behaviours their test suites assert.

    python3 bench/initcompat.py [--quick] [--busy] [--early] [--json FILE]

--busy keeps every core busy with CPU-bound loops meanwhile; --early runs
only the early-TERM rows; PYSIX_COMPARE=DIR adds another checkout's
pysix-init as a column (before/after).

Every case really runs the init with a CMD, as PID 1 of a PID namespace
(`unshare --pid --fork --mount-proc`) and as a plain child (a subreaper for
pysix-init and `tini -s`), sends real signals. An init "appears" when it is
exec'd: as a plain child when Popen returns, as PID 1 when unshare's child
has exec'd it. and reports what happened as
a short word (an exit code, `lost`, `killed`, `got:SIG`...). The tests in
tests/test_initcompat.py call the same cases on pysix-init and assert;
this script prints the table the README and the notes quote.

Every process a case starts is ended by pid when the case is over: each
run's processes carry a mark in their environment (INITCOMPAT_RUN), so the
init, its CMD and whatever they fork are found wherever they were
re-parented (a plain-child init killed leaves its CMD to the host's PID 1);
as PID 1, `unshare --kill-child` also takes the namespace down with unshare.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import itertools
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EARLY_DELAYS_MS = (0, 2, 5, 10, 20, 100)
LOST_AFTER = 8.0   # s without an exit after a TERM: the TERM was lost (generous: the cores may be busy)


MARK = "INITCOMPAT_RUN"   # in the environment of every process of one Run (see marked())
END_WITHIN = 5.0          # s: Run.end() SIGKILLs until nothing of the run is left, this long at most
_runs = itertools.count()

# PYSIX_COMPARE=/path/to/another/checkout adds a column "pysix@other" (e.g. main, for before/after).
COMPARE = os.environ.get("PYSIX_COMPARE", "")


def init_argv(name: str, mode: str, root: str) -> List[str]:
    """The argv that runs init `name` before the CMD."""
    if name == "pysix-init":
        return ["pysix-init", "--root", root, "--"]
    if name == "pysix@other":
        return [os.path.join(COMPARE, "bin", "pysix-init"), "--root", root, "--"]
    if name == "tini":
        return ["tini", "-s", "--"] if mode == "child" else ["tini", "--"]
    return ["dumb-init"]


def available(name: str) -> bool:
    return shutil.which(name) is not None


def fast_python_path(tmp: str) -> str:
    """A PATH whose python3 is this interpreter itself, not a version
    manager's shell shim (pyenv's adds ~80 ms of bash before Python runs)."""
    d = os.path.join(tmp, "py")
    os.makedirs(d, exist_ok=True)
    link = os.path.join(d, "python3")
    if not os.path.lexists(link):
        os.symlink(os.path.realpath(sys.executable), link)
    return d + os.pathsep + os.path.join(ROOT, "bin") + os.pathsep + os.environ.get("PATH", "")


class Run:
    """One init running a CMD; `target` is the init's own pid."""

    def __init__(self, name: str, mode: str, cmd: List[str], tmp: str, env: Optional[Dict[str, str]] = None,
                 stdin=subprocess.DEVNULL) -> None:
        self.mode = mode
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        e = dict(os.environ)
        e["PATH"] = fast_python_path(tmp)
        e["PYTHONPATH"] = COMPARE if name == "pysix@other" else ROOT
        e.update(env or {})
        self.mark = "%d.%d" % (os.getpid(), next(_runs))
        e[MARK] = self.mark
        self.env = e
        # --kill-child: should unshare die first, its child (the namespace's PID 1) dies too.
        prefix = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"] if mode == "pid1" else []
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(prefix + init_argv(name, mode, root) + cmd, env=e, stdin=stdin,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            self.target = self.p.pid if mode == "child" else self._ns_init()
        except BaseException:
            self.end()
            raise
        self.appeared = time.monotonic()

    def _ns_init(self) -> int:
        """The child of unshare once it has exec'd the init (before that it is
        unshare mounting /proc), polled without sleeping."""
        deadline = time.monotonic() + 5
        path = "/proc/%d/task/%d/children" % (self.p.pid, self.p.pid)
        kid = 0
        while time.monotonic() < deadline:
            if not kid:
                try:
                    with open(path) as f:
                        kids = f.read().split()
                except OSError:
                    kids = []
                kid = int(kids[0]) if kids else 0
            if kid:
                try:
                    with open("/proc/%d/comm" % kid) as f:
                        if f.read().strip() != "unshare":
                            return kid
                except OSError:
                    pass
            if self.p.poll() is not None:
                return 0   # it came and went before we saw it (a CMD that exits at once)
        raise RuntimeError("no PID 1 appeared under unshare")

    def signal(self, sig: int) -> None:
        if not self.target:
            return
        try:
            os.kill(self.target, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> Optional[int]:
        """The exit code as a shell shows it (128 + signal), None if still running."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return 128 - rc if rc < 0 else rc

    def output(self) -> Tuple[str, str]:
        out, err = self.p.communicate(timeout=5)
        return out.decode(errors="replace"), err.decode(errors="replace")

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def end(self) -> None:
        """SIGKILL, by pid, every process of this run: unshare or the init we started while
        it runs, every process carrying this run's mark and their descendants, wherever
        they were re-parented; again until none is left (at most END_WITHIN s). Then reap."""
        deadline = time.monotonic() + END_WITHIN
        while True:
            pids = set(marked(self.mark))
            if self.p.poll() is None:   # not reaped yet: its pid is still ours
                pids.add(self.p.pid)
            for root in list(pids):
                pids.update(descendants(root))
            pids.discard(os.getpid())
            if not pids:
                break
            if time.monotonic() > deadline:
                print("initcompat: still running after %g s: %s" % (END_WITHIN, sorted(pids)),
                      file=sys.stderr, flush=True)
                break
            for pid in pids:
                kill_pid(pid)
            time.sleep(0.005)
        try:
            self.p.communicate(timeout=5)
        except (subprocess.TimeoutExpired, ValueError):
            pass


def marked(mark: str) -> List[int]:
    """Live processes whose environment holds INITCOMPAT_RUN=mark (a Run's processes)."""
    needle = b"\0%s=%s\0" % (MARK.encode(), mark.encode())
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = b"\0" + f.read()
        except OSError:
            continue
        if needle in env and pid_state(int(d)) not in ("", "Z"):
            out.append(int(d))
    return out


def descendants(pid: int) -> List[int]:
    """pid's live children, grandchildren..., from /proc/PID/task/*/children."""
    out: List[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            try:
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids = [int(k) for k in f.read().split()]
            except (OSError, ValueError):
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def term_taken(pid: int) -> bool:
    """Does `pid` block or catch SIGTERM now (/proc/PID/status)? True if unknown."""
    bit = 1 << (signal.SIGTERM - 1)
    try:
        with open("/proc/%d/status" % pid) as f:
            masks = dict(line.split(":", 1) for line in f if line.startswith(("SigBlk", "SigCgt")))
        return any(int(masks[k], 16) & bit for k in ("SigBlk", "SigCgt"))
    except (OSError, KeyError, ValueError):
        return True


def exe_of(pid: int) -> str:
    """The name of the program `pid` runs (a script's comm is the script's)."""
    try:
        return os.path.basename(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return ""


def pid_state(pid: int) -> str:
    """'R', 'S', 'T', 'Z'... or '' once gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def read_pid(path: str, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                text = f.read().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    return 0


def kill_pid(pid: int) -> None:
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def wait_until(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def host_pid_of(ns_pidfile_pid: int, run: Run) -> int:
    """A pid the CMD wrote from inside the namespace, as the host sees it (NSpid)."""
    if run.mode == "child":
        return ns_pidfile_pid
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as f:
                for line in f:
                    if line.startswith("NSpid:"):
                        ids = line.split()[1:]
                        if len(ids) == 2 and int(ids[1]) == ns_pidfile_pid and _in_ns(int(d), run.target):
                            return int(d)
        except (OSError, ValueError):
            continue
    return 0


def _in_ns(pid: int, ns_init: int) -> bool:
    try:
        return os.readlink("/proc/%d/ns/pid" % pid) == os.readlink("/proc/%d/ns/pid_for_children" % ns_init) or \
            os.readlink("/proc/%d/ns/pid" % pid) == os.readlink("/proc/%d/ns/pid" % ns_init)
    except OSError:
        return False


# the cases ------------------------------------------------------------------
# Each takes (init name, mode, scratch dir) and returns a short result word.

TRAPPED = ("HUP", "INT", "QUIT", "USR1", "USR2", "ALRM", "TERM", "WINCH", "CONT", "URG")


def _trap_cmd(log: str, pidf: str, exit_on: str = "", exit_code: int = 0) -> List[str]:
    """sh that logs each trapped signal; on `exit_on` it exits `exit_code`."""
    traps = []
    for s in TRAPPED:
        action = "echo %s >> %s" % (s, log)
        if s == exit_on:
            action += "; exit %d" % exit_code
        traps.append("trap '%s' %s" % (action, s))
    return ["sh", "-c", "; ".join(traps) + "; echo $$ > %s; while :; do sleep 0.05; done" % pidf]


def _logged(log: str) -> List[str]:
    try:
        with open(log) as f:
            return f.read().split()
    except OSError:
        return []


def case_early_term(name: str, mode: str, tmp: str, delay_ms: float) -> str:
    """TERM `delay_ms` after the init process appeared; CMD `sleep 30`.
    `143` = ended by it (the CMD got it, or was never started); `lost` =
    still running 3 s later; `orphan` = the init ended, its CMD runs on.
    `lost` and `killed` get `:first` when, right before the TERM was sent,
    the init was still `env` (bin/pysix-init's `env --block-signal`, its
    dynamic loader starting) and neither blocked nor caught it: before the
    init's first instruction, where no init can act on it. Any later
    window without a handler or a block is a plain `lost`."""
    pidf = os.path.join(tmp, "cmd.pid")
    with Run(name, mode, ["sh", "-c", "echo $$ > %s; exec sleep 30" % pidf], tmp) as r:
        time.sleep(max(0.0, r.appeared + delay_ms / 1000.0 - time.monotonic()))
        first = exe_of(r.target) == "env" and not term_taken(r.target)
        r.signal(signal.SIGTERM)
        rc = r.wait(LOST_AFTER)
        if rc is None:
            return "lost:first" if first else "lost"
        if r.p.returncode < 0 and mode == "child":
            rc_word = "killed:first" if first else "killed"   # by the TERM itself, before it had a handler
        else:
            rc_word = str(rc)
        if mode == "child":
            cmd = read_pid(pidf, 0.05)
            if cmd and pid_state(cmd) not in ("", "Z"):
                kill_pid(cmd)
                return "orphan(%s)" % rc_word
        return rc_word


def case_forward(name: str, mode: str, tmp: str, sig: int) -> str:
    """A non-stopping signal: `got` if the CMD received it and the init kept running."""
    log, pidf = os.path.join(tmp, "log"), os.path.join(tmp, "pid")
    with Run(name, mode, _trap_cmd(log, pidf), tmp) as r:
        if not read_pid(pidf):
            return "no-cmd"
        r.signal(sig)
        want = signal.Signals(sig).name[3:]
        got = wait_until(lambda: want in _logged(log), 2.0)
        alive = r.wait(0.2) is None
        return ("got" if got else "not-got") + ("" if alive else ",exited")


def case_stop_signal(name: str, mode: str, tmp: str, sig: int) -> str:
    """A stop signal: which signal the CMD got (it exits 7 on any of them) and the exit code."""
    log, pidf = os.path.join(tmp, "log"), os.path.join(tmp, "pid")
    want = signal.Signals(sig).name[3:]
    traps = []
    for s in TRAPPED:
        traps.append("trap 'echo %s >> %s; exit 7' %s" % (s, log, s))
    cmd = ["sh", "-c", "; ".join(traps) + "; echo $$ > %s; while :; do sleep 0.05; done" % pidf]
    with Run(name, mode, cmd, tmp) as r:
        if not read_pid(pidf):
            return "no-cmd"
        r.signal(sig)
        rc = r.wait(5)
        got = [s for s in _logged(log)]
        return "%s->%s,%s" % (want, "+".join(got) or "nothing", "running" if rc is None else rc)


def case_stop_stopped_cmd(name: str, mode: str, tmp: str) -> str:
    """The CMD is stopped (SIGSTOP) when the init gets TERM: does the CMD
    still get TERM and act on it, and which code does the init exit with."""
    log, pidf = os.path.join(tmp, "log"), os.path.join(tmp, "pid")
    cmd = ["sh", "-c", "trap 'echo TERM >> %s; exit 7' TERM; echo $$ > %s; while :; do sleep 0.05; done"
           % (log, pidf)]
    with Run(name, mode, cmd, tmp, env={"PYSIX_SERVICES_GRACETIME": "4000"}) as r:
        pid = host_pid_of(read_pid(pidf), r)
        if not pid:
            return "no-cmd"
        os.kill(pid, signal.SIGSTOP)
        if not wait_until(lambda: pid_state(pid) == "T", 2):
            return "not-stopped"
        r.signal(signal.SIGTERM)
        rc = r.wait(3)      # before the grace time's SIGKILL
        return "%s,%s" % ("+".join(_logged(log)) or "nothing", "running" if rc is None else rc)


def case_exit_code(name: str, mode: str, tmp: str, script: str) -> str:
    return case_argv(name, mode, tmp, ["sh", "-c", script])


def _noexec(tmp: str) -> str:
    path = os.path.join(tmp, "noexec")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(path, 0o644)
    return path


def case_argv(name: str, mode: str, tmp: str, argv: List[str]) -> str:
    with Run(name, mode, argv, tmp) as r:
        rc = r.wait(10)
        return "running" if rc is None else str(rc)


def case_second_term(name: str, mode: str, tmp: str) -> str:
    """The CMD handles TERM twice and exits 0 0.5 s after the second: the code the init exits with."""
    pidf, log = os.path.join(tmp, "pid"), os.path.join(tmp, "log")
    cmd = ["sh", "-c", "n=0; trap 'n=$((n+1)); echo $n >> %s' TERM; echo $$ > %s; "
                       "while [ $n -lt 2 ]; do sleep 0.05; done; sleep 0.5; exit 0" % (log, pidf)]
    with Run(name, mode, cmd, tmp, env={"PYSIX_SERVICES_GRACETIME": "5000"}) as r:
        if not read_pid(pidf):
            return "no-cmd"
        r.signal(signal.SIGTERM)
        wait_until(lambda: len(_logged(log)) >= 1, 2)
        r.signal(signal.SIGTERM)
        rc = r.wait(5)
        return "running" if rc is None else str(rc)


def case_quiet(name: str, mode: str, tmp: str) -> str:
    """What the init itself writes when the CMD runs and exits 0: `silent` or the bytes."""
    with Run(name, mode, ["true"], tmp) as r:
        r.wait(10)
        out, err = r.output()
        text = (out + err).strip()
        return "silent" if not text else repr(text[:60])


def case_env(name: str, mode: str, tmp: str) -> str:
    """Variables the CMD sees that the container did not set: `same` or their names."""
    dump = os.path.join(tmp, "env")
    with Run(name, mode, ["sh", "-c", "env > %s" % dump], tmp) as r:
        r.wait(10)
        got = {}
        try:
            with open(dump) as f:
                for line in f:
                    if "=" in line:
                        k, v = line.rstrip("\n").split("=", 1)
                        got[k] = v
        except OSError:
            return "no-env"
        # sh itself sets PWD (and may set OLDPWD, SHLVL, _)
        extra = sorted(k for k in got if k not in r.env and k not in ("PWD", "OLDPWD", "SHLVL", "_"))
        changed = sorted(k for k in got if k in r.env and got[k] != r.env[k] and k not in ("PWD", "_"))
        return "same" if not extra and not changed else "+" + ",".join(extra + changed)


def case_job_control(name: str, mode: str, tmp: str) -> str:
    """TSTP to the init: is the CMD stopped, is the init stopped; then CONT: does the CMD run again."""
    pidf = os.path.join(tmp, "pid")
    with Run(name, mode, ["sh", "-c", "echo $$ > %s; while :; do sleep 0.05; done" % pidf], tmp) as r:
        cmd = host_pid_of(read_pid(pidf), r)
        if not cmd:
            return "no-cmd"
        r.signal(signal.SIGTSTP)
        cmd_stopped = wait_until(lambda: pid_state(cmd) == "T", 1.5)
        init_stopped = pid_state(r.target) == "T"
        r.signal(signal.SIGCONT)
        resumed = wait_until(lambda: pid_state(cmd) not in ("T", ""), 1.5)
        return "cmd:%s init:%s cont:%s" % ("stopped" if cmd_stopped else "running",
                                           "stopped" if init_stopped else "running",
                                           "resumed" if resumed else "still-stopped")


def case_zombies(name: str, mode: str, tmp: str) -> str:
    """The CMD leaves 20 orphans that exit at once, then counts the zombies
    among the init's children (a system-wide count would see other people's)."""
    out = os.path.join(tmp, "z")
    script = ("i=0; while [ $i -lt 20 ]; do (sleep 0.01 &); i=$((i+1)); done; sleep 0.5; "
              "ps -o stat= --ppid $PPID | grep -c '^Z' > %s; exit 0" % out)
    with Run(name, mode, ["sh", "-c", script], tmp) as r:
        rc = r.wait(10)
        try:
            with open(out) as f:
                return "zombies:%s,rc:%s" % (f.read().strip(), rc)
        except OSError:
            return "no-count"


def cases(quick: bool = False) -> List[Tuple[str, Callable[[str, str, str], str]]]:
    """(label, case) for every row of the table."""
    rows: List[Tuple[str, Callable[[str, str, str], str]]] = []
    for d in ((0, 5, 20) if quick else EARLY_DELAYS_MS):
        rows.append(("TERM %d ms after start" % d, lambda n, m, t, d=d: case_early_term(n, m, t, d)))
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        rows.append(("%s stops: CMD got, exit" % s.name, lambda n, m, t, s=s: case_stop_signal(n, m, t, s)))
    for s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGALRM, signal.SIGURG,
              signal.SIGCONT):
        rows.append(("%s forwarded, no stop" % s.name, lambda n, m, t, s=s: case_forward(n, m, t, s)))
    rows += [
        ("CMD exits 3", lambda n, m, t: case_exit_code(n, m, t, "exit 3")),
        ("CMD killed by SIGKILL", lambda n, m, t: case_exit_code(n, m, t, "kill -KILL $$")),
        ("CMD not found", lambda n, m, t: case_argv(n, m, t, ["/nonexistent/cmd"])),
        ("CMD not executable", lambda n, m, t: case_argv(n, m, t, [_noexec(t)])),
        ("second TERM handled by CMD (exits 0)", case_second_term),
        ("output when CMD exits 0", case_quiet),
        ("CMD environment", case_env),
        ("TSTP then CONT", case_job_control),
        ("orphans reaped", case_zombies),
    ]
    return rows


class Load:
    """CPU-bound loops on every core, started and ended (by pid) by us."""

    def __init__(self, n: int = 0) -> None:
        self.procs = [subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True)
                      for _ in range(n or os.cpu_count() or 2)]

    def end(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait(5)


def table(inits: List[str], modes: List[str], quick: bool, busy: bool,
          early_only: bool = False) -> List[Dict[str, str]]:
    out = []
    load = Load() if busy else None
    try:
        for label, case in cases(quick):
            if early_only and not label.startswith("TERM "):
                continue
            for mode in modes:
                row = {"case": label, "mode": mode}
                for name in inits:
                    tmp = tempfile.mkdtemp(prefix="initcompat-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
                    try:
                        row[name] = case(name, mode, tmp)
                    except Exception as e:   # a row that could not run says so
                        row[name] = "error:%s" % type(e).__name__
                    finally:
                        shutil.rmtree(tmp, ignore_errors=True)
                out.append(row)
                print("  %-40s %-6s %s" % (label, mode, "  ".join("%s=%s" % (n, row[n]) for n in inits)),
                      file=sys.stderr, flush=True)
    finally:
        if load is not None:
            load.end()
    return out


def markdown(rows: List[Dict[str, str]], inits: List[str]) -> str:
    lines = ["| case | mode | " + " | ".join(inits) + " |", "| --- | --- |" + " --- |" * len(inits)]
    for r in rows:
        lines.append("| %s | %s | %s |" % (r["case"], r["mode"], " | ".join(r[n] for n in inits)))
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    quick = "--quick" in argv
    busy = "--busy" in argv
    inits = [n for n in ("pysix-init", "tini", "dumb-init") if n == "pysix-init" or available(n)]
    if COMPARE:
        inits.insert(1, "pysix@other")
    os.environ["PATH"] = os.path.join(ROOT, "bin") + os.pathsep + os.environ.get("PATH", "")
    if os.geteuid() != 0 or not available("unshare"):
        modes = ["child"]
    else:
        modes = ["pid1", "child"]
    rows = table(inits, modes, quick, busy, early_only="--early" in argv)
    print(markdown(rows, inits))
    if "--json" in argv:
        with open(argv[argv.index("--json") + 1], "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
