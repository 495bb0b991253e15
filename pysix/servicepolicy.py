"""Is a service ready for what waits on it? Shared by dependents and PID 1.

The policies themselves live in supervise/policy.py; this query reads only
what a supervisor publishes (pysix's state file, or s6's status for a
sibling supervised by the real s6-supervise).
"""
import os

from .policy import STATE_FILE, parse_state
from .status import unpack_status


def service_ready_for_dependents(sd: str) -> bool:
    """Up (ready where it can say so) or a finished oneshot: what a dependent,
    or a CMD waiting for services, waits for."""
    try:
        with open(os.path.join(sd, STATE_FILE), "rb") as f:
            st = parse_state(f.read())
        if st is not None:
            return st.state in ("up", "ready", "done")
    except OSError:
        pass
    # A plain s6-supervise'd sibling: s6's own status.
    try:
        with open(os.path.join(sd, "supervise", "status"), "rb") as f:
            s = unpack_status(f.read())
    except (OSError, ValueError):
        return False
    if not s.up:
        return False
    return s.ready or not os.path.exists(os.path.join(sd, "notification-fd"))
