"""Listener fds from the scanner to the supervisor it forks.

The scanner binds a service's listeners when it discovers the service dir
and keeps them for its whole life; each supervisor it forks (and forks
again after a crash) inherits them. `_child` closes every other fd with
`close_except`, and the supervisor takes them with `take`. Nothing is
passed through the environment, so the supervisor's own children never see
a stale LISTEN_FDS.
"""
from __future__ import annotations

import fcntl
import os

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Sequence

HIGH_FD = 64            # the supervisor keeps listeners here, clear of 3.. where run gets them
_inherited: List[int] = []
forked = False          # a scanner forked this supervisor: it binds, we never do


def close_except(keep: Sequence[int], low: int = 3, high: int = 1 << 20) -> None:
    """closerange(low, high) but for `keep`; remember them for `take`."""
    at = low
    for fd in sorted(set(keep)):
        if fd >= at:
            os.closerange(at, fd)
            at = fd + 1
    os.closerange(at, high)
    global forked
    forked = True
    _inherited[:] = list(keep)


def take() -> List[int]:
    """The inherited listeners, moved to fds >= HIGH_FD, close-on-exec (run gets them by dup2)."""
    out = []
    for fd in _inherited:
        try:
            out.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, HIGH_FD))
            os.close(fd)
        except OSError:
            pass
    _inherited.clear()
    return out


def scanner_listeners(sd: str, warn) -> List[int]:
    """The scanner's side, at service discovery: bind what `sd/socket` names.

    Returns the fds to hold (close-on-exec, so cont-init scripts and the
    like never get them); a bad file or a failed bind is one warning and no
    listener, never an exception. A proxy-mode file gets its NAME.proxy
    service dir written beside `sd` (the scan picks it up).
    """
    from .bind import bind_all, read_spec
    try:
        spec, warns = read_spec(sd)
    except Exception as e:      # a socket file must never take the scanner down
        warn("%s/socket: %r" % (sd, e))
        return []
    for w in warns:
        warn(w)
    if spec is None:
        return []
    if spec.mode == "proxy":
        from .proxydir import ensure
        why = ensure(sd, spec)
        if why:
            warn(why)
        return []
    socks, why = bind_all(spec, os.path.join(sd, "socket"))
    if why:
        warn(why)
    return [s.detach() for s in socks]
