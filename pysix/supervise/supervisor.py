"""The per-service supervisor: s6-supervise 2.11 semantics in one event loop.

One `Supervisor` owns one service directory. It keeps `supervise/status`,
`death_tally` and the `event/` fifodir byte-compatible with s6 so the real
s6 tools can drive it. Where pysix deliberately differs from s6:

* restart: a service that was up for at least 1 s is restarted at once; one
  that dies sooner is started again no earlier than 1 s after its previous
  start (s6 waits 1 s after the end of `finish` unless the service had
  notified readiness);
* the readiness pipe is read non-blocking: bytes without a newline never
  freeze the supervisor;
* a missing `finish` is not forked: the `dD` events are sent at once;
* `run` failing to exec is retried after 1 s, doubling up to 10 s (s6: 10 s);
* a `run` left behind by a SIGKILLed supervisor is found through the status
  file and replaced, so two copies never run (s6 starts a second copy).
"""
from __future__ import annotations

import errno
import fcntl
import os
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)
import sys
import time

from . import fifodir
from .control import SIGNAL_LETTERS
from .loop import Loop, Timer
from .servicepolicy import ServicePolicy
from .trace import trace
from .servicedir import (DEFAULT_MAX_DEATH_TALLY, DEFAULT_TIMEOUT_FINISH, MAX_DEATH_TALLY,
                         read_down_signal, read_small, read_uint)
from .status import (FLAG_FINISHING, FLAG_PAUSED, FLAG_READY, FLAG_WANTUP, TALLY_SIZE, Status,
                     death_from_wstat, pack_status, pack_tally, split_wait, unpack_status,
                     unpack_tally)

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Optional

RESTART_MIN_INTERVAL = 1.0     # seconds between two starts of a crashing service
KILL_REPEAT = 5.0              # SIGKILL again every 5 s, as s6
EXEC_RETRY_MIN, EXEC_RETRY_MAX = 1.0, 10.0
ORPHAN_GRACE = 3.0             # seconds an orphaned run gets after its down-signal

# Signals a service must get with their default action, whatever we ignore.
_SIGDEF = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGQUIT,
           signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD)


class Fatal(Exception):
    """A start-up error: message printed, exit code given."""

    def __init__(self, code: int, msg: str):
        super().__init__(msg)
        self.code = code


