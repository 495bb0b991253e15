"""Restart policy of a service: the `restart` and `restart-delay` files (pure).

`restart` holds `always` (s6's behaviour, the default), `on-failure` or
`no`; `restart-delay` holds milliseconds to wait before a restart. Units'
Restart= and RestartSec= are written as these files.

`should_restart()` is asked only about deaths nobody requested (not after
`pysix-svc -d`, not in stage 3): those never restart whatever the policy.
As in systemd, `on-failure` restarts on a non-zero exit code or a death by
signal, except the "clean" signals SIGHUP, SIGINT, SIGTERM and SIGPIPE.
"""
import _signal as signal   # the C module: `signal` adds enums (ms of imports)

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Optional

POLICIES = ("always", "on-failure", "no")
DEFAULT = "always"
CLEAN_SIGNALS = frozenset((signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE))
MAX_DELAY_MS = 24 * 3600 * 1000


def parse_restart(data: bytes) -> "Optional[str]":
    """First line of `restart`; None if it is not one of POLICIES."""
    word = data.split(b"\n", 1)[0].strip().decode("ascii", "replace")
    return word if word in POLICIES else None


def parse_restart_delay(data: bytes) -> "Optional[int]":
    """First line of `restart-delay`: milliseconds (a non-negative integer); None if invalid."""
    word = data.split(b"\n", 1)[0].strip()
    if not word.isdigit():
        return None
    n = int(word)
    return n if n <= MAX_DELAY_MS else None


def failed(exit_code: "Optional[int]", sig: "Optional[int]") -> bool:
    """systemd's notion of an unclean death."""
    if sig:
        return sig not in CLEAN_SIGNALS
    return bool(exit_code)


def should_restart(policy: str, exit_code: "Optional[int]", sig: "Optional[int]") -> bool:
    """After an unrequested death with `exit_code` (None if killed) or `sig` (None/0 if exited)."""
    if policy == "always":
        return True
    if policy == "on-failure":
        return failed(exit_code, sig)
    return False


def delay(delay_ms: "Optional[int]", floor: float = 0.0) -> float:
    """Seconds to wait before the restart: the file's value, never below the
    supervisor's own floor (its crash-loop guard)."""
    return max(floor, (delay_ms or 0) / 1000.0)
