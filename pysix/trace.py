"""The boot and shutdown trace (PYSIX_TRACE=1): JSON lines, one record per event.

Every record has `t` (Unix time, seconds, float), `pid` (the writer) and
`kind`; the other fields depend on the kind:

  {"kind": "stage", "stage": 1|2|3, "phase": "begin"|"end"}
  {"kind": "script", "stage": "cont-init"|"cont-finish", "path": P, "code": N, "ms": F}
  {"kind": "service", "name": NAME, "event": "supervisor"|"spawn"|"ready"|"down", "run_pid": N, "code": N}
  {"kind": "phase", "phase": "stop-cmd"|"stop-services"|"cont-finish"|"kill-rest", "why": TEXT}
  {"kind": "cmd", "event": "spawn"|"exit", "argv0": A, "code": N}
  {"kind": "exit", "code": N}
  {"kind": "unit", "unit": "web.service", "service": "web", "path": P}
  {"kind": "unit_overridden", "unit": "web.service", "core": P, "dropin": P}
  {"kind": "service", "name": NAME, "event": "skipped", "why": TEXT}   (conditions not met)
  {"kind": "snapshot", "label": L, "name": NAME, "mem_snapshot": {"pss_kib": N, "processes": N}}

Beside those, every record has container-init's fields: `t_start_ms` (ms
since stage 1 began), `phase` (when the kind has none: the current phase,
`stage1`, `stage2`, `stop-cmd`, ...) and `dt_ms` (ms since that phase
began; on a record that starts a phase, the length of the one before).
With `PYSIX_TRACE_LABELS="unit:label,..."` (or `CONTAINER_INIT_TRACE_LABELS`),
a `snapshot` record with `label`, `name` and `mem_snapshot` ({"pss_kib",
"processes"}: the whole tree under pysix-init) is written once each of
those services is up (ready, where it can say so). `CONTAINER_INIT_TRACE=1`
and `CONTAINER_INIT_TRACE_FILE` work as PYSIX_TRACE and PYSIX_TRACE_FILE.

pysix-init, the scanner and every supervisor append to the same file with
one O_APPEND write per record, so records never interleave. When tracing is
off, `trace()` costs one attribute test.
"""
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, Optional

_path: "Optional[str]" = None
_checked = False
_t0 = 0.0                    # Unix time stage 1 began (PYSIX_TRACE_T0 for children)
_phase = ("stage1", 0.0)     # current phase and when it began; forked supervisors inherit it
_ALIASES = (("CONTAINER_INIT_TRACE", "PYSIX_TRACE"), ("CONTAINER_INIT_TRACE_FILE", "PYSIX_TRACE_FILE"),
            ("CONTAINER_INIT_TRACE_LABELS", "PYSIX_TRACE_LABELS"))


def container_init_aliases(env: "Dict[str, str]") -> None:
    """container-init's names for the trace settings, when pysix's are not set."""
    for theirs, ours in _ALIASES:
        if theirs in env and ours not in env:
            env[ours] = env[theirs]


def enable(path: str) -> None:
    """Turn tracing on for this process and (through the environment) its children."""
    global _path, _checked, _t0, _phase
    os.environ["PYSIX_TRACE_FILE"] = path
    _t0 = time.time()
    _phase = ("stage1", _t0)
    os.environ["PYSIX_TRACE_T0"] = repr(_t0)
    os.environ["PYSIX_TRACE_ROOT"] = str(os.getpid())
    _path, _checked = path, True


def resolve() -> "Optional[str]":
    """Where trace records go (None: off); read once per process (the scanner's
    answer before its forks is every supervisor's, see speed.py)."""
    return _path if _checked else _resolve()


def _resolve() -> "Optional[str]":
    global _path, _checked, _t0, _phase
    _checked = True
    on = os.environ.get("PYSIX_TRACE", "") not in ("", "0")
    _path = os.environ.get("PYSIX_TRACE_FILE") if on else None
    try:
        _t0 = float(os.environ.get("PYSIX_TRACE_T0", ""))
    except ValueError:
        _t0 = time.time()
    _phase = (_phase[0], _phase[1] or _t0)
    return _path


def _container_init_fields(rec: "Dict[str, object]", now: float) -> None:
    global _phase
    kind, phase = rec["kind"], rec.get("phase")
    start = None
    if kind == "stage" and phase == "begin":
        start = "stage%s" % rec.get("stage")
    elif kind == "phase" and isinstance(phase, str):
        start = phase
    rec["t_start_ms"] = round((now - _t0) * 1000, 3)
    rec["dt_ms"] = round((now - (_phase[1] or _t0)) * 1000, 3)
    if start is not None:
        _phase = (start, now)
    rec.setdefault("phase", _phase[0])


def _labels() -> "Dict[str, str]":
    out = {}
    for item in os.environ.get("PYSIX_TRACE_LABELS", "").split(","):
        unit, _, label = item.strip().partition(":")
        if unit:
            name = unit[:-len(".service")] if unit.endswith(".service") else unit
            out[name] = label or unit
    return out


def _snapshot_due(rec: "Dict[str, object]") -> "Optional[str]":
    """The label, when this record says a labelled service just came up."""
    if rec["kind"] != "service" or not os.environ.get("PYSIX_TRACE_LABELS"):
        return None
    label = _labels().get(str(rec.get("name")))
    if label is None:
        return None
    # A supervisor runs in its service dir: ready where it can say so, else up.
    says_ready = os.path.exists("notification-fd") or os.path.exists("check")
    return label if rec.get("event") == ("ready" if says_ready else "spawn") else None


def mem_snapshot(root: int) -> "Dict[str, int]":
    """PSS (KiB, from smaps_rollup) and count of `root` and its descendants."""
    parent: Dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name, "rb") as f:
                    parent[int(name)] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    tree = {root}
    changed = True
    while changed:
        changed = False
        for pid, pp in parent.items():
            if pp in tree and pid not in tree:
                tree.add(pid)
                changed = True
    pss = 0
    for pid in tree:
        try:
            with open("/proc/%d/smaps_rollup" % pid, "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        pss += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            pass
    return {"pss_kib": pss, "processes": len(tree)}


def trace(kind: str, **fields: object) -> None:
    path = _path if _checked else _resolve()
    if not path:
        return
    import json
    now = time.time()
    rec: Dict[str, object] = {"t": round(now, 6), "pid": os.getpid(), "kind": kind}
    rec.update(fields)
    _container_init_fields(rec, now)
    line = (json.dumps(rec, separators=(",", ":")) + "\n").encode("utf-8", "replace")
    label = _snapshot_due(rec)
    if label is not None:
        try:
            root = int(os.environ.get("PYSIX_TRACE_ROOT", "1"))
        except ValueError:
            root = 1
        snap = {"t": round(now, 6), "pid": os.getpid(), "kind": "snapshot", "label": label,
                "name": rec.get("name"), "mem_snapshot": mem_snapshot(root)}
        _container_init_fields(snap, time.time())
        line += (json.dumps(snap, separators=(",", ":")) + "\n").encode("utf-8", "replace")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass
