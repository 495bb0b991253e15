"""The issue's targets for pysix, checked against one run's results (ratios to peers in the same run)."""
from __future__ import annotations

import statistics
from typing import Dict, List, Optional

Results = Dict[str, Dict[str, List[float]]]


def _med(results: Results, metric_prefix: str, system: str) -> Optional[float]:
    """Median of system's values for the first metric whose name starts with metric_prefix."""
    for metric, per in results.items():
        if metric.startswith(metric_prefix) and per.get(system):
            return statistics.median(per[system])
    return None


def _max(results: Results, metric_prefix: str, system: str) -> Optional[float]:
    for metric, per in results.items():
        if metric.startswith(metric_prefix) and per.get(system):
            return max(per[system])
    return None


def check(results: Results) -> List[dict]:
    """One row per target: what, pysix's figure, the limit, ok (None: not measured)."""
    rows: List[dict] = []

    def add(what: str, value: Optional[float], limit: Optional[float], ok_if_le: bool = True,
            unit: str = "") -> None:
        ok = None
        if value is not None and limit is not None:
            ok = value <= limit if ok_if_le else value >= limit
        rows.append({"target": what, "pysix": value, "limit": limit, "unit": unit, "ok": ok})

    def ratio(metric: str, peer: str = "s6") -> Optional[float]:
        a, b = _med(results, metric, "pysix"), _med(results, metric, peer)
        return a / b if a is not None and b else None

    add("boot N=1 <= 12 ms", _med(results, "boot N=1", "pysix"), 12.0, unit="ms")
    for n in (50, 200):
        add("boot N=%d <= 1.0x s6" % n, ratio("boot N=%d" % n), 1.0, unit="x s6")
    add("restart after SIGKILL <= 10 ms", _med(results, "restart after SIGKILL", "pysix"), 10.0, unit="ms")
    for n in (50, 200):
        add("stop-all N=%d <= 1.0x s6" % n, ratio("stop-all N=%d" % n), 1.0, unit="x s6")
    add("PSS N=50 <= supervisord's", _med(results, "PSS N=50", "pysix"),
        _med(results, "PSS N=50", "supervisord"), unit="KiB")
    add("PSS per extra service <= 600 KiB", _med(results, "PSS per extra service", "pysix"), 600.0, unit="KiB")
    add("idle: 0 context switches", _max(results, "idle context switches", "pysix"), 0.0, unit="switches")
    add("control down+up <= 2x s6", ratio("control down+up"), 2.0, unit="x s6")
    add("status query <= 15 ms", _med(results, "status query", "pysix"), 15.0, unit="ms")
    bare = _med(results, "interpreter start-up", "python")
    add("status query <= python -c pass + 1 ms (median of the paired differences)",
        _med(results, "status query less python -c pass, paired", "pysix"), 1.0, unit="ms")
    # Issue 19's form: two commands, each at most 1 ms above a bare interpreter,
    # plus the time s6's own two commands spent waiting (their run less the start
    # of a C command, which a status query is).
    s6_ctl, s6_q = _med(results, "control down+up", "s6"), _med(results, "status query", "s6")
    add("control down+up <= 2 x (python -c pass + 1 ms) + s6's waits", _med(results, "control down+up", "pysix"),
        None if None in (bare, s6_ctl, s6_q) else 2 * (bare + 1.0) + s6_ctl - 2 * s6_q, unit="ms")
    add("PID 1: no zombie leaked", _max(results, "PID 1: zombies leaked", "pysix"), 0.0, unit="zombies")
    code = _med(results, "PID 1: exit code when child exits 42", "pysix")
    rows.append({"target": "PID 1: exit code 42 propagated", "pysix": code, "limit": 42, "unit": "code",
                 "ok": None if code is None else
                 all(v == 42 for v in _all(results, "PID 1: exit code when child exits 42", "pysix"))})
    add("PID 1: SIGTERM-to-exit <= s6-svscan", ratio("PID 1: SIGTERM until PID 1 exited"), 1.0, unit="x s6")
    add("logging >= 0.5x s6-log", ratio("logging"), 0.5, ok_if_le=False, unit="x s6")
    return rows


def _all(results: Results, metric_prefix: str, system: str) -> List[float]:
    for metric, per in results.items():
        if metric.startswith(metric_prefix) and per.get(system):
            return per[system]
    return []


def table(rows: List[dict]) -> str:
    out = ["### targets (pysix)\n", "| target | pysix | limit | met |", "| --- | ---: | ---: | --- |"]
    for r in rows:
        fmt = (lambda v: "-" if v is None else "%.2f %s" % (v, r["unit"]) if isinstance(v, float) else
               "%s %s" % (v, r["unit"]))
        met = {True: "yes", False: "**no**", None: "not measured"}[r["ok"]]
        out.append("| %s | %s | %s | %s |" % (r["target"], fmt(r["pysix"]), fmt(r["limit"]), met))
    return "\n".join(out)
