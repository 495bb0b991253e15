"""Listener fds from the scanner to the supervisor it forks.

The scanner binds a service's listeners when it discovers the service dir
(or takes them over from the supervisor a killed predecessor left running:
takeover.py) and keeps them for its whole life; each supervisor it forks (and forks
again after a crash) inherits them. `_child` closes every other fd with
`close_except`, and the supervisor takes them with `take`. Nothing is
passed through the environment, so the supervisor's own children never see
a stale LISTEN_FDS.
"""
import fcntl
import os

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Sequence

HIGH_FD = 64            # the supervisor keeps listeners here, clear of 3.. where run gets them
_inherited: "List[int]" = []
forked = False          # a scanner forked this supervisor: it binds, we never do


def close_except(keep: "Sequence[int]", low: int = 3, high: int = 1 << 20) -> None:
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


def take() -> "List[int]":
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


def scanner_listeners(sd: str, warn) -> "List[int]":
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
    from ..lockprobe import lock_holder
    holder = lock_holder(os.path.join(sd, "supervise", "lock"))
    if holder and holder != os.getpid():
        return _take_over(sd, spec, holder, warn)
    socks, why = bind_all(spec, os.path.join(sd, "socket"))
    if why:
        warn(why)
    return [s.detach() for s in socks]


def _take_over(sd: str, spec, holder: int, warn) -> "List[int]":
    """A supervisor a previous scanner left holds the listeners: copy them out
    of it (takeover.py); bind only what it does not hold, with one warning."""
    from .bind import bind_one
    from .spec import format_listen
    from .takeover import take_over
    try:
        got, why = take_over(holder, spec)
    except Exception as e:      # never the scanner's end
        got, why = {}, repr(e)
    if not why:
        return [got[i] for i in range(len(spec.listens))]
    out: List[int] = []
    failed = []
    for i, a in enumerate(spec.listens):
        if i in got:
            out.append(got[i])
            continue
        try:
            out.append(bind_one(a, spec).detach())
        except (OSError, KeyError, ValueError) as e:
            failed.append("%s: %s" % (format_listen(a), e.strerror if isinstance(e, OSError) and e.strerror else e))
    msg = "%s/socket: cannot take the listeners over from its running supervisor (pid %d): %s; " % (
        sd, holder, why)
    if failed:
        for fd in out:
            os.close(fd)
        out = []
        msg += "cannot listen on %s: no listener for it" % ", ".join(failed)
    else:
        msg += "bound anew"
    warn(msg)
    return out
