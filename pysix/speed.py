"""pysix's speed tricks, in one place, with what each one measured.

A supervisor is a fork of the scanner (design.md), not a new interpreter:
what it shares with the scanner costs it nothing, and every page it writes
after the fork is copied for it (a minor fault and 4 KiB each; CPython
writes a page when it changes a reference count or specialises bytecode on
it). So the tricks do things once, before the fork, and make the forked
supervisor touch as little as it can. Figures: CPython 3.12, the 2-core
development machine, `bench/run.py --only explain` (schedstat CPU and
minor faults per supervisor at boot, N=50) unless said.

Done here, by the scanner, before its first fork (`prepare_fork`):
* every module a supervisor can import during its life is imported: one
  lazy import after the fork (execshim, once per start) cost each
  supervisor 1.8 ms and ~120 faults; `SUPERVISOR_MODULES` is the list and
  tests/test_speed.py fails when a supervisor imports anything else;
* process-wide facts read once: the boot id (identity.py), the cgroup
  base (cgroup.py; /proc/self/mountinfo parsed per supervisor cost 0.5 ms
  and ~40 faults) and whether tracing is on (trace.py);
* no `import` statement runs in a supervisor's functions: even of a loaded
  module, it runs importlib's Python code (~7 copied pages per supervisor);
* `gc.collect()` then `gc.freeze()`: the collector never walks (and so
  never writes) the objects the supervisors share; each child freezes again
  right after the fork (scan._child);
* the services' environment, one dict of bytes (`fork_env`): os.environ
  converted at each posix_spawn cost each supervisor ~190 KiB;
* pysix-svscan becomes a subreaper after its first forks: ctypes (the only
  way to prctl) costs 4-9 ms to import, before the first service otherwise,
  and stays out of the supervisors' memory.

Elsewhere, each a line or two where it applies:
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
* bin/pysix-init blocks signals through `env --block-signal` in its
  shebang: `python3 -S` takes 8-12 ms to its first statement, a signal in
  that window would be lost.
"""
from __future__ import annotations

import gc
import os

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict

# Modules a supervisor imports inside functions (only on some paths) or that
# nothing on the scanner's own import path brings in.
SUPERVISOR_MODULES = (
    "pysix.supervise",
    "pysix.execshim",
    "pysix.deps",
    "pysix.signames",
    "pysix.shebang",
)


def prepare_fork() -> None:
    """In the scanner, once before it forks its first supervisor."""
    for name in SUPERVISOR_MODULES:
        __import__(name)
    from . import cgroup, trace
    from .supervise import identity
    identity.boot_id()
    cgroup.base()
    trace.resolve()
    gc.collect()
    gc.freeze()


def fork_env() -> Dict[bytes, bytes]:
    """What every service gets, made once before a batch of forks (spawn.ENV)."""
    return dict(os.environb)
