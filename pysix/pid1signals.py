"""What pysix-init does with each signal it receives: pure data and functions.

With a CMD, pysix-init is a drop-in for tini and dumb-init: the signals that
stop a container start stage 3 and the CMD gets that same signal; job
control stops and resumes the CMD as dumb-init does; every other signal is
passed to the CMD. Without a CMD it keeps s6-overlay's table.

`EARLY_BLOCK` is what bin/pysix-init blocks as its very first statement: a
signal sent to a namespace's init that has no handler yet is discarded by
the kernel, a blocked one stays pending. Init unblocks it once every
handler exists.
"""
import _signal as S   # the C module: `signal` adds enums (ms of imports)

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import FrozenSet, Tuple

# Actions.
STOP, FORWARD, JOB_CONTROL, RESCAN, IGNORE = range(5)
ACTION_NAMES = ("stop", "forward", "job-control", "rescan", "ignore")

# Never handled or passed on: unblockable, the reaper's own, and the
# synchronous faults (blocking those only turns a fault into a kill).
_NOT_OURS: "FrozenSet[int]" = frozenset((S.SIGKILL, S.SIGSTOP, S.SIGCHLD, S.SIGSEGV, S.SIGBUS, S.SIGFPE,
                                       S.SIGILL, S.SIGTRAP, S.SIGSYS, S.SIGABRT))
EARLY_BLOCK: "FrozenSet[int]" = frozenset(S.valid_signals()) - _NOT_OURS | {S.SIGCHLD}

# Stay ignored, as Python sets them: pysix-init's own write to a closed pipe
# must not reach the CMD.
_KEPT_IGNORED: "FrozenSet[int]" = frozenset((S.SIGPIPE, S.SIGXFSZ))
STOP_SIGNALS: "Tuple[int, ...]" = (S.SIGTERM, S.SIGINT, S.SIGQUIT)
JOB_SIGNALS: "Tuple[int, ...]" = (S.SIGTSTP, S.SIGTTIN, S.SIGTTOU)
# s6-overlay's CMD_RECEIVE_SIGNALS=1: these go to the CMD instead of stopping the container.
RECEIVE_SIGNALS: "Tuple[int, ...]" = (S.SIGTERM, S.SIGINT, S.SIGHUP, S.SIGUSR1, S.SIGUSR2)
# Without a CMD (s6-overlay's table).
_NO_CMD = {S.SIGTERM: STOP, S.SIGINT: STOP, S.SIGQUIT: STOP, S.SIGUSR1: STOP, S.SIGUSR2: STOP,
           S.SIGHUP: RESCAN, S.SIGWINCH: IGNORE, S.SIGPWR: IGNORE}


def handled(has_cmd: bool) -> "Tuple[int, ...]":
    """The signals pysix-init installs a handler for (SIGCHLD is the reaper's)."""
    if not has_cmd:
        return tuple(sorted(_NO_CMD))
    return tuple(sorted(EARLY_BLOCK - _KEPT_IGNORED - {S.SIGCHLD}))


def action(sig: int, has_cmd: bool, receive_signals: bool = False) -> int:
    """What a signal to pysix-init means, before stage 3 and with a live CMD."""
    if not has_cmd:
        return _NO_CMD.get(sig, IGNORE)
    if receive_signals and sig in RECEIVE_SIGNALS:
        return FORWARD
    if sig in STOP_SIGNALS:
        return STOP
    if sig in JOB_SIGNALS:
        return JOB_CONTROL
    return FORWARD


def before_cmd(sig: int, act: int) -> int:
    """Before the CMD exists: a stop signal stops (even one CMD_RECEIVE_SIGNALS
    would pass on: there is nobody to pass it to). Others are dropped: held
    until the spawn, a HUP would kill a CMD that has not set its handlers yet."""
    return STOP if sig in STOP_SIGNALS else IGNORE


def during_stop(act: int, cmd_alive: bool) -> int:
    """A signal once stage 3 has begun: while the CMD runs every signal is its
    own (a second TERM it handles itself is not turned into a SIGKILL); after
    that a stop signal hurries the rest."""
    if cmd_alive:
        return FORWARD if act in (STOP, FORWARD, JOB_CONTROL) else act
    return STOP if act == STOP else IGNORE


def block_early() -> None:
    S.pthread_sigmask(S.SIG_BLOCK, EARLY_BLOCK)


def unblock() -> None:
    """Once the handlers exist: what arrived meanwhile is delivered now. The
    whole mask goes (`env --block-signal` in the shebang blocked every signal)."""
    S.pthread_sigmask(S.SIG_SETMASK, ())
