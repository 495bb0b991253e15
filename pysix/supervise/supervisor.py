"""The per-service supervisor: the I/O shell around the pure machine.

One `Supervisor` owns one service directory. `machine.step` decides; this
module spawns, signals, reads the control FIFO and keeps `supervise/status`,
`death_tally` and the `event/` fifodir byte-compatible with s6 so the real
s6 tools can drive it. Where pysix deliberately differs from s6:

* restart: a service that was up for at least 1 s is restarted at once; one
  that dies sooner is started again no earlier than 1 s after its previous
  start;
* the readiness pipe is read non-blocking: bytes without a newline never
  freeze the supervisor;
* a missing `finish` is not forked: the `dD` events are sent at once;
* `run` failing to exec is retried after 1 s, doubling up to 10 s (s6: 10 s);
* a `run` (or `finish`) left by a SIGKILLed supervisor is taken over: its
  identity record (identity.py) names it exactly, its death is seen through
  a pidfd, and the scanner that reaps it passes the wait status on;
* once the scanner stops the tree (`.s6-svscan/pysix-stopping`), nothing is
  started again, so each death runs `finish` once.
"""
import errno
import fcntl
import os
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)
import sys
import time
from stat import ST_NLINK

from .. import fifodir
from ..specialised import and_, call, getitem, isdir, ne, truediv
from ..atomic import write_atomic
from ..sendsig import kill, pidfd_kill
from ..ctldir import Busy, open_control, take_lock
from ..control import SIGNAL_LETTERS
from ..execspec import exec_wrapper
from ..loop import Loop, Timer
from ..trace import trace
from ..servicedir import (DEFAULT_MAX_DEATH_TALLY, DEFAULT_TIMEOUT_FINISH, MAX_DEATH_TALLY, lexists,
                          read_down_signal, read_small, read_uint)
from ..status import (FLAG_FINISHING, FLAG_PAUSED, FLAG_READY, FLAG_WANTUP, TALLY_SIZE, Status,
                      death_from_wstat, pack_status, pack_tally, split_wait, unpack_status,
                      unpack_tally)
from . import identity
from .policy import Policy
from ..killmode import Group
from ..sockets.activation import Activation
from .spawn import SpawnError, spawn
from .machine import (DOWN, EV_ADOPT_FINISH, EV_ADOPT_RUN, EV_DEADLINE, EV_DOWN, EV_EXIT,
                      EV_FINISH_DONE, EV_ONCE, EV_QUIT, EV_RUN_DIED, EV_SIGNAL, EV_SPAWN_LATER,
                      EV_SPAWNED, EV_TERM, EV_TREE_STOP, EV_UP, EV_VETO, EV_WANT_DOWN,
                      FX_DEADLINE, FX_DOWN_EVENT, FX_EVENT, FX_EXIT, FX_KILL, FX_START, FX_STATUS,
                      FX_STDIO_NULL, SIG_PAUSE, SIG_RESUME, UP, Core, step)

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Optional

EXEC_RETRY_MIN, EXEC_RETRY_MAX = 1.0, 10.0
REAPED_WAIT = 1.0          # seconds an adopted death waits for the scanner's wait status
TREE_CHECK_RETRY = 0.005   # a start waits while the scanner has unread control bytes ...
TREE_CHECK_MAX = 1.0       # ... for at most this long
UNKNOWN_WSTAT = 255 << 8   # an adopted process whose wait status nobody passed on
POKE = 0                   # control byte: the scanner wrote supervise/pysix-reaped
STOPPING = "../.s6-svscan/pysix-stopping"
SCAN_CONTROL = "../.s6-svscan/control"
SCAN_CTL_LOCK = "../.s6-svscan/pysix-ctl-lock"
_FIONREAD = 0x541B
# What reap() waits for: any child. The rehearsal (speed.py), living a
# supervisor in the scanner, sets its run's pid meanwhile: the scanner's
# other children are not its to reap. A global, not an attribute: one more
# attribute would take a Supervisor past the 30 keys 3.12 shares between
# instances, and every attribute access would stop being specialised.
WAIT_FOR = -1
# open and lock flags folded once: 3.12 never specialises | (speed.py)
_TRUNCATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
_PEEK = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_CLOEXEC
_TRY_SHARED = fcntl.LOCK_SH | fcntl.LOCK_NB
_from_bytes = int.from_bytes     # read once: reading a class's method is not specialised (specialised.py)

