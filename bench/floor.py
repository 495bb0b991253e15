#!/usr/bin/env python3
"""The floor of a forked CPython supervisor, for the benchmarks only.

    floor.py SCANDIR [--pysix-sized] [--s6-protocol] [--pysix-protocol] [--prepared]

What issue 19 calls the minimal working supervisor, as one more system in
bench/run.py: a scanner forks one supervisor per service directory; each
makes `supervise/`, takes its lock, makes a control FIFO and an s6 status file (tmp + rename),
posix_spawns `./run` with an environment built once before the forks,
restarts it when it exits, obeys `d`, `u` and `x` on the FIFO, and on
SIGTERM kills its service, waits for it and exits. The scanner, on
SIGTERM, TERMs every supervisor and exits when all are gone. No event
FIFOs, no finish, no logger, no readiness, no policies: the least a
forked Python supervisor can do and still be one, so its CPU and memory
per supervisor are the floor pysix's are measured against.

`--s6-protocol`: the same supervisor also does on disk what s6-supervise
2.11 does (../shared/spec/s6-supervise.md, 3.1, 4.4, 4.7, 7): it makes
`event/` (group and mode 03730), cleans it, truncates `death_tally`, looks
for `down`, writes the status before the start too, sends `s` and `u`, and
at each death rewrites `death_tally`, looks for `finish`, writes the
status and sends `dD`, and `x` before it exits. What that costs beyond the
floor is what any forked Python supervisor that the s6 tools can drive
costs; pysix's own protocol (identity records, pysix-state) and policies
come on top of it.

`--pysix-protocol` (implies `--s6-protocol`): also the system calls pysix's
supervisor makes on top of s6's for a plain service (strace of a pysix
supervisor's boot and stop): its looks for each optional file (socket,
kill-mode, dependencies, check, type, user, ...), the tree-stop check
(the scanner's stopping mark, control FIFO and lock), its own process
group and name, the identity record (`spawning`, then `run` with the
start tick read from /proc) and its removal, and `pysix-state`. With no
Python logic around them, the difference to pysix is what its code costs.

`--prepared`: before forking, the scanner does for the floor's supervisor
what pysix.speed.prepare_fork does for pysix's: it lives a supervisor's
life twice itself (boot, spawn, SIGTERM, death, exit, on a throwaway copy
of a service in `.floor-rehearsal/`), so 3.12 has specialised its code and
filled its type cache before the forks, then makes the long-lived
objects immortal and fills pymalloc's size classes up to fresh pools
(pysix.speed's _immortalize and fresh_pools, the only pysix code it loads), and forks
with libc's fork() as pysix's scanner does (pysix.speed.fork_function).
A child then writes no page for that: what is left is the least the same
calls cost a forked supervisor prepared as pysix's are.

`--pysix-sized`: before forking, import what pysix-svscan imports and run
its pre-fork preparation (pysix.speed.prepare_fork, without the rehearsal
of pysix's own code), so the forks come from an address space like
pysix's. The difference from the bare floor is what the scanner's size
costs each fork; the rest of pysix's figure is its supervisor's own work.
"""
import fcntl
import gc
import os
import select
import _signal as signal   # the C module: `signal` imports enum (ms); pysix does the same
import sys
import time

TAI = 2 ** 62 + 37   # s6's TAI64 label of the Unix epoch, leap seconds included
_FIFO_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_KEEP_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC
_LOCK_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
ENV = {}


def status_bytes(pid, up_since, want_up, wstat):
    """s6's 35-byte status record: stamp, ready stamp, pid, wait status, flags."""
    sec, ns = divmod(up_since, 1_000_000_000)
    tain = ((sec + TAI) * 2 ** 32 + ns).to_bytes(12, "big")
    flags = b"\x04" if want_up else b"\x00"   # s6's want-up bit
    return tain + tain + pid.to_bytes(8, "big") + (wstat & 0xFFFF).to_bytes(2, "big") + flags


