"""pysix's policies beyond s6, composed into the supervisor and asked at three points.

The supervisor owns one `Policy` and asks it:
* `may_start()` before each start: dependencies (the service waits, or fails);
* `after_spawn(notifies)`: readiness by `check`, bounded by `timeout-ready`;
* `at_death()` at each death of run: oneshot results, restart limits, the
  `primary` service that stops the tree; it answers whether to hold the
  service down (no automatic restart).
and, at the end of each down sequence, `down_letters()` for the event letters
(failure actions run there). The core never looks at a policy file itself.

* `dependencies`: each sibling (`../NAME`) must be up, or ready where it can
  say so, or a finished oneshot. While one is not, the service is `waiting`
  and the policy listens on that sibling's `event/` fifodir (no polling). A
  missing name or a cycle marks the service `failed` with the names involved.
* `check`: run after each start (10 ms, then doubling to 1 s) until it exits
  0, which marks the service ready exactly as a notification-fd newline does.
* `type` = `oneshot`: `run` runs once; exit 0 = `done`, else `failed`; `u`
  runs it again.
* `restart-limit` = `N SECONDS`: more than N unrequested deaths within
  SECONDS = `failed` (down, events `OD` as for finish exit 125).
* `on-failure` = NAME: `../NAME` is started once (`o`) when this one fails.
* `requires`: names, one per line: while run is up, a required sibling that
  goes down for good (event `O`: failed, or finish 125) takes this one down
  as failed too (systemd's Requires=).
* `primary`: an unrequested death (or failure) stops the tree with its code.
* `restart` = always (default), on-failure or no: an unrequested death not
  restarted is held down, and is a failure when unclean (restartpolicy.py);
  `restart-delay` (ms) is waited for before a restart.
* `exit-container-on-failure`: a failure stops the tree (code non-zero).
"""
import os
import time

from .. import fifodir
from ..specialised import call, eq, truediv
from ..atomic import write_atomic
from .spawn import SpawnError, spawn
from ..control import NoSuchDir, NotListening, write_control
from ..policy import (STATE_FILE, DeathWindow, PolicyState, check_restart_limit, check_type,
                      format_state, next_check_delay)
from ..restartpolicy import failed as unclean, parse_restart, parse_restart_delay, should_restart
from ..servicedir import is_executable, lexists, read_file, read_lines_checked, read_uint
from ..servicepolicy import service_ready_for_dependents
from ..status import describe_wait, shell_code

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple
    from .supervisor import Supervisor

CHECK_RUN_MAX = 10.0   # a check still running after this is killed and counts as "not yet"


