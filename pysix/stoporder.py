"""Stopping a tree in dependency order: dependents before what they depend on.

A service's supervisor is told to stop once no running service depends on
it; independent services stop in parallel. Each service then gets `grace`
seconds; then its supervisor, the one owner of its process, is told to
SIGKILL it (control letter `k`). Services that can never run (in a cycle, or
missing a dependency) do not hold anything back.
"""
import os

from .control import write_control
from .deps import blocked, read_graph
from .loop import Loop, Timer

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Dict, List, Optional, Set


def reverse_graph(graph: "Dict[str, List[str]]") -> "Dict[str, List[str]]":
    """Who depends on each name (pure)."""
    dependents: Dict[str, List[str]] = {}
    for name, deps in graph.items():
        for d in deps:
            dependents.setdefault(d, []).append(name)
    return dependents


def ready_to_stop(dependents: "Dict[str, List[str]]", running: "Set[str]", signalled: "Set[str]",
                  blocked: "Set[str]") -> "List[str]":
    """Running services not yet signalled that no running service depends on (pure).

    A dependency waits while any dependent still runs, signalled or not. Only
    when nothing signalled is left running and still nothing may stop is the
    rest a cycle: then it all stops at once.
    """
    waiting = running - signalled
    out = [name for name in sorted(waiting)
           if not any(n in running and n != name and n not in blocked for n in dependents.get(name, ()))]
    if not out and waiting and not (running & signalled):
        out = sorted(waiting)
    return out


class OrderedStop:
    """Stop services dependents first, each bounded by the grace time.

    `start()` with the names whose supervisor runs; `gone()` as each one
    exits. Work per exit is constant without dependencies, so stopping
    hundreds of services costs no quadratic bookkeeping.
    """

    def __init__(self, loop: "Loop", scandir: str, grace: "Optional[float]",
                 signal_supervisor: "Callable[[str], None]") -> None:
        self.loop = loop
        self.scandir = scandir
        self.grace = grace
        self.signal_supervisor = signal_supervisor
        try:
            graph = read_graph(scandir)
        except OSError:
            graph = {}
        self.dependents = reverse_graph(graph)
        self.blocked = set(blocked(graph)) if graph else set()
        self.running: Set[str] = set()
        self.signalled: Set[str] = set()
        self.timers: Dict[str, Timer] = {}

    def start(self, running: "Set[str]") -> None:
        self.running = set(running)
        self._signal_ready()

    def gone(self, name: str) -> None:
        """`name`'s supervisor (and logger) exited: what waited on it may stop now."""
        self.running.discard(name)
        t = self.timers.pop(name, None)
        if t is not None:
            t.cancel()
        if self.dependents and self.running - self.signalled:
            self._signal_ready()

    def _signal_ready(self) -> None:
        for name in ready_to_stop(self.dependents, self.running, self.signalled, self.blocked):
            self.signalled.add(name)
            self.signal_supervisor(name)
            if self.grace is not None:
                self.timers[name] = self.loop.call_later(self.grace, lambda n=name: self.kill_service(n))

    def hurry(self) -> None:
        """Skip what is left of every grace time: SIGKILL every signalled service now."""
        self.grace = 0.0
        for name, t in list(self.timers.items()):
            t.cancel()
            self.kill_service(name)

    def kill_service(self, name: str) -> None:
        """Grace is over: the supervisor SIGKILLs its run (`k`); the logger
        drains and ends on its own. No pid is read back from a status file:
        only the supervisor knows for sure which process is its service."""
        self.timers.pop(name, None)
        try:
            write_control(os.path.join(self.scandir, name, "supervise", "control"), b"k")
        except Exception:
            pass    # no supervisor listening: nothing of ours to kill