def write_status(pid, want_up, wstat=0):
    fd = os.open("supervise/status.new", _TMP_FLAGS, 0o644)
    os.write(fd, status_bytes(pid, time.time_ns(), want_up, wstat))
    os.close(fd)
    os.rename("supervise/status.new", "supervise/status")


# s6's on-disk protocol (--s6-protocol) ---------------------------------------
S6 = False
_EVENT_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC


def notify(letters):
    """Write `letters` to each subscriber FIFO in event/ (s6's ftrigw_notify)."""
    try:
        names = os.listdir("event")
    except OSError:
        return
    for name in names:
        if len(name) != 39 or not name.startswith("ftrig1:@"):
            continue
        try:
            fd = os.open("event/" + name, _EVENT_FLAGS)
        except OSError:
            continue
        try:
            os.write(fd, letters)
        except OSError:
            pass
        finally:
            os.close(fd)


def make_dirs():
    """Start-up steps 3-10: event/ (03730), supervise/, then the fifodir cleaned
    and death_tally truncated; the lock and FIFO are made by the caller."""
    old = os.umask(0)
    try:
        try:
            os.mkdir("event", 0o700)
            os.chown("event", -1, os.getegid())
            os.chmod("event", 0o3730)
        except FileExistsError:
            pass
    finally:
        os.umask(old)
    os.listdir("event")     # the legacy-name clean-up reads it once
    os.close(os.open("supervise/death_tally", _TMP_FLAGS, 0o666))


def record_death(wstat):
    """Append one 14-byte record to death_tally (read, append, tmp + rename)."""
    try:
        fd = os.open("supervise/death_tally", os.O_RDONLY | os.O_CLOEXEC)
        try:
            old = os.read(fd, 100 * 14)
        finally:
            os.close(fd)
    except OSError:
        old = b""
    sec, ns = divmod(time.time_ns(), 1_000_000_000)
    sig = wstat & 0x7F
    code = 128 + sig if sig else (wstat >> 8) & 0xFF
    rec = ((sec + TAI) * 2 ** 32 + ns).to_bytes(12, "big") + bytes((code, sig))
    fd = os.open("supervise/death_tally.new", _TMP_FLAGS, 0o666)
    os.write(fd, old[-99 * 14:] + rec)
    os.close(fd)
    os.rename("supervise/death_tally.new", "supervise/death_tally")


# pysix's on-disk protocol beyond s6's (--pysix-protocol) ------------------------
PYSIX = False
_BOOT_LOOKS = ("./socket", "./kill-mode", "supervise/pysix-cgroup", "./down-signal", "supervise/pysix-run")
_START_LOOKS = ("./dependencies", "./notification-fd", "./unit.json", "./user", "./group",
                "./working-directory")
_SPAWNED_LOOKS = ("nosetsid", "check", "./type", "./requires")
_TERM_LOOKS = ("./down-signal", "./timeout-kill")
_DEATH_LOOKS = ("./max-death-tally", "./type", "./restart-delay")
BOOT = ""


def look(names):
    for n in names:
        os.access(n, os.F_OK, follow_symlinks=False)


def write_file(path, data):
    fd = os.open(path + ".new", _TMP_FLAGS, 0o644)
    os.write(fd, data)
    os.close(fd)
    os.rename(path + ".new", path)


