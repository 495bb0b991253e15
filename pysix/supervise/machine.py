"""The supervisor's life cycle as a pure transition table (s6-supervise 2.11).

`step(core, event, arg, now)` looks up `(core.state, event)` in TABLE, lets
the handler update the plain fields of `core` and returns the effects for the
I/O shell to apply, in order. Nothing here touches a file, a process or a
clock: `now` (monotonic seconds) is passed in, so tests walk every pair with
a fake clock and read the effects as a history.

States (spec section 5): DOWN (no child; maybe a restart deadline), UP (run
alive, spawned or adopted), FINISH (finish alive), EXITED. LAST-UP and
LAST-FINISH are UP/FINISH with `last` set: the supervisor exits once down.

One deadline per supervisor; what it means depends on the state: DOWN ->
start run, UP -> SIGKILL run (armed by a down request), FINISH -> SIGKILL
finish.
"""
TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Dict, List, Tuple
    Effect = Tuple

# states
DOWN, UP, FINISH, EXITED = range(4)
STATE_NAMES = ("down", "up", "finish", "exited")

# events; `arg` in brackets
(EV_UP,           # u (U after unlinking down)
 EV_ONCE,         # o
 EV_DOWN,         # d (D after creating down)              [timeout-kill s or 0]
 EV_WANT_DOWN,    # O, Q: want down, leave the process alone
 EV_SIGNAL,       # a b q h k t i 1 2 y r p c                [signal number, or SIG_PAUSE/SIG_CONT]
 EV_EXIT,         # x, SIGHUP: exit once down
 EV_TERM,         # SIGTERM: exit once down, taking the service down [timeout-kill s or 0]
 EV_QUIT,         # SIGQUIT: exit now, service left running
 EV_SPAWNED,      # run started                              [pid]
 EV_SPAWN_LATER,  # run could not start (or must wait)        [seconds]
 EV_ADOPT_RUN,    # a run left by a previous supervisor      [pid]
 EV_ADOPT_FINISH, # a finish left by a previous supervisor   [pid]
 EV_RUN_DIED,     # run reaped; the shell has recorded the death and spawned finish if it
                  # could                                    [finish timeout s (0: none), None: no finish]
 EV_FINISH_DONE,  # finish reaped, or could not start        [permanent (exit 125)]
 EV_DEADLINE,     # the one deadline passed
 EV_TREE_STOP,    # the scanner stops the tree: never start again
 EV_VETO,         # a policy refused the start (waiting, failed): stay down
 ) = range(17)
EVENT_NAMES = ("up", "once", "down", "want-down", "signal", "exit", "term", "quit", "spawned",
               "spawn-later", "adopt-run", "adopt-finish", "run-died", "finish-done", "deadline",
               "tree-stop", "veto")

# effects: a tuple whose first item is one of these
(FX_START,        # spawn ./run (the shell answers with SPAWNED / SPAWN_LATER / VETO)
 FX_KILL,         # (FX_KILL, sig): signal run (or finish, in FINISH)
 FX_DEADLINE,     # (FX_DEADLINE, seconds or None): (re)arm or clear the one deadline
 FX_STATUS,       # write supervise/status (and pysix-state, identity)
 FX_EVENT,        # (FX_EVENT, letters): notify event/ subscribers
 FX_DOWN_EVENT,   # (FX_DOWN_EVENT, prefix, permanent): end-of-down letters, failure actions
 FX_STDIO_NULL,   # stdin/stdout to /dev/null (s6's LAST-* swap)
 FX_EXIT,         # leave: event x, exit 0
 ) = range(8)
EFFECT_NAMES = ("start", "kill", "deadline", "status", "event", "down-event", "stdio-null", "exit")

SIG_PAUSE = -1    # EV_SIGNAL args beyond plain signals: 'p' and 'c' also flip `paused`
SIG_RESUME = -2
SIGKILL, SIGCONT, SIGSTOP = 9, 18, 19

RESTART_MIN_INTERVAL = 1.0   # seconds between two starts of a crashing service
KILL_REPEAT = 5.0            # SIGKILL again every 5 s, as s6


