"""pysix's benchmarks: pysix and its peers side by side, interleaved, in one run.

    python bench/run.py [--quick] [--repeats R] [--only boot,restart,...] [--json FILE] [--workdir DIR]

Prints one markdown table per metric (min, median, max, ratio of each
median to s6's, or to the metric's own reference: depsboot's is the tree
without dependencies) and the issue's targets, and writes everything as JSON.
Peers that are not installed are skipped and said so. See bench/README.md.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
# The working tree's commands first, run by this very interpreter (`#!/usr/bin/env python3`
# would otherwise find a shim such as pyenv's, which adds tens of ms per command).
os.environ["PATH"] = os.pathsep.join([os.path.join(ROOT, "bin"), os.path.dirname(sys.executable),
                                      os.environ.get("PATH", "")])
os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
# An installed package has its bytecode cached; let pysix's commands cache theirs too.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import explain  # noqa: E402
import pid1  # noqa: E402
import procs  # noqa: E402
import skel  # noqa: E402
import targets  # noqa: E402
from systems import TREES, System, wait_until  # noqa: E402

METRICS = ("boot", "restart", "stop", "memory", "explain", "idle", "control", "pid1", "pid1stop", "depsboot",
           "unitsboot", "logging")
QUICK_SKIPS = ("restart",    # slow whatever N is: every peer waits 1 s before respawning a young service
               "unitsboot")  # six pysix-init boots, pysix only: kept out of the smoke run


def cswitch_cpu(pids: List[int]):
    """Context switches (voluntary + not) and user+system CPU ms, summed over pids."""
    cs, cpu = 0, 0.0
    tck = os.sysconf("SC_CLK_TCK")
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        cs += int(line.split()[1])
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) * 1000.0 / tck
        except OSError:
            pass
    return cs, cpu


def pid_namespaces_work() -> Optional[str]:
    """None if `unshare --pid --fork --mount-proc` works here, else why not."""
    if not shutil.which("unshare"):
        return "unshare not installed"
    try:
        r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unshare failed: %s" % e
    return None if r.returncode == 0 else "unshare --pid failed: %s" % (r.stderr.strip() or r.returncode)


class Bench:
    def __init__(self, work: str, quick: bool, repeats: int, only_systems: Optional[List[str]] = None) -> None:
        self.work = work
        self.quick = quick
        self.repeats = repeats
        self.results: Dict[str, Dict[str, List[float]]] = {}
        self.units: Dict[str, str] = {}
        self.refs: Dict[str, str] = {}   # metric -> the system its ratios are to, when not s6
        self.errors: List[str] = []
        self.skipped: Dict[str, str] = {}
        self.elapsed: Dict[str, float] = {}   # seconds per metric family
        self.systems = []
        self.only_systems = only_systems
        for cls in TREES:
            if self.usable(cls.name, cls.needs, cls.name):
                self.systems.append(cls(os.path.join(work, cls.name)))

    def usable(self, name: str, needs: List[str], label: str) -> bool:
        """Is `name` selected by --systems and are its commands on PATH? If not, say why under `label`."""
        missing = [c for c in needs if not shutil.which(c)]
        if self.only_systems and name not in self.only_systems:
            self.skipped[label] = "not in --systems"
        elif missing:
            self.skipped[label] = "not found on PATH: " + ", ".join(missing)
        else:
            return True
        return False

    def record(self, metric: str, system: str, value: float, unit: str) -> None:
        self.results.setdefault(metric, {}).setdefault(system, []).append(value)
        self.units[metric] = unit

    def guarded(self, what: str, name: str, fn: Callable[[], None]) -> None:
        """A failure of one system in one run is reported, and the others go on."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report anything, keep measuring the others
            self.errors.append("%s, %s: %s: %s" % (what, name, type(e).__name__, e))
            if os.environ.get("PYSIX_BENCH_DEBUG"):
                traceback.print_exc()

    def each(self, what: str, fn: Callable[[System], None]) -> None:
        """Interleave: every system once per repeat (A B C A B C ...), each cleaned up after."""
        for _ in range(self.repeats):
            for s in self.systems:
                if s.only_in is not None and not what.startswith(s.only_in):
                    continue
                try:
                    self.guarded(what, s.name, lambda: fn(s))
                finally:
                    s.kill_all()

    # tree metrics ------------------------------------------------------------
    def boot_up(self, s: System, n: int) -> float:
        s.setup(n)
        s.mark_start()
        t0 = time.perf_counter()
        s.start()
        if not wait_until(lambda: len(s.started_names()) >= n, 30):
            raise RuntimeError("only %d of %d services started in 30 s" % (len(s.started_names()), n))
        return (time.perf_counter() - t0) * 1000

    def boot(self) -> None:
        def one(s: System, n: int) -> None:
            self.record("boot N=%d" % n, s.name, self.boot_up(s, n), "ms")
            # What the figure is made of: the root's serial start before its first
            # fork, then the forks and supervisors on all cores (bench/README.md).
            starts = s.run_starts()
            self.record("boot N=%d: first run started" % n, s.name, starts[0], "ms")
            if n > 1:
                # the middle one too: whether the pace changes along the boot (bench/README.md)
                self.record("boot N=%d: half the runs started" % n, s.name, starts[(n - 1) // 2], "ms")
                self.record("boot N=%d: last run started" % n, s.name, starts[-1], "ms")

        for n in ((5,) if self.quick else (1, 50, 200)):
            self.each("boot N=%d" % n, lambda s: one(s, n))

    def restart(self) -> None:
        up = 0.2 if self.quick else 1.6

        def one(s: System) -> None:
            self.boot_up(s, 1)
            time.sleep(up)
            before = set(s.markers())
            pid = s.service_pids()[0]
            if pid not in procs.descendants(s.proc.pid):
                raise RuntimeError("the service (pid %d) is not running under the root" % pid)
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            if not wait_until(lambda: set(s.markers()) - before, 10, 0.0002):
                raise RuntimeError("no new incarnation within 10 s of the SIGKILL")
            self.record("restart after SIGKILL (up %.1f s)" % up, s.name, (time.perf_counter() - t0) * 1000, "ms")
        self.each("restart", one)

    def stop(self) -> None:
        for n in ((5,) if self.quick else (50, 200)):
            def one(s: System) -> None:
                self.boot_up(s, n)
                time.sleep(0.3)
                pids = s.service_pids()
                t0 = time.perf_counter()
                s.stop()
                if not procs.wait_exit(s.proc, 60):
                    raise RuntimeError("the root did not exit within 60 s")
                if not wait_until(lambda: not any(procs.alive(p) for p in pids), 30):
                    raise RuntimeError("root exited, services still alive 30 s later")
                self.record("stop-all N=%d" % n, s.name, (time.perf_counter() - t0) * 1000, "ms")
            self.each("stop-all N=%d" % n, one)

    def memory(self) -> None:
        sizes = (1, 5) if self.quick else (1, 50, 200)
        for n in sizes:
            def one(s: System) -> None:
                self.boot_up(s, n)
                time.sleep(0.2 if self.quick else 0.5)
                self.record("PSS N=%d" % n, s.name, procs.pss_kib(s.supervision_pids()), "KiB")
            self.each("PSS N=%d" % n, one)
        lo, hi = sizes[-2], sizes[-1]   # the cost of each service past the first lo
        for name, vals in self.results.get("PSS N=%d" % hi, {}).items():
            if name in self.results.get("PSS N=%d" % lo, {}):
                base = statistics.median(self.results["PSS N=%d" % lo][name])
                self.record("PSS per extra service (N=%d..%d)" % (lo, hi), name,
                            (statistics.median(vals) - base) / (hi - lo), "KiB")

    def explain(self) -> None:
        """Per process, what boot and stop-all cost at N (see explain.py): CPU (schedstat) and
        minor faults of the root and of each supervisor after the boot, private pages of a
        supervisor by mapping, and the whole tree's CPU and faults during the stop (wait4)."""
        n = 5 if self.quick else 50
        pre = "explain N=%d: " % n

        def one(s: System) -> None:
            self.boot_up(s, n)
            time.sleep(0.2 if self.quick else 0.5)
            root = s.proc.pid
            services = s.service_pids()
            sups = [p for p in s.supervision_pids() if p != root]
            cpu = sorted(explain.cpu_ns(p) / 1e6 for p in sups)
            flt = sorted(explain.minflt(p) for p in sups)
            self.record(pre + "boot CPU, root (schedstat)", s.name, explain.cpu_ns(root) / 1e6, "ms")
            self.record(pre + "boot minor faults, root", s.name, explain.minflt(root), "faults")
            if sups:    # supervisord has none: one process for the whole tree
                self.record(pre + "boot CPU per supervisor (schedstat, median)", s.name, _median(cpu), "ms")
                self.record(pre + "boot minor faults per supervisor (median)", s.name, _median(flt), "faults")
                pss, uss = zip(*(explain.pss_uss(p) for p in sups))
                self.record(pre + "PSS per supervisor (median)", s.name, _median(pss), "KiB")
                self.record(pre + "private per supervisor (median)", s.name, _median(uss), "KiB")
                by = [explain.private_by_mapping(p) for p in sups]
                for cat in explain.CATEGORIES:
                    self.record(pre + "private per supervisor: %s (median)" % cat, s.name,
                                _median([b[cat] for b in by]), "KiB")
            self.record(pre + "boot CPU per service, root + supervisors", s.name,
                        (explain.cpu_ns(root) + sum(explain.cpu_ns(p) for p in sups)) / 1e6 / n, "ms")
            self.record(pre + "private, root", s.name, explain.pss_uss(root)[1], "KiB")
            # The stop: the tree's processes are gone at the end, so what wait4() reports for
            # them (each with all it reaped) less what they had used before the signal.
            tree = [root] + sups + services
            cpu0, flt0 = explain.snapshot(tree)
            fd = procs.pidfd(root)
            try:
                s.stop()
                if not procs.wait_gone(root, 60, fd):
                    raise RuntimeError("the root did not exit within 60 s")
            finally:
                if fd >= 0:
                    os.close(fd)
            if not wait_until(lambda: not any(procs.alive(p) for p in tree), 30):
                raise RuntimeError("root exited, supervisors or services still alive 30 s later")
            cpu1, flt1, reaped = explain.reap_rusage()
            if root not in reaped:
                raise RuntimeError("the root was not reaped here")
            s.proc.returncode = 0   # reaped above: Popen must not wait for it again
            self.record(pre + "stop CPU per service, whole tree (wait4)", s.name,
                        (cpu1 * 1e9 - cpu0) / 1e6 / n, "ms")
            self.record(pre + "stop minor faults per service, whole tree (wait4)", s.name,
                        (flt1 - flt0) / n, "faults")
        self.each("explain", one)

    def idle(self) -> None:
        n, window = (5, 1.0) if self.quick else (50, 10.0)

        def one(s: System) -> None:
            self.boot_up(s, n)
            time.sleep(0.3 if self.quick else 1.0)   # let start-up settle
            pids = s.supervision_pids()
            cs0, cpu0 = cswitch_cpu(pids)
            time.sleep(window)
            cs1, cpu1 = cswitch_cpu(pids)
            self.record("idle context switches per %g s, N=%d" % (window, n), s.name, cs1 - cs0, "switches")
            self.record("idle CPU per %g s, N=%d" % (window, n), s.name, cpu1 - cpu0, "ms")
        self.each("idle", one)

    def control(self) -> None:
        def timed_ok(argv: List[str]) -> float:
            c, e, ms = procs.run_timed(argv, 30)
            if c != 0:
                raise RuntimeError("%s exited %d: %s" % (" ".join(argv), c, e.strip()[-300:]))
            return ms

        def one(s: System) -> None:
            self.boot_up(s, 1)
            time.sleep(0.3)
            down, up = timed_ok(s.down_wait(0)), timed_ok(s.up_wait(0))
            self.record("control down+up (own CLI)", s.name, down + up, "ms")
            # One command's start varies by 14 to 30 ms here: pysix's queries come in
            # pairs with the floor of any Python command (this interpreter doing
            # nothing), in turn first and second, so both see the same machine; the
            # pairs' differences are what pysix adds. They spread by ~4 ms (standard
            # deviation): the median of 100 had a standard error of 0.4 ms, of 300
            # (sixty a repeat, a full run) 0.2 ms.
            pysix = s.name == "pysix"
            for i in range((4 if self.quick else 60) if pysix else 5):
                order = ("query", "bare") if i % 2 == 0 else ("bare", "query")
                ms = {what: timed_ok(s.status(0) if what == "query" else [sys.executable, "-c", "pass"])
                      for what in order if pysix or what == "query"}
                self.record("status query (own CLI)", s.name, ms["query"], "ms")
                if pysix:
                    self.record("interpreter start-up (python -c pass)", "python", ms["bare"], "ms")
                    self.record("status query less python -c pass, paired", s.name, ms["query"] - ms["bare"], "ms")

        self.each("control", one)

    # PID 1 ------------------------------------------------------------------------
    def pid1(self) -> None:
        why = pid_namespaces_work()
        if why:
            self.skipped["PID 1 metrics"] = why
            return
        inits = [cls(os.path.join(self.work, "pid1-" + cls.name)) for cls in pid1.INITS
                 if self.usable(cls.name, cls.needs, "%s (PID 1)" % cls.name)]
        orphans = 100 if self.quick else 1000
        for _ in range(self.repeats):
            for init in inits:
                os.makedirs(init.work, exist_ok=True)

                def storm(init=init) -> None:
                    r = pid1.storm(init, orphans)
                    self.record("PID 1: exit code when child exits 42", init.name, r["exit_code_child_42"], "code")
                    if r["reap_ms"] is None:
                        raise RuntimeError("the storm's child wrote no result (PID 1 exited %s)" % r["exit_code_child_42"])
                    self.record("PID 1: %d orphans, from the first fork until no zombie" % orphans, init.name,
                                r["storm_ms"], "ms")
                    self.record("PID 1: %d orphans, from the last fork until no zombie" % orphans, init.name,
                                r["reap_ms"], "ms")
                    self.record("PID 1: zombies leaked", init.name, r["zombies_leaked"], "zombies")

                def term(init=init) -> None:
                    t = pid1.term(init)
                    self.record("PID 1: SIGTERM until child got it", init.name, t["term_to_child_ms"], "ms")
                    self.record("PID 1: SIGTERM until PID 1 exited", init.name, t["term_to_exit_ms"], "ms")
                    self.record("PID 1: PSS of PID 1 with one child", init.name, t["pss_kib"], "KiB")
                self.guarded("PID 1 storm", init.name, storm)
                self.guarded("PID 1 SIGTERM", init.name, term)
                procs.kill(procs.under(init.work))
                procs.reap()

    def pid1stop(self) -> None:
        """SIGTERM to PID 1 until PID 1 exited, with services up: N sleepers, and the skeleton."""
        why = pid_namespaces_work()
        if why:
            self.skipped["pid1stop"] = why
            return
        inits = [name for name, needs in (("pysix", ["pysix-init"]), ("s6", ["s6-svscan", "s6-supervise"]))
                 if self.usable(name, needs, "%s (pid1stop)" % name)]
        n = 5 if self.quick else 50
        cases = [("N=%d" % n, n)]
        if self.quick:
            self.skipped["pid1stop skeleton"] = "boots a web server (python3 -m http.server); not part of --quick"
        else:
            cases.append(("skeleton", 0))
        settle = 0.1 if self.quick else 0.3
        for _ in range(self.repeats):
            for label, size in cases:
                for name in inits:
                    work = os.path.join(self.work, "pid1stop-%s" % name)

                    def one(name=name, label=label, size=size, work=work) -> None:
                        r = self.pid1stop_run(name, work, size, settle)
                        self.record("pid1stop %s: SIGTERM until PID 1 exited" % label, name, r["ms"], "ms")
                    try:
                        self.guarded("pid1stop %s" % label, name, one)
                    finally:
                        procs.clean_up(work)

    def pid1stop_run(self, name: str, work: str, n: int, settle: float) -> Dict[str, float]:
        """One run: n sleepers (n > 0) or the skeleton (n == 0) under pysix-init or s6-svscan as PID 1:
        boot, wait until every service is up (and the skeleton's web port listens), settle, SIGTERM."""
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        markers = os.path.join(work, "started")
        root = os.path.join(work, "root")
        port = skel.free_port()
        # pysix-init keeps its state in ROOT/run/pysix; s6's services (the skeleton's logger
        # writes under $PYSIX_RUNDIR) get a run dir in the work dir too.
        env = skel.clean_env(WEB_PORT=str(port))
        if n:
            runs = skel.sleepers(os.path.join(root, "etc", "services.d"), markers, n)
        else:
            runs = skel.skeleton_root(root, markers)
        if name == "pysix":
            argv = ["pysix-init", "--root", root]
            live = os.path.join(root, "run", "pysix", "services")
            env.update(self.trace_env("pid1stop-%s" % ("N=%d" % n if n else "skeleton")))
        else:
            # s6-svscan runs the same service dirs as its scan dir (no cont-init/cont-finish:
            # s6-svscan has none); on SIGTERM it TERMs every supervisor, waits for all, exits.
            live = os.path.join(work, "scan")
            shutil.copytree(os.path.join(root, "etc", "services.d"), live, symlinks=True)
            env["PYSIX_RUNDIR"] = os.path.join(work, "run")
            argv = ["s6-svscan", live]
        names = {m for m, _ in runs}
        dirs = [os.path.join(live, rel) for _, rel in runs]

        def all_up() -> bool:
            return (skel.started(markers) >= names and all(skel.up(d) for d in dirs)
                    and (n > 0 or skel.listening(port)))
        return pid1.stop_after_boot(argv, env, work, all_up, settle)

    @staticmethod
    def trace_env(what: str) -> Dict[str, str]:
        """With PYSIX_BENCH_TRACE=DIR, pysix-init traces its runs into DIR/WHAT.jsonl (appended,
        one stage-1 record per run): to find which phase is slow. Off by default: tracing costs time."""
        d = os.environ.get("PYSIX_BENCH_TRACE")
        if not d:
            return {}
        os.makedirs(d, exist_ok=True)
        return {"PYSIX_TRACE": "1", "PYSIX_TRACE_FILE": os.path.join(os.path.abspath(d), what + ".jsonl")}

    def depsboot(self) -> None:
        """The skeleton booted by pysix-init, with a 3-level dependency chain and without."""
        if not self.usable("pysix", ["pysix-init"], "depsboot"):
            return
        trees = (("pysix (no deps)", False), ("pysix (chain)", True))
        m_start, m_ready = "depsboot: until every run started", "depsboot: until all up, web ready"
        for m in (m_start, m_ready):
            self.refs[m] = trees[0][0]
        # One boot not counted, then killed: the first pysix-init of a run (compiling its bytecode
        # after an edit, cold caches) would otherwise be the first tree's first figure.
        warm = os.path.join(self.work, "depsboot-warm-up")
        try:
            self.guarded("depsboot warm-up", "pysix", lambda: self.depsboot_run(warm, False, warm_up=True))
        finally:
            procs.clean_up(warm)
            shutil.rmtree(warm, ignore_errors=True)
        for _ in range(self.repeats):
            for label, chain in trees:
                work = os.path.join(self.work, "depsboot-%s" % ("chain" if chain else "flat"))

                def one(label=label, chain=chain, work=work) -> None:
                    t_start, t_ready = self.depsboot_run(work, chain)
                    self.record(m_start, label, t_start, "ms")
                    self.record(m_ready, label, t_ready, "ms")
                try:
                    self.guarded("depsboot %s" % ("chain" if chain else "no deps"), "pysix", one)
                finally:
                    procs.clean_up(work)

    def depsboot_run(self, work: str, chain: bool, warm_up: bool = False):
        """(ms until every run created its marker, ms until every service is up and web ready).
        warm_up: return once every run started, leaving the tree to be killed."""
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        markers = os.path.join(work, "started")
        root = os.path.join(work, "root")
        runs = skel.skeleton_root(root, markers, chain)
        names = {m for m, _ in runs}
        live = os.path.join(root, "run", "pysix", "services")
        dirs = [os.path.join(live, rel) for _, rel in runs]
        env = skel.clean_env(WEB_PORT=str(skel.free_port()))
        env.update(self.trace_env("depsboot-%s" % ("chain" if chain else "flat")))
        t0 = time.perf_counter()
        p = subprocess.Popen(["pysix-init", "--root", root], env=env, cwd=work, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            def check(pred) -> None:
                if not wait_until(lambda: pred() or p.poll() is not None, 30):
                    raise RuntimeError("not there within 30 s")
                if p.poll() is not None:
                    raise RuntimeError("pysix-init exited (%s) during boot" % p.returncode)
            check(lambda: skel.started(markers) >= names)
            t_start = (time.perf_counter() - t0) * 1000
            if warm_up:
                return t_start, None
            # Ready: up everywhere, ready where the service can say so (web has a `check`).
            check(lambda: all(skel.up(d) for d in dirs) and skel.ready(os.path.join(live, "web")))
            t_ready = (time.perf_counter() - t0) * 1000
            p.send_signal(signal.SIGTERM)
            if not procs.wait_exit(p, 15):
                raise RuntimeError("pysix-init did not exit within 15 s of SIGTERM")
            return t_start, t_ready
        finally:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
            procs.wait_exit(p, 5)

    def unitsboot(self) -> None:
        """N sleepers booted by pysix-init as unit files vs as service dirs (bench/unitsboot.py)."""
        if not self.usable("pysix", ["pysix-init"], "unitsboot"):
            return
        import unitsboot
        n = 5 if self.quick else 20
        metric = "unitsboot N=%d: until every program started" % n
        self.refs[metric] = unitsboot.LABELS[0][0]
        env = skel.clean_env()
        for _, warm in unitsboot.LABELS:   # one boot of each, not counted: bytecode, caches
            self.guarded("unitsboot warm-up", "pysix", lambda: unitsboot.run_once(
                os.path.join(self.work, "unitsboot-warm"), warm, n, env))
            procs.clean_up(os.path.join(self.work, "unitsboot-warm"))
        for _ in range(self.repeats):
            for label, mode in unitsboot.LABELS:
                work = os.path.join(self.work, "unitsboot-%s" % mode)
                try:
                    self.guarded(metric, label, lambda: self.record(
                        metric, label, unitsboot.run_once(work, mode, n, env), "ms"))
                finally:
                    procs.clean_up(work)

    def logging(self) -> None:
        try:
            bench_log = importlib.import_module("bench_log")
        except ImportError as e:
            self.skipped["logging"] = "bench/bench_log.py not importable: %s" % e
            return
        for cmd, name in (("pysix-log", "pysix"), ("s6-log", "s6")):
            if not shutil.which(cmd):
                self.skipped["%s (logging)" % name] = "%s not found on PATH" % cmd
        lines = 20000 if self.quick else 200000
        metric = "logging (stamped, rotating)"
        try:
            out = bench_log.run(os.path.join(self.work, "log"), lines, self.repeats)
        except TypeError:   # the interface first planned: run(lines, repeats) -> {"metric":, "rows": [...]}
            out = bench_log.run(lines=lines, repeats=self.repeats)
        if isinstance(out, dict) and "rows" in out:
            for row in out["rows"]:
                for v in row.get("values", [row.get("median")]):
                    self.record(metric, row["system"], v, row.get("unit", "lines/s"))
        else:
            for name, vals in out.items():
                for v in vals:
                    self.record(metric, name, v, "lines/s")

    # output ---------------------------------------------------------------------
    def ratio(self, metric: str, name: str, ref: Optional[str] = None) -> Optional[float]:
        """The median of name over the median of ref (default: the metric's reference system)."""
        per = self.results[metric]
        ref = ref or self.refs.get(metric, "s6")
        if ref not in per:
            return None
        base = statistics.median(per[ref])
        return statistics.median(per[name]) / base if base else None

    def table(self) -> str:
        out = []
        for metric, per in self.results.items():
            out.append("\n### %s\n" % metric)
            out.append("| system | min | median | max | unit | ratio to %s |" % self.refs.get(metric, "s6"))
            out.append("| --- | ---: | ---: | ---: | --- | ---: |")
            for name, vals in per.items():
                r = self.ratio(metric, name)
                out.append("| %s | %s | %s | %s | %s | %s |" % (
                    name, _f(min(vals)), _f(statistics.median(vals)), _f(max(vals)), self.units[metric],
                    ("%.2fx" if r >= 0.1 else "%.4fx") % r if r is not None else "-"))
        return "\n".join(out)

    def as_json(self) -> dict:
        return {
            "quick": self.quick, "repeats": self.repeats,
            "systems": [s.name for s in self.systems], "skipped": self.skipped, "errors": self.errors,
            "metrics": {m: {"unit": self.units[m], "reference": self.refs.get(m, "s6"), "systems": {
                n: {"values": v, "min": min(v), "median": statistics.median(v), "max": max(v),
                    "ratio_to_s6": self.ratio(m, n, "s6"), "ratio_to_reference": self.ratio(m, n)}
                for n, v in per.items()}}
                for m, per in self.results.items()},
            "targets": targets.check(self.results), "elapsed_s": self.elapsed,
        }


def _median(vals) -> float:
    return statistics.median(vals) if vals else float("nan")


def _f(v: float) -> str:
    if v != v:
        return "nan"
    return "%.2f" % v if abs(v) < 10 else "%.1f" % v if abs(v) < 1000 else "%.0f" % v


def installed_bin(work: str) -> str:
    """pysix's commands as `pip install` leaves them: `#!/usr/bin/env python3` becomes
    this interpreter's path (setuptools rewrites it), which saves each command the
    exec of env and its PATH search (~1.3 ms here). Other shebangs (pysix-init's
    `env -S --block-signal`) are kept as they are."""
    out = os.path.join(work, "bin")
    os.mkdir(out)
    src = os.path.join(ROOT, "bin")
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), "rb") as f:
            text = f.read()
        if text.startswith(b"#!/usr/bin/env python3\n"):
            text = b"#!" + os.fsencode(sys.executable) + text[len(b"#!/usr/bin/env python3"):]
        dst = os.path.join(out, name)
        with open(dst, "wb") as f:
            f.write(text)
        os.chmod(dst, 0o755)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat, 1 s idle window (the smoke test)")
    ap.add_argument("--repeats", type=int, default=None, help="runs per system per metric (default 5, quick 1)")
    ap.add_argument("--only", default=",".join(METRICS), help="comma-separated: " + ",".join(METRICS))
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"), help="where to write the results")
    ap.add_argument("--systems", default=None,
                    help="comma-separated subset of pysix,s6,runit,supervisord,floor,floor-sized,floor-s6,floor-pysix,floor-s6-prep,floor-pysix-prep,tini,dumb-init"
                         " (default: all found)")
    ap.add_argument("--workdir", default=None, help="where work dirs go (default: /dev/shm, a tmpfs)")
    ap.add_argument("--python", default=None,
                    help="the interpreter pysix runs on (default: the one running this); the run re-executes on it")
    args = ap.parse_args(argv)
    if args.python:
        py = shutil.which(args.python) or args.python
        if not os.access(py, os.X_OK):
            ap.error("--python: not an executable: %s" % args.python)
        if os.path.realpath(py) != os.path.realpath(sys.executable):
            # All of the run on that interpreter: pysix's commands (found first on PATH, next to
            # it) and the runner, so that every figure is of one interpreter.
            rest = list(sys.argv[1:] if argv is None else argv)
            # (An abbreviated --pyth stays: on that interpreter it asks for no re-execution.)
            i = next((k for k, a in enumerate(rest) if a == "--python" or a.startswith("--python=")), None)
            if i is not None:
                del rest[i:i + (1 if "=" in rest[i] else 2)]
            sys.stdout.flush()
            os.execv(py, [py, os.path.abspath(__file__)] + rest)
    only = [m for m in args.only.split(",") if m]
    quick_skipped = [m for m in QUICK_SKIPS if args.quick and args.only == ap.get_default("only")]
    only = [m for m in only if m not in quick_skipped]
    bad = [m for m in only if m not in METRICS]
    if bad:
        ap.error("unknown metric %s (known: %s)" % (", ".join(bad), ", ".join(METRICS)))
    base = args.workdir or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    procs.become_subreaper()   # nothing we start may escape to the host's init
    work = tempfile.mkdtemp(prefix="pysix-bench-", dir=base)
    os.chmod(work, 0o755)
    os.environ["PATH"] = installed_bin(work) + os.pathsep + os.environ["PATH"]
    b = Bench(work, args.quick, args.repeats or (1 if args.quick else 5),
              [x for x in args.systems.split(",") if x] if args.systems else None)
    for m in quick_skipped:
        b.skipped[m] = "slow; not part of --quick unless named in --only"
    t_start = time.monotonic()
    load0 = _loadavg()
    # SIGTERM/SIGINT to the runner: clean up as on any error.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for m in only:
            t0 = time.monotonic()
            print("[bench] %s ..." % m, file=sys.stderr, flush=True)
            b.guarded(m, "suite", getattr(b, m))
            b.elapsed[m] = round(time.monotonic() - t0, 1)
            print("[bench] %s done in %.1f s" % (m, b.elapsed[m]), file=sys.stderr, flush=True)
    finally:
        for s in b.systems:
            s.kill_all()
        left = procs.kill_everything(work)
        shutil.rmtree(work, ignore_errors=True)
    fs = _fstype(base or tempfile.gettempdir())
    data = b.as_json()
    data["workdir_fs"] = fs
    data["leftover_processes"] = left
    data["python"] = {"executable": sys.executable, "version": sys.version.split()[0]}
    data["loadavg"] = {"before": load0, "after": _loadavg()}
    with open(args.json, "w") as f:   # first, so a closed stdout cannot lose it
        json.dump(data, f, indent=1)
    print("# pysix benchmarks (%s, %d repeat%s, work dirs on %s [%s], %.0f s)" % (
        "quick" if args.quick else "full", b.repeats, "" if b.repeats == 1 else "s",
        base or tempfile.gettempdir(), fs, time.monotonic() - t_start))
    print("\ninterpreter: %s (%s)" % (data["python"]["version"], data["python"]["executable"]))
    print("load average before / after: %s / %s (%d CPUs)" % (
        data["loadavg"]["before"], data["loadavg"]["after"], os.cpu_count() or 0))
    print("\nmeasured: %s" % ", ".join(s.name for s in b.systems))
    for name, why in b.skipped.items():
        print("skipped: %s (%s)" % (name, why))
    for e in b.errors:
        print("ERROR: %s" % e)
    if left:
        print("ERROR: processes still alive after clean-up: %s" % left)
    print(b.table())
    print("\n" + targets.table(data["targets"]))
    print("\nJSON written to %s" % args.json)
    return 1 if left else 0


def _loadavg() -> str:
    """The 1-minute load average: how shared the machine was (the figures are noisier the more)."""
    try:
        return "%.2f" % os.getloadavg()[0]
    except OSError:
        return "?"


def _fstype(path: str) -> str:
    """The file system type of the mount holding path (from /proc/self/mounts)."""
    best, fs = "", "?"
    path = os.path.realpath(path)
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, fs = mnt, parts[2]
    except OSError:
        pass
    return fs


if __name__ == "__main__":
    sys.exit(main())