class Policy:
    def __init__(self, sup: "Supervisor") -> None:
        self.sup = sup
        self.failed_reason = ""
        self.waiting_for = ""
        self.oneshot_result: Optional[bool] = None
        self.expect_ready = False
        self.window = call(DeathWindow)     # call(): specialised.py
        self.cpid = 0
        self.check_timer = None
        self.check_kill_timer = None
        self.check_delay: Optional[float] = None
        self.ready_timer = None
        self.dep_subs: List[Tuple[int, str]] = []
        self.published: Optional[PolicyState] = None
        self._flush = getattr(self, "flush")    # bound once, by getattr: 3.12 never specialises reading a method as a value (speed.py)
        self.publishing = None  # the timer that writes pysix-state at the end of this loop turn
        self.limit: Optional[Tuple[int, float]] = None   # restart-limit as last read (at a death)
        self.pending_failure = False
        self.said: dict = {}    # what was last warned about each file: say it once
        self.req_subs: List[Tuple[int, str]] = []

    def warn_once(self, key: str, msg: "Optional[str]") -> None:
        """Warn about `key` (a file) when what is wrong with it changes."""
        if msg and self.said.get(key) != msg:
            self.sup.warn(msg)
        self.said[key] = msg

    # the state line -----------------------------------------------------------
    def state(self) -> "PolicyState":
        sup = self.sup
        limit = self.limit      # deaths are recorded only at a death, which rereads the file
        deaths = self.window.count(call(time.monotonic), limit[1] if limit else None)
        if sup.pid:
            if sup.ready:
                st = "ready"
            else:
                st = "starting" if self.expect_ready else "up"
            return call(PolicyState, st, self.failed_reason if st == "starting" else "", deaths)
        if sup.fpid:
            return call(PolicyState, "finishing", "", deaths)
        if sup.spawn_error and sup.want_up:
            return call(PolicyState, "down", "spawn failed: " + sup.spawn_error, deaths)
        if self.failed_reason and not sup.want_up:
            return call(PolicyState, "failed", self.failed_reason, deaths)
        if self.waiting_for:
            return call(PolicyState, "waiting", self.waiting_for, deaths)
        if self.oneshot_result is True:
            return call(PolicyState, "done", "", deaths)
        return call(PolicyState, "down", "", deaths)

    def publish(self) -> None:
        """pysix-state once per loop turn: a start writes status twice (down, then up)
        and the state file only needs the last (two atomic writes less per boot)."""
        if self.publishing is None:
            self.publishing = self.sup.loop.call_later(0, self._flush)

    def flush(self) -> None:
        """Write pysix-state now if it changed (and before the supervisor exits)."""
        if self.publishing is not None:
            self.write_now()

    def write_now(self) -> None:
        """Write pysix-state if it changed, now, whether or not a write is pending."""
        if self.publishing is not None:
            self.publishing.cancel()
            self.publishing = None
        st = self.state()
        if eq(st, self.published):
            return
        self.published = st
        try:
            write_atomic(STATE_FILE, format_state(st))
        except OSError:
            pass

    # 1. before a start: dependencies ---------------------------------------------
    def may_start(self) -> bool:
        """True if every dependency is satisfied; else arrange to retry and say why."""
        deps, why = read_lines_checked(".", "dependencies")
        if why:
            self._fail(why)     # stays down, saying why; the supervisor carries on
            return False
        if not deps:
            return True
        self.stop_waiting()
        problem = self._graph_problem()
        if problem:
            self._fail(problem)
            return False
        pending = [d for d in deps if not service_ready_for_dependents(os.path.join("..", d))]
        if not pending:
            return True
        self.waiting_for = "waiting for " + ", ".join(pending)
        for d in pending:
            try:
                rfd, path = fifodir.subscribe(os.path.join("..", d, "event"))
            except OSError as e:
                self.sup.warn("cannot watch dependency %s: %s" % (d, e.strerror))
                continue
            self.dep_subs.append((rfd, path))
            self.sup.loop.add_reader(rfd, self._dep_event)
        # Subscribing raced with the dependency coming up: look once more.
        if all(service_ready_for_dependents(os.path.join("..", d)) for d in pending):
            self.stop_waiting()
            return True
        return False

    def _graph_problem(self) -> str:
        from ..deps import check_graph, read_graph
        try:
            graph = read_graph("..")
        except OSError:
            return ""
        me = os.path.basename(os.getcwd())
        missing, cycles = check_graph(graph)
        if missing.get(me):
            return "missing dependency: " + ", ".join(missing[me])
        for cyc in cycles:
            if me in cyc:
                return "dependency cycle: " + " -> ".join(cyc + cyc[:1])
        return ""

    def _dep_event(self) -> None:
        for rfd, _ in self.dep_subs:
            try:
                os.read(rfd, 4096)
            except OSError:
                pass
        if self.sup.want_up:
            self.sup.start()

    def stop_waiting(self) -> None:
        self.waiting_for = ""
        for rfd, path in self.dep_subs:
            self.sup.loop.remove_reader(rfd)
            fifodir.unsubscribe(rfd, path)
        self.dep_subs = []

    # 2. after a start: readiness by check ------------------------------------------
    def after_spawn(self, notifies: bool) -> None:
        self.waiting_for = ""
        self.check_delay = None
        # A running oneshot is not ready for its dependents until it is done.
        checks = is_executable("check")
        self.expect_ready = notifies or checks or self.is_oneshot()
        loop = self.sup.loop
        if not notifies and checks:
            self.check_timer = loop.call_later(next_check_delay(None), self._run_check)
        self._watch_required()
        if self.expect_ready:
            ms, why = read_uint(".", "timeout-ready", 0)
            self.warn_once("timeout-ready", why)
            if ms:
                self.ready_timer = loop.call_later(ms / 1000.0, lambda: self._not_ready(ms))

    def _watch_required(self) -> None:
        names, why = read_lines_checked(".", "requires")
        self.warn_once("requires", why)
        self._unwatch_required()
        for name in names or ():
            try:
                rfd, path = fifodir.subscribe(os.path.join("..", name, "event"))
            except OSError as e:
                self.warn_once("requires:" + name, "requires: cannot watch %s: %s" % (name, e.strerror))
                continue
            self.req_subs.append((rfd, path))
            self.sup.loop.add_reader(rfd, lambda fd=rfd, n=name: self._required_event(fd, n))

    def _unwatch_required(self) -> None:
        for rfd, path in self.req_subs:
            self.sup.loop.remove_reader(rfd)
            fifodir.unsubscribe(rfd, path)
        self.req_subs = []

    def _required_event(self, rfd: int, name: str) -> None:
        try:
            data = os.read(rfd, 256)
        except OSError:
            return
        if b"O" in data and self.sup.pid and self.sup.want_up:
            self._unwatch_required()
            self.failed_reason = "required %s failed" % name
            self.sup.warn(self.failed_reason + ": stopping")
            self.sup.take_down()

    def on_ready(self) -> None:
        if self.ready_timer is not None:
            self.ready_timer.cancel()
            self.ready_timer = None

    def _run_check(self) -> None:
        self.check_timer = None
        sup = self.sup
        if not sup.pid or sup.ready or self.cpid:
            return
        try:
            self.cpid = spawn("./check", [sup.name], setsigmask=())
        except SpawnError as e:
            self.warn_once("check", "unable to spawn %s" % e.strerror)
            self._schedule_check()
            return
        pid = self.cpid

        def too_long() -> None:
            self.check_kill_timer = None
            if self.cpid == pid:
                os.kill(pid, 9)
        self.check_kill_timer = sup.loop.call_later(CHECK_RUN_MAX, too_long)

    def on_check_end(self, st: int) -> None:
        self.cpid = 0
        if self.check_kill_timer is not None:
            self.check_kill_timer.cancel()
            self.check_kill_timer = None
        if not self.sup.pid or self.sup.ready:
            return
        if st == 0:
            self.sup.mark_ready()
        else:
            self._schedule_check()

    def _schedule_check(self) -> None:
        if self.ready_timer is None and self.failed_reason.startswith("not ready"):
            return   # timed out: stop checking
        self.check_delay = next_check_delay(self.check_delay)
        self.check_timer = self.sup.loop.call_later(self.check_delay, self._run_check)

    def _not_ready(self, ms: int) -> None:
        self.ready_timer = None
        sup = self.sup
        if not sup.pid or sup.ready:
            return
        self.failed_reason = "not ready after %d ms" % ms
        sup.warn("service not ready after %d ms (timeout-ready)" % ms)
        if self.check_timer is not None:
            self.check_timer.cancel()
            self.check_timer = None
        self.publish()
        if lexists("primary"):
            self._stop_container(1, "primary service not ready")

    # 3. at a death -------------------------------------------------------------------
    def at_death(self) -> bool:
        """Count the death, decide failure; True: hold the service down."""
        sup = self.sup
        self._unwatch_required()
        for attr in ("check_timer", "ready_timer"):
            t = getattr(self, attr)
            if t is not None:
                t.cancel()
                setattr(self, attr, None)
        if self.failed_reason[:9] == "not ready":   # str.startswith: never specialised (3.12)
            self.failed_reason = ""
        if self.is_oneshot():
            ok = sup.wstat == 0
            self.oneshot_result = ok
            if not ok:
                self.failed_reason = "oneshot exited %s" % describe_wait(sup.wstat)
                sup.want_up = False
                self.pending_failure = True
            return True
        if not sup.want_up or sup.last or sup.core.tree_stop:
            return False
        if not self._restart_wanted():
            return True
        limit = self._restart_limit()
        if limit is None:
            if lexists("primary"):
                sup.want_up = False
                self._stop_container(shell_code(sup.wstat), "primary service died")
            return False
        n = self.window.record(time.monotonic(), limit[1])
        if n > limit[0]:
            self.failed_reason = "restart limit: %d deaths within %g s, last %s" % (
                n, limit[1], describe_wait(sup.wstat))
            if sup.verbosity >= 1:
                sup.report(1, "failed: %d deaths in %g s; giving up" % (n, limit[1]))
            else:
                sup.warn(self.failed_reason + ": giving up")
            sup.want_up = False
            self.pending_failure = True
        return False

    def down_letters(self, permanent: bool) -> bytes:
        """Event letters at the end of a down sequence; runs failure actions."""
        failed = self.pending_failure
        self.pending_failure = False
        if failed:
            self._on_failure()
            if lexists("primary") and not self.sup.last:
                self._stop_container(shell_code(self.sup.wstat), self.failed_reason)
            elif lexists("exit-container-on-failure") and not self.sup.last:
                self._stop_container(shell_code(self.sup.wstat) or 1,
                                     "%s (exit-container-on-failure)" % self.failed_reason)
        return b"OD" if permanent or (failed and not self.is_oneshot()) else b"D"

    def _on_failure(self) -> None:
        target, why = read_lines_checked(".", "on-failure")
        self.warn_once("on-failure", why)
        if not target:
            return
        try:
            write_control(os.path.join("..", target[0], "supervise", "control"), b"o")
        except (NotListening, NoSuchDir, OSError) as e:
            self.sup.warn("on-failure: cannot start %s: %s" % (target[0], e))

    def clear_failure(self) -> None:
        self.failed_reason = ""
        self.pending_failure = False
        self.window.clear()

    def is_oneshot(self) -> bool:
        data, why = read_file(".", "type", 32)
        kind, bad = check_type(data)
        self.warn_once("type", why or bad)
        return kind == "oneshot"

    def _restart_wanted(self) -> bool:
        """The `restart` file after an unrequested death. Not restarted: an
        unclean death is a failure (on-failure, exit-container-on-failure,
        primary); a clean one of a primary service stops the tree."""
        data, why = read_file(".", "restart", 32)
        policy = parse_restart(data) if data is not None else None
        self.warn_once("restart", why or (None if data is None or policy else
                                          "restart: invalid value %r (want always, on-failure or no)" % data[:30]))
        if policy is None:
            return True
        wstat = self.sup.wstat
        sig = wstat & 0x7F
        code = None if sig else (wstat >> 8) & 0xFF
        if should_restart(policy, code, sig):
            return True
        if unclean(code, sig):
            self.failed_reason = "%s (restart %s)" % (describe_wait(wstat), policy)
            self.pending_failure = True
            self.sup.want_up = False
        elif lexists("primary"):
            self.sup.want_up = False
            self._stop_container(shell_code(wstat), "primary service ended")
        return False

    def restart_delay(self) -> float:
        """Seconds from `restart-delay` (ms); 0 without one."""
        data, why = read_file(".", "restart-delay", 32)
        ms = parse_restart_delay(data) if data is not None else None
        self.warn_once("restart-delay", why or (None if data is None or ms is not None else
                                                "restart-delay: invalid value %r (want milliseconds)" % data[:30]))
        return truediv(ms or 0, 1000.0)     # 3.12 specialises no `/` (specialised.py)

    def _restart_limit(self) -> "Optional[Tuple[int, float]]":
        data, why = read_file(".", "restart-limit", 64)
        lim, bad = check_restart_limit(data)
        self.warn_once("restart-limit", why or bad)
        self.limit = lim
        return lim

    def _fail(self, reason: str) -> None:
        if reason != self.failed_reason:
            self.sup.warn(reason)
        self.failed_reason = reason
        self.sup.want_up = False

    def _stop_container(self, code: int, why: str) -> None:
        """Write the tree's exit code to `../.s6-svscan/primary-exitcode` and
        tell the scanner (pysix-init's, or pysix-svscan's) to terminate.

        A number in the `primary` file replaces the service's own code (so a
        service whose failure is not an error can stop the tree with 0).
        """
        fixed, _ = read_file(".", "primary", 16)
        if fixed and fixed.strip().isdigit():
            code = int(fixed.strip()) & 0xFF
        self.sup.warn("%s (exit code %d): stopping everything" % (why, code))
        ctl = os.path.join("..", ".s6-svscan")
        try:
            write_atomic(ctl + "/primary-exitcode", b"%d\n" % code)
            write_control(ctl + "/control", b"t")
        except Exception as e:
            self.sup.warn("cannot tell the scanner to stop (%s): not under a scanner?" % (e,))
