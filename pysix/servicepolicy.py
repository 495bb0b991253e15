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
    or a CMD waiting for services, waits for.

    s6's status is read first, then pysix-state. A pysix supervisor writes
    its state before each status that says up, so a state read after the
    status is at least as new as it, and no state then means a plain
    s6-supervise. Read the other way round, a start landing between the two
    reads (no state yet, then "up") made a running oneshot, or a service
    whose check had not passed, look ready: its dependents started early.
    """
    try:
        with open(os.path.join(sd, "supervise", "status"), "rb") as f:
            raw = f.read()
    except OSError:
        raw = None
    try:
        with open(os.path.join(sd, STATE_FILE), "rb") as f:
            st = parse_state(f.read())
        if st is not None:
            return st.state in ("up", "ready", "done")
    except OSError:
        pass
    # A plain s6-supervise'd sibling: s6's own status.
    if raw is None:
        return False
    try:
        s = unpack_status(raw)
    except ValueError:
        return False
    if not s.up:
        return False
    return s.ready or not os.path.exists(os.path.join(sd, "notification-fd"))
