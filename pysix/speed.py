"""pysix's speed tricks, in one place, with what each one measured.

A supervisor is a fork of the scanner (design.md), not a new interpreter:
what it shares with the scanner costs it nothing, and every page it writes
after the fork is copied for it (a minor fault and 4 KiB each; CPython
writes a page when it changes a reference count or specialises bytecode on
it). So the tricks do things once, before the fork, and make the forked
supervisor touch as little as it can. Figures: CPython 3.12, the 2-core
development machine, `bench/run.py --only explain` (schedstat CPU and
minor faults per supervisor at boot, N=50) unless said.

Done here, by the scanner, right before its first fork (`prepare_fork`;
not at start, so PID 1 with only a CMD pays none of it):
* every module a supervisor can import during its life is imported: one
  lazy import after the fork (execshim, once per start) cost each
  supervisor 1.8 ms and ~120 faults; `SUPERVISOR_MODULES` is the list and
  tests/test_speed.py fails when a supervisor imports anything else;
* the libc functions only a child calls are bound by the dynamic linker
  here (`_bind_child_calls`): each supervisor bound setpgid, close_range
  and CPython's _Py_closerange at its first call of them (LD_DEBUG=bindings:
  nothing else), 12 of its page faults in the linker's code (perf's fault
  samples, N=50); bound here, 154-156 -> 150-151 faults and 328 -> 320-324
  KiB private per supervisor (`--only explain`, 4 rounds alternated);
* process-wide facts read once: the boot id (identity.py), the cgroup
  base (cgroup.py; /proc/self/mountinfo parsed per supervisor cost 0.5 ms
  and ~40 faults) and whether tracing is on (trace.py);
* no `import` statement runs in a supervisor's functions: even of a loaded
  module, it runs importlib's Python code (~7 copied pages per supervisor);
* `gc.collect()` then `gc.freeze()`: the collector never walks (and so
  never writes) the objects the supervisors share; each child freezes again
  right after the fork (scan._child);
* on CPython 3.12 and 3.13, the objects every supervisor calls or reads
  (module-level functions, their code, constants and defaults, classes,
  modules and their dicts, built-in functions, descriptors) are made
  immortal (PEP 683), as None is: calling a function no longer writes its
  reference count, so the pages holding them stay shared. 1192 -> 912 KiB
  private per supervisor and 370 -> 303 faults at boot (N=50, full bench
  run), the constants another 932 -> 900 KiB (same minute); with the
  rehearsal, module and class constants (`os.O_CLOEXEC`, a path string:
  read through a global, each was counted) and the constants of nested
  code 680 -> ~630 KiB and 240 -> 225 faults; ~11,800 objects in 5-6 ms,
  plus 0.4-1 ms to import _ctypes (`_immortalize`).
  Only objects that live as long as the scanner anyway qualify: closures
  holding more than plain values, classes made in functions and built-ins
  bound to instances stay mortal, so nothing the scanner drops is kept.
  Also immortal: the plain values of functions' defaults (a default
  string, "pysix-supervise", is no code's constant once the module ran),
  and what each child of the first batch is handed (`keep`: its plan, the
  path and name in it, the scanner, its loop, the two bound methods),
  which the first batch's supervisors each wrote a reference count of:
  a few objects per service, kept for the scanner's life even if the
  service goes; later, small batches are not worth it;
* before a first batch of REHEARSE_MIN forks or more, a supervisor's life
  is rehearsed here (`rehearse`): start and stop, twice, on a throwaway
  tree in `.s6-svscan/pysix-rehearsal`. A forked supervisor otherwise
  specialises every instruction it runs (writing its code's pages) and
  misses the type-attribute cache (its 96 KiB were written in every
  supervisor, about 300 entries each). 880 -> ~710 KiB private and 294 ->
  ~245 faults per supervisor, PSS per extra service 936 -> 691 KiB, boot
  N=50 195 -> 149 ms (s6 105 -> 89 in the same runs). It costs the
  scanner 3.6 ms, and more of a small tree's boot than it saves (to the
  last `run`, 21 boots of each, interleaved: N=2 45.3 -> 51.2 ms, N=3
  46.6 -> 58.9, N=5 61.4 -> 66.3; it pays for itself from 8-16 services),
  but the memory stays for the container's life: a 2- to 5-service
  tree's supervisors are 332-340 KiB private instead of 756-768, its PSS
  0.35 / 0.85 / 1.7 MiB less (N=2 / 3 / 5). So from two supervisors; a
  lone one is not rehearsed (960 against 1416 KiB, for 7-14 ms of the
  boot N=1 the bench measures). The first try from two made a race
  likelier, fixed since (servicepolicy: a readiness query read pysix-state
  and then s6's status, and a start between the two looked ready);
* after the rehearsal, every small size class of pymalloc is filled up to
  a fresh pool (`fresh_pools`): a child's temporaries of one size then
  share one page with their pool's header instead of writing a shared
  pool's header page and the page of its free block. Private memory per
  supervisor 504 -> 436-440 KiB, faults 199 -> 182, PSS N=50 34.4-34.9 ->
  31.8-32.0 MiB and N=200 105.0 -> 99.3 MiB (`--only explain,memory`, 3
  repeats, two rounds alternated); ~1400 objects and 0.5 ms in the
  scanner, so only before a rehearsed batch. A collection right before
  the forks to empty the free lists of lists, tuples and dicts as well
  changed nothing;
* the services' environment, one dict of bytes (`fork_env`): os.environ
  converted at each posix_spawn cost each supervisor ~190 KiB; the dict,
  its keys and its values are immortal too: posix_spawn takes a reference
  to each key and value, which wrote every page they are on (7 for 35
  variables) in every supervisor;
* pysix-svscan becomes a subreaper after its first forks, through
  `_ctypes` alone (cfunc.py): `ctypes` costs ~2.4 ms more to import;
* supervisors are forked by libc's fork() called with the GIL held
  (`fork`), not os.fork(): CPython's after-fork work (new GIL, locks,
  thread states, signal flags, at-fork callbacks) is for a process that
  had threads, and in the child it wrote ~28 pages. Measured in a scanner
  after prepare_fork, medians of 60: the child's fork to first line
  178-205 -> 91-115 us and 75 -> 46 faults; in a full 3.12 run, 588 -> 524
  KiB private per supervisor, CPU per supervisor and the scanner's fork
  loop unchanged within noise. Used only while it is safe (`fork_function`): no thread was
  started and no module that registers at-fork callbacks is loaded. The
  wrapper and the ctypes function it calls are immortal (made by calls,
  they were not: each fork counted a reference to both), and the call
  keeps no errno (ctypes swaps it through a per-thread object on every
  call; a failed fork is tried again by os.fork, which raises with it):
  the scanner's page faults between two forks 15.1 -> 10.1-11.1 (perf, N=50),
  at boot N=50 2285-2348 -> 2042-2101; per supervisor 154-155 -> 148-149
  faults and 332-340 -> 312-316 KiB private (`--only explain`, 6 rounds
  alternated), PSS per extra service 341-342 -> 321-323 KiB (`--only
  memory`, 2 rounds alternated), CPU within noise;

Elsewhere, each a line or two where it applies:
* open flags are module constants (ctldir.py, atomic.py, servicedir.py,
  supervisor.py, identity.py): 3.12 does not specialise `|` on ints, and
  an instruction that failed to specialise writes its counter (its code's
  page) on every run: 696 -> 680 KiB private;
* the rest of what every supervisor runs is written the way 3.12
  specialises (found by diffing each code object's bytecode in a live
  supervisor against the scanner's before the fork): f-strings, not `%`;
  `servicedir.in_dir`, not os.path.join (it takes *args); `+` of distinct
  bits; the status record packed with `*`, `+` and divmod, not `&` and
  bytes((n,)); record fields read through one-argument getters
  (record.py); a bound method made once (Policy._flush); a `*` call for
  Loop.leave's set_wakeup_fd; spawn.ENV set before the rehearsal, so the
  branch rehearsed is the one the supervisors take; the child's default
  signals a constant (looked up in the child, each name missed the type
  cache: a page each). 37 -> 24 code pages and 17 -> 10 type-cache pages
  written per supervisor; 624-644 -> 564-580 KiB private, 225 -> 211-215
  faults, PSS per extra service 658 -> 584-596 KiB (`--only explain,memory`
  and a full run);
* what 3.12 has no specialisation for goes through specialised.py's forms
  in the code every supervisor runs at boot: calls of classes, of
  built-ins taking no or variable arguments (time.monotonic(),
  os.getpid(), select.epoll()), of a ctypes function (the libc fork), calls
  with keywords, `==` on tuples and bytes, os.stat results' fields, a
  class's method: `call(f, ...)`, `eq`, `ne`, `getitem`, a method bound by
  getattr, a tuple iterated instead of a set, a method as a function
  (supervisor.make_ctldir: read as a method, it was deoptimised in every
  child). Found by reading, in each live supervisor, every code object's
  bytes at its address through /proc/PID/mem against the scanner's before
  the fork, and keeping the pages the child holds alone (kpagecount 1):
  24 -> 4-6 code pages per supervisor (what is left runs only in a child:
  Scanner._child, run_supervisor, handoff.close_except, and the fork's
  return for the first children). Private memory per supervisor 412-416
  -> 336 KiB, faults 176 -> 158, PSS N=50 30.8-31.1 -> 26.9 MiB
  (supervisord 29.4), PSS per extra service 401-403 -> 347 KiB
  (`--only explain,memory`, against two runs of the code before);
* the same at a death and in the tree's stop (status.py's death tally
  and wait-status decoding, the machine's effect lists, Loop.run_once,
  the policy's restart delay): `&`, `>>`, `%` and `/` as specialised.py's
  built-ins, append and extend for list `+`, a join for bytes `+`, no
  min(), max() or str.startswith; call() where one call site calls many
  kinds of callable (timer callbacks, on_exit: a plain call, specialised
  for the rehearsal's, missed in the child). And the rehearsal lives the
  stop as a tree's stop comes: its run is killed by the TERM (a signal's
  branch of each decoder, not the exit's), the SIGCHLD comes through the
  loop and reap() reaps it (by its pid: supervisor.WAIT_FOR). The code
  a supervisor writes from its fork to its exit is then only what runs
  in a child alone (tests/test_speed.py checks it in each supervisor).
  Stop minor faults per service, the whole tree, 35-39 -> 17 (floor-pysix-
  prep: 24); a supervisor's CPU from the TERM to its exit (getrusage,
  N=50, two rounds alternated) 609-638 -> 506-583 us, 30 -> 10-16 faults.
  Private memory at boot moved by 0 to +16 KiB from run to run with no
  more code written: each of two edits that run only at a death (policy,
  loop) moved it by 8 KiB alone, i.e. it is where the scanner's objects
  fall against the pools a supervisor allocates from and frees into;
* scan._fork_all forks a whole batch with nothing run between two forks:
  ~110 pages copied per fork when bookkeeping ran in between, ~20 without;
* Loop.leave (loop.py) only unhooks the wakeup fd in the child: clearing the
  parent's dicts there wrote their pages into every child;
* Loop.run_once asks epoll for 32 events, not 1023: the default made every
  poll malloc a 12 KiB array (heap pages copied in every supervisor);
* `import _signal as signal` (the C module): `signal` imports enum (ms)
  and runs enum code on every call;
* `TYPE_CHECKING = False` and string annotations in every module: importing
  `typing` costs ms per command;
* a command's start (a status query, a HEALTHCHECK's `pysix health`) is
  mostly its imports: each module is ~0.1 ms and a dozen system calls here
  (12 empty ones: 1.1 ms). So no pysix module has `from __future__ import
  annotations`, which imports a module of its own (~0.2 ms; once per
  process, in with-contenv before each service's `run` too): where an
  annotation names what only a type checker imports it is a string (3.9
  evaluates the others); run_main() lives in pysix.cli's `__init__`, which
  every command imports anyway; svstatfmt imports signal names only to
  print a death by a signal; and each executable in bin/ drops its own
  directory from sys.path before importing pysix (Python puts it first; a
  listing of /usr/bin, where a distribution installs commands, is ~0.8
  ms). tests/test_clients.py checks the commands' imports. pysix-svstat on a supervised service, 3.12,
  400 runs interleaved with `python3 -c pass`: +1.8-1.9 -> +0.85-0.92 ms
  over it; 542 -> 492 system calls, 41.6 -> 40.0 M instructions (callgrind);
  every other client ~40 system calls and ~0.9 M instructions fewer;
* bin/pysix-init blocks signals through `env --block-signal` in its
  shebang: `python3 -S` takes 8-12 ms to its first statement, a signal in
  that window would be lost.
"""
import gc
import os
import sys