class Core:
    """The supervisor's state as plain data (the shell keeps fds and files)."""
    __slots__ = ("state", "want_up", "last", "tree_stop", "paused", "armed", "last_spawn",
                 "down_signal", "hold", "restart_delay")

    def __init__(self, want_up: bool = True, down_signal: int = 15) -> None:
        self.state = DOWN
        self.want_up = want_up
        self.last = False          # exit once down (x, SIGHUP, SIGTERM)
        self.tree_stop = False     # the whole tree is stopping: nothing starts again
        self.paused = False
        self.armed = False         # the deadline is set
        self.last_spawn = -1e9     # monotonic time of the last successful start
        self.down_signal = down_signal
        self.hold = False          # a policy said this death is not restarted (a oneshot)
        self.restart_delay = 0.0   # `restart-delay`: at least this long between a down and the restart


def step(core: "Core", event: int, arg: object = None, now: float = 0.0) -> "List[Effect]":
    handler = TABLE.get((core.state, event))
    if handler is None:
        return []
    args = (core, arg, now)
    return handler(*args)   # a call through * is never specialised (so never deoptimised): specialised.py


# helpers -------------------------------------------------------------------

def _deadline(core: "Core", seconds: object) -> "Effect":
    core.armed = seconds is not None
    return (FX_DEADLINE, seconds)


def _may_start(core: "Core") -> bool:
    return not core.tree_stop and not core.last


def _start(core: "Core") -> "List[Effect]":
    fx = [_deadline(core, None)] if core.armed else []
    if _may_start(core):
        fx.append((FX_START,))
    return fx


def _after_down(core: "Core", now: float) -> "List[Effect]":
    """The down sequence is complete: exit, restart, or wait to restart."""
    if core.last:
        core.state = EXITED
        return [(FX_EXIT,)]
    if not core.want_up or core.tree_stop or core.hold:
        return []
    delay = max(core.last_spawn + RESTART_MIN_INTERVAL - now, core.restart_delay)
    if delay <= 0:
        return [(FX_START,)]
    return [_deadline(core, delay)]


def _take_down(core: "Core", timeout_kill: object) -> "List[Effect]":
    """`d` while up: down-signal then SIGCONT; arm timeout-kill once."""
    core.want_up = False
    core.paused = False
    fx: List[Effect] = [(FX_KILL, core.down_signal), (FX_KILL, SIGCONT)]
    if timeout_kill and not core.armed:
        fx.append(_deadline(core, timeout_kill))
    fx.append((FX_STATUS,))     # append and extend: 3.12 does not specialise list +
    return fx


# handlers: (core, arg, now) -> effects ---------------------------------------

