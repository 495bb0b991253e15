"""The scanner: one forked supervisor per service directory of a scan dir.

What s6-svscan 2.11 does (spec section 11), plus:
* new and removed service dirs are noticed at once (dnotify, see dirnotify);
* supervisors are forked from this process (no new interpreter) and name
  themselves `sv:NAME` in /proc/PID/comm;
* a supervisor that dies is restarted at once if it lived 1 s, else 1 s
  after its previous start;
* with `prefix=True`, the output of services without `log/` goes through
  the scanner, which writes whole lines prefixed with the service name;
* a supervisor still running from a previous scanner (its lock is held) is
  waited for, not duplicated, and a logged service gets back the pipe its
  live processes already share, so a scanner restart loses no logging;
* when it reaps a process that a dead supervisor's identity record names,
  it passes the wait status on to the supervisor that took it over;
* a stop of the tree is marked on disk (`.s6-svscan/pysix-stopping`) before
  anything else, and control bytes are read under `pysix-ctl-lock`, so no
  supervisor restarts its service once a stop was asked for.

The scanner is embeddable: pysix-svscan wraps it with s6-svscan's signals,
pysix-init with the container stages.
"""
import gc
import os
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)
import stat
import time

from . import scanlock, speed
from .control import SVSCAN_LETTERS, write_control
from .ctldir import open_control
from .lockprobe import lock_holder
from .loop import Loop, Timer
from . import fifodir
from .outqueue import OutQueue
from .prefix import Prefixer
from .reaper import Reaper
from .stoporder import OrderedStop
from .atomic import write_atomic
from .sendsig import kill as _kill, pidfd_kill
from .supervise import identity
from .sockets.handoff import close_except, scanner_listeners

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Dict, List, Optional, Tuple

CTLDIR = ".s6-svscan"
RESPAWN_MIN_INTERVAL = 1.0
RESCAN_ON_ERROR = 3.0
STOPPING = "pysix-stopping"      # in CTLDIR: the tree is stopping (supervisors read it)
CTL_LOCK = "pysix-ctl-lock"      # in CTLDIR: held while control bytes are acted on
STOP_LETTERS = "tiqb"
REAPED_KEEP = 64                 # unknown pids reaped before their supervisor's exit was seen
# Signals a freshly forked supervisor must not lose before its handlers exist.
_BLOCK = {signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGINT}
# What a forked supervisor puts back to default, made once here: built in
# the child, each name looked up missed the type cache there (a page each).
_CHILD_DEFAULTS = tuple(_BLOCK | {signal.SIGALRM, signal.SIGABRT, signal.SIGUSR1, signal.SIGUSR2,
                                  signal.SIGPWR, signal.SIGWINCH, signal.SIGIO})
_DFL = signal.SIG_DFL

# Kill modes: (all services?, signal to main supervisor, signal to log supervisor)
MODE_INACTIVE = (False, signal.SIGTERM, signal.SIGHUP)        # n, h
MODE_INACTIVE_ALL = (False, signal.SIGTERM, signal.SIGTERM)   # N
MODE_TERMINATE = (True, signal.SIGTERM, signal.SIGHUP)        # t, i
MODE_QUIT = (True, signal.SIGTERM, signal.SIGTERM)            # q


class Service:
    __slots__ = ("name", "key", "active", "logged", "pipe_r", "pipe_w", "pid", "log_pid",
                 "started", "log_started", "timer", "log_timer", "err_r", "err_w", "out", "err", "foreign",
                 "evsub", "listen")

    def __init__(self, name: str, key: "Tuple[int, int]") -> None:
        self.name = name
        self.key = key
        self.active = True
        self.logged = False
        self.pipe_r = self.pipe_w = -1
        self.err_r = self.err_w = -1    # prefixed stderr (stdout is pipe_r/pipe_w)
        self.pid = self.log_pid = 0
        self.started = self.log_started = -1e9
        self.timer: Optional[Timer] = None
        self.log_timer: Optional[Timer] = None
        self.out: Optional[Prefixer] = None
        self.err: Optional[Prefixer] = None
        self.evsub: Optional[Tuple[int, str]] = None   # prefixed: our subscription to event/
        # pidfds of supervisors left by a previous scanner, waited for: {log?: fd}
        self.foreign: Dict[bool, int] = {}
        self.listen: List[int] = []     # listeners held for the service's life (sockets/)