import stat
import _signal as signal
import _thread

from .specialised import call

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Dict, Optional, Sequence

# Modules a supervisor imports inside functions (only on some paths) or that
# nothing on the scanner's own import path brings in.
SUPERVISOR_MODULES = (
    "pysix.supervise.supervisor",
    "pysix.execshim",
    "pysix.deps",
    "pysix.signames",
    "pysix.shebang",
)


def prepare_fork(rehearse_in: "Optional[str]" = None, keep: "Sequence[object]" = ()) -> None:
    """In the scanner, once before it forks its first supervisor; with a
    control dir (`.s6-svscan`), a supervisor's life is rehearsed there first.
    `keep`: more objects to make immortal (what the first batch's children
    are handed: on 3.12 they are then never freed)."""
    for name in SUPERVISOR_MODULES:
        __import__(name)
    fork = fork_function()  # bound now: its objects are frozen with the rest
    _bind_child_calls()
    from . import cgroup, trace
    from .supervise import identity
    identity.boot_id()
    cgroup.base()
    if rehearse_in is not None and not trace.resolve():   # no rehearsal in a trace
        rehearse(rehearse_in)
    gc.collect()
    from .supervise import spawn
    env = spawn.ENV or {}
    # the fork and the libc function it calls, made by calls: each fork took
    # a reference to both, a page written in the scanner per fork
    held = [c.cell_contents for c in getattr(fork, "__closure__", None) or ()]
    _immortalize(also=[env, *env.keys(), *env.values(), *keep, fork, *held])
    if rehearse_in is not None:     # a big batch: worth its ~200 KiB in the scanner
        fresh_pools()
    gc.freeze()


