"""Stopping a tree in dependency order: dependents before what they depend on.

A service's supervisor is told to stop once no running service depends on
it; independent services stop in parallel. Each service then gets `grace`
seconds before its run is SIGKILLed. Services that can never run (in a
cycle, or missing a dependency) do not hold anything back.
"""
from __future__ import annotations

import os
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)

from .deps import blocked, read_graph
from .loop import Loop, Timer
from .status import unpack_status

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Dict, List, Optional, Set


def ready_to_stop(graph: Dict[str, List[str]], running: Set[str], signalled: Set[str],
                  blocked: Set[str]) -> List[str]:
    """Running services not yet signalled that no running service depends on (pure)."""
    out = []
    for name in sorted(running - signalled):
        holders = [n for n in running if n != name and n not in blocked and name in graph.get(n, ())]
        if not holders:
            out.append(name)
    if not out and running - signalled:
        # Only possible with a cycle among running services: stop them all.
        out = sorted(running - signalled)
    return out


class OrderedStop:
    def __init__(self, loop: Loop, scandir: str, grace: Optional[float],
                 signal_supervisor: Callable[[str], None]) -> None:
        self.loop = loop
        self.scandir = scandir
        self.grace = grace
        self.signal_supervisor = signal_supervisor
        try:
            self.graph = read_graph(scandir)
        except OSError:
            self.graph = {}
        self.blocked = set(blocked(self.graph)) if self.graph else set()
        self.signalled: Set[str] = set()
        self.timers: Dict[str, Timer] = {}

    def advance(self, running: Set[str]) -> None:
        """Signal whatever may stop now, given the names whose supervisor still runs."""
        for name in ready_to_stop(self.graph, running, self.signalled, self.blocked):
            self.signalled.add(name)
            self.signal_supervisor(name)
            if self.grace is not None:
                self.timers[name] = self.loop.call_later(self.grace, lambda n=name: self.kill_service(n))
        for name in list(self.timers):
            if name not in running:
                self.timers.pop(name).cancel()

    def hurry(self) -> None:
        """Skip what is left of every grace time: SIGKILL every signalled service now."""
        self.grace = 0.0
        for name, t in list(self.timers.items()):
            t.cancel()
            self.kill_service(name)

    def kill_service(self, name: str) -> None:
        """SIGKILL the service's run (its logger drains and ends on its own)."""
        self.timers.pop(name, None)
        pid = _status_pid(os.path.join(self.scandir, name))
        if pid:
            for target in (-pid, pid):   # its process group (it leads one), then itself
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass


def _status_pid(sd: str) -> int:
    try:
        with open(os.path.join(sd, "supervise", "status"), "rb") as f:
            return unpack_status(f.read()).pid
    except (OSError, ValueError):
        return 0
