"""pysix's service policies beyond s6, as pure functions and small records.

Files in a service dir (all optional): `dependencies`, `check`,
`timeout-ready`, `type` (`oneshot`), `restart-limit` (`N SECONDS`),
`on-failure` (a service name). The supervisor also publishes a state line
in `supervise/pysix-state` that pysix-svstat shows next to s6's status.
"""
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs a client ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

STATE_FILE = "supervise/pysix-state"
STATES = ("down", "starting", "up", "ready", "finishing", "failed", "waiting", "done")

CHECK_FIRST = 0.010     # first readiness check 10 ms after start
CHECK_MAX = 1.0         # then doubling up to 1 s between checks


def next_check_delay(prev: "Optional[float]") -> float:
    return CHECK_FIRST if prev is None else min(CHECK_MAX, prev * 2)


def parse_restart_limit(data: bytes) -> "Optional[Tuple[int, float]]":
    """`N SECONDS` (SECONDS may have decimals) -> (N, SECONDS); None if invalid."""
    parts = data.split(b"\n", 1)[0].split()
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    try:
        secs = float(parts[1])
    except ValueError:
        return None
    if secs <= 0:
        return None
    return int(parts[0]), secs


def parse_type(data: bytes) -> "Optional[str]":
    t = data.split(b"\n", 1)[0].strip().decode("ascii", "replace")
    return t if t in ("oneshot", "longrun") else None


def check_type(data: "Optional[bytes]", path: str = "type") -> "Tuple[str, Optional[str]]":
    """(the service's type, warning or None): a bad `type` is a longrun, said once."""
    if data is None:
        return "longrun", None
    t = parse_type(data)
    if t is None:
        from .servicedir import quote   # here: pysix-svstat imports this module and needs none of it
        return "longrun", "%s: unknown type %s (want oneshot or longrun): running it as a longrun" % (
            path, quote(data.split(b"\n", 1)[0].strip()))
    return t, None


def check_restart_limit(data: "Optional[bytes]", path: str = "restart-limit"
                        ) -> "Tuple[Optional[Tuple[int, float]], Optional[str]]":
    """((N, SECONDS) or None, warning or None): a bad value means no limit, said."""
    if data is None:
        return None, None
    lim = parse_restart_limit(data)
    if lim is None:
        from .servicedir import quote
        return None, "%s: invalid value %s (want N SECONDS): no restart limit" % (
            path, quote(data.split(b"\n", 1)[0].strip()))
    return lim, None


class DeathWindow:
    """Unrequested deaths in a sliding window of `seconds` (monotonic times)."""

    def __init__(self) -> None:
        self.times: List[float] = []

    def record(self, now: float, seconds: float) -> int:
        self.times = [t for t in self.times if t > now - seconds]
        self.times.append(now)
        return len(self.times)

    def count(self, now: float, seconds: "Optional[float]") -> int:
        if seconds is None:
            return len(self.times)
        return sum(1 for t in self.times if t > now - seconds)

    def clear(self) -> None:
        self.times = []


class PolicyState(Record):
    state: str
    reason: str
    deaths: int


def format_state(st: "PolicyState") -> bytes:
    """Three lines: state, reason (may be empty), deaths in the current window."""
    reason = st.reason.replace("\n", " ")
    return f"{st.state}\n{reason}\n{st.deaths:d}\n".encode("utf-8", "replace")


def parse_state(data: bytes) -> "Optional[PolicyState]":
    lines = data.decode("utf-8", "replace").split("\n")
    if len(lines) < 3 or lines[0] not in STATES or not lines[2].isdigit():
        return None
    return PolicyState(lines[0], lines[1], int(lines[2]))
