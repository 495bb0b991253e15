"""pysix's additions to the supervisor: dependencies, check, oneshot, restart limits.

`ServicePolicy` is mixed into `Supervisor`, which calls its hooks at the
points of the s6 life cycle; a service dir without the policy files never
takes a code path here beyond one failed open per start.

* `dependencies`: before each start the supervisor looks at its siblings
  (`../NAME`): each must be up, or ready where it can say so, or a finished
  oneshot. While one is not, the service is `waiting` and the supervisor
  listens on that sibling's `event/` fifodir (no polling). A missing name or a
  cycle marks the service `failed` with the names involved.
* `check`: run after each start (10 ms, then doubling to 1 s) until it exits
  0, which marks the service ready exactly as a notification-fd newline does;
  `timeout-ready` (ms) bounds the wait.
* `type` = `oneshot`: `run` runs once; exit 0 = `done` (ready for dependents),
  anything else = `failed`; never restarted; `u` runs it again.
* `restart-limit` = `N SECONDS`: more than N unrequested deaths within
  SECONDS = `failed` (down, events `OD` as for finish exit 125).
* `on-failure` = NAME: `../NAME` is started once (`o`) when this one fails.
"""
from __future__ import annotations

import os
import time

from . import fifodir
from .control import NoSuchDir, NotListening, write_control
from .policy import (STATE_FILE, DeathWindow, PolicyState, format_state, next_check_delay,
                     parse_restart_limit, parse_state, parse_type)
from .servicedir import is_executable, read_lines, read_small, read_uint
from .status import unpack_status

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

CHECK_RUN_MAX = 10.0   # a check still running after this is killed and counts as "not yet"


