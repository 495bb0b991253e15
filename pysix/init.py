"""pysix-init: the container's PID 1, s6-overlay v2's stages around the scanner.

Stage 1 saves the environment and copies /etc/services.d into the live scan
dir. Stage 2 runs /etc/cont-init.d/* in order, starts every service, then
the CMD if one was given. Stage 3 (a stop signal, the CMD or a `primary`
service exiting, `pysix-svscanctl -t`, `pysix-halt`) walks the phases of
pysix.stage3: stop the CMD, stop every service, run /etc/cont-finish.d/*,
TERM then KILL whatever is left, exit with the right code. Every wait ends as
soon as what it waits for is gone: there is no fixed sleep anywhere.

The whole life of PID 1 is one event loop; a bug in a stage is reported and
the shutdown still completes.
"""
import os
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)
import sys
import time

from . import contenv, fifodir, noexec, overlaycompat, pid1signals, rundir, scanlock, settings, stage3
from .fscopy import clear_dir, copy_file, make_dir_like
from .loop import Loop, Timer
from .reaper import Reaper, exit_code
from .scan import MODE_TERMINATE, Scanner
from .subreaper import set_subreaper
from .servicepolicy import service_ready_for_dependents
from .signames import signal_name
from .trace import enable as enable_trace, trace

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Iterator, List, Optional, Tuple

PROG = "pysix-init"
EXIT_BOOT_FAILED = 111   # stage 1 failed: neither the services nor the CMD could start
_SIGDEF = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGTTOU, signal.SIGTTIN, signal.SIGINT,
           signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGCHLD)
_SKIP_COPY = {"supervise", "event"}
_EXEC_NAMES = {"run", "finish", "check"}
# Where s6-overlay images write the container's exit code from finish scripts.
_OVERLAY_CODE_FILES = ("run/s6-linux-init-container-results/exitcode",
                       "var/run/s6/env-stage3/S6_STAGE2_EXITED")


VERBOSITY = 2   # -1: not even errors (pysix-run -qqq)


def info(msg: str) -> None:
    """What a stage does; silenced by VERBOSITY < 2."""
    if VERBOSITY >= 2:
        say(msg)


def say(msg: str) -> None:
    if VERBOSITY < 0:
        return
    try:
        os.write(2, ("%s: %s\n" % (PROG, msg)).encode("utf-8", "replace"))
    except OSError:
        pass


def cmd_only(etc: str) -> bool:
    """Nothing in /etc for pysix to run: a plain tini-style init around the CMD."""
    for d in ("services.d", "cont-init.d", "cont-finish.d"):
        try:
            if any(not n.startswith(".") for n in os.listdir(os.path.join(etc, d))):
                return False
        except OSError:
            pass
    return True