class Supervisor(ServicePolicy):
    def __init__(self, name: str, loop: Loop, prog: str = "pysix-supervise") -> None:
        self.name = name
        self.loop = loop
        self.prog = prog
        self.pid = 0            # run
        self.fpid = 0           # finish
        self.want_up = True
        self.paused = False
        self.ready = True
        self.wstat = 0
        self.stamp = self.readystamp = time.time_ns()
        self.last = False       # exit once the service is down
        self.last_spawn = -1e9  # monotonic time of the last successful start
        self.exec_retry = EXEC_RETRY_MIN
        self.notif_fd = -1
        self.ctl_r = self.ctl_w = self.lock_fd = -1
        self.start_timer: Optional[Timer] = None
        self.kill_timer: Optional[Timer] = None
        self.finish_timer: Optional[Timer] = None
        self.orphan_fd = -1
        self.on_exit: Callable[[], None] = self._exit
        self.down_signal = signal.SIGTERM
        self.policy_init()
        self.gone = False       # our directory was removed: nothing to write any more

    # messages ------------------------------------------------------------
    def warn(self, msg: str) -> None:
        try:
            os.write(2, ("%s %s: warning: %s\n" % (self.prog, self.name, msg)).encode("utf-8", "replace"))
        except OSError:
            pass

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
        old = os.umask(0)
        try:
            for d in ("event", "supervise"):
                self._mkctldir(d)
            try:
                self.lock_fd = os.open("supervise/lock", os.O_WRONLY | os.O_NONBLOCK | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise Fatal(111, "unable to open supervise/lock: %s" % e.strerror)
            try:
                fcntl.lockf(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EACCES):
                    raise Fatal(100, "another instance of %s is already running (supervise/lock is held)" % self.prog)
                raise Fatal(111, "unable to lock supervise/lock: %s" % e.strerror)
            try:
                os.mkfifo("supervise/control", 0o600)
            except FileExistsError:
                import stat
                if not stat.S_ISFIFO(os.stat("supervise/control").st_mode):
                    raise Fatal(100, "supervise/control exists and is not a FIFO")
            self.ctl_r = os.open("supervise/control", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            self.ctl_w = os.open("supervise/control", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        finally:
            os.umask(old)
        fifodir.clean_legacy("event")
        old_status = self._read_old_status()
        try:
            os.close(os.open("supervise/death_tally", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666))
        except OSError as e:
            self.warn("unable to truncate supervise/death_tally: %s" % e.strerror)
        self.want_up = not os.path.lexists("down")
        self.loop.add_reader(self.ctl_r, self._on_control)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGINT):
            self.loop.add_signal(sig, self._on_signal)
        self.write_status()
        self.event(b"s")
        if old_status is not None and self._replace_orphan(old_status):
            return
        if self.want_up:
            self.start()

    def _mkctldir(self, d: str) -> None:
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
                self._mkctldir(target)
                return
            raise Fatal(111, "unable to mkdir %s: %s" % (d, e.strerror))
        if not os.path.isdir(d):
            raise Fatal(100, "%s exists and is not a directory" % d)

    def _read_old_status(self) -> Optional[Status]:
        try:
            data = read_small(".", "supervise/status", 64)
            return unpack_status(data) if data is not None else None
        except (OSError, ValueError):
            return None

    # the orphan left by a killed supervisor -------------------------------
    def _replace_orphan(self, old: Status) -> bool:
        """Stop a run/finish left alive by a previous supervisor; True if one was found."""
        pid = old.pid
        if not pid or not _is_our_orphan(pid, old.stamp):
            return False
        self.warn("previous instance left pid %d running: stopping it before starting a new one" % pid)
        try:
            self.orphan_fd = os.pidfd_open(pid)
        except OSError:
            return False
        self.down_signal = self._down_signal()
        _kill(pid, self.down_signal if not old.finishing else signal.SIGTERM)
        _kill(pid, signal.SIGCONT)
        self.loop.add_reader(self.orphan_fd, self._orphan_gone)
        self.kill_timer = self.loop.call_later(ORPHAN_GRACE, lambda: self._orphan_kill(pid))
        return True

    def _orphan_kill(self, pid: int) -> None:
        if self.orphan_fd >= 0:
            try:
                signal.pidfd_send_signal(self.orphan_fd, signal.SIGKILL)
            except OSError:
                pass
            self.kill_timer = self.loop.call_later(KILL_REPEAT, lambda: self._orphan_kill(pid))

    def _orphan_gone(self) -> None:
        self.loop.remove_reader(self.orphan_fd)
        os.close(self.orphan_fd)
        self.orphan_fd = -1
        self._cancel("kill_timer")
        if self.last:
            self.finish_exit()
        elif self.want_up:
            self.start()

    # status and events ----------------------------------------------------
    def status(self) -> Status:
        flags = 0
        if self.paused:
            flags |= FLAG_PAUSED
        if self.fpid:
            flags |= FLAG_FINISHING
        if self.want_up:
            flags |= FLAG_WANTUP
        if self.ready:
            flags |= FLAG_READY
        return Status(self.stamp, self.readystamp, self.pid or self.fpid, self.wstat, flags)

    def write_status(self) -> None:
        if self.gone:
            return
        try:
            fd = os.open("supervise/status.new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
            try:
                os.write(fd, pack_status(self.status()))
            finally:
                os.close(fd)
            os.rename("supervise/status.new", "supervise/status")
        except OSError as e:
            self.warn("unable to write supervise/status: %s" % e.strerror)
        self.publish_state()

    def event(self, letters: bytes) -> None:
        fifodir.notify("event", letters)

    # starting -------------------------------------------------------------
    def start(self) -> None:
        """Spawn ./run now (the caller has checked the state is DOWN)."""
        self._cancel("start_timer")
        if self.pid or self.fpid or self.orphan_fd >= 0:
            return
        if self._dir_gone() or not self.deps_ok():
            return
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
        try:
            pid = os.posix_spawn("./run", ["run", self.name], os.environ,
                                 file_actions=actions, setsid=True, setsigdef=_SIGDEF,
                                 setsigmask=())
        except OSError as e:
            for fd in {rfd, wfd, actions[0][1] if actions else -1}:
                if fd >= 0:
                    os.close(fd)
            delay = self.exec_retry
            self.exec_retry = min(EXEC_RETRY_MAX, self.exec_retry * 2)
            why = "not executable" if e.errno == errno.EACCES else e.strerror
            self.warn("unable to spawn ./run: %s - waiting %g seconds" % (why, delay))
            self.start_timer = self.loop.call_later(delay, self._start_if_wanted)
            return
        for fd in {wfd, actions[0][1] if actions else -1}:
            if fd >= 0:
                os.close(fd)
        self.exec_retry = EXEC_RETRY_MIN
        self.pid = pid
        self.last_spawn = time.monotonic()
        self.stamp = time.time_ns()
        self.ready = False
        if rfd >= 0:
            self.notif_fd = rfd
            self.loop.add_reader(rfd, self._on_notification)
        self.after_spawn(rfd >= 0)
        self.write_status()
        self.event(b"u")
        trace("service", name=self.name, event="spawn", run_pid=pid)

    def _start_if_wanted(self) -> None:
        self.start_timer = None
        if self.want_up and not self.pid and not self.fpid:
            self.start()

    def schedule_restart(self) -> None:
        if not self.want_up or self.pid or self.fpid or not self.wants_restart():
            return
        delay = self.last_spawn + RESTART_MIN_INTERVAL - time.monotonic()
        if delay <= 0:
            self.start()
        else:
            self._cancel("start_timer")
            self.start_timer = self.loop.call_later(delay, self._start_if_wanted)

    def _dir_gone(self) -> bool:
        """True (and exiting) when our service directory was deleted."""
        try:
            gone = os.stat(".").st_nlink == 0
        except OSError:
            gone = True
        if gone:
            if not self.last:
                self.warn("service directory was removed: exiting")
            self.gone = True
            self.last = True
            if not self.pid and not self.fpid:
                self.finish_exit()
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
        if self.ready_timer is not None:
            self.ready_timer.cancel()
            self.ready_timer = None
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
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid:
                self.on_run_death(st)
            elif pid == self.fpid:
                self.on_finish_end(st)
            elif pid == self.cpid:
                self.on_check_end(st)

    def on_run_death(self, st: int) -> None:
        try:
            self.gone = self.gone or os.stat(".").st_nlink == 0
        except OSError:
            self.gone = True
        self.pid = 0
        self.wstat = st & 0xFFFF
        self.paused = False
        self.ready = False
        self.stamp = time.time_ns()
        self._close_notification()
        self._cancel("kill_timer")
        self._record_death()
        trace("service", name=self.name, event="down", code=split_wait(self.wstat)[0], signal=self.wstat & 0x7F)
        self.policy_run_died()
        if (self.want_up and not self.last and os.path.lexists("primary")
                and self.wants_restart() and not os.path.lexists("restart-limit")):
            self._primary_died()
        code, sig = split_wait(self.wstat)
        if os.path.lexists("finish"):
            try:
                self.fpid = os.posix_spawn("./finish", ["finish", str(code), str(sig), self.name],
                                           os.environ, setsid=True, setsigdef=_SIGDEF,
                                           setsigmask=())
            except OSError as e:
                self.warn("unable to spawn ./finish: %s" % e.strerror)
        if self.fpid:
            self.write_status()
            self.event(b"d")
            tf, why = read_uint(".", "timeout-finish", DEFAULT_TIMEOUT_FINISH)
            if why:
                self.warn(why)
            if tf:
                self.finish_timer = self.loop.call_later(tf / 1000.0, self._finish_timeout)
            return
        self.ready = True
        self.readystamp = time.time_ns()
        self.write_status()
        self.event(b"d" + self.down_event(False))
        self._after_down()

    def _primary_died(self) -> None:
        """A `primary` service died unasked: the container stops with its code."""
        self.want_up = False
        code = 128 + (self.wstat & 0x7F) if self.wstat & 0x7F else (self.wstat >> 8) & 0xFF
        self._stop_container(code, "primary service died")

    def _finish_timeout(self) -> None:
        if self.fpid:
            self.warn("finish script lifetime reached maximum value - sending it a SIGKILL")
            _kill(self.fpid, signal.SIGCONT)
            _kill(self.fpid, signal.SIGKILL)
            self.finish_timer = self.loop.call_later(KILL_REPEAT, self._finish_timeout)

    def on_finish_end(self, st: int) -> None:
        self.fpid = 0
        self._cancel("finish_timer")
        self.ready = True
        self.readystamp = time.time_ns()
        permanent = (st & 0x7F) == 0 and (st >> 8) & 0xFF == 125
        if permanent:
            self.want_up = False
        self.write_status()
        self.event(self.down_event(permanent))
        self._after_down()

    def _after_down(self) -> None:
        if self.last or self._dir_gone():
            self.finish_exit()
        else:
            self.schedule_restart()

    def _record_death(self) -> None:
        if self.gone:
            return
        maxn, why = read_uint(".", "max-death-tally", DEFAULT_MAX_DEATH_TALLY)
        if why:
            self.warn(why)
        maxn = min(maxn, MAX_DEATH_TALLY)
        if not maxn:
            return
        try:
            old = read_small(".", "supervise/death_tally", (MAX_DEATH_TALLY + 1) * TALLY_SIZE) or b""
        except OSError:
            old = b""
        deaths = unpack_tally(old)[-(maxn - 1):] if maxn > 1 else []
        deaths.append(death_from_wstat(self.stamp, self.wstat))
        try:
            fd = os.open("supervise/death_tally.new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
            try:
                os.write(fd, pack_tally(deaths))
            finally:
                os.close(fd)
            os.rename("supervise/death_tally.new", "supervise/death_tally")
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
                if self.ctl_r < 0:
                    return

    def command(self, c: str) -> None:
        sig = SIGNAL_LETTERS.get(c)
        if sig is not None:
            if self.pid:
                _kill(self.pid, sig)
        elif c == "p":
            if self.pid:
                _kill(self.pid, signal.SIGSTOP)
                self.paused = True
                self.write_status()
        elif c == "c":
            if self.pid:
                _kill(self.pid, signal.SIGCONT)
                self.paused = False
                self.write_status()
        elif c == "r":
            if self.pid:
                _kill(self.pid, self._down_signal())
        elif c in "oO":
            self.want_up = False
            self.write_status()
            if c == "o" and not self.pid and not self.fpid:
                self.start()
        elif c in "dD":
            if c == "D":
                self._touch_down()
            self.take_down()
        elif c in "uU":
            if c == "U":
                self._unlink_down()
            self.clear_failure()
            self.want_up = True
            self.write_status()
            if not self.pid and not self.fpid:
                self.start()
        elif c == "Q":
            self._touch_down()
            self.want_up = False
            self.write_status()
        elif c == "x":
            self.exit_when_down()

    def take_down(self) -> None:
        """`d`: want down; signal a running service and arm timeout-kill."""
        self.want_up = False
        self._cancel("start_timer")
        self.waiting_for = ""
        self._unsubscribe_deps()
        if self.pid:
            _kill(self.pid, self._down_signal())
            _kill(self.pid, signal.SIGCONT)
            self.paused = False
            tk, why = read_uint(".", "timeout-kill", 0)
            if why:
                self.warn(why)
            if tk and self.kill_timer is None:
                self.kill_timer = self.loop.call_later(tk / 1000.0, self._kill_escalate)
        self.write_status()

    def _kill_escalate(self) -> None:
        self.kill_timer = None
        if self.pid:
            _kill(self.pid, signal.SIGKILL)
            self.kill_timer = self.loop.call_later(KILL_REPEAT, self._kill_escalate)

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

    def exit_when_down(self) -> None:
        """`x` / SIGHUP: exit now if down, else once the service has ended."""
        if not self.pid and not self.fpid and self.orphan_fd < 0:
            self.finish_exit()
            return
        self.last = True
        _stdio_to_null()

    # signals -----------------------------------------------------------------
    def _on_signal(self, sig: int) -> None:
        if sig == signal.SIGCHLD:
            self.reap()
        elif sig == signal.SIGTERM:
            if not self.pid and not self.fpid and self.orphan_fd < 0:
                self.finish_exit()
            elif self.pid:
                self.last = True
                self.take_down()
            elif not self.last:
                self.last = True
                _stdio_to_null()
        elif sig == signal.SIGHUP:
            self.exit_when_down()
        elif sig == signal.SIGQUIT:
            self.finish_exit()
        elif sig == signal.SIGINT:
            target = self.pid or self.fpid
            if target:
                try:
                    os.killpg(os.getpgid(target), signal.SIGINT)
                except OSError:
                    pass
            self.finish_exit()

    # exiting -----------------------------------------------------------------
    def finish_exit(self) -> None:
        self.event(b"x")
        self.on_exit()

    def _exit(self) -> None:
        try:
            sys.stdout.flush()
        except Exception:
            pass
        os._exit(0)

    def _cancel(self, attr: str) -> None:
        t = getattr(self, attr)
        if t is not None:
            t.cancel()
            setattr(self, attr, None)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _stdio_to_null() -> None:
    try:
        nul = os.open("/dev/null", os.O_RDWR)
        os.dup2(nul, 0)
        os.dup2(nul, 1)
        if nul > 1:
            os.close(nul)
    except OSError:
        pass


def _is_our_orphan(pid: int, stamp_ns: int) -> bool:
    """A pid from an old status is our orphan if it leads its own session and
    started no earlier than that status was written (guards against pid reuse)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return False
    if fields[0] == b"Z" or int(fields[3]) != pid:   # state, session
        return False
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat", "rb") as f:
            btime = next(int(l.split()[1]) for l in f if l.startswith(b"btime"))
        started = btime + int(fields[19]) / ticks
    except (OSError, ValueError, StopIteration):
        return True
    # The status stamp is written just after the spawn; allow clock slack.
    return started >= stamp_ns / 1e9 - 2.0


def run_supervisor(sd: str, name: Optional[str] = None, prog: str = "pysix-supervise") -> int:
    """Supervise `sd` until told to exit; the whole life of one supervisor process."""
    name = name if name is not None else sd
    try:
        os.chdir(sd)
    except OSError as e:
        _fatal(prog, name, "unable to chdir to %s: %s" % (sd, e.strerror))
        return 111
    loop = Loop()
    sup = Supervisor(name, loop, prog)
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
            sup.warn("internal error, carrying on: %r" % (e,))


def _fatal(prog: str, name: str, msg: str) -> None:
    try:
        os.write(2, ("%s %s: fatal: %s\n" % (prog, name, msg)).encode("utf-8", "replace"))
    except OSError:
        pass