class ServicePolicy:
    # Set up by Supervisor.__init__ through policy_init().
    def policy_init(self) -> None:
        self.failed_reason = ""
        self.waiting_for = ""
        self.oneshot_result: Optional[bool] = None
        self.expect_ready = False
        self.window = DeathWindow()
        self.cpid = 0
        self.check_timer = None
        self.check_kill_timer = None
        self.check_delay: Optional[float] = None
        self.ready_timer = None
        self.dep_subs: List[Tuple[int, str]] = []
        self.published: Optional[PolicyState] = None
        self.pending_failure = False

    # the state line -----------------------------------------------------------
    def policy_state(self) -> PolicyState:
        limit = self._restart_limit()
        deaths = self.window.count(time.monotonic(), limit[1] if limit else None)
        if self.pid:
            if self.ready:
                st = "ready"
            else:
                st = "starting" if self.expect_ready else "up"
            return PolicyState(st, self.failed_reason if st == "starting" else "", deaths)
        if self.fpid:
            return PolicyState("finishing", "", deaths)
        if self.failed_reason and not self.want_up:
            return PolicyState("failed", self.failed_reason, deaths)
        if self.waiting_for:
            return PolicyState("waiting", self.waiting_for, deaths)
        if self.oneshot_result is True:
            return PolicyState("done", "", deaths)
        return PolicyState("down", "", deaths)

    def publish_state(self) -> None:
        st = self.policy_state()
        if st == self.published:
            return
        self.published = st
        try:
            fd = os.open(STATE_FILE + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, format_state(st))
            finally:
                os.close(fd)
            os.rename(STATE_FILE + ".new", STATE_FILE)
        except OSError:
            pass

    # dependencies -------------------------------------------------------------
    def deps_ok(self) -> bool:
        """True if every dependency is satisfied; else arrange to retry and say why."""
        deps = read_lines(".", "dependencies")
        if not deps:
            return True
        self._unsubscribe_deps()
        problem = self._graph_problem()
        if problem:
            self._fail(problem)
            return False
        pending = [d for d in deps if not service_ready_for_dependents(os.path.join("..", d))]
        if not pending:
            self.waiting_for = ""
            return True
        self.waiting_for = "waiting for " + ", ".join(pending)
        for d in pending:
            try:
                rfd, path = fifodir.subscribe(os.path.join("..", d, "event"))
            except OSError as e:
                self.warn("cannot watch dependency %s: %s" % (d, e.strerror))
                continue
            self.dep_subs.append((rfd, path))
            self.loop.add_reader(rfd, self._dep_event)
        # Subscribing raced with the dependency coming up: look once more.
        if all(service_ready_for_dependents(os.path.join("..", d)) for d in pending):
            self._unsubscribe_deps()
            self.waiting_for = ""
            return True
        self.write_status()
        return False

    def _graph_problem(self) -> str:
        from .deps import check_graph, read_graph
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
        if self.want_up and not self.pid and not self.fpid and self.deps_ok():
            self.start()

    def _unsubscribe_deps(self) -> None:
        for rfd, path in self.dep_subs:
            self.loop.remove_reader(rfd)
            fifodir.unsubscribe(rfd, path)
        self.dep_subs = []

    # after a start -------------------------------------------------------------
    def after_spawn(self, notifies: bool) -> None:
        self.waiting_for = ""
        self.check_delay = None
        # A running oneshot is not ready for its dependents until it is done.
        checks = is_executable("check")
        self.expect_ready = notifies or checks or self.is_oneshot()
        if not notifies and checks:
            self.check_timer = self.loop.call_later(next_check_delay(None), self._run_check)
        if self.expect_ready:
            ms, why = read_uint(".", "timeout-ready", 0)
            if why:
                self.warn(why)
            if ms:
                self.ready_timer = self.loop.call_later(ms / 1000.0, lambda: self._not_ready(ms))

    def _run_check(self) -> None:
        self.check_timer = None
        if not self.pid or self.ready or self.cpid:
            return
        try:
            self.cpid = os.posix_spawn("./check", ["check", self.name], os.environ, setsigmask=())
        except OSError as e:
            self.warn("unable to spawn ./check: %s" % e.strerror)
            self._schedule_check()
            return
        pid = self.cpid

        def too_long() -> None:
            self.check_kill_timer = None
            if self.cpid == pid:
                os.kill(pid, 9)
        self.check_kill_timer = self.loop.call_later(CHECK_RUN_MAX, too_long)

    def on_check_end(self, st: int) -> None:
        self.cpid = 0
        if self.check_kill_timer is not None:
            self.check_kill_timer.cancel()
            self.check_kill_timer = None
        if not self.pid or self.ready:
            return
        if st == 0:
            self.mark_ready()
        else:
            self._schedule_check()

    def _schedule_check(self) -> None:
        if self.ready_timer is None and self.failed_reason.startswith("not ready"):
            return   # timed out: stop checking
        self.check_delay = next_check_delay(self.check_delay)
        self.check_timer = self.loop.call_later(self.check_delay, self._run_check)

    def _not_ready(self, ms: int) -> None:
        self.ready_timer = None
        if not self.pid or self.ready:
            return
        self.failed_reason = "not ready after %d ms" % ms
        self.warn("service not ready after %d ms (timeout-ready)" % ms)
        if self.check_timer is not None:
            self.check_timer.cancel()
            self.check_timer = None
        self.publish_state()
        if os.path.lexists("primary"):
            self._stop_container(1, "primary service not ready")

    def policy_run_died(self) -> None:
        """At each death of run: stop checks; count unrequested deaths."""
        for attr in ("check_timer", "ready_timer"):
            t = getattr(self, attr)
            if t is not None:
                t.cancel()
                setattr(self, attr, None)
        if self.failed_reason.startswith("not ready"):
            self.failed_reason = ""
        if self.is_oneshot():
            ok = self.wstat == 0
            self.oneshot_result = ok
            if not ok:
                self.failed_reason = "oneshot exited %s" % _describe(self.wstat)
                self.want_up = False
                self.pending_failure = True
            return
        if not self.want_up or self.last:
            return
        limit = self._restart_limit()
        if limit is None:
            return
        n = self.window.record(time.monotonic(), limit[1])
        if n > limit[0]:
            self.failed_reason = "restart limit: %d deaths within %g s, last %s" % (
                n, limit[1], _describe(self.wstat))
            self.warn(self.failed_reason + ": giving up")
            self.want_up = False
            self.pending_failure = True

    def down_event(self, permanent: bool) -> bytes:
        """Event letters at the end of a down sequence; runs failure actions."""
        failed = self.pending_failure
        self.pending_failure = False
        if failed:
            self._on_failure()
            if os.path.lexists("primary") and not self.last:
                code = 128 + (self.wstat & 0x7F) if self.wstat & 0x7F else (self.wstat >> 8) & 0xFF
                self._stop_container(code, self.failed_reason)
        return b"OD" if permanent or (failed and not self.is_oneshot()) else b"D"

    def _on_failure(self) -> None:
        target = read_lines(".", "on-failure")
        if not target:
            return
        try:
            write_control(os.path.join("..", target[0], "supervise", "control"), b"o")
        except (NotListening, NoSuchDir, OSError) as e:
            self.warn("on-failure: cannot start %s: %s" % (target[0], e))

    def clear_failure(self) -> None:
        self.failed_reason = ""
        self.pending_failure = False
        self.window.clear()

    def is_oneshot(self) -> bool:
        try:
            data = read_small(".", "type", 32)
        except OSError:
            return False
        return data is not None and parse_type(data) == "oneshot"

    def wants_restart(self) -> bool:
        return not self.is_oneshot()

    def _restart_limit(self) -> Optional[Tuple[int, float]]:
        try:
            data = read_small(".", "restart-limit", 64)
        except OSError:
            return None
        if data is None:
            return None
        lim = parse_restart_limit(data)
        if lim is None:
            self.warn("restart-limit: invalid value %r (want N SECONDS)" % data[:30])
        return lim

    def _fail(self, reason: str) -> None:
        if reason != self.failed_reason:
            self.warn(reason)
        self.failed_reason = reason
        self.want_up = False
        self.write_status()

    def _stop_container(self, code: int, why: str) -> None:
        """Write the tree's exit code to `../.s6-svscan/primary-exitcode` and
        tell the scanner (pysix-init's, or pysix-svscan's) to terminate.

        A number in the `primary` file replaces the service's own code (so a
        service whose failure is not an error can stop the tree with 0).
        """
        try:
            fixed = read_small(".", "primary", 16)
        except OSError:
            fixed = None
        if fixed and fixed.strip().isdigit():
            code = int(fixed.strip()) & 0xFF
        self.warn("%s (exit code %d): stopping everything" % (why, code))
        ctl = os.path.join("..", ".s6-svscan")
        try:
            with open(ctl + "/primary-exitcode.new", "w") as f:
                f.write("%d\n" % code)
            os.rename(ctl + "/primary-exitcode.new", ctl + "/primary-exitcode")
            write_control(ctl + "/control", b"t")
        except Exception as e:
            self.warn("cannot tell the scanner to stop (%s): not under a scanner?" % (e,))


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


def _describe(wstat: int) -> str:
    return "killed by signal %d" % (wstat & 0x7F) if wstat & 0x7F else "exit code %d" % ((wstat >> 8) & 0xFF)