# Signals a service must get with their default action, whatever we ignore.
_SIGDEF = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGQUIT,
           signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD)


class Fatal(Exception):
    """A start-up error: message printed, exit code given."""

    def __init__(self, code: int, msg: str):
        super().__init__(msg)
        self.code = code


class Supervisor:
    def __init__(self, name: str, loop: "Loop", prog: str = "pysix-supervise") -> None:
        self.name = name
        self.loop = loop
        self.prog = prog
        self.core = call(Core)      # call(), getattr(): forms 3.12 specialises (specialised.py)
        self.pid = 0            # run (spawned or adopted)
        self.fpid = 0           # finish (spawned or adopted)
        self.adopted_fd = -1    # pidfd of an adopted run or finish (not our child)
        self.adopted_start = 0
        self.reaped_timer: Optional[Timer] = None
        self.ready = True
        self.wstat = 0
        self.stamp = self.readystamp = call(time.time_ns)
        self.exec_retry = EXEC_RETRY_MIN
        self.notif_fd = -1
        self.ctl_r = self.ctl_w = self.lock_fd = -1
        self.deadline: Optional[Timer] = None
        self.deferred_since = 0.0
        self.spawn_error = ""   # why run could not be started, for pysix-state
        self.verbosity = 0      # reports (report()): 1 deaths and failures, 2 starts and readiness
        self.spawned_at = 0.0
        self.on_exit: Callable[[], None] = getattr(self, "_exit")
        self.policy = call(Policy, self)
        self.gone = False       # our directory was removed: nothing to write any more
        self.cwd = ""

    # the machine's fields, as the policy knows them
    @property
    def want_up(self) -> bool:
        return self.core.want_up

    @want_up.setter
    def want_up(self, v: bool) -> None:
        self.core.want_up = v

    @property
    def last(self) -> bool:
        return self.core.last

    @property
    def paused(self) -> bool:
        return self.core.paused

    # messages ------------------------------------------------------------
    def report(self, level: int, msg: str) -> None:
        """What happens to the service, for the container's log: `web: up (pid 42)`."""
        if self.verbosity >= level:
            try:
                os.write(2, ("%s: %s\n" % (self.name, msg)).encode("utf-8", "replace"))
            except OSError:
                pass

    def warn(self, msg: str) -> None:
        try:
            os.write(2, ("%s %s: warning: %s\n" % (self.prog, self.name, msg)).encode("utf-8", "replace"))
        except OSError:
            pass

    # driving the machine ---------------------------------------------------
    def feed(self, event: int, arg: object = None) -> None:
        for fx in step(self.core, event, arg, call(time.monotonic)):    # call(): specialised.py
            self.apply(fx)

    def apply(self, fx: tuple) -> None:
        kind = fx[0]
        if kind == FX_STATUS:
            self.write_status()
        elif kind == FX_EVENT:
            self.event(fx[1])
        elif kind == FX_KILL:
            self._signal(fx[1])
        elif kind == FX_DEADLINE:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None
            if fx[1] is not None:
                self.deadline = self.loop.call_later(fx[1], self._on_deadline)
        elif kind == FX_START:
            self._start()
        elif kind == FX_DOWN_EVENT:     # join: 3.12 does not specialise bytes +
            self.event(b"".join((fx[1], self.policy.down_letters(fx[2]))))
        elif kind == FX_STDIO_NULL:
            _stdio_to_null()
        elif kind == FX_EXIT:
            self.finish_exit()

    def _on_deadline(self) -> None:
        self.deadline = None
        self.feed(EV_DEADLINE)

    def _signal(self, sig: int) -> None:
        """Signal run (UP) or finish (FINISH): through the pidfd when adopted."""
        target = self.pid or self.fpid
        if not target:
            return
        if self.adopted_fd >= 0:
            pidfd_kill(self.adopted_fd, sig)
        else:
            kill(target, sig)

    # set-up --------------------------------------------------------------
    def setup(self) -> None:
        """Steps 2-12 of s6-supervise's start-up; cwd is the service dir."""
        for fd in (0, 1):
            try:
                os.fstat(fd)
            except OSError:
                nul = os.open("/dev/null", os.O_RDWR)
                if nul != fd:
                    os.dup2(nul, fd)
                    os.close(nul)
        self.cwd = call(os.getcwd)     # call(), getattr(): specialised.py
        old = os.umask(0)
        try:
            for d in ("event", "supervise"):
                make_ctldir(d)
            try:
                self.lock_fd = take_lock("supervise/lock")
            except Busy:
                raise Fatal(100, "another instance of %s is already running (supervise/lock is held)" % self.prog)
            except OSError as e:
                raise Fatal(111, "unable to lock supervise/lock: %s" % e.strerror)
            try:
                self.ctl_r, self.ctl_w = open_control("supervise/control")
            except ValueError as e:
                raise Fatal(100, str(e))
            except OSError as e:
                raise Fatal(111, "unable to open supervise/control: %s" % e.strerror)
        finally:
            os.umask(old)
        fifodir.clean_legacy("event")
        old_status = self._read_old_status()
        try:
            os.close(os.open("supervise/death_tally", _TRUNCATE, 0o666))
        except OSError as e:
            self.warn("unable to truncate supervise/death_tally: %s" % e.strerror)
        self.activation, self.group = call(Activation, self), call(Group, self)   # socket, kill-mode
        self.core.want_up = self.activation.initial_want_up(not lexists("down"))
        self.core.down_signal = self._down_signal()
        self.loop.add_reader(self.ctl_r, getattr(self, "_on_control"))
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGINT):
            self.loop.add_signal(sig, getattr(self, "_on_signal"))
        # Nothing is written before what the predecessor left is known: a
        # status with pid 0 written now would hide a live run from our own
        # successor if we were killed in turn.
        self._adopt(identity.read_record(), old_status)
        if self.core.state == DOWN:
            self.write_status()
        self.event(b"s")
        if self.core.state == DOWN and self.core.want_up:
            self.apply((FX_START,))

    def _read_old_status(self) -> "Optional[Status]":
        try:
            data = read_small(".", "supervise/status", 64)
            return unpack_status(data) if data is not None else None
        except (OSError, ValueError):
            return None

    # taking over what a killed supervisor left ------------------------------
    def _adopt(self, rec: "Optional[tuple]", old: "Optional[Status]") -> None:
        """Take over the run or finish the identity record names, if it is alive."""
        if rec is None:
            return
        kind, pid, start, boot = rec
        if boot != identity.boot_id():
            self._forget_record()
            return
        if kind == "spawning":
            pid = self._find_unrecorded(pid, start)
            if not pid:
                self._forget_record()
                return
            kind, start = "run", identity.proc_stat(pid)[3]
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            fd = -1
        # Checked after pidfd_open: a pidfd names one process for ever, the
        # pid only while that process lives.
        if fd < 0 or not identity.matches((kind, pid, start, boot), boot, identity.proc_stat(pid)):
            if fd >= 0:
                os.close(fd)
            wst = identity.read_reaped(pid, start)
            self._forget_record()
            if kind == "run" and wst is not None:
                # It died while nobody supervised it; the scanner kept its status.
                self._adopted_run(pid, start, -1, old)
                self._adopted_dead(wst)
            return
        if kind == "run":
            self._adopted_run(pid, start, fd, old)
            self.warn("took over run (pid %d) left by the previous supervisor" % pid)
        else:
            self.fpid, self.adopted_fd, self.adopted_start = pid, fd, start
            self.ready = True
            if old is not None:
                self.wstat = old.wstat
            self.loop.add_reader(fd, self._on_adopted_exit)
            self.feed(EV_ADOPT_FINISH)
            self.warn("took over finish (pid %d) left by the previous supervisor" % pid)

    def _adopted_run(self, pid: int, start: int, fd: int, old: "Optional[Status]") -> None:
        self.pid, self.adopted_fd, self.adopted_start = pid, fd, start
        self.group.adopted(pid)     # its session, for its leftovers (kill-mode)
        if old is not None and old.pid == pid:
            self.stamp, self.readystamp, self.ready = old.stamp, old.readystamp, old.ready
        else:
            self.stamp, self.ready = time.time_ns(), False
        if fd >= 0:
            self.loop.add_reader(fd, self._on_adopted_exit)
        # Before the status it brings: that status writes pysix-state first,
        # which must already say what up means (a oneshot still running, a
        # check not passed). After it, "up" went out and a waiting dependent
        # woken by our `s` event started. A check can still say it is ready;
        # a notification pipe is gone.
        if not self.ready:
            self.policy.after_spawn(False)
        self.feed(EV_ADOPT_RUN)

    def _find_unrecorded(self, sup_pid: int, since: int) -> int:
        """The run a supervisor killed between spawn and record left, if any."""
        cands = identity.find_unrecorded(os.getppid(), since, self.cwd)
        if not cands:
            return 0
        try:
            here = os.readlink("/proc/%d/cwd" % cands[0]) == self.cwd
        except OSError:
            here = False
        return cands[0] if here or len(cands) == 1 else 0

    def _on_adopted_exit(self) -> None:
        """The adopted process ended (its pidfd is readable); the scanner reaps it."""
        self.loop.remove_reader(self.adopted_fd)
        wst = identity.read_reaped(self.pid or self.fpid, self.adopted_start)
        if wst is not None:
            self._adopted_dead(wst)
        elif self.reaped_timer is None:
            self.reaped_timer = self.loop.call_later(REAPED_WAIT, lambda: self._adopted_dead(None))

    def _on_poke(self) -> None:
        if self.adopted_fd >= 0 and self.reaped_timer is not None:
            wst = identity.read_reaped(self.pid or self.fpid, self.adopted_start)
            if wst is not None:
                self._adopted_dead(wst)

    def _adopted_dead(self, wst: "Optional[int]") -> None:
        if self.reaped_timer is not None:
            self.reaped_timer.cancel()
            self.reaped_timer = None
        if self.adopted_fd >= 0:
            self.loop.remove_reader(self.adopted_fd)
            os.close(self.adopted_fd)
        self.adopted_fd = -1
        if wst is None:
            self.warn("the wait status of adopted pid %d is unknown" % (self.pid or self.fpid))
        st = UNKNOWN_WSTAT if wst is None else wst
        if self.pid:
            self.on_run_death(st, known=wst is not None)
        elif self.fpid:
            self.on_finish_end(st)

    # status and events ----------------------------------------------------
    def status(self) -> "Status":
        core = self.core
        flags = 0     # distinct bits, each added once: `+` is specialised, `|` not (specialised.py)
        if core.paused:
            flags += FLAG_PAUSED
        if self.fpid:
            flags += FLAG_FINISHING
        if core.want_up:
            flags += FLAG_WANTUP
        if self.ready:
            flags += FLAG_READY
        return call(Status, self.stamp, self.readystamp, self.pid or self.fpid, self.wstat, flags)

    def write_status(self) -> None:
        if self.gone:
            return
        if self.pid:
            # A dependent reads pysix-state, and s6's status only when there
            # is none: "up" there must not come before the state saying what
            # up means here (a oneshot still running, a check not yet passed).
            self.policy.write_now()
        try:
            write_atomic("supervise/status", pack_status(self.status()), 0o666)
        except OSError as e:
            if e.errno == errno.ENOENT and self._dir_gone():
                return
            self.warn("unable to write supervise/status: %s" % e.strerror)
        self.policy.publish()

    def _record(self, kind: str, pid: int, start: int) -> None:
        """Say who runs before anything else can happen to us (see identity.py)."""
        if self.gone:
            return
        try:
            write_atomic(identity.RECORD, identity.format_record(kind, pid, start, identity.boot_id()))
        except OSError as e:
            if not self._dir_gone():
                self.warn("unable to write %s: %s" % (identity.RECORD, e.strerror))

    def _forget_record(self) -> None:
        for f in (identity.RECORD, identity.REAPED):
            try:
                os.unlink(f)
            except OSError:
                pass

    def event(self, letters: bytes) -> None:
        # A dependent that hears this reads our pysix-state: write it first
        # ('s', the supervisor's own start, says nothing a dependent reads).
        if ne(letters, b"s"):     # ne(): specialised.py
            self.policy.flush()
        fifodir.notify("event", letters)

    # starting -------------------------------------------------------------
    def start(self) -> None:
        """Start now if down (the policy calls this once dependencies are met)."""
        if self.core.state == DOWN:
            self.apply((FX_START,))

    def _start(self) -> None:
        """Spawn ./run; the machine hears SPAWNED, SPAWN_LATER, VETO or TREE_STOP."""
        if self.pid or self.fpid:
            return
        wait = self._tree_check()
        if wait is None:
            self.feed(EV_TREE_STOP)
            return
        if wait:
            self.feed(EV_SPAWN_LATER, wait)
            return
        if self._dir_gone():
            self.feed(EV_EXIT)
            return
        if not self.policy.may_start() or not self.activation.may_start():
            self.feed(EV_VETO)
            return
        self.group.end()    # what the previous run left is gone before the next one starts
        notif, why = read_uint(".", "notification-fd", None)
        if why:
            self.warn(why + "; readiness notification disabled")
        if notif is not None and notif > 0x7FFFFFFF:
            self.warn("notification-fd: value too large; readiness notification disabled")
            notif = None
        actions = []
        rfd = wfd = -1
        if notif is not None:
            rfd, wfd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            src = wfd
            if wfd == notif:
                src = os.dup(wfd)  # dup2 onto itself would keep close-on-exec
            actions.append((os.POSIX_SPAWN_DUP2, src, notif))
        self._record("spawning", call(os.getpid), identity.ticks_now())    # call(): specialised.py
        try:
            # `user`, `group`, `working-directory`: run goes through pysix-unit-exec
            wrap = exec_wrapper(".")
            prog, args = ("./run", [self.name]) if wrap is None else (wrap[0], wrap[1:] + ["./run", self.name])
            prog, args, listen = self.activation.argv(prog, args, notif, self.group.prelude())   # fds 3.., LISTEN_PID, cgroup
            pid = call(spawn, prog, args, file_actions=[*actions, *listen], setsid=True,
                       setsigdef=_SIGDEF, setsigmask=())
        except SpawnError as e:
            for fd in {rfd, wfd, actions[0][1] if actions else -1}:
                if fd >= 0:
                    os.close(fd)
            self._forget_record()
            delay = self.exec_retry
            self.exec_retry = min(EXEC_RETRY_MAX, self.exec_retry * 2)
            if e.strerror != self.spawn_error:
                self.warn("unable to spawn %s - retrying every %g to %g seconds" % (
                    e.strerror, delay, EXEC_RETRY_MAX))
            self.spawn_error = e.strerror
            self.policy.publish()
            self.feed(EV_SPAWN_LATER, delay)
            return
        self.spawn_error = ""
        self.group.started(pid)
        st = identity.proc_stat(pid)
        self._record("run", pid, st[3] if st else 0)
        other = actions[0][1] if actions else -1
        for fd in ((wfd, other) if other != wfd else (wfd,)):     # a tuple: iterating a set is not specialised
            if fd >= 0:
                os.close(fd)
        self.exec_retry = EXEC_RETRY_MIN
        self.pid = pid
        self.stamp = call(time.time_ns)
        self.ready = False
        if rfd >= 0:
            self.notif_fd = rfd
            self.loop.add_reader(rfd, getattr(self, "_on_notification"))
        self.policy.after_spawn(rfd >= 0)
        self.spawned_at = call(time.monotonic)
        self.report(2, f"up (pid {pid:d})")
        self.feed(EV_SPAWNED, pid)
        call(trace, "service", name=self.name, event="spawn", run_pid=pid)

    def _tree_check(self) -> "Optional[float]":
        """0: go; None: the tree is stopping; else seconds to wait and look again.

        A finish that ran `s6-svscanctl -t` wrote to the scanner's FIFO before
        it exited, so while those bytes are unread, or the scanner is still
        acting on them (it holds pysix-ctl-lock meanwhile), this start waits.
        """
        if lexists(STOPPING):
            return None
        try:
            fd = os.open(SCAN_CONTROL, _PEEK)
        except OSError:
            return 0.0      # no scanner beside us
        try:
            pending = call(_from_bytes, fcntl.ioctl(fd, _FIONREAD, b"\0\0\0\0"), sys.byteorder)
        except OSError:
            pending = 0
        finally:
            os.close(fd)
        busy = pending > 0
        if not busy:
            try:
                lfd = os.open(SCAN_CTL_LOCK, _READ)
            except OSError:
                lfd = -1
            if lfd >= 0:
                try:
                    fcntl.flock(lfd, _TRY_SHARED)
                except OSError:
                    busy = True
                finally:
                    os.close(lfd)
            if not busy and lexists(STOPPING):
                return None
        now = call(time.monotonic)     # call(): specialised.py
        if not busy:
            self.deferred_since = 0.0
            return 0.0
        if not self.deferred_since:
            self.deferred_since = now
        elif now - self.deferred_since > TREE_CHECK_MAX:
            self.deferred_since = 0.0
            return 0.0      # a scanner that never reads its FIFO does not hold us for ever
        return TREE_CHECK_RETRY

    def _dir_gone(self) -> bool:
        """True (and exiting once down) when our service directory was deleted."""
        try:
            gone = getitem(os.stat("."), ST_NLINK) == 0    # getitem(): specialised.py
        except OSError:
            gone = True
        if gone:
            if not self.core.last:
                self.warn("service directory was removed: exiting")
            self.gone = True
            self.core.last = True
        return gone

    # readiness --------------------------------------------------------------
    def _on_notification(self) -> None:
        try:
            data = os.read(self.notif_fd, 512)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data and b"\n" not in data:
            return  # keep listening; never block on a partial line
        if data:
            self.mark_ready()
        self._close_notification()

    def mark_ready(self) -> None:
        """Readiness, from a notification-fd newline or a successful ./check."""
        self.ready = True
        self.readystamp = time.time_ns()
        self.policy.on_ready()
        if self.spawned_at:
            self.report(2, "ready after %.1f s" % (time.monotonic() - self.spawned_at))
        self.write_status()
        self.event(b"U")
        trace("service", name=self.name, event="ready", run_pid=self.pid)

    def _close_notification(self) -> None:
        if self.notif_fd >= 0:
            self.loop.remove_reader(self.notif_fd)
            os.close(self.notif_fd)
            self.notif_fd = -1

    # deaths -----------------------------------------------------------------
    def reap(self) -> None:
        while True:
            try:
                pid, st = os.waitpid(WAIT_FOR, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.adopted_fd >= 0:
                pass            # an adopted pid is never our child
            elif pid == self.pid:
                self.on_run_death(st)
            elif pid == self.fpid:
                self.on_finish_end(st)
            if pid == self.policy.cpid:
                self.policy.on_check_end(st)

    def on_run_death(self, st: int, known: bool = True) -> None:
        """Bookkeeping of a death, then finish, then the machine decides."""
        # (what follows, to the next feed, is written as 3.12 specialises it:
        # and_, call, positional arguments; speed.py)
        self._dir_gone()
        self.pid = 0
        self.wstat = and_(st, 0xFFFF)
        self.ready = False
        self.stamp = call(time.time_ns)
        self._close_notification()
        self.group.died(self.core.last or self.core.tree_stop)
        self._record_death()
        code, sig = split_wait(self.wstat)
        call(trace, "service", name=self.name, event="down", code=code, signal=sig)
        self.core.hold = self.policy.at_death()
        self._report_death(known)
        if not known:
            code, sig = -1, 0
        tf = None
        if lexists("finish"):
            try:
                self.fpid = spawn("./finish", [str(code), str(sig), self.name], setsid=True,
                                  setsigdef=_SIGDEF, setsigmask=())
            except SpawnError as e:
                self.warn("unable to spawn %s" % e.strerror)
        if self.fpid:
            fst = identity.proc_stat(self.fpid)
            self._record("finish", self.fpid, fst[3] if fst else 0)
            tf = self._seconds("timeout-finish", DEFAULT_TIMEOUT_FINISH)
        else:
            self._forget_record()
            self.ready = True
            self.readystamp = call(time.time_ns)
        self.core.restart_delay = self.policy.restart_delay()
        self.feed(EV_RUN_DIED, tf)

    def _report_death(self, known: bool) -> None:
        core = self.core
        if self.verbosity < 1:
            return
        if not known:
            how = "ended (status unknown)"
        elif self.wstat & 0x7F:
            from ..signames import signal_name
            how = "killed by %s" % signal_name(self.wstat & 0x7F)
        else:
            how = "exited with code %d" % ((self.wstat >> 8) & 0xFF)
        if self.spawned_at:
            how += " after %.1f s" % (time.monotonic() - self.spawned_at)
        if not core.want_up or core.last or core.tree_stop:
            if core.want_up or self.policy.failed_reason:   # asked to stop: no news
                self.report(1, how)
            return
        if core.hold:
            self.report(1, how + "; not restarted")
            return
        delay = core.last_spawn + 1.0 - time.monotonic()
        self.report(1, how + ("; restarting in %.1f s" % delay if delay > 0.05 else "; restarting"))

    def on_finish_end(self, st: int) -> None:
        self._dir_gone()
        self.fpid = 0
        self._forget_record()
        self.ready = True
        self.readystamp = time.time_ns()
        self.feed(EV_FINISH_DONE, (st & 0x7F) == 0 and (st >> 8) & 0xFF == 125)

    def _record_death(self) -> None:
        if self.gone:
            return
        maxn, why = read_uint(".", "max-death-tally", DEFAULT_MAX_DEATH_TALLY)
        if why:
            self.warn(why)
        if maxn > MAX_DEATH_TALLY:     # not min(): variable arguments, never specialised
            maxn = MAX_DEATH_TALLY
        if not maxn:
            return
        try:
            old = read_small(".", "supervise/death_tally", (MAX_DEATH_TALLY + 1) * TALLY_SIZE) or b""
        except OSError:
            old = b""
        deaths = unpack_tally(old)[-(maxn - 1):] if maxn > 1 else []
        deaths.append(death_from_wstat(self.stamp, self.wstat))
        try:
            write_atomic("supervise/death_tally", pack_tally(deaths), 0o666)
        except OSError as e:
            self.warn("unable to write supervise/death_tally: %s" % e.strerror)

    # commands -----------------------------------------------------------------
    def _on_control(self) -> None:
        while True:
            try:
                data = os.read(self.ctl_r, 4096)
            except BlockingIOError:
                return
            except OSError as e:
                self.warn("unable to read supervise/control: %s" % e.strerror)
                return
            if not data:
                return
            for b in data:
                self.command(chr(b))
                if self.core.state == 3:    # EXITED
                    return

    def command(self, c: str) -> None:
        sig = SIGNAL_LETTERS.get(c)
        if sig is not None:
            self.feed(EV_SIGNAL, sig)
        elif c == "p":
            self.feed(EV_SIGNAL, SIG_PAUSE)
        elif c == "c":
            self.feed(EV_SIGNAL, SIG_RESUME)
        elif c == "r":
            self.core.down_signal = self._down_signal()
            self.feed(EV_SIGNAL, self.core.down_signal)
        elif c == "o":
            self.feed(EV_ONCE)
        elif c in "dD":
            if c == "D":
                self._touch_down()
            self._stop_waiting()
            self.core.down_signal = self._down_signal()
            self.feed(EV_DOWN, self._timeout_kill())
        elif c in "uU":
            if c == "U":
                self._unlink_down()
            self.policy.clear_failure()
            self.feed(EV_UP)
        elif c in "OQ":
            if c == "Q":
                self._touch_down()
            self.feed(EV_WANT_DOWN)
        elif c == "x":
            self.feed(EV_EXIT)
        elif ord(c) == POKE:
            self._on_poke()

    def take_down(self) -> None:
        """As `d`: want down, and signal run if it is up."""
        self._stop_waiting()
        self.core.down_signal = self._down_signal()
        self.feed(EV_DOWN, self._timeout_kill())

    def _stop_waiting(self) -> None:
        """A down request ends waiting for dependencies."""
        self.policy.stop_waiting()
        self.activation.stop_waiting()

    def _timeout_kill(self) -> float:
        return self._seconds("timeout-kill", 0)

    def _seconds(self, name: str, default: int) -> float:
        """A file of milliseconds, in seconds (0: none); a bad value warned of."""
        ms, why = read_uint(".", name, default)
        if why:
            self.warn(why)
        return truediv(ms or 0, 1000.0)     # 3.12 specialises no `/` (specialised.py)

    def _down_signal(self) -> int:
        sig, why = read_down_signal(".")
        if why:
            self.warn(why)
        return sig

    def _touch_down(self) -> None:
        try:
            os.close(os.open("down", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666))
        except OSError as e:
            self.warn("unable to create down: %s" % e.strerror)

    def _unlink_down(self) -> None:
        try:
            os.unlink("down")
        except FileNotFoundError:
            pass
        except OSError as e:
            self.warn("unable to remove down: %s" % e.strerror)

    # signals -----------------------------------------------------------------
    def _on_signal(self, sig: int) -> None:
        if sig == signal.SIGCHLD:
            self.reap()
        elif sig == signal.SIGTERM:
            self._stop_waiting()
            if self.core.state == UP:
                self.core.down_signal = self._down_signal()
            self.feed(EV_TERM, self._timeout_kill())
        elif sig == signal.SIGHUP:
            self.feed(EV_EXIT)
        elif sig == signal.SIGQUIT:
            self.feed(EV_QUIT)
        elif sig == signal.SIGINT:
            target = self.pid or self.fpid
            if target:
                try:
                    os.killpg(os.getpgid(target), signal.SIGINT)
                except OSError:
                    pass
            self.feed(EV_QUIT)

    # exiting -----------------------------------------------------------------
    def finish_exit(self) -> None:
        self.policy.flush()
        self.group.leave()
        self.event(b"x")
        call(self.on_exit)      # a call site that does not care what it calls (the rehearsal's is not _exit)

    def _exit(self) -> None:
        try:
            sys.stdout.flush()
        except Exception:
            pass
        os._exit(0)



def _stdio_to_null() -> None:
    try:
        nul = os.open("/dev/null", os.O_RDWR)
        os.dup2(nul, 0)
        os.dup2(nul, 1)
        if nul > 1:
            os.close(nul)
    except OSError:
        pass


def make_ctldir(d: str) -> None:
    """`event` (a FIFO dir) or `supervise`, as s6-supervise makes them. A
    function, not a method: read as a supervisor's method here, it was
    deoptimised in every child (a page of its code written; specialised.py)."""
    try:
        if d == "event":
            fifodir.make_fifodir(d)
        else:
            os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except NotADirectoryError:
        raise Fatal(100, "%s exists and is not a directory" % d)
    except OSError as e:
        if e.errno == errno.ENOENT and os.path.islink(d):
            # A dangling symlink: create its target, as s6 does.
            target = os.path.join(os.path.dirname(d), os.readlink(d))
            make_ctldir(target)
            return
        raise Fatal(111, "unable to mkdir %s: %s" % (d, e.strerror))
    if not isdir(d):
        raise Fatal(100, "%s exists and is not a directory" % d)


def run_supervisor(sd: str, name: "Optional[str]" = None, prog: str = "pysix-supervise",
                   verbosity: int = 0) -> int:
    """Supervise `sd` until told to exit; the whole life of one supervisor process."""
    name = name if name is not None else sd
    try:
        os.chdir(sd)
    except OSError as e:
        _fatal(prog, name, "unable to chdir to %s: %s" % (sd, e.strerror))
        return 111
    loop = Loop()
    sup = Supervisor(name, loop, prog)
    sup.verbosity = verbosity
    try:
        sup.setup()
    except Fatal as f:
        _fatal(prog, name, str(f))
        return f.code
    # A scanner forks us with signals blocked so none is lost before the
    # handlers exist; they are now.
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    while True:
        try:
            loop.run()
        except Exception as e:  # a bug must not leave the service unsupervised
            if isinstance(e, OSError) and e.errno in (errno.EMFILE, errno.ENFILE):
                sup.warn("out of file descriptors (%s): carrying on" % e.strerror)
            else:
                sup.warn("internal error, carrying on: %r" % (e,))


def _fatal(prog: str, name: str, msg: str) -> None:
    try:
        os.write(2, ("%s %s: fatal: %s\n" % (prog, name, msg)).encode("utf-8", "replace"))
    except OSError:
        pass