def tree_check():
    """The scanner's stopping mark, its control FIFO's unread bytes and its lock."""
    os.access("../.s6-svscan/pysix-stopping", os.F_OK, follow_symlinks=False)
    try:
        fd = os.open("../.s6-svscan/control", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        fcntl.ioctl(fd, 0x541B, b"\0\0\0\0")
        os.close(fd)
        fd = os.open("../.s6-svscan/pysix-ctl-lock", os.O_RDONLY | os.O_CLOEXEC)
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        os.close(fd)
    except OSError:
        pass
    os.access("../.s6-svscan/pysix-stopping", os.F_OK, follow_symlinks=False)
    os.stat(".")


def start_tick(pid):
    fd = os.open("/proc/%d/stat" % pid, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return int(os.read(fd, 4096).rsplit(b")", 1)[1].split()[19])
    finally:
        os.close(fd)


def pysix_spawn():
    """spawn() with pysix's calls around it."""
    tree_check()
    look(_START_LOOKS)
    write_file("supervise/pysix-run", b"spawning %d %d %s\n" % (
        os.getpid(), int(time.clock_gettime(time.CLOCK_BOOTTIME) * 100), BOOT))
    child = os.posix_spawn("./run", ["./run"], ENV, setsigmask=(), setsid=True)
    look(_SPAWNED_LOOKS[:1])
    write_file("supervise/pysix-run", b"run %d %d %s\n" % (child, start_tick(child), BOOT))
    look(_SPAWNED_LOOKS[1:])
    write_file("supervise/pysix-state", b"up\n\n0\n")
    return child


def pysix_death(child):
    os.stat(".")
    try:
        os.killpg(child, signal.SIGTERM)    # what the run's session left
    except OSError:
        pass


def pysix_died():
    look(_DEATH_LOOKS)
    for f in ("supervise/pysix-run", "supervise/pysix-reaped"):
        try:
            os.unlink(f)
        except OSError:
            pass
    write_file("supervise/pysix-state", b"down\n\n0\n")


def spawn():
    if PYSIX:
        return pysix_spawn()
    return os.posix_spawn("./run", ["./run"], ENV, setsigmask=(), setsid=True)


def supervise(name, wake_r):
    """One supervisor's whole life, in the forked child."""
    os.chdir(name)
    try:
        os.mkdir("supervise", 0o700)
    except FileExistsError:
        pass
    try:
        os.mkfifo("supervise/control", 0o600)
    except FileExistsError:
        pass
    lock = os.open("supervise/lock", _LOCK_FLAGS, 0o644)
    os.lockf(lock, os.F_TLOCK, 0)   # s6's: the lock s6-svok and s6-svstat probe
    ctl = os.open("supervise/control", _FIFO_FLAGS)
    keep = os.open("supervise/control", _KEEP_FLAGS)   # never EOF on the FIFO
    poll = select.epoll()
    poll.register(ctl, select.EPOLLIN)
    poll.register(wake_r, select.EPOLLIN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    want_up, child, wstat = True, 0, 0
    if PYSIX:
        look(_BOOT_LOOKS)
        os.access("supervise/status", os.F_OK, follow_symlinks=False)
    if S6:
        make_dirs()
        want_up = not os.access("down", os.F_OK)
        write_status(0, want_up)
        notify(b"s")
    if want_up:
        child = spawn()
        write_status(child, want_up)
        if S6:
            notify(b"u")
    while True:
        for fd, _ in poll.poll():
            if fd == wake_r:
                sigs = os.read(wake_r, 64)
                if signal.SIGTERM in sigs:
                    want_up = None
                    if PYSIX:
                        look(_TERM_LOOKS)
                    if child:
                        os.kill(child, signal.SIGTERM)
                        os.kill(child, signal.SIGCONT)
                        if S6:
                            write_status(child, False)
                while child:
                    pid, st = os.waitpid(-1, os.WNOHANG)
                    if pid == 0:
                        break
                    if pid == child:
                        if PYSIX:
                            pysix_death(child)
                        child, wstat = 0, st
                        if S6:
                            record_death(st)
                            os.access("finish", os.F_OK)
                            write_status(0, bool(want_up), wstat)
                            if PYSIX:
                                pysix_died()
                            notify(b"dD")
            else:
                for c in os.read(ctl, 64):
                    if c == 100 and child:          # d
                        want_up = False
                        os.kill(child, signal.SIGTERM)
                    elif c == 117:                  # u
                        want_up = True
                    elif c == 120:                  # x
                        want_up = None
            if want_up is None and not child:
                if S6:
                    notify(b"x")
                os.close(keep)
                return
            if want_up and not child:
                child = spawn()
                write_status(child, want_up)
                if S6:
                    notify(b"u")
            elif not child:
                write_status(0, want_up, wstat)


def child(name, wake_r, wake_w):
    try:
        if PYSIX:
            os.setpgid(0, 0)
            for sig in (signal.SIGALRM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH):
                signal.signal(sig, signal.SIG_DFL)
            fd = os.open("/proc/self/comm", os.O_WRONLY)
            os.write(fd, ("sv:" + name).encode()[:15])
            os.close(fd)
        gc.freeze()
        signal.set_wakeup_fd(wake_w)
        supervise(name, wake_r)
        os._exit(0)
    except BaseException as e:   # noqa: BLE001 - a child never returns into the scanner
        os.write(2, ("floor: %s: %s\n" % (name, e)).encode())
        os._exit(111)


def _nothing(signo, frame):
    pass


def rehearse(scan):
    """A supervisor's whole life, twice, in the scanner (see --prepared)."""
    base = os.path.join(scan, ".floor-rehearsal")
    svc = os.path.join(base, "svc")
    os.makedirs(svc, exist_ok=True)
    with open(os.path.join(svc, "run"), "w") as f:
        f.write("#!/bin/sh\nexec sleep 10\n")
    os.chmod(os.path.join(svc, "run"), 0o755)
    here = os.getcwd()
    fds = set(os.listdir("/proc/self/fd"))
    for _ in range(2):
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        old = signal.set_wakeup_fd(wake_w)
        os.write(wake_w, bytes((signal.SIGTERM,)))   # stop as soon as it is up
        try:
            supervise(svc, wake_r)
        finally:
            signal.set_wakeup_fd(old)
            signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGTERM, signal.SIGCHLD))
            os.chdir(here)
    for fd in set(os.listdir("/proc/self/fd")) - fds:   # the rehearsals' lock, FIFO, epoll
        try:
            os.close(int(fd))
        except OSError:
            pass
    _remove_tree(base)


def _remove_tree(path):
    """rm -r without shutil (its imports cost the scanner ms); no symlink is followed."""
    for name in os.listdir(path):
        p = os.path.join(path, name)
        if os.path.isdir(p) and not os.path.islink(p):
            _remove_tree(p)
        else:
            os.unlink(p)
    os.rmdir(path)


def main():
    global S6, PYSIX, BOOT
    scan = sys.argv[1]
    PYSIX = "--pysix-protocol" in sys.argv[2:]
    S6 = PYSIX or "--s6-protocol" in sys.argv[2:]
    if PYSIX:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            BOOT = f.read().strip()
    if "--pysix-sized" in sys.argv[2:]:
        import importlib
        for name in ("pysix.cli.svscan", "pysix.scan"):   # imported for their size
            importlib.import_module(name)
        importlib.import_module("pysix.speed").prepare_fork()
    os.chdir(scan)
    names = sorted(n for n in os.listdir(".") if not n.startswith("."))
    signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGTERM, signal.SIGCHLD))
    for sig in (signal.SIGTERM, signal.SIGCHLD):
        signal.signal(sig, _nothing)
    ENV.update(os.environb)
    fork = os.fork
    if "--prepared" in sys.argv[2:]:
        rehearse(os.getcwd())
        gc.collect()
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from pysix import speed
        fork = speed.fork_function()   # libc's fork(), as pysix's scanner forks
        speed._immortalize()
        speed.fresh_pools()
    gc.collect()
    gc.freeze()
    sups = set()
    for name in names:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        pid = fork()
        if pid == 0:
            child(name, wake_r, wake_w)
        os.close(wake_r)
        os.close(wake_w)
        sups.add(pid)
    stopping = False
    while sups:
        info = signal.sigwaitinfo((signal.SIGTERM, signal.SIGCHLD))
        if info.si_signo == signal.SIGTERM and not stopping:
            stopping = True
            for pid in sups:
                os.kill(pid, signal.SIGTERM)
        while sups:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            sups.discard(pid)


if __name__ == "__main__":
    main()
