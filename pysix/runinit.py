"""pysix-run's PID 1: pysix-init over a generated tree, speaking dinit.

Each command is a service whose run writes its pid and asks its supervisor
never to restart it (`O`). This Init subscribes to every service's event/
fifodir, and at each death (`d`) reads the wait status and its time from
supervise/status: a death from before the stop began is the command's own
(`Child PID 'NAME' exited with status N`; it stops the container unless it
is a `:wait:` command that succeeded), a later one was caused by the stop
(`Stopped child ...`). The exit status is the first non-zero status in the
order of the deaths, `-CMD` commands left out.
"""
import os
import time

from . import fifodir
from .init import Init, say
from .status import unpack_status

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional, Tuple
    from .settings import Config

PID_FILE = "pysix-run.pid"


def dinit_status(wstat: int) -> int:
    """dinit's status of a death: the exit code, or the signal number."""
    return wstat & 0x7F or (wstat >> 8) & 0xFF


def death_message(pid: int, label: str, status: int, stopped: bool) -> str:
    if stopped:
        return "Stopped child %d '%s', exited with status %d" % (pid, label, status)
    return "Child %d '%s' exited with status %d" % (pid, label, status)


class RunInit(Init):
    def __init__(self, root: str, meta: "List[Tuple[str, str, bool, bool]]", cfg: "Config",
                 quiet: int) -> None:
        """meta: (service name, label, may_fail, wait) per command, in start order."""
        super().__init__(root, [], cfg)
        self.meta = {m[0]: m for m in meta}
        self.quiet = quiet
        self.stop_ns = 0
        self.first_status: Optional[int] = None
        self.subs: Dict[str, Tuple[int, str]] = {}

    def tell(self, msg: str, error: bool = False) -> None:
        """dinit's lines: all at no -q, errors only at -q, none from -qq on."""
        if self.quiet == 0 or (error and self.quiet == 1):
            try:
                os.write(2, ("pysix-run: %s\n" % msg).encode("utf-8", "replace"))
            except OSError:
                pass

    def _copy_services(self) -> None:
        super()._copy_services()
        # The live dirs exist now (copied after cont-init, as v2), and no
        # supervisor has started yet: subscribed here, no death can be missed.
        for name in self.meta:
            try:
                rfd, path = fifodir.subscribe(os.path.join(self.scandir, name, "event"))
            except OSError as e:
                say("warning: cannot watch %s: %s" % (name, e.strerror))
                continue
            self.subs[name] = (rfd, path)
            self.loop.add_reader(rfd, self._guard(lambda name=name: self._on_event(name)))

    def shutdown(self, why: str, sig: int = 0) -> None:
        if not self.stopping:
            self.stop_ns = time.time_ns()
        super().shutdown(why, sig)

    def _on_event(self, name: str) -> None:
        rfd = self.subs[name][0]
        try:
            letters = os.read(rfd, 4096)
        except (BlockingIOError, OSError):
            return
        if b"d" in letters:
            self._died(name)

    def _died(self, name: str) -> None:
        _, label, may_fail, wait = self.meta[name]
        sd = os.path.join(self.scandir, name)
        try:
            with open(os.path.join(sd, "supervise", "status"), "rb") as f:
                st = unpack_status(f.read())
            with open(os.path.join(sd, PID_FILE)) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError) as e:
            say("warning: cannot read how %s ended: %s" % (name, e))
            return
        status = dinit_status(st.wstat)
        stopped = bool(self.stop_ns) and st.stamp >= self.stop_ns
        self.tell(death_message(pid, label, status, stopped), error=bool(status) and not stopped and not may_fail)
        if status and not may_fail and self.first_status is None:
            self.first_status = status
        if not self.stopping and not (wait and (status == 0 or may_fail)):
            self.shutdown("%s exited" % name)

    def exit_code(self) -> int:
        # The stop can end before the loop has read a last supervisor's `d`
        # (it is in the FIFO, written just before that supervisor exited):
        # every death is told, and counted, before the exit status.
        for name in self.subs:
            self._on_event(name)
        code = self.first_status or 0
        self.tell("Exiting, status %d" % code)
        return code