class Scanner:
    def __init__(self, loop: "Loop", reaper: "Reaper", scandir: str, *, prefix: bool = False,
                 prog: str = "pysix-svscan") -> None:
        self.loop = loop
        self.reaper = reaper
        self.scandir = os.path.abspath(scandir)
        self.prefix = prefix
        self.prog = prog
        self.services: Dict[Tuple[int, int], Service] = {}
        self.terminating = False
        self.on_terminated: Callable[[], None] = lambda: None
        self.on_letter: Callable[[str], bool] = lambda c: False
        self.rescan_timer: Optional[Timer] = None
        self.scan_pending = False
        self.masked = False     # inside scan(): spawns wait in `batch`, forked together at its end
        self.batch: List[Tuple[Service, bool]] = []
        self.prepared = False   # speed.prepare_fork() ran: at the first fork, so a tree with none pays nothing
        self.watch = None
        self.ctl_r = self.ctl_w = self.lock_fd = -1
        self.spawn_hook: Callable[[str], None] = lambda name: None
        # Seconds a service gets after its supervisor is told to stop, before
        # its run is SIGKILLed (None: wait for ever, as s6-svscan does).
        self.stop_grace: Optional[float] = None
        self.stopper = None
        self.by_name: Dict[str, List[Service]] = {}
        self.live = 0           # supervisors and loggers forked and not yet reaped
        self.stop_mode = MODE_TERMINATE
        self.ctl_lock = -1
        self.outs: Dict[int, OutQueue] = {}    # prefixed output to fds 1 and 2
        # What supervisors tell the container's log (pysix-init: its VERBOSITY;
        # a bare scanner says nothing, as s6-svscan).
        self.verbosity = 0
        self.throttled = False
        # pid -> (service dir, start ticks): runs and finishes whose supervisor died
        self.orphans: Dict[int, Tuple[str, int]] = {}
        self.reaped_unknown: Dict[int, int] = {}
        reaper.on_unknown = self._on_unknown_reaped

    # messages ------------------------------------------------------------
    def warn(self, msg: str) -> None:
        _say("%s: warning: %s\n" % (self.prog, msg))

    # start-up ------------------------------------------------------------
    def open_control(self) -> None:
        """`.s6-svscan/` with its lock and control FIFO; raises OSError/RuntimeError."""
        d = os.path.join(self.scandir, CTLDIR)
        if self.lock_fd < 0:    # pysix-init takes it before stage 1 changes anything
            self.lock_fd = scanlock.take(self.scandir)
        try:
            self.ctl_r, self.ctl_w = open_control(d + "/control")
        except ValueError as e:
            raise RuntimeError(str(e)) from None
        try:
            os.unlink(d + "/" + STOPPING)    # left by a previous run
        except FileNotFoundError:
            pass
        self.ctl_lock = os.open(d + "/" + CTL_LOCK, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        self.loop.add_reader(self.ctl_r, self._on_control)

    def mark_stopping(self) -> None:
        """Tell every supervisor, through the disk, that nothing starts again."""
        try:
            os.close(os.open(os.path.join(self.scandir, CTLDIR, STOPPING),
                             os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644))
        except OSError as e:
            self.warn("unable to mark the stop in %s: %s" % (CTLDIR, e.strerror))

    def start(self) -> None:
        """Scan now; watch the scan dir for changes once every supervisor is forked."""
        from .cgroup import prepare_tree
        prepare_tree(self.scandir, self.warn)     # memory accounting for the services' cgroups
        self.scan()
        self.loop.call_later(0, self._start_watching)

    def _start_watching(self) -> None:
        if self.terminating:
            return
        from .dirnotify import SIGNAL, DirNotify
        self.loop.add_signal(SIGNAL, lambda sig: self.request_scan())   # before any can come
        try:
            self.watch = DirNotify(self.scandir)
        except OSError as e:
            self.warn("cannot watch %s for changes (%s): use pysix-svscanctl -a to rescan" % (
                self.scandir, e.strerror))
            return
        self.request_scan()  # whatever changed between the first scan and now

    def request_scan(self) -> None:
        if not self.scan_pending:
            self.scan_pending = True
            self.loop.call_later(0, self._deferred_scan)

    def _deferred_scan(self) -> None:
        self.scan_pending = False
        self.scan()

    # scanning --------------------------------------------------------------
    def scan(self) -> None:
        if self.terminating:
            return
        # One flush, one signal mask and one tight loop for the whole batch of
        # forks (see _fork_all).
        _flush_stdio()
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCK)
        self.masked = True
        try:
            self._scan()
        finally:
            self.masked = False
            batch, self.batch = self.batch, []
            try:
                if batch:
                    self._fork_all(batch)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def _scan(self) -> None:
        try:
            names = sorted(os.listdir(self.scandir))
        except OSError as e:
            self.warn("unable to read %s: %s" % (self.scandir, e.strerror))
            self._rescan_later()
            return
        seen = set()
        errors = False
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(self.scandir, name)
            try:
                st = os.stat(path)
            except OSError as e:
                self.warn("unable to stat %s: %s" % (path, e.strerror))
                errors = True
                continue
            if not stat.S_ISDIR(st.st_mode):
                continue
            key = (st.st_dev, st.st_ino)
            seen.add(key)
            svc = self.services.get(key)
            if svc is None:
                svc = self._new_service(name, key)
                if svc is None:
                    errors = True
                    continue
            svc.name = name
            svc.active = True
            self._ensure_running(svc)
        for key, svc in list(self.services.items()):
            if key not in seen:
                if svc.active:
                    # Its directory is gone: the supervisor takes the service
                    # down and exits; the logger drains its pipe, then exits.
                    svc.active = False
                    if svc.pid:
                        _kill(svc.pid, signal.SIGTERM)
                    if svc.log_pid:
                        _kill(svc.log_pid, signal.SIGHUP)
                self._forget_if_done(svc)
        if errors:
            self._rescan_later()

    def _rescan_later(self) -> None:
        if self.rescan_timer is None:
            def again() -> None:
                self.rescan_timer = None
                self.scan()
            self.rescan_timer = self.loop.call_later(RESCAN_ON_ERROR, again)

    def _new_service(self, name: str, key: "Tuple[int, int]") -> "Optional[Service]":
        svc = Service(name, key)
        path = os.path.join(self.scandir, name)
        svc.logged = os.path.isdir(path + "/log")
        svc.listen = scanner_listeners(path, self.warn)
        if svc.logged or self.prefix:
            try:
                old = _live_log_pipe(path) if svc.logged else None
                svc.pipe_r, svc.pipe_w = old if old else os.pipe2(os.O_CLOEXEC)
            except OSError as e:
                self.warn("unable to create a pipe for %s: %s" % (name, e.strerror))
                return None
            if not svc.logged:
                try:
                    svc.err_r, svc.err_w = os.pipe2(os.O_CLOEXEC)
                except OSError as e:
                    self.warn("unable to create a pipe for %s: %s" % (name, e.strerror))
                    self._close_pipe(svc)
                    return None
                svc.out, svc.err = Prefixer(name), Prefixer(name)
                for fd in (svc.pipe_r, svc.err_r):
                    os.set_blocking(fd, False)
                    if not self.throttled:
                        self.loop.add_reader(fd, lambda s=svc: self._drain(s))
                self._watch_deaths(svc, path)
        self.services[key] = svc
        return svc

    def _ensure_running(self, svc: "Service") -> None:
        now = time.monotonic()
        if svc.logged and not svc.log_pid and svc.log_timer is None:
            self._spawn_when_due(svc, True, now)
        if not svc.pid and svc.timer is None:
            self._spawn_when_due(svc, False, now)

    def _spawn_when_due(self, svc: "Service", log: bool, now: float) -> None:
        due = (svc.log_started if log else svc.started) + RESPAWN_MIN_INTERVAL
        if due <= now:
            self._spawn(svc, log)
            return

        def later() -> None:
            if log:
                svc.log_timer = None
            else:
                svc.timer = None
            if svc.active and not self.terminating and not (svc.log_pid if log else svc.pid):
                self._spawn(svc, log)
        t = self.loop.call_later(due - now, later)
        if log:
            svc.log_timer = t
        else:
            svc.timer = t

    # forking a supervisor --------------------------------------------------
    def _spawn(self, svc: "Service", log: bool) -> None:
        if log in svc.foreign:
            return          # waiting for a previous scanner's supervisor to exit
        path = os.path.join(self.scandir, svc.name + "/log" if log else svc.name)
        holder = lock_holder(path + "/supervise/lock")
        if holder and self._wait_foreign(svc, log, holder):
            return
        if self.masked:     # inside a scan: forked with the rest of the batch
            self.batch.append((svc, log))
            return
        _flush_stdio()
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCK)
        try:
            self._fork_all([(svc, log)])
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def _fork_all(self, jobs: "List[Tuple[Service, bool]]") -> None:
        """Fork one supervisor per job (signals blocked by the caller).

        Between two forks this process runs nothing but the loop: every page
        it wrote there would be copied once more for each child (measured:
        ~110 pages per fork when the bookkeeping was done in between, ~20 now).
        """
        if not self.prepared:
            # imported at the first fork, not at start: PID 1 with only a CMD
            # (a tini) never loads a supervisor's modules (~1 MiB of its PSS)
            from .supervise import run_supervisor, spawn
            self.run_supervisor, self.spawner = run_supervisor, spawn
        self.spawner.ENV = speed.fork_env()     # before the rehearsal: its path is the one run
        plans = [self._plan(svc, log) for svc, log in jobs]
        pids: List[object] = []
        # What the child needs of ours, read here: read first in the child,
        # each attribute missed the type cache there (a page each).
        child, leave, run, verbosity = self._child, self.loop.leave, self.run_supervisor, self.verbosity
        if not self.prepared:
            many = len(jobs) >= speed.REHEARSE_MIN
            # what each child of this first batch takes a reference to: immortal
            # (never freed), as the scanner and its loop are
            first = [plans, *plans, *(x for plan in plans for x in plan), self, self.loop, child, leave]
            speed.prepare_fork(os.path.join(self.scandir, CTLDIR) if many else None, keep=first)
            self.prepared = True
        fork = speed.fork_function()
        for plan in plans:
            try:
                pid: object = fork()
            except OSError as e:
                pid = e
            if pid == 0:
                child(leave, run, verbosity, *plan)
            pids.append(pid)
        now = time.monotonic()
        for (svc, log), (_, name, *_fds), pid in zip(jobs, plans, pids):
            if isinstance(pid, OSError):    # try again in a second, not in a loop
                self.warn("unable to fork a supervisor for %s: %s" % (name, pid.strerror))
                if log:
                    svc.log_started = now
                else:
                    svc.started = now
                self._spawn_when_due(svc, log, now)
                continue
            assert isinstance(pid, int)
            self.live += 1
            if log:
                svc.log_pid, svc.log_started = pid, now
            else:
                svc.pid, svc.started = pid, now
            self.reaper.watch(pid, lambda p, st, s=svc, lg=log: self._on_supervisor_exit(s, lg, st))
            self.spawn_hook(name)

    def _wait_foreign(self, svc: "Service", log: bool, pid: int) -> bool:
        """A supervisor we did not fork holds the lock: fork ours once it exits."""
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            return False

        def gone() -> None:
            self.loop.remove_reader(fd)
            os.close(fd)
            svc.foreign.pop(log, None)
            if svc.active and not self.terminating and not (svc.log_pid if log else svc.pid):
                self._spawn(svc, log)
        svc.foreign[log] = fd
        self.loop.add_reader(fd, gone)
        return True

    def _plan(self, svc: "Service", log: bool) -> tuple:
        """(path, name, stdin, stdout, stderr, listeners) of the supervisor to fork."""
        name = svc.name + "/log" if log else svc.name
        if log:
            fds = (svc.pipe_r, 1, 2)
        elif svc.pipe_w >= 0:
            fds = (0, svc.pipe_w, (svc.err_w if svc.err_w >= 0 else 2))
        else:
            fds = (0, 1, 2)
        return (os.path.join(self.scandir, name), name) + fds + (() if log else tuple(svc.listen),)

    def _child(self, leave: "Callable[[], None]", run: "Callable[..., int]", verbosity: int,
               path: str, name: str, fd0: int, fd1: int, fd2: int, listen=()) -> None:
        """In the forked child: become the supervisor of `path`; never returns.
        `leave` is the scanner's Loop.leave, `run` run_supervisor."""
        code = 111
        try:
            # Out of the terminal's foreground process group: a Ctrl-C there
            # is for pysix-init (an ordered stop), not for each supervisor
            # (SIGINT makes one interrupt its service and leave at once).
            os.setpgid(0, 0)
            leave()     # the scanner's loop: its fds go with the closerange below
            for sig in _CHILD_DEFAULTS:
                signal.signal(sig, _DFL)
            for src, dst in ((fd0, 0), (fd1, 1), (fd2, 2)):
                if src != dst:
                    os.dup2(src, dst)
            close_except(listen)    # the service's listeners are inherited (sockets/handoff.py)
            try:
                fd = os.open("/proc/self/comm", os.O_WRONLY)
                os.write(fd, ("sv:" + name).encode("utf-8", "replace")[:15])
                os.close(fd)
            except OSError:
                pass
            gc.freeze()
            code = run(path, name, verbosity=verbosity)
        except BaseException as e:  # never return into the scanner's code
            try:
                _say("%s: fatal: supervisor for %s: %r\n" % (self.prog, name, e))
            except BaseException:
                pass
        finally:
            os._exit(code)

    def _on_supervisor_exit(self, svc: "Service", log: bool, st: int) -> None:
        if log:
            svc.log_pid = 0
        else:
            svc.pid = 0
            if svc.out is not None:     # its service is down: a last line without "\n" goes out now
                self._drain(svc, flush=True)
        self.live -= 1
        if st != 0:     # killed, or failed: what it ran may now be an orphan of ours
            self._note_orphan(os.path.join(self.scandir, svc.name + "/log" if log else svc.name))
        if self.terminating:
            if self.stopper is not None and not any(
                    s.pid or s.log_pid for s in self.by_name.get(svc.name, ())):
                self.stopper.gone(svc.name)
            self._check_terminated()
            return
        if svc.active:
            self._spawn_when_due(svc, log, time.monotonic())
        else:
            self._forget_if_done(svc)

    # orphans of dead supervisors ----------------------------------------------
    def _note_orphan(self, path: str) -> None:
        rec = identity.read_record(path + "/" + identity.RECORD)
        if rec is None or rec[0] == "spawning":
            return
        self.orphans[rec[1]] = (path, rec[2])
        st = self.reaped_unknown.pop(rec[1], None)
        if st is not None:      # reaped in the same batch, before its supervisor
            self._pass_on(rec[1], st)

    def _on_unknown_reaped(self, pid: int, st: int) -> None:
        if pid in self.orphans:
            self._pass_on(pid, st)
            return
        self.reaped_unknown[pid] = st
        if len(self.reaped_unknown) > REAPED_KEEP:
            self.reaped_unknown.pop(next(iter(self.reaped_unknown)))

    def _pass_on(self, pid: int, st: int) -> None:
        """Give the adopting supervisor the wait status only we could see."""
        path, start = self.orphans.pop(pid)
        try:
            write_atomic(path + "/" + identity.REAPED, b"%d %d %d\n" % (pid, start, st & 0xFFFF))
            write_control(path + "/supervise/control", b"\0")
        except Exception:
            pass    # no supervisor yet: it reads the file when it starts

    def _forget_if_done(self, svc: "Service") -> None:
        if svc.active or svc.pid or svc.log_pid:
            return
        for t in (svc.timer, svc.log_timer):
            if t is not None:
                t.cancel()
        self._close_pipe(svc)
        for fd in svc.listen:
            os.close(fd)
        svc.listen = []
        self.services.pop(svc.key, None)

    def _close_pipe(self, svc: "Service") -> None:
        if svc.evsub is not None:
            self.loop.remove_reader(svc.evsub[0])
            fifodir.unsubscribe(*svc.evsub)
            svc.evsub = None
        if svc.out is not None:
            for fd in (svc.pipe_r, svc.err_r):
                self.loop.remove_reader(fd)
            self._drain(svc, flush=True)
            svc.out = svc.err = None
        for fd in (svc.pipe_r, svc.pipe_w, svc.err_r, svc.err_w):
            if fd >= 0:
                os.close(fd)
        svc.pipe_r = svc.pipe_w = svc.err_r = svc.err_w = -1

    # prefixed output --------------------------------------------------------
    def _watch_deaths(self, svc: "Service", path: str) -> None:
        """Hear the service's `d` events: its run's unfinished last line is then
        written at once, not when the next line (or the stop) comes."""
        try:
            rfd, fifo = fifodir.subscribe(path + "/event")
        except OSError:
            return      # lines still come; an unfinished one waits for the stop
        svc.evsub = (rfd, fifo)

        def heard() -> None:
            try:
                data = os.read(rfd, 256)
            except OSError:
                return
            if b"d" in data:
                self._drain(svc, flush=True)
        self.loop.add_reader(rfd, heard)

    def _queue(self, fd: int) -> "OutQueue":
        q = self.outs.get(fd)
        if q is None:
            q = self.outs[fd] = OutQueue(self.loop, fd, self._unthrottle)
        return q

    def _drain(self, svc: "Service", flush: bool = False) -> None:
        """Queue the whole lines waiting in the service's pipes, stdout to 1 and
        stderr to 2; `flush`: its last unfinished lines too (it is gone)."""
        for fd, pfx, out in ((svc.pipe_r, svc.out, 1), (svc.err_r, svc.err, 2)):
            if pfx is None:
                continue
            pfx.rename(svc.name)
            q = self._queue(out)
            while flush or not q.full:
                try:
                    data = os.read(fd, 65536)
                except OSError:     # EAGAIN included: nothing more for now
                    break
                if not data:
                    break
                q.write(pfx.feed(data))
            if flush:
                q.write(pfx.flush())
            elif q.full:
                self._throttle()

    def _throttle(self) -> None:
        """The container's output is full: stop reading the services' pipes
        (they block in write, as on a direct pipe) until it drains."""
        if self.throttled:
            return
        self.throttled = True
        for svc in self.services.values():
            if svc.out is not None:
                for fd in (svc.pipe_r, svc.err_r):
                    self.loop.remove_reader(fd)

    def _unthrottle(self) -> None:
        if not self.throttled or any(q.full for q in self.outs.values()):
            return
        self.throttled = False
        for svc in list(self.services.values()):
            if svc.out is not None:
                for fd in (svc.pipe_r, svc.err_r):
                    self.loop.add_reader(fd, lambda s=svc: self._drain(s))
                self._drain(svc)

    def flush_output(self, seconds: float = 2.0) -> None:
        """At the very end: what is still queued goes out, waiting at most `seconds`."""
        import select
        deadline = time.monotonic() + seconds
        for q in self.outs.values():
            while q.buf and time.monotonic() < deadline:
                select.select([], [q.fd], [], max(0.0, deadline - time.monotonic()))
                try:
                    del q.buf[:os.write(q.fd, q.buf)]
                except BlockingIOError:
                    continue
                except OSError:
                    break

    # killing ------------------------------------------------------------------
    def kill(self, mode: "Tuple[bool, int, int]") -> None:
        everyone, main_sig, log_sig = mode
        for svc in list(self.services.values()):
            if everyone or not svc.active:
                if svc.pid:
                    _kill(svc.pid, main_sig)
                if svc.log_pid:
                    _kill(svc.log_pid, log_sig)

    def terminate(self, mode: "Tuple[bool, int, int]" = MODE_TERMINATE) -> None:
        """Stop every supervisor; `on_terminated` runs once all have exited."""
        if self.terminating:
            self.kill(mode)
            return
        self.terminating = True
        for svc in self.services.values():
            for t in (svc.timer, svc.log_timer):
                if t is not None:
                    t.cancel()
            svc.timer = svc.log_timer = None
        self.stop_mode = mode
        self.mark_stopping()
        for svc in self.services.values():    # a replaced dir may share its name with the old one
            self.by_name.setdefault(svc.name, []).append(svc)
        self.stopper = OrderedStop(self.loop, self.scandir, self.stop_grace, self._signal_service)
        self.stopper.start({svc.name for svc in self.services.values() if svc.pid or svc.log_pid})
        # Our copies of the log pipes must go, or loggers never see EOF.
        for svc in self.services.values():
            if svc.logged:
                self._close_pipe(svc)
        self._stop_watching()
        self._check_terminated()

    def _stop_watching(self) -> None:
        """No more watching: a stop has begun."""
        if self.watch is not None:
            self.watch.close()
            self.watch = None

    def _signal_service(self, name: str) -> None:
        _, main_sig, log_sig = self.stop_mode
        for svc in self.by_name.get(name, ()):
            if svc.pid:
                _kill(svc.pid, main_sig)
            if svc.log_pid:
                _kill(svc.log_pid, log_sig)
            for log, fd in svc.foreign.items():   # a previous scanner's: not waited for
                pidfd_kill(fd, log_sig if log else main_sig)

    def hurry(self) -> None:
        """A second stop request: no more grace for anything still running."""
        if self.stopper is not None:
            self.stopper.hurry()

    def _check_terminated(self) -> None:
        if self.terminating and not self.live:
            for svc in self.services.values():
                self._close_pipe(svc)
            self.flush_output()
            cb, self.on_terminated = self.on_terminated, (lambda: None)
            cb()

    # control FIFO ---------------------------------------------------------------
    def _on_control(self) -> None:
        # Under the lock a starting supervisor checks (see supervise/supervisor
        # _tree_check): it never sees the bytes gone and the stop not yet marked.
        import fcntl
        try:
            fcntl.flock(self.ctl_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            # A supervisor is looking, for microseconds: read a moment later.
            self.loop.remove_reader(self.ctl_r)
            self.loop.call_later(0.001, lambda: self.loop.add_reader(self.ctl_r, self._on_control))
            return
        try:
            while True:
                try:
                    data = os.read(self.ctl_r, 4096)
                except (BlockingIOError, OSError):
                    return
                if not data:
                    return
                if any(chr(b) in STOP_LETTERS for b in data):
                    self.mark_stopping()
                for b in data:
                    self.letter(chr(b))
        finally:
            fcntl.flock(self.ctl_lock, fcntl.LOCK_UN)

    def letter(self, c: str) -> None:
        if self.on_letter(c):
            return
        if c == "z":
            self.reaper.reap()
        elif c == "a":
            self.scan()
        elif c == "h":
            self.scan()
            self.kill(MODE_INACTIVE)
        elif c == "n":
            self.kill(MODE_INACTIVE)
        elif c == "N":
            self.kill(MODE_INACTIVE_ALL)
        elif c in "it":
            self.terminate(MODE_TERMINATE)
        elif c == "q":
            self.terminate(MODE_QUIT)
        elif c == "b":
            self.terminating = True
            cb, self.on_terminated = self.on_terminated, (lambda: None)
            cb()
        elif c not in SVSCAN_LETTERS:
            self.warn("received unknown control command: %r" % c)


def _live_log_pipe(path: str) -> "Optional[Tuple[int, int]]":
    """The pipe a logged service's live processes share, if a previous scanner
    left them running: reopened through /proc (Linux reopens the same pipe),
    so the service and its logger stay connected whatever restarts next."""
    def holders():
        yield lock_holder(path + "/supervise/lock"), 1
        yield lock_holder(path + "/log/supervise/lock"), 0
        for sub, fd in (("/log/", 0), ("/", 1)):
            rec = identity.read_record(path + sub + identity.RECORD)
            if rec is not None and rec[0] == "run" and identity.matches(
                    rec, identity.boot_id(), identity.proc_stat(rec[1])):
                yield rec[1], fd
    for pid, fd in holders():
        if not pid:
            continue
        src = "/proc/%d/fd/%d" % (pid, fd)
        try:
            if not stat.S_ISFIFO(os.stat(src).st_mode):
                continue
            r = os.open(src, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            w = os.open("/proc/self/fd/%d" % r, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            os.close(r)
            continue
        os.set_blocking(r, True)
        os.set_blocking(w, True)
        return r, w
    return None


def _say(msg: str) -> None:
    try:
        os.write(2, msg.encode("utf-8", "replace"))
    except OSError:
        pass


def _flush_stdio() -> None:
    import sys
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