def _bind_child_calls() -> None:
    """Call, here, the libc functions that only a forked child calls
    (scan._child: setpgid, and close_range through CPython's _Py_closerange),
    with arguments that change nothing: the dynamic linker binds a function
    at its first call in a process, and bound here, it is bound in every
    supervisor forked after."""
    try:
        os.setpgid(0, -1)   # EINVAL: no process group is changed
    except OSError:
        pass
    os.closerange(3, 3)     # close_range(3, 2): EINVAL, and nothing is closed


def _immortalize(also: "tuple | list" = ()) -> int:
    """Give the long-lived objects None's reference count: never written again.

    `also`: more objects that live as long as the scanner (the services'
    environment). Returns how many were changed (0 where the interpreter
    has no immortal objects: 3.11, or a layout this does not know).
    """
    if sys.version_info[:2] not in ((3, 12), (3, 13)) or "t" in sys.abiflags:
        return 0    # 3.11: none; free-threaded builds and 3.14+ keep counts elsewhere
    import _ctypes   # not ctypes: its Python half costs 4-9 ms to import

    class Word(_ctypes._SimpleCData):
        _type_ = "q"

    class Memory(_ctypes.Array):   # the address space as words: one store per object
        _type_ = Word
        _length_ = 1 << 44

    mem = Memory.from_address(0)
    immortal = mem[id(None) >> 3]
    if immortal != sys.getrefcount(None):
        return 0
    Module, Function, Builtin = type(sys), type(_immortalize), type(len)
    kinds = {Function, Module, Builtin, staticmethod, classmethod, property,
             # and the descriptors: method, wrapper, classmethod, getset, member
             type(str.join), type(object.__init__), type(dict.__dict__["fromkeys"]),
             type(Function.__code__), type(type.__dict__["__basicsize__"])}
    objects = gc.get_objects()
    classes = {t for t in set(map(type, objects)) if issubclass(t, type)}   # type and metaclasses
    objs = []
    for o in objects:
        t = type(o)
        if t in classes:
            if "<" in o.__qualname__:           # made by a call: may be dropped later
                continue
            _plain_values(vars(o).values(), objs)
        elif t is Function:
            if "<" in o.__qualname__ and not _plain(o, classes):
                continue
            # its code and constants (strings, tuples, numbers, the code
            # of its lambdas and comprehensions) live as long as it does
            _constants(o.__code__, objs)
            if o.__defaults__:
                objs.append(o.__defaults__)
                _plain_values(o.__defaults__, objs)     # "pysix-supervise": each call counted it
            if o.__kwdefaults__:
                _plain_values(list(o.__kwdefaults__.values()), objs)
        elif t is Builtin:
            if not (o.__self__ is None or type(o.__self__) is Module or type(o.__self__) in classes):
                continue                        # bound to an object that may go away
        elif t is Module:
            objs.append(o.__dict__)
            # its constants: a string read through a global or an attribute
            # (os.O_CLOEXEC, "../.s6-svscan/control") is otherwise counted
            _plain_values(list(o.__dict__.values()), objs)
        elif t not in kinds:
            continue
        objs.append(o)
    objs.extend(also)
    for o in objs:
        mem[id(o) >> 3] = immortal
    return len(objs)