def down_up(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.want_up = True
    core.hold = False
    return [(FX_STATUS,)] + _start(core)


def down_once(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.want_up = False
    core.hold = False
    return [(FX_STATUS,)] + _start(core)


def any_want_up(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.want_up = True
    core.hold = False
    return [(FX_STATUS,)]


def any_want_down(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.want_up = False
    return [(FX_STATUS,)]


def down_down(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.want_up = False
    fx = [_deadline(core, None)] if core.armed else []   # no pending restart
    fx.append((FX_STATUS,))
    return fx


def up_down(core: "Core", arg: object, now: float) -> "List[Effect]":
    return _take_down(core, arg)


def up_signal(core: "Core", arg: object, now: float) -> "List[Effect]":
    if arg == SIG_PAUSE:
        core.paused = True
        return [(FX_KILL, SIGSTOP), (FX_STATUS,)]
    if arg == SIG_RESUME:
        core.paused = False
        return [(FX_KILL, SIGCONT), (FX_STATUS,)]
    return [(FX_KILL, arg)]


def down_exit(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.state = EXITED
    return [(FX_EXIT,)]


def busy_exit(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.last = True
    return [(FX_STDIO_NULL,)]


def up_term(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.last = True
    return _take_down(core, arg)


def finish_term(core: "Core", arg: object, now: float) -> "List[Effect]":
    if core.last:
        return []
    core.last = True
    return [(FX_STDIO_NULL,)]


def down_spawned(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.state = UP
    core.paused = False
    core.last_spawn = now
    return [(FX_STATUS,), (FX_EVENT, b"u")]


def down_spawn_later(core: "Core", arg: object, now: float) -> "List[Effect]":
    return [_deadline(core, arg)]


def down_adopt_run(core: "Core", arg: object, now: float) -> "List[Effect]":
    # Taken over, not started: no `u` event, and the restart throttle counts
    # from now (its real start time is unknown to this supervisor's clock).
    core.state = UP
    core.last_spawn = now
    return [(FX_STATUS,)]


def down_adopt_finish(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.state = FINISH
    return [(FX_STATUS,)]


def up_died(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.paused = False
    fx: List[Effect] = [_deadline(core, None)] if core.armed else []
    if arg is None:          # no finish script: the whole down sequence at once
        core.state = DOWN
        fx.append((FX_STATUS,))
        fx.append((FX_DOWN_EVENT, b"d", False))
        fx.extend(_after_down(core, now))
        return fx
    core.state = FINISH
    fx.append((FX_STATUS,))
    fx.append((FX_EVENT, b"d"))
    if arg:
        fx.append(_deadline(core, arg))
    return fx


def finish_done(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.state = DOWN
    if arg:                  # finish exited 125: stay down
        core.want_up = False
    fx: List[Effect] = [_deadline(core, None)] if core.armed else []
    fx.append((FX_STATUS,))
    fx.append((FX_DOWN_EVENT, b"", bool(arg)))
    fx.extend(_after_down(core, now))
    return fx


def down_deadline(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.armed = False
    if core.want_up and not core.hold and _may_start(core):
        return [(FX_START,)]
    return []


def busy_deadline(core: "Core", arg: object, now: float) -> "List[Effect]":
    # timeout-kill (UP) or timeout-finish (FINISH) reached: SIGKILL, and again every 5 s.
    return [(FX_KILL, SIGCONT), (FX_KILL, SIGKILL), _deadline(core, KILL_REPEAT)]


def any_tree_stop(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.tree_stop = True
    if core.state == DOWN and core.armed:
        return [_deadline(core, None)]
    return []


def down_veto(core: "Core", arg: object, now: float) -> "List[Effect]":
    return [(FX_STATUS,)]


def any_quit(core: "Core", arg: object, now: float) -> "List[Effect]":
    core.state = EXITED
    return [(FX_EXIT,)]


TABLE: "Dict[Tuple[int, int], Callable[[Core, object, float], List[Effect]]]" = {
    (DOWN, EV_UP): down_up,
    (UP, EV_UP): any_want_up,
    (FINISH, EV_UP): any_want_up,
    (DOWN, EV_ONCE): down_once,
    (UP, EV_ONCE): any_want_down,
    (FINISH, EV_ONCE): any_want_down,
    (DOWN, EV_DOWN): down_down,
    (UP, EV_DOWN): up_down,
    (FINISH, EV_DOWN): any_want_down,
    (DOWN, EV_WANT_DOWN): down_down,
    (UP, EV_WANT_DOWN): any_want_down,
    (FINISH, EV_WANT_DOWN): any_want_down,
    (UP, EV_SIGNAL): up_signal,
    (DOWN, EV_EXIT): down_exit,
    (UP, EV_EXIT): busy_exit,
    (FINISH, EV_EXIT): busy_exit,
    (DOWN, EV_TERM): down_exit,
    (UP, EV_TERM): up_term,
    (FINISH, EV_TERM): finish_term,
    (DOWN, EV_QUIT): any_quit,
    (UP, EV_QUIT): any_quit,
    (FINISH, EV_QUIT): any_quit,
    (DOWN, EV_SPAWNED): down_spawned,
    (DOWN, EV_SPAWN_LATER): down_spawn_later,
    (DOWN, EV_ADOPT_RUN): down_adopt_run,
    (DOWN, EV_ADOPT_FINISH): down_adopt_finish,
    (UP, EV_RUN_DIED): up_died,
    (FINISH, EV_FINISH_DONE): finish_done,
    (DOWN, EV_DEADLINE): down_deadline,
    (UP, EV_DEADLINE): busy_deadline,
    (FINISH, EV_DEADLINE): busy_deadline,
    (DOWN, EV_TREE_STOP): any_tree_stop,
    (UP, EV_TREE_STOP): any_tree_stop,
    (FINISH, EV_TREE_STOP): any_tree_stop,
    (DOWN, EV_VETO): down_veto,
}
