"""Reaping every child of a process and telling whoever waits for one.

PID 1 and the scanner reap with `waitpid(-1)`: children they started and
orphans re-parented to them alike. A pid nobody watches is just reaped.
"""
import os
import _signal as signal   # the C module: `signal` adds enums (ms of imports, and enum code run on every call)

from .loop import Loop
from .status import shell_code

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Dict
    ExitCallback = Callable[[int, int], None]   # (pid, raw wait status)


class Reaper:
    def __init__(self, loop: "Loop") -> None:
        self.watched: Dict[int, ExitCallback] = {}
        self.on_unknown: ExitCallback = lambda pid, st: None
        self.on_reaped: Callable[[], None] = lambda: None
        loop.add_signal(signal.SIGCHLD, lambda sig: self.reap())

    def watch(self, pid: int, callback: "ExitCallback") -> None:
        self.watched[pid] = callback

    def reap(self) -> None:
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            cb = self.watched.pop(pid, None)
            (cb or self.on_unknown)(pid, st)
        self.on_reaped()

    @staticmethod
    def children_left() -> bool:
        """True while any child (started or adopted orphan) is alive or unreaped.

        As PID 1 or a subreaper, no child means no descendant is left at all.
        """
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return True


exit_code = shell_code   # a shell's view of a wait status (status.py decodes them all)
