"""What each service of a scan dir is doing, in pysix's words (for `pysix`).

Reads, never writes: the lock probe (is a supervisor there), s6's
`supervise/status`, pysix's `supervise/pysix-state` and the death tally,
through the decoders the s6 clients use. `look()` gathers one service,
`services()` lists a scan dir's services with their loggers (`web`,
`web/log`).
"""
import os

from .lockprobe import supervised
from .policy import STATE_FILE, parse_restart_limit, parse_state
from .record import Record
from .signames import signal_name
from .status import unpack_status, unpack_tally

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional

    from .policy import PolicyState
    from .status import Death, Status


class Service(Record):
    name: str                     # `web`, or `web/log` for its logger
    path: str
    supervised: bool
    status: "Optional[Status]"
    policy: "Optional[PolicyState]"
    normally_up: bool
    signals_ready: bool           # notification-fd or check: "up" is not "ready" yet
    deaths: "List[Death]"         # the death tally: the latest deaths, oldest first
    window: float                 # seconds: restart-limit's, else DEFAULT_WINDOW


DEFAULT_WINDOW = 60.0    # what "restarts lately" means without a restart-limit


def services(scandir: str) -> "List[str]":
    """Names of every service dir (and `NAME/log`) under scandir, sorted."""
    out = []
    try:
        names = sorted(os.listdir(scandir))
    except OSError:
        return out
    for n in names:
        p = os.path.join(scandir, n)
        if n.startswith(".") or not os.path.isdir(p):
            continue
        out.append(n)
        if os.path.isdir(os.path.join(p, "log")):
            out.append(n + "/log")
    return out


# scan.STOPPING: pysix's scanner creates it when the tree's stop begins (not imported:
# scan.py is the scanner's, heavy for a client).
STOPPING_MARK = ".s6-svscan/pysix-stopping"


def tree_stopping(scandir: str) -> bool:
    """The whole tree is being stopped (stage 3): nothing will start again."""
    return os.path.lexists(os.path.join(scandir, STOPPING_MARK))


def _read(path: str, limit: int = 65536) -> "Optional[bytes]":
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def look(scandir: str, name: str) -> "Service":
    sd = os.path.join(scandir, name)
    try:
        running = supervised(sd)
    except OSError:
        running = False
    raw = _read(os.path.join(sd, "supervise", "status"))
    st = None
    if raw is not None:
        try:
            st = unpack_status(raw)
        except ValueError:
            pass
    raw = _read(os.path.join(sd, STATE_FILE)) if running else None
    ps = parse_state(raw) if raw else None
    tally = _read(os.path.join(sd, "supervise", "death_tally"), 1 << 20)
    limit = _read(os.path.join(sd, "restart-limit"), 256)
    limit_t = parse_restart_limit(limit) if limit else None
    return Service(name, sd, running, st, ps, not os.path.lexists(os.path.join(sd, "down")),
                   os.path.exists(os.path.join(sd, "notification-fd")) or os.path.exists(os.path.join(sd, "check")),
                   unpack_tally(tally) if tally else [], limit_t[1] if limit_t else DEFAULT_WINDOW)


def last_death(s: "Service") -> "Optional[Death]":
    return s.deaths[-1] if s.deaths else None


def state(s: "Service") -> str:
    """up, ready, starting, down, finishing, failed, waiting, done; or `unsupervised`."""
    if not s.supervised:
        return "unsupervised"
    if s.policy is not None:
        return s.policy.state
    st = s.status   # a plain s6-supervise: s6's own status says less
    if st is None:
        return "down"
    if st.finishing:
        return "finishing"
    if st.up:
        return "ready" if st.ready and s.signals_ready else ("starting" if s.signals_ready else "up")
    return "down"


def reason(s: "Service") -> str:
    """Why it is failed or waiting, or what is about to happen; '' if nothing to say."""
    if not s.supervised:
        return "no supervisor on this directory"
    why = s.policy.reason if s.policy is not None else ""
    st = s.status
    if not why and st is not None and not st.up and not st.finishing:
        if st.wantup and state(s) == "down":
            why = "restarting"
        elif not st.wantup and s.normally_up and state(s) == "down":
            why = "stopped by request"
    return why


def last_exit(d: "Optional[Death]") -> str:
    if d is None:
        return ""
    if d.sig:
        return signal_name(d.sig) or "signal %d" % d.sig
    return "exit %d" % d.code


def deaths(s: "Service", now_ns: int) -> int:
    """Deaths within the last `window` seconds, from the death tally; at least
    what pysix's own state counts (unrequested deaths in the restart-limit window)."""
    since = now_ns - int(s.window * 1e9)
    n = sum(1 for d in s.deaths if d.when > since)
    return max(n, s.policy.deaths if s.policy is not None else 0)


def describe(s: "Service") -> str:
    """`waiting for db`, `failed (restart limit: ...)`, `down (restarting)`: state and reason."""
    st, why = state(s), reason(s)
    if not why:
        return st
    return why if why.startswith(st + " ") else "%s (%s)" % (st, why)


def pid(s: "Service") -> int:
    st = s.status
    return st.pid if s.supervised and st is not None and st.up else 0


def since_ns(s: "Service") -> int:
    """When the current state began (Unix ns): the up or down transition."""
    st = s.status
    return st.stamp if st is not None else 0


def healthy(s: "Service", live: bool) -> bool:
    """Ready (up where it cannot say so), or a finished oneshot; `live`: up is enough."""
    ok = ("up", "ready", "done", "starting") if live else ("up", "ready", "done")
    st = state(s)
    # Socket activation's wait (sockets/activation.py): the listener is held, a
    # connection starts it; nothing is wrong.
    return st in ok or (st == "waiting" and reason(s) == "waiting for a connection")


def by_intent_down(s: "Service") -> bool:
    """Down because someone wants it down (a `down` file, a stop): not a health problem.
    A failed service is not: its supervisor gave up on it."""
    st = s.status
    if not s.supervised or state(s) in ("failed", "waiting"):
        return False
    if st is None:
        return not s.normally_up
    return not st.wantup


def as_dict(s: "Service", now_ns: int) -> "Dict[str, object]":
    d = last_death(s)
    return {
        "name": s.name, "path": s.path, "supervised": s.supervised, "state": state(s),
        "pid": pid(s) or None, "since": since_ns(s) / 1e9 if s.status else None,
        "for_seconds": max(0, now_ns - since_ns(s)) // 1_000_000_000 if s.status else None,
        "deaths_in_window": deaths(s, now_ns), "window_seconds": s.window,
        "wanted_up": bool(s.status and s.status.wantup),
        "normally_up": s.normally_up,
        "last_exit": None if d is None else {"code": None if d.sig else d.code,
                                             "signal": signal_name(d.sig) if d.sig else None,
                                             "when": d.when / 1e9},
        "reason": reason(s) or None,
    }