class Init:
    def __init__(self, root: str, cmd: "List[str]", cfg: "Optional[settings.Config]" = None) -> None:
        self.root = os.path.abspath(root)
        self.etc = os.path.join(self.root, "etc")
        self.cmd = cmd
        # The CMD gets exactly the container's environment (services and
        # scripts also get PYSIX_RUNDIR and PYSIX_SCANDIR, added in stage 1).
        self.cmd_env = os.environb.copy()
        self.loop = Loop()
        self.reaper = Reaper(self.loop)
        self.reaper.on_reaped = self._on_reaped
        self.rundir = ""
        self.scandir = ""
        self.scanner: Optional[Scanner] = None
        self.cmd_pid = 0
        self.cmd_started = False
        self.cmd_code: Optional[int] = None
        self.stop_sig = signal.SIGTERM   # what the CMD gets at stop
        self.stage2_code = 0
        self.stopping = False
        self.hurry = False
        self.phase = ""
        self.deadline: Optional[Timer] = None
        self.script_pid = 0   # the running cont-finish script
        self.final_code: Optional[int] = None
        warnings: List[str] = []
        if cfg is None:
            cfg, warnings = settings.load()
        self.cfg = cfg
        global VERBOSITY
        VERBOSITY = cfg.VERBOSITY
        if cmd and not cfg.VERBOSITY_SET and VERBOSITY >= 2 and cmd_only(self.etc):
            VERBOSITY = 1   # like tini: nothing to say unless something goes wrong
        for w in warnings:
            say("warning: " + w)

    # stage 1 ---------------------------------------------------------------
    def stage1(self) -> None:
        if os.getpid() != 1 and not set_subreaper():
            say("warning: cannot become a child subreaper: orphans of services will not be reaped here")
        self.rundir = self._make_rundir()
        # The lock before anything else: a second instance refuses and touches nothing.
        self.scandir = overlaycompat.scandir(self.root, self.rundir, say)   # v2's /run/s6/services
        self.lock_fd = scanlock.take(self.scandir)
        overlaycompat.prepare(self.root, self.rundir, self.scandir, say)   # /var/run/s6/... too
        overlaycompat.warn_no_effect(os.environ, say)
        if self.cfg["TRACE"]:
            path = os.environ.get("PYSIX_TRACE_FILE") or os.path.join(self.rundir, "trace.jsonl")
            try:
                open(path, "w").close()
            except OSError as e:
                say("warning: cannot write the trace to %s: %s" % (path, e.strerror))
            enable_trace(path)
            trace("stage", stage=1, phase="begin", root=self.root, rundir=self.rundir)
        os.environ["PYSIX_RUNDIR"] = self.rundir
        os.environ["PYSIX_SCANDIR"] = self.scandir
        if not self.cfg["KEEP_ENV"]:
            env = {k: v for k, v in os.environb.items() if not k.startswith(b"PYSIX_RUNDIR") and k != b"PYSIX_SCANDIR"}
            for w in contenv.dump(env, os.path.join(self.rundir, "container_environment")):
                say("warning: " + w)
        # Exit codes left by a previous boot (docker restart keeps /run) must not leak in.
        for f in ("exitcode", "services/.s6-svscan/primary-exitcode"):
            try:
                os.unlink(os.path.join(self.rundir, f))
            except FileNotFoundError:
                pass
        self.scanner = Scanner(self.loop, self.reaper, self.scandir, prefix=bool(self.cfg["PREFIX"]),
                               prog=PROG)
        self.scanner.on_letter = self._on_scan_letter
        self.scanner.verbosity = VERBOSITY
        self.scanner.lock_fd = self.lock_fd
        self.scanner.spawn_hook = lambda name: trace("service", name=name, event="supervisor")
        self.scanner.open_control()
        trace("stage", stage=1, phase="end")

    def _make_rundir(self) -> str:
        want = os.environ.get("PYSIX_RUNDIR") or os.path.join(self.root, "run", "pysix")
        path, warnings = rundir.choose(want)
        for w in warnings:
            say("warning: " + w)
        return path

    def _copy_services(self) -> None:
        """Copy /etc/services.d into the live scan dir, skipping supervise state."""
        src = os.path.join(self.etc, "services.d")
        clear_dir(self.scandir, keep=frozenset({".s6-svscan"}))   # symlinks unlinked, never followed
        if not os.path.isdir(src):
            return
        why = noexec.boot_warning(self.scandir, src)
        if why:
            say("warning: " + why)
        noexec_mount = why is not None
        for name in sorted(os.listdir(src)):
            path = os.path.join(src, name)
            if name.startswith(".") or not os.path.isdir(path):
                continue
            try:
                self._copy_tree(path, os.path.join(self.scandir, name), noexec_mount)
            except OSError as e:
                say("warning: cannot copy %s: %s" % (path, e.strerror or e))

    def _copy_tree(self, src: str, dst: str, noexec: bool) -> None:
        make_dir_like(src, dst)
        for name in os.listdir(src):
            if name in _SKIP_COPY:
                continue
            s, d = os.path.join(src, name), os.path.join(dst, name)
            if os.path.isdir(s) and not os.path.islink(s):
                self._copy_tree(s, d, noexec)
            elif noexec and name in _EXEC_NAMES:
                os.symlink(s, d)
            else:
                # s6-overlay v2 made scripts executable; do it on the copy, never on /etc.
                copy_file(s, d, 0o111 if name in _EXEC_NAMES else 0)

    # stage 2 ---------------------------------------------------------------
    def stage2(self) -> None:
        trace("stage", stage=2, phase="begin")
        hidden = settings.get_str("FIX_ATTRS_HIDDEN") not in (None, "", "0")
        if not overlaycompat.fix_attrs(self.etc, self.root, hidden, say, info):
            policy = self.cfg["BEHAVIOUR_IF_STAGE2_FAILS"]   # a stage-2 failure, as in v2
            self.stage2_code = self.stage2_code or (1 if policy >= 1 else 0)
            if policy >= 2:
                self.shutdown("fix-attrs.d failed")
                return
        scripts = _scripts(os.path.join(self.etc, "cont-init.d"))
        self._run_scripts(scripts, "cont-init", self._stage2_services, fail_policy=True)

    def _stage2_services(self) -> None:
        if self.stopping:
            return
        self._copy_services()   # after cont-init, as v2: its scripts may add services
        if getattr(self, "units", None):   # container-init unit files, beside the services.d copy
            from .units.boot import install
            install(self.root, self.scandir, self.units["units"], self.units["dropin"], say)
        self.scanner.start()
        if not self.cmd:
            trace("stage", stage=2, phase="end")
            return
        if self.cfg.CMD_WAIT_FOR_SERVICES:
            self._wait_services(self._start_cmd)
        else:
            self._start_cmd()

    def _run_scripts(self, scripts: "List[str]", what: str, then: "Callable[[], None]",
                     fail_policy: bool = False) -> None:
        """Run scripts one at a time, in order; `then` when all are done."""
        if not scripts:
            then()
            return
        path = scripts[0]
        rest = scripts[1:]
        try:
            argv = overlaycompat.script_argv(path)   # a 0644 script runs through its #! line
            pid = os.posix_spawn(argv[0], argv, os.environ, setsigmask=(), setsigdef=_SIGDEF)
        except OSError as e:
            say("%s: unable to run %s: %s" % (what, path, e.strerror))
            self._script_done(path, 126 if e.errno == 13 else 127, what, rest, then, fail_policy)
            return
        started = time.monotonic()
        if what == "cont-finish":
            self.script_pid = pid
            self._arm_deadline(lambda: self._script_too_long(path, pid))
        else:
            self.script_pid = 0

        def exited(p: int, st: int) -> None:
            code = exit_code(st)
            ms = (time.monotonic() - started) * 1000
            (say if code else info)("%s: %s exited %d (%.0f ms)" % (what, os.path.basename(path), code, ms))
            trace("script", stage=what, path=path, code=code, ms=round(ms, 3))
            self._script_done(path, code, what, rest, then, fail_policy)
        self.reaper.watch(pid, self._guard(exited))

    def _script_too_long(self, path: str, pid: int) -> None:
        if not self.hurry:
            say("cont-finish: %s still running after %d ms: killing it" % (path, self.cfg.KILL_FINISH_MAXTIME))
        _kill(pid, signal.SIGKILL)

    def _script_done(self, path: str, code: int, what: str, rest: "List[str]",
                     then: "Callable[[], None]", fail_policy: bool) -> None:
        self.script_pid = 0
        if code and fail_policy:
            policy = self.cfg.BEHAVIOUR_IF_STAGE2_FAILS
            if policy >= 1:
                self.stage2_code = self.stage2_code or code
            if policy >= 2:
                say("%s: %s failed with %d: stopping the container (BEHAVIOUR_IF_STAGE2_FAILS=%d)" % (
                    what, path, code, policy))
                self.shutdown("cont-init failure")
                return
        if fail_policy and self.stopping:
            return
        self._run_scripts(rest, what, then, fail_policy)

    def _wait_services(self, then: "Callable[[], None]") -> None:
        """Call `then` once every service without `down` is up (ready if it can say so)."""
        names = [n for n in sorted(os.listdir(self.scandir))
                 if not n.startswith(".") and os.path.isdir(os.path.join(self.scandir, n))
                 and not os.path.lexists(os.path.join(self.scandir, n, "down"))]
        subs = []
        for n in names:
            try:
                subs.append(fifodir.subscribe(os.path.join(self.scandir, n, "event")))
            except OSError as e:
                say("warning: cannot watch %s: %s" % (n, e.strerror))
        state = {"done": False}
        timer = None

        def finish(ok: bool) -> None:
            if state["done"]:
                return
            state["done"] = True
            for rfd, path in subs:
                self.loop.remove_reader(rfd)
                fifodir.unsubscribe(rfd, path)
            if timer is not None:
                timer.cancel()
            if not ok:
                pending = [n for n in names if not self._service_ok(n)]
                say("services not up after %d ms: %s" % (self.cfg.CMD_WAIT_FOR_SERVICES_MAXTIME, " ".join(pending)))
                policy = self.cfg.BEHAVIOUR_IF_STAGE2_FAILS
                if policy >= 1:
                    self.stage2_code = self.stage2_code or 1
                if policy >= 2:
                    self.shutdown("services not up")
                    return
            if not self.stopping:
                then()

        def check() -> None:
            for rfd, _ in subs:
                try:
                    os.read(rfd, 4096)
                except OSError:
                    pass
            if all(self._service_ok(n) for n in names):
                finish(True)
        for rfd, _ in subs:
            self.loop.add_reader(rfd, self._guard(check))
        maxtime = self.cfg.CMD_WAIT_FOR_SERVICES_MAXTIME
        if maxtime:
            timer = self.loop.call_later(maxtime / 1000.0, lambda: finish(False))
        check()

    def _service_ok(self, name: str) -> bool:
        return service_ready_for_dependents(os.path.join(self.scandir, name))

    def _start_cmd(self) -> None:
        self.cmd_started = True
        arg0 = self.cfg.CMD_ARG0
        argv = (arg0.split() if arg0 else []) + self.cmd
        env = self.cmd_env
        if self.rundir and os.fsencode(self.rundir) != env.get(b"PYSIX_RUNDIR", os.fsencode(
                os.path.join(self.root, "run", "pysix"))):
            # The run dir fell back elsewhere: without this, with-contenv in the
            # CMD could not find the saved environment (the one variable added).
            env = dict(env)
            env[b"PYSIX_RUNDIR"] = os.fsencode(self.rundir)
        try:
            pid = os.posix_spawnp(argv[0], argv, env, setpgroup=0, setsigmask=(),
                                  setsigdef=_SIGDEF)
        except OSError as e:
            say("fatal: unable to run %s: %s" % (argv[0], e.strerror))
            self.cmd_code = 126 if e.errno == 13 else 127
            self.shutdown("CMD failed to start")
            return
        self.cmd_pid = pid
        trace("cmd", event="spawn", argv0=argv[0], cmd_pid=pid)
        trace("stage", stage=2, phase="end")
        if os.isatty(0):
            # ^C in `docker run -it` reaches the CMD. TTOU blocked: from the
            # background, tcsetpgrp would otherwise signal our own group.
            old = signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGTTOU,))
            try:
                os.tcsetpgrp(0, pid)
            except OSError:
                pass
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

        def cmd_exited(p: int, st: int) -> None:
            self.cmd_pid = 0
            self.cmd_code = exit_code(st)
            info("CMD %s exited %d" % (argv[0], self.cmd_code))
            trace("cmd", event="exit", argv0=argv[0], code=self.cmd_code)
            if not self.stopping:
                self.shutdown("CMD exited")
            elif self.phase == "stop-cmd":
                self._phase_end("stop-cmd", stage3.DONE)
        self.reaper.watch(pid, self._guard(cmd_exited))

    # stage 3: the phases of pysix.stage3 ---------------------------------------
    def shutdown(self, why: str, sig: int = 0) -> None:
        if self.stopping:
            self._hurry_now()
            return
        self.stopping = True
        if self.scanner is not None:
            self.scanner.mark_stopping()   # from now on no supervisor starts its service again
        if sig:
            self.stop_sig = sig
            if self.cmd and not self.cmd_started:
                # Stopped before the CMD ran: it never runs, and we say why as a shell would.
                self.cmd_started = True
                self.cmd_code = 128 + sig
        info("stopping: %s" % why)
        trace("stage", stage=3, phase="begin", why=why)
        self._enter(stage3.FIRST)

    def _hurry_now(self) -> None:
        if self.hurry:
            return
        self.hurry = True
        say("second stop request: skipping the remaining grace times")
        if self.scanner is not None:
            self.scanner.hurry()
        ph = stage3.BY_NAME.get(self.phase)
        if ph is not None and ph.hurries and stage3.deadline_ms(ph, self.cfg, True) == 0:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None
            self._guarded_step(self._late)

    def _enter(self, name: str) -> None:
        self.phase = name
        if name != "exit":
            trace("phase", phase=name)
        self._arm_deadline(self._late)
        self._guarded_step(getattr(self, "_begin_" + name.replace("-", "_")))

    def _arm_deadline(self, cb: "Callable[[], None]") -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        ms = stage3.deadline_ms(stage3.BY_NAME[self.phase], self.cfg, self.hurry) if self.phase else None
        if ms is not None:
            self.deadline = self.loop.call_later(ms / 1000.0, self._guard(cb))

    def _late(self) -> None:
        self.deadline = None
        late = getattr(self, "_late_" + self.phase.replace("-", "_"), None)
        if late is not None:
            late()
        else:
            self._phase_end(self.phase, stage3.LATE)

    def _phase_end(self, name: str, how: str) -> None:
        if self.phase != name:
            return   # that phase is over already (a late exit after its deadline)
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self._enter(stage3.next_phase(name, how))

    def _begin_stop_cmd(self) -> None:
        if not self.cmd_pid:
            self._phase_end("stop-cmd", stage3.DONE)
            return
        _killpg(self.cmd_pid, self.stop_sig)
        # SIGCONT only where a process of the CMD's group is stopped, so that
        # it acts on the signal: sent every time, a CMD that traps CONT (a
        # shell) could run that trap first and never see the stop signal as
        # itself (tini and dumb-init send none).
        if _group_has_stopped(self.cmd_pid):
            _killpg(self.cmd_pid, signal.SIGCONT)

    def _late_stop_cmd(self) -> None:
        if self.cmd_pid:
            say("CMD still running after %d ms: SIGKILL" % self.cfg.SERVICES_GRACETIME)
            _killpg(self.cmd_pid, signal.SIGKILL)
        self._phase_end("stop-cmd", stage3.LATE)

    def _begin_stop_services(self) -> None:
        sc = self.scanner
        if sc is None:
            self._phase_end("stop-services", stage3.DONE)
            return
        # Dependents stop before what they depend on; each service gets its
        # own grace time after its down-signal (the scanner's, not ours).
        sc.stop_grace = 0.0 if self.hurry else self.cfg.SERVICES_GRACETIME / 1000.0
        sc.on_terminated = self._guard(lambda: self._phase_end("stop-services", stage3.DONE))
        sc.terminate(MODE_TERMINATE)

    def _begin_cont_finish(self) -> None:
        scripts = _scripts(os.path.join(self.etc, "cont-finish.d"))
        self._run_scripts(scripts, "cont-finish", lambda: self._phase_end("cont-finish", stage3.DONE))

    def _late_cont_finish(self) -> None:
        if self.script_pid:
            _kill(self.script_pid, signal.SIGKILL)

    def _begin_kill_rest(self) -> None:
        if not self.reaper.children_left():
            self._phase_end("kill-rest", stage3.DONE)
            return
        self._signal_everyone(signal.SIGTERM)
        self._signal_everyone(signal.SIGCONT)

    def _begin_sigkill_rest(self) -> None:
        self._signal_everyone(signal.SIGKILL)
        if not self.reaper.children_left():
            self._phase_end("sigkill-rest", stage3.DONE)

    def _on_reaped(self) -> None:
        if self.phase in ("kill-rest", "sigkill-rest") and not self.reaper.children_left():
            self._phase_end(self.phase, stage3.DONE)

    def _signal_everyone(self, sig: int) -> None:
        if os.getpid() == 1:
            try:
                os.kill(-1, sig)
            except OSError:
                pass
            return
        for pid in _descendants(os.getpid()):
            _kill(pid, sig)

    def _begin_exit(self) -> None:
        if self.final_code is not None:
            return
        code = self.exit_code()
        info("exiting with code %d" % code)
        trace("stage", stage=3, phase="end")
        trace("exit", code=code)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        self.final_code = code
        self.loop.stop()

    def exit_code(self) -> int:
        """The ladder of the README: the CMD's code (128 + the stop signal if
        it never ran); else a primary service's; else pysix-halt's or the
        s6-overlay files'; and a 0 from any of those becomes a failed
        cont-init script's code under BEHAVIOUR_IF_STAGE2_FAILS 1 or 2."""
        code = self.cmd_code
        if code is None:
            candidates = [os.path.join(self.scandir, ".s6-svscan", "primary-exitcode"),
                          os.path.join(self.rundir, "exitcode")]
            candidates += [os.path.join(self.root, p) for p in _OVERLAY_CODE_FILES]
            for fn in candidates:
                try:
                    with open(fn) as f:
                        text = f.read().strip()
                except OSError:
                    continue
                if text.isdigit():
                    code = int(text) & 0xFF
                    break
                if text:
                    say("warning: %s: not an exit code: %r" % (fn, text[:20]))
        return code or self.stage2_code

    # signals and control ---------------------------------------------------------
    def _on_signal(self, sig: int) -> None:
        has_cmd = bool(self.cmd)
        act = pid1signals.action(sig, has_cmd, bool(self.cfg.CMD_RECEIVE_SIGNALS))
        if has_cmd and not self.cmd_started:
            act = pid1signals.before_cmd(sig, act)
        if self.stopping and has_cmd:
            act = pid1signals.during_stop(act, bool(self.cmd_pid))
        if act == pid1signals.STOP:
            self.shutdown("received %s" % signal_name(sig), sig)
        elif act == pid1signals.FORWARD:
            if self.cmd_pid:
                _killpg(self.cmd_pid, sig)

        elif act == pid1signals.JOB_CONTROL:
            if self.cmd_pid:
                _killpg(self.cmd_pid, sig)
                if os.getpid() != 1:   # so that a shell's `fg` finds us stopped too (dumb-init)
                    _kill(os.getpid(), signal.SIGSTOP)
        elif act == pid1signals.RESCAN:
            if self.scanner is not None and not self.stopping:
                self.scanner.letter("h")

    def _on_scan_letter(self, c: str) -> bool:
        """`pysix-svscanctl -t/-i/-q/-b` on the live scan dir stop the container."""
        if c in "tiqb":
            # During stage 3 it is no hurry request: v2 finish scripts send -t on every
            # death, including the TERM of the shutdown itself (s6-svscan ignores it then).
            if not self.stopping:
                self.shutdown("pysix-svscanctl -%s" % c)
            return True
        return False

    # robustness ---------------------------------------------------------------
    def _guard(self, fn: "Callable") -> "Callable":
        def wrapped(*a):
            try:
                fn(*a)
            except Exception as e:
                self._bug(e)
        return wrapped

    def _guarded_step(self, fn: "Callable[[], None]") -> None:
        self._guard(fn)()

    def _bug(self, e: "BaseException") -> None:
        import traceback
        say("internal error (please report): %s" % "".join(
            traceback.format_exception_only(type(e), e)).strip())
        if not self.stopping:
            self.shutdown("internal error")
        elif self.loop.running and self.phase not in ("kill-rest", "sigkill-rest", "exit"):
            # Whatever step failed, make sure the end still comes.
            self.loop.call_later(0, self._guard(lambda: self._enter("kill-rest")))

    def run(self) -> int:
        has_cmd = bool(self.cmd)
        for sig in pid1signals.handled(has_cmd):
            self.loop.add_signal(sig, self._guard(self._on_signal))
        ignored = (signal.SIGPIPE,) if has_cmd else (signal.SIGTTOU, signal.SIGTTIN, signal.SIGPIPE)
        for sig in ignored:
            signal.signal(sig, signal.SIG_IGN)
        # Every handler exists: what bin/pysix-init blocked (and what came meanwhile) is delivered now.
        pid1signals.unblock()
        try:
            self.stage1()
        except Exception as e:
            say("fatal: stage 1 failed: %s" % e)
            self.cmd_code = EXIT_BOOT_FAILED    # wins over every other source: nothing ran
            self.stopping = True
            self.scanner = None
            self.loop.call_later(0, self._guard(lambda: self._enter("kill-rest")))
        else:
            self.loop.call_later(0, self._guard(self.stage2))
        while self.final_code is None:
            try:
                self.loop.run()
            except Exception as e:
                self._bug(e)
        return self.final_code


def _scripts(d: str) -> "List[str]":
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return []
    return [os.path.join(d, n) for n in names
            if not n.startswith(".") and os.path.isfile(os.path.join(d, n))]


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except OSError:
        _kill(pid, sig)


def _proc_stats() -> "Iterator[Tuple[int, List[bytes]]]":
    """(pid, the fields of /proc/PID/stat after the command's name: state,
    ppid, pgrp, ...) for every process we can read; OSError if /proc cannot
    be listed."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                yield int(name), f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue


def _group_has_stopped(pgid: int) -> bool:
    """Whether a process of group `pgid` is stopped (state T or t); True
    when /proc cannot tell, so that a stopped one is never left asleep."""
    want = str(pgid).encode()
    try:
        return any(len(f) > 2 and f[2] == want and f[0] in (b"T", b"t") for _, f in _proc_stats())
    except OSError:
        return True


def _descendants(root: int) -> "List[int]":
    parent = {}
    for pid, fields in _proc_stats():
        try:
            parent[pid] = int(fields[1])
        except (ValueError, IndexError):
            continue
    out = []
    for pid in parent:
        p = pid
        while p > 1:
            p = parent.get(p, 0)
            if p == root:
                out.append(pid)
                break
    return out
