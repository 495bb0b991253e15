"""The supervisor's transition table, in-process: a fake clock and effects read as history."""
import pytest

from pysix.supervise import machine as m
from pysix.supervise.machine import (DOWN, EXITED, FINISH, UP, Core, step)

ARGS = {m.EV_DOWN: 0.5, m.EV_TERM: 0.5, m.EV_SIGNAL: 15, m.EV_SPAWNED: 42,
        m.EV_SPAWN_LATER: 1.0, m.EV_ADOPT_RUN: 42, m.EV_ADOPT_FINISH: 43, m.EV_RUN_DIED: 5.0,
        m.EV_FINISH_DONE: False}


def names(fx):
    out = []
    for f in fx:
        n = m.EFFECT_NAMES[f[0]]
        out.append(n if len(f) == 1 else "%s%r" % (n, tuple(f[1:])))
    return out


class Sim:
    """A core, a fake monotonic clock and the history of effects."""

    def __init__(self, **kw):
        self.core = Core(**kw)
        self.now = 100.0
        self.history = []

    def __call__(self, ev, arg=None, dt=0.0):
        self.now += dt
        fx = step(self.core, ev, arg, self.now)
        self.history.append((m.EVENT_NAMES[ev], names(fx)))
        return names(fx)


@pytest.mark.parametrize("state", [DOWN, UP, FINISH, EXITED])
@pytest.mark.parametrize("event", range(len(m.EVENT_NAMES)))
def test_every_pair_is_defined_or_ignored(state, event):
    core = Core()
    core.state = state
    fx = step(core, event, ARGS.get(event), 10.0)
    assert isinstance(fx, list)
    for f in fx:
        assert 0 <= f[0] < len(m.EFFECT_NAMES)
    if (state, event) not in m.TABLE:
        assert fx == [] and core.state == state
    if state == EXITED:
        assert fx == [], "nothing happens after exit"
    # run is only ever started from DOWN (possibly reached in this very step).
    if any(f[0] == m.FX_START for f in fx):
        assert core.state == DOWN
    # A state change only where the table says so.
    assert core.state in (DOWN, UP, FINISH, EXITED)


def test_the_table_names_only_real_states_and_events():
    for (st, ev), fn in m.TABLE.items():
        assert st in (DOWN, UP, FINISH) and 0 <= ev < len(m.EVENT_NAMES) and callable(fn)


def test_crash_loop_restarts_no_sooner_than_a_second_after_the_last_start():
    s = Sim()
    assert s(m.EV_UP) == ["status", "start"]
    assert s(m.EV_SPAWNED, 7) == ["status", "event(b'u',)"]
    # died after 0.2 s, no finish: the whole down sequence, then wait 0.8 s
    fx = s(m.EV_RUN_DIED, None, dt=0.2)
    assert fx[:2] == ["status", "down-event(b'd', False)"]
    assert fx[2].startswith("deadline(0.7999") or fx[2].startswith("deadline(0.8")
    assert s(m.EV_DEADLINE, dt=0.8) == ["start"]


def test_a_long_run_restarts_at_once_through_finish():
    s = Sim()
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    assert s(m.EV_RUN_DIED, 5.0, dt=30) == ["status", "event(b'd',)", "deadline(5.0,)"]
    assert s.core.state == FINISH
    assert s(m.EV_FINISH_DONE, False, dt=0.1) == ["deadline(None,)", "status",
                                                   "down-event(b'', False)", "start"]


def test_finish_125_keeps_it_down():
    s = Sim()
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    s(m.EV_RUN_DIED, 0, dt=30)
    assert s(m.EV_FINISH_DONE, True) == ["status", "down-event(b'', True)"]
    assert not s.core.want_up and s.core.state == DOWN


def test_down_while_up_signals_then_escalates_every_five_seconds():
    s = Sim(down_signal=3)
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    assert s(m.EV_DOWN, 2.0) == ["kill(3,)", "kill(18,)", "deadline(2.0,)", "status"]
    assert s(m.EV_DOWN, 2.0) == ["kill(3,)", "kill(18,)", "status"], "timeout-kill armed once"
    assert s(m.EV_DEADLINE, dt=2) == ["kill(18,)", "kill(9,)", "deadline(5.0,)"]
    assert s(m.EV_RUN_DIED, None, dt=0.1) == ["deadline(None,)", "status", "down-event(b'd', False)"]
    assert s.core.state == DOWN and not s.core.armed


def test_term_while_up_exits_after_the_down_sequence():
    s = Sim()
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    s(m.EV_TERM, 0)
    assert s.core.last
    assert s(m.EV_RUN_DIED, 1.0, dt=5)[-1] == "deadline(1.0,)"
    assert s(m.EV_FINISH_DONE, False)[-1] == "exit"
    assert s.core.state == EXITED


def test_once_the_tree_stops_nothing_starts_again():
    s = Sim()
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    s(m.EV_TREE_STOP)
    assert s(m.EV_RUN_DIED, None, dt=30) == ["status", "down-event(b'd', False)"]
    assert s(m.EV_UP) == ["status"], "not even an explicit u"
    assert s(m.EV_DEADLINE) == []


def test_tree_stop_cancels_a_pending_restart():
    s = Sim()
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    s(m.EV_RUN_DIED, None, dt=0.1)
    assert s.core.armed
    assert s(m.EV_TREE_STOP) == ["deadline(None,)"]


def test_adoption_is_up_without_a_u_event_and_throttles_from_now():
    s = Sim()
    assert s(m.EV_ADOPT_RUN, 42) == ["status"]
    assert s.core.state == UP
    fx = s(m.EV_RUN_DIED, None, dt=0.3)
    assert fx[-1].startswith("deadline(0.69") or fx[-1].startswith("deadline(0.7")


def test_adopted_finish_then_restart():
    s = Sim()
    s(m.EV_ADOPT_FINISH, 43)
    assert s.core.state == FINISH
    assert s(m.EV_FINISH_DONE, False)[-1] == "start"


def test_a_held_death_is_not_restarted_until_asked():
    s = Sim()
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    s.core.hold = True       # the policy: a oneshot that completed
    assert s(m.EV_RUN_DIED, None, dt=5) == ["status", "down-event(b'd', False)"]
    assert s(m.EV_UP) == ["status", "start"]


def test_spawn_failure_retries_after_the_given_delay():
    s = Sim()
    s(m.EV_UP)
    assert s(m.EV_SPAWN_LATER, 2.0) == ["deadline(2.0,)"]
    assert s(m.EV_DEADLINE, dt=2) == ["start"]


def test_exit_requests_while_busy_swap_stdio_and_wait():
    s = Sim()
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    assert s(m.EV_EXIT) == ["stdio-null"]
    assert s(m.EV_RUN_DIED, None)[-1] == "exit"


def test_pause_and_resume_flip_the_flag():
    s = Sim()
    s(m.EV_UP)
    s(m.EV_SPAWNED, 7)
    assert s(m.EV_SIGNAL, m.SIG_PAUSE) == ["kill(19,)", "status"] and s.core.paused
    assert s(m.EV_SIGNAL, m.SIG_RESUME) == ["kill(18,)", "status"] and not s.core.paused