# pymalloc's geometry on 64-bit CPython: 16 KiB pools since 3.10 (4 KiB
# before), each block after a 48-byte header.
POOL_SIZE = 16384 if sys.version_info >= (3, 10) else 4096
POOL_HEADER = 48
_FILLERS: list = []     # kept for the scanner's life: freeing one would undo it


def fresh_pools() -> int:
    """Fill every small size class of pymalloc up to a pool never used.

    A forked supervisor's temporaries of one size come from the pool the
    scanner was using for that size: its header page and the page of the
    free block, two shared pages copied per size class. From a fresh pool
    they share one page with its header. So each class is filled with
    objects kept here until the last one is a fresh pool's first block,
    then checked: its next block must follow that one. A block freed in an
    older pool meanwhile (the filling of the other classes frees some: seen
    for 80 bytes, in some environments) puts that pool first again, and a
    freed first block of an older pool looks like a fresh one; either way
    the class is filled again, at most twice.
    Returns how many objects that took; 0, keeping none, where the memory
    is not pymalloc's as assumed (PYTHONMALLOC, -X dev's debug hooks).
    """
    if sys.flags.dev_mode or os.environ.get("PYTHONMALLOC", "pymalloc") != "pymalloc":
        return 0
    kept: list = []
    last: "Dict[int, int]" = {}     # size class -> address of its last block kept
    for _ in range(3):
        settled = True
        for size in range(32, 513, 16):
            o = _block(size, len(kept))
            if last.get(size, -1) + size == id(o):
                continue    # the pool is still fresh: this block goes back to it
            settled = False
            for _ in range(4 * POOL_SIZE // size + 8):    # at most a few partly used pools
                kept.append(o)
                if id(o) % POOL_SIZE == POOL_HEADER:
                    last[size] = id(o)
                    break
                o = _block(size, len(kept))
            else:
                return 0    # never a pool's first block: not the allocator assumed
        if settled:
            break
    _FILLERS.extend(kept)
    return len(kept)


def _block(size: int, n: int) -> object:
    """A new object of `size` bytes: an int (32; never a cached one) or bytes."""
    return (1 << 40) + n if size == 32 else bytes(size - 33)


_PLAIN = (str, bytes, int, float)


def _plain_values(values, out: list) -> None:
    """The strings, numbers and tuples or frozensets of them among `values`."""
    for v in values:
        t = type(v)
        if t in _PLAIN:
            out.append(v)
        elif t is tuple or t is frozenset:
            if all(type(x) in _PLAIN or x is None or type(x) is bool for x in v):
                out.append(v)
                out.extend(x for x in v if type(x) in _PLAIN)


def _constants(code, out: list) -> None:
    """A code object, its constants, and those of the code objects inside it."""
    out.append(code)
    for c in code.co_consts:
        t = type(c)
        if t is type(code):
            _constants(c, out)
        elif t in _PLAIN:
            out.append(c)
        elif t is tuple or t is frozenset:   # of constants only, by construction
            _constants_in(c, out)


def _constants_in(group, out: list) -> None:
    out.append(group)
    for c in group:
        t = type(c)
        if t in _PLAIN:
            out.append(c)
        elif t is tuple or t is frozenset:
            _constants_in(c, out)


def _plain(fn: object, classes: set) -> bool:
    """A function made by a call whose defaults and cells hold only plain values.

    Record's field getters and constructors, os.fsencode: made once at
    import, and as long-lived as their module. A callback holding a
    service or a file stays mortal: the scanner may drop it.
    """
    held = list(fn.__defaults__ or ())    # type: ignore[attr-defined]
    for cell in fn.__closure__ or ():     # type: ignore[attr-defined]
        try:
            held.append(cell.cell_contents)
        except ValueError:      # an empty cell
            pass
    plain = (int, str, bytes, float, bool, type(None))
    for v in held:
        if type(v) in (tuple, frozenset):
            if not all(type(x) in plain for x in v):
                return False
        elif not (type(v) in plain or type(v) in classes):
            return False
    return True


# Modules of the standard library that register at-fork callbacks (or start
# threads): while one is loaded, supervisors are forked by os.fork().
_AT_FORK_USERS = ("threading", "random", "logging", "asyncio", "concurrent.futures",
                  "multiprocessing")
_fork: "Optional[Callable[[], int]]" = None


def fork_function() -> "Callable[[], int]":
    """What forks a supervisor: libc's fork() (see above) when nothing needs
    CPython's after-fork work, else os.fork."""
    global _fork
    if _thread._count() or any(m in sys.modules for m in _AT_FORK_USERS):
        return os.fork
    if _fork is None:
        from .cfunc import bind
        try:
            libc_fork = bind("fork", keep_gil=True, keep_errno=False)
        except (OSError, AttributeError, ImportError):
            return os.fork
        _fork = _checked(libc_fork)
    return _fork


def _checked(libc_fork) -> "Callable[[], int]":
    def fork() -> int:
        # call(): a call of a ctypes function is never specialised, and the
        # scanner wrote its counter, so this page, between each two forks
        pid = call(libc_fork)
        # errno is not kept (ctypes' copy of it wrote two pages per fork): a
        # failed fork is tried again by os.fork, which raises with it
        return pid if pid >= 0 else os.fork()
    return fork


_env: "Optional[Dict[bytes, bytes]]" = None


def fork_env() -> "Dict[bytes, bytes]":
    """What every service gets (spawn.ENV): made before the first batch of
    forks, and again only if the scanner's environment changed since (the
    first one was made immortal by prepare_fork, and is never freed)."""
    global _env
    if _env is None or _env != os.environb:
        _env = dict(os.environb)
    return _env


# The rehearsal ------------------------------------------------------------
REHEARSE_MIN = 2        # supervisors forked at once: a lone one is not rehearsed (below)
REHEARSAL = "pysix-rehearsal"
_RUN = b"#!/bin/sh\nexec sleep 60\n"   # killed by the stop's TERM, as a service is


def rehearse(ctldir: str) -> bool:
    """Live a supervisor's start and stop twice, here, on a throwaway tree.

    CPython specialises an instruction the second time it runs (3.12) and
    caches each (type, name) lookup in a 96 KiB table: run first in a forked
    supervisor, both write pages it shares with the scanner. Rehearsed
    here, the code every supervisor runs is specialised and its lookups are
    cached before the fork. The tree is `ctldir/pysix-rehearsal` (mode
    0700, used through its fd, removed after): its own `.s6-svscan` (control
    FIFO, control lock) and a service whose `run` exits at once; its
    supervisor sets up, spawns run, is sent SIGTERM, reaps run by pid and
    gets to its exit (a no-op here). Every signal is blocked meanwhile and
    the handlers and the wakeup fd are put back; fds it opened are closed.
    Never fatal: False if anything failed (the forks then cost what they did
    without it).
    """
    from .loop import Loop
    from .supervise import supervisor as sv
    root = os.path.join(os.path.abspath(ctldir), REHEARSAL)
    sigs = (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGINT)
    handlers = [signal.getsignal(s) for s in sigs]
    if None in handlers:    # set outside Python: it could not be put back
        return False
    try:
        fds = set(os.listdir("/proc/self/fd"))
        here = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    wakeup = signal.set_wakeup_fd(-1)
    ok = False
    err = -1
    try:
        # its warnings (and run's output) are nobody's business: fd 2 is
        # /dev/null meanwhile (shadowing sup.warn would change its layout)
        err = os.dup(2)
        nul = os.open("/dev/null", os.O_WRONLY | os.O_CLOEXEC)
        os.dup2(nul, 2)
        os.close(nul)
        for _ in range(2):
            _remove(root)
            top = _build(root)
            try:
                _live_once(sv, Loop, top)
            finally:
                os.fchdir(here)
                _clear(top)
                os.close(top)
        ok = True
    except Exception:
        pass
    finally:
        if err >= 0:
            os.dup2(err, 2)
            os.close(err)
        os.fchdir(here)
        os.close(here)
        for fd in set(os.listdir("/proc/self/fd")) - fds:
            try:
                os.close(int(fd))
            except OSError:
                pass
        try:
            _remove(root)
        except OSError:
            ok = False
        for s, h in zip(sigs, handlers):
            signal.signal(s, h)
        signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return ok


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _build(root: str) -> int:
    """The tree, made through the fd of its top (returned): renaming `root`
    away cannot send a write, or the chdir, elsewhere."""
    os.mkdir(root, 0o700)
    top = os.open(root, _DIR)
    try:
        st = os.fstat(top)
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            raise OSError("%s: not the directory just made" % root)
        os.mkdir(".s6-svscan", 0o700, dir_fd=top)
        os.mkfifo(".s6-svscan/control", 0o600, dir_fd=top)
        os.close(os.open(".s6-svscan/pysix-ctl-lock", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                         0o600, dir_fd=top))
        os.mkdir("svc", 0o700, dir_fd=top)
        fd = os.open("svc/run", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o700, dir_fd=top)
        try:
            os.write(fd, _RUN)
        finally:
            os.close(fd)
    except BaseException:
        os.close(top)
        raise
    return top


def _live_once(sv, Loop, top: int) -> None:
    """run_supervisor's steps in top/svc, then a stop, with no exit at its end."""
    svc = os.open("svc", _DIR, dir_fd=top)
    try:
        os.fchdir(svc)
    finally:
        os.close(svc)
    loop = Loop()
    sup = sv.Supervisor(REHEARSAL, loop)
    sup.on_exit = lambda: None      # set in __init__ too: the instance keeps its real layout
    try:
        sup.setup()     # lock, FIFOs, status, event; spawns ./run
        loop.run_once(0.0)
        pid = sup.pid
        if pid:
            # the TERM a stop brings, then run's SIGCHLD, by the loop's own
            # path (its wakeup pipe): reap() reaps run, by pid (the scanner's
            # other children are not its to reap)
            os.write(loop._sig_w, bytes((signal.SIGTERM,)))
            loop.run_once(0.0)
            os.kill(pid, signal.SIGKILL)   # bounded: it may have trapped the TERM
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)   # dead, left for reap()
            sv.WAIT_FOR = pid
            try:
                os.write(loop._sig_w, bytes((signal.SIGCHLD,)))
                loop.run_once(0.0)
            finally:
                sv.WAIT_FOR = -1
            if sup.pid == pid:      # not reaped there: never left behind
                _, st = os.waitpid(pid, 0)
                sup.on_run_death(st)
        loop.call_later(0, loop.stop)
        loop.run()      # a supervisor's one call of it, too
    finally:
        loop.leave()    # as scan._child does to the scanner's loop
        loop.close()


def _clear(dfd: int) -> None:
    """Empty the directory `dfd`, never following a symlink."""
    for e in os.scandir(dfd):
        if e.is_dir(follow_symlinks=False):
            sub = os.open(e.name, _DIR, dir_fd=dfd)
            try:
                _clear(sub)
            finally:
                os.close(sub)
            os.rmdir(e.name, dir_fd=dfd)
        else:
            os.unlink(e.name, dir_fd=dfd)


def _remove(path: str) -> None:
    """rm -r of a rehearsal tree (one left by a killed scanner, too)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)     # a symlink is removed, not followed
        return
    fd = os.open(path, _DIR)
    try:
        _clear(fd)
    finally:
        os.close(fd)
    os.rmdir(path)
