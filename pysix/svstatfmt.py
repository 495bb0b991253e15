"""What s6-svstat 2.11 prints for a status record, as pure functions.

`human()` is the one-line form, `fields()` the `-o` form, `as_dict()` the
`--json` object. s6's forms never show pysix's own state (scripts parse
them); it has its own `-o` fields (state, reason, deaths), `policy_suffix()`
for `--pysix`, and the JSON object. Times are Unix nanoseconds; `now` is passed in so the
output is reproducible in tests.
"""
from .status import tain_label

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs a client ms to import; annotations are strings anyway
    from typing import Dict, List, Optional

    from .policy import PolicyState
    from .status import Status

# Field names in s6-svstat's table order: `-o` matches by prefix in this order.
FIELDS = ("up", "wantedup", "normallyup", "ready", "paused", "pid", "exitcode", "signal",
          "signum", "updownsince", "readysince", "updownfor", "readyfor",
          "state", "reason", "deaths")   # the last three: pysix's, after s6's so prefixes match as in s6
LETTER_FIELDS = {"u": "up", "w": "wantedup", "N": "normallyup", "r": "ready", "p": "pid",
                 "e": "exitcode", "s": "signal", "t": "updownfor"}


def resolve_field(name: str) -> "Optional[str]":
    """s6-svstat's prefix match: `p` is `paused`, `re` is `ready`, `updown` is `updownsince`."""
    if not name:
        return None
    for f in FIELDS:
        if f.startswith(name):
            return f
    return None


def _age(now: int, stamp: int, clamp: bool) -> int:
    if clamp and stamp > now:
        stamp = now
    return (now - stamp) // 1_000_000_000


def _age_s6(now: int, stamp: int, clamp: bool) -> int:
    """As s6-svstat prints it: a future readystamp wraps as an unsigned 64-bit."""
    return _age(now, stamp, clamp) % (1 << 64)


def _signal_name(sig: int) -> str:
    # Imported only for a death by a signal: one module fewer (~0.1 ms) in
    # the query of a service that is up, as most are.
    from .signames import signal_name
    return signal_name(sig)


def _killed(wstat: int) -> int:
    """Signal number if WIFSIGNALED, else 0 (0x7f is the 'stopped' pattern, not a signal)."""
    sig = wstat & 0x7F
    return 0 if sig == 0x7F else sig


def _exited(wstat: int) -> bool:
    return wstat & 0x7F == 0


def human(st: "Status", normally_up: bool, now: int, numeric: bool = False) -> str:
    if st.up:
        out = "up (pid %d) %d seconds" % (st.pid, _age(now, st.stamp, True))
        if not normally_up:
            out += ", normally down"
        if st.paused:
            out += ", paused"
        if not st.wantup:
            out += ", want down"
    else:
        sig = _killed(st.wstat)
        if sig:
            what = "signal %s" % (sig if numeric else _signal_name(sig))
        else:
            what = "exitcode %d" % ((st.wstat >> 8) & 0xFF)
        out = "down (%s) %d seconds" % (what, _age(now, st.stamp, True))
        if normally_up:
            out += ", normally up"
        if st.wantup:
            out += ", want up"
    if st.ready:
        out += ", ready %d seconds" % _age_s6(now, st.readystamp, False)
    return out


def field(name: str, st: "Status", normally_up: bool, now: int,
          ps: "Optional[PolicyState]" = None) -> str:
    down = not st.up
    if name in ("state", "reason", "deaths"):
        return _pysix_field(name, st, ps)
    if name == "up":
        return _b(st.up)
    if name == "wantedup":
        return _b(st.wantup)
    if name == "normallyup":
        return _b(normally_up)
    if name == "ready":
        return _b(st.pid != 0 and st.ready)
    if name == "paused":
        return _b(st.paused)
    if name == "pid":
        return str(st.pid) if st.up else "-1"
    sig = _killed(st.wstat)
    if name == "exitcode":
        return str((st.wstat >> 8) & 0xFF) if down and _exited(st.wstat) else "-1"
    if name == "signal":
        return _signal_name(sig) if down and sig else "NA"
    if name == "signum":
        return str(sig) if down and sig else "-1"
    if name == "updownsince":
        return tain_label(min(st.stamp, now))   # s6 replaces a future stamp by now
    if name == "readysince":
        return tain_label(st.readystamp)
    if name == "updownfor":
        return str(_age(now, st.stamp, True))
    if name == "readyfor":
        return str(_age_s6(now, st.readystamp, False))
    raise ValueError(name)


def fields(names: "List[str]", st: "Status", normally_up: bool, now: int,
           ps: "Optional[PolicyState]" = None) -> str:
    return " ".join(field(n, st, normally_up, now, ps) for n in names)


def _pysix_field(name: str, st: "Status", ps: "Optional[PolicyState]") -> str:
    """pysix's state; without a state file (a real s6-supervise) it is derived from the status."""
    if ps is None:
        if name == "state":
            return "finishing" if st.finishing else ("ready" if st.up and st.ready else ("up" if st.up else "down"))
        return "-" if name == "reason" else "0"
    if name == "state":
        return ps.state
    if name == "reason":   # one word, so that `-o` output still splits on spaces
        return "_".join(ps.reason.split()) or "-"
    return str(ps.deaths)


def policy_suffix(ps: "Optional[PolicyState]") -> str:
    """pysix's own state, appended to the human line when it says something s6's does not."""
    if ps is None or (ps.state in ("up", "ready", "down", "finishing") and not ps.reason and not ps.deaths):
        return ""
    out = "; %s" % ps.state
    if ps.reason:
        out += " (%s)" % ps.reason
    if ps.deaths:
        out += ", %d deaths in the restart window" % ps.deaths
    return out


def as_dict(path: str, st: "Optional[Status]", supervised: bool, normally_up: bool, now: int,
            ps: "Optional[PolicyState]" = None, error: "Optional[str]" = None) -> "Dict[str, object]":
    d: Dict[str, object] = {"path": path, "supervised": supervised}
    if error is not None:
        d["error"] = error
    if st is not None:
        d.update({
            "up": st.up, "pid": st.pid if st.up else None,
            "finishing": st.finishing, "finish_pid": st.pid if st.finishing else None,
            "ready": st.pid != 0 and st.ready, "ready_flag": st.ready,
            "wanted_up": st.wantup, "normally_up": normally_up, "paused": st.paused,
            "since": st.stamp / 1e9, "since_tai64n": tain_label(st.stamp),
            "updown_for": _age(now, st.stamp, True),
            "ready_since": st.readystamp / 1e9, "ready_since_tai64n": tain_label(st.readystamp),
            "ready_for": _age(now, st.readystamp, False),
            "exitcode": (st.wstat >> 8) & 0xFF if not st.up and _exited(st.wstat) else None,
            "signal": _signal_name(_killed(st.wstat)) if not st.up and _killed(st.wstat) else None,
            "signum": _killed(st.wstat) if not st.up and _killed(st.wstat) else None,
            "wstat": st.wstat,
        })
    if ps is not None:
        d.update({"state": ps.state, "reason": ps.reason or None, "deaths_in_window": ps.deaths})
    return d


def _b(v: bool) -> str:
    return "true" if v else "false"
