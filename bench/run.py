"""pysix's benchmarks: pysix and its peers side by side, interleaved, in one run.

    python bench/run.py [--quick] [--repeats R] [--only boot,restart,...] [--json FILE]

Prints one markdown table per metric (min, median, max, ratio of each
median to s6's) and writes everything as JSON. Peers that are not
installed are skipped and said so. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
# Run the working tree's commands (tox installs the package too).
os.environ["PATH"] = os.path.join(ROOT, "bin") + os.pathsep + os.environ.get("PATH", "")
os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")

import bench_log  # noqa: E402
import pid1  # noqa: E402
from systems import TREES, System, wait_until  # noqa: E402

METRICS = ("boot", "restart", "stop", "memory", "idle", "control", "pid1", "logging")


def pss_kib(pids: List[int]) -> int:
    total = 0
    for p in pids:
        try:
            for line in open("/proc/%d/smaps_rollup" % p):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def cswitch_cpu(pids: List[int]):
    cs = cpu = 0
    tck = os.sysconf("SC_CLK_TCK")
    for p in pids:
        try:
            for line in open("/proc/%d/status" % p):
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    cs += int(line.split()[1])
            f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
            cpu += (int(f[11]) + int(f[12])) * 1000.0 / tck
        except OSError:
            pass
    return cs, cpu


class Bench:
    def __init__(self, work: str, quick: bool, repeats: int) -> None:
        self.work = work
        self.quick = quick
        self.repeats = repeats
        self.results: Dict[str, Dict[str, List[float]]] = {}
        self.units: Dict[str, str] = {}
        self.systems = [cls(os.path.join(work, cls.name)) for cls in TREES if cls.available()]
        self.skipped = [cls.name for cls in TREES if not cls.available()]

    def record(self, metric: str, system: str, value: float, unit: str) -> None:
        self.results.setdefault(metric, {}).setdefault(system, []).append(value)
        self.units[metric] = unit

    def each(self, fn: Callable[[System], None]) -> None:
        """Interleave: every system once per repeat (A B C A B C ...)."""
        for _ in range(self.repeats):
            for s in self.systems:
                try:
                    fn(s)
                finally:
                    s.kill_all()

    # tree metrics ------------------------------------------------------------
    def boot_up(self, s: System, n: int) -> float:
        s.setup(n)
        t0 = time.perf_counter()
        s.start()
        if not wait_until(lambda: len(s.started_names()) >= n, 30):
            raise RuntimeError("%s: only %d of %d services started" % (s.name, len(s.started_names()), n))
        return (time.perf_counter() - t0) * 1000

    def boot(self) -> None:
        for n in ((1, 10) if self.quick else (1, 50, 200)):
            self.each(lambda s: self.record("boot N=%d" % n, s.name, self.boot_up(s, n), "ms"))

    def restart(self) -> None:
        def one(s: System) -> None:
            self.boot_up(s, 1)
            time.sleep(0.2 if self.quick else 1.6)
            before = set(s.markers())
            pid = s.service_pids()[0]
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            if wait_until(lambda: set(s.markers()) - before, 10, 0.0002):
                self.record("restart after SIGKILL", s.name, (time.perf_counter() - t0) * 1000, "ms")
        self.each(one)

    def stop(self) -> None:
        for n in ((10,) if self.quick else (50, 200)):
            def one(s: System) -> None:
                self.boot_up(s, n)
                time.sleep(0.3)
                pids = s.service_pids()
                t0 = time.perf_counter()
                s.stop()
                s.proc.wait(60)
                wait_until(lambda: not any(_alive(p) for p in pids), 30)
                self.record("stop-all N=%d" % n, s.name, (time.perf_counter() - t0) * 1000, "ms")
            self.each(one)

    def memory(self) -> None:
        sizes = (1, 10) if self.quick else (1, 50, 200)
        for n in sizes:
            def one(s: System) -> None:
                self.boot_up(s, n)
                time.sleep(0.5)
                self.record("PSS N=%d" % n, s.name, pss_kib(s.supervision_pids()), "KiB")
            self.each(one)
        lo, hi = sizes[0], sizes[-1]
        for name, vals in self.results.get("PSS N=%d" % hi, {}).items():
            base = statistics.median(self.results["PSS N=%d" % lo][name])
            self.record("PSS per extra service", name, (statistics.median(vals) - base) / (hi - lo), "KiB")

    def idle(self) -> None:
        n, window = (10, 1.0) if self.quick else (50, 10.0)

        def one(s: System) -> None:
            self.boot_up(s, n)
            time.sleep(1.0)
            pids = s.supervision_pids()
            cs0, cpu0 = cswitch_cpu(pids)
            time.sleep(window)
            cs1, cpu1 = cswitch_cpu(pids)
            self.record("idle context switches per %gs N=%d" % (window, n), s.name, cs1 - cs0, "switches")
            self.record("idle CPU per %gs N=%d" % (window, n), s.name, cpu1 - cpu0, "ms")
        self.each(one)

    def control(self) -> None:
        def one(s: System) -> None:
            self.boot_up(s, 1)
            time.sleep(0.3)
            t0 = time.perf_counter()
            r1 = subprocess.run(s.down_wait(0), capture_output=True, timeout=30)
            r2 = subprocess.run(s.up_wait(0), capture_output=True, timeout=30)
            t1 = time.perf_counter()
            if r1.returncode == 0 and r2.returncode == 0:
                self.record("control down+up (own CLI)", s.name, (t1 - t0) * 1000, "ms")
            t0 = time.perf_counter()
            subprocess.run(s.status(0), capture_output=True, timeout=30)
            self.record("status query (own CLI)", s.name, (time.perf_counter() - t0) * 1000, "ms")
        self.each(one)

    # PID 1 ------------------------------------------------------------------------
    def pid1(self) -> None:
        inits = [cls(os.path.join(self.work, "pid1-" + cls.name)) for cls in pid1.INITS if cls.available()]
        self.skipped += ["%s (PID 1)" % cls.name for cls in pid1.INITS if not cls.available()]
        orphans = 100 if self.quick else 1000
        for _ in range(self.repeats):
            for init in inits:
                os.makedirs(init.work, exist_ok=True)
                r = pid1.storm(init, orphans)
                self.record("PID 1: time to reap %d orphans" % orphans, init.name, r["reap_ms"], "ms")
                self.record("PID 1: zombies leaked", init.name, r["zombies_leaked"], "zombies")
                self.record("PID 1: exit code when child exits 42", init.name, r["exit_code_child_42"], "code")
                t = pid1.term(init)
                self.record("PID 1: SIGTERM until child got it", init.name, t["term_to_child_ms"], "ms")
                self.record("PID 1: SIGTERM until PID 1 exited", init.name, t["term_to_exit_ms"], "ms")

    def logging(self) -> None:
        lines = 20000 if self.quick else 200000
        for name, vals in bench_log.run(os.path.join(self.work, "log"), lines, self.repeats).items():
            for v in vals:
                self.record("logging (ISO stamps, rotating)", name, v, "lines/s")
        if not shutil.which("s6-log"):
            self.skipped.append("s6-log")

    # output ---------------------------------------------------------------------
    def table(self) -> str:
        out = []
        for metric, per in self.results.items():
            base = statistics.median(per["s6"]) if "s6" in per else None
            out.append("\n### %s (%s)\n" % (metric, self.units[metric]))
            out.append("| system | min | median | max | ratio to s6 |")
            out.append("| --- | ---: | ---: | ---: | ---: |")
            for name, vals in per.items():
                med = statistics.median(vals)
                ratio = "%.2fx" % (med / base) if base else "-"
                out.append("| %s | %s | %s | %s | %s |" % (name, _f(min(vals)), _f(med), _f(max(vals)), ratio))
        return "\n".join(out)

    def as_json(self) -> dict:
        return {"quick": self.quick, "repeats": self.repeats, "skipped": self.skipped, "metrics": {
            m: {"unit": self.units[m], "systems": {n: {"values": v, "min": min(v), "median": statistics.median(v),
                                                      "max": max(v)} for n, v in per.items()}}
            for m, per in self.results.items()}}


def _f(v: float) -> str:
    return "%.1f" % v if abs(v) < 1000 else "%.0f" % v


def _alive(pid: int) -> bool:
    try:
        st = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
        return st != "Z"
    except OSError:
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--only", default=",".join(METRICS))
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    args = ap.parse_args()
    only = [m for m in args.only.split(",") if m]
    bad = [m for m in only if m not in METRICS]
    if bad:
        ap.error("unknown metric %s (known: %s)" % (", ".join(bad), ", ".join(METRICS)))
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="pysix-bench-", dir=base)
    b = Bench(work, args.quick, args.repeats or (1 if args.quick else 5))
    try:
        for m in only:
            getattr(b, m)()
    finally:
        for s in b.systems:
            s.kill_all()
        shutil.rmtree(work, ignore_errors=True)
    print("# pysix benchmarks (%s, %d repeats, work dirs on %s)" % (
        "quick" if args.quick else "full", b.repeats, base or "disk"))
    if b.skipped:
        print("\nskipped (not installed): %s" % ", ".join(sorted(set(b.skipped))))
    print(b.table())
    with open(args.json, "w") as f:
        json.dump(b.as_json(), f, indent=1)
    print("\nJSON written to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
