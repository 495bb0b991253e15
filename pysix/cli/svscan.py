"""pysix-svscan [-p] [-t ms] [-d fd] [-c max] [SCANDIR]: s6-svscan, with inotify.

Signals as s6-svscan 2.11: an executable `.s6-svscan/SIGxxx` replaces the
default action; SIGTERM/SIGINT terminate (services TERM, loggers HUP),
SIGQUIT quits (loggers TERM too), SIGHUP rescans and stops removed
services, SIGALRM rescans, SIGABRT leaves at once. After a terminate the
scanner execs `.s6-svscan/finish` if it exists.
"""
import os
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)
import sys

from ..signames import signal_name
from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "pysix-svscan: usage: pysix-svscan [ -p ] [ -t rescan_ms ] [ -d notif_fd ] [ scandir ]\n"
_SCRIPTED = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGPWR, signal.SIGWINCH)


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, "pt:d:c:X:", ["prefix"])
    except UsageError as e:
        sys.stderr.write("pysix-svscan: fatal: %s; %s" % (e.msg, USAGE[len("pysix-svscan: "):]))   # one line
        return 100
    prefix = os.environ.get("PYSIX_PREFIX", "") not in ("", "0")
    rescan_ms = 0
    notif_fd = -1
    for o, v in opts:
        if o in ("-p", "--prefix"):
            prefix = True
        elif o in ("-t", "-d", "-c", "-X"):
            if not v.isdigit():
                sys.stderr.write("pysix-svscan: fatal: option %s wants a number, got %r; %s" % (
                    o, v, USAGE[len("pysix-svscan: "):]))
                return 100
            if o == "-t":
                rescan_ms = int(v)
            elif o == "-d":
                notif_fd = int(v)
    if len(rest) > 1:
        sys.stderr.write(USAGE)
        return 100
    scandir = rest[0] if rest else "."
    if not os.path.isdir(scandir):
        sys.stderr.write("pysix-svscan: fatal: unable to chdir to %s: not a directory\n" % scandir)
        return 111

    from ..loop import Loop
    from ..reaper import Reaper
    from ..scan import MODE_INACTIVE, MODE_QUIT, MODE_TERMINATE, Scanner
    from ..subreaper import set_subreaper

    loop = Loop()
    if os.getpid() != 1:    # after the first forks: it imports _ctypes (subreaper.py)
        loop.call_later(0, set_subreaper)
    reaper = Reaper(loop)
    sc = Scanner(loop, reaper, scandir, prefix=prefix)
    try:
        sc.open_control()
    except (OSError, RuntimeError) as e:
        sys.stderr.write("pysix-svscan: fatal: %s\n" % (e if isinstance(e, RuntimeError) else
                                                         "%s: %s" % (getattr(e, "filename", scandir), e.strerror)))
        return 100 if isinstance(e, RuntimeError) else 111
    ctl = os.path.join(sc.scandir, ".s6-svscan")

    def finish() -> None:
        loop.stop()
        fin = os.path.join(ctl, "finish")
        sys.stdout.flush()
        if os.access(fin, os.X_OK) and os.path.isfile(fin):
            os.chdir(sc.scandir)
            try:
                os.execv(".s6-svscan/finish", [".s6-svscan/finish"])
            except OSError as e:
                sys.stderr.write("pysix-svscan: fatal: unable to exec %s: %s\n" % (fin, e.strerror))
                os._exit(111)
        os._exit(0)
    sc.on_terminated = finish

    def on_signal(sig: int) -> None:
        if sig == signal.SIGALRM:
            sc.scan()
            return
        if sig == signal.SIGABRT:
            sc.letter("b")
            return
        script = os.path.join(ctl, signal_name(sig))
        if os.path.isfile(script):
            if os.access(script, os.X_OK):
                try:
                    pid = os.posix_spawn(script, [script], os.environ, setsigmask=())
                    reaper.watch(pid, lambda p, st: None)
                    return
                except OSError as e:
                    sc.warn("unable to spawn %s: %s" % (script, e.strerror))
            else:
                sc.warn("%s is not executable: default action taken" % script)
        if sig == signal.SIGHUP:
            sc.scan()
            sc.kill(MODE_INACTIVE)
        elif sig in (signal.SIGINT, signal.SIGTERM):
            sc.terminate(MODE_TERMINATE)
        elif sig == signal.SIGQUIT:
            sc.terminate(MODE_QUIT)

    for sig in _SCRIPTED + (signal.SIGALRM, signal.SIGABRT):
        loop.add_signal(sig, on_signal)
    sc.start()
    if rescan_ms:
        def periodic() -> None:
            sc.scan()
            loop.call_later(rescan_ms / 1000.0, periodic)
        loop.call_later(rescan_ms / 1000.0, periodic)
    if notif_fd >= 3:
        try:
            os.write(notif_fd, b"\n")
            os.close(notif_fd)
        except OSError:
            pass
    while True:
        try:
            loop.run()
            return 0
        except Exception as e:  # never die of a bug: report and carry on
            sc.warn("internal error, carrying on: %r" % (e,))
