"""A service's processes die together: the `kill-mode` file and its two groups.

`control-group` (the default): with a writable cgroup v2 hierarchy each run
goes into its own cgroup (cgroup.py); otherwise its session (run is started
with setsid, so its sid and process group are its pid). When run dies -- by
itself, after `svc -d`, or in the final stop -- whatever it left in that
group is ended: cgroup.kill, else SIGTERM now and SIGKILL after
`timeout-kill` (1 s if unset) or before the next start, whichever is first.
`process`: s6's behaviour, only run is signalled; leftovers live on.

The group's path is written to `supervise/pysix-cgroup` for pysix-svstat.
"""
import os
import _signal as signal

from . import cgroup
from .execshim import sh_quote
from .sendsig import kill
from .servicedir import lexists, read_file, read_uint

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional
    from .supervise.supervisor import Supervisor

FILE = "kill-mode"
MODES = ("control-group", "process")
CGROUP_FILE = "supervise/pysix-cgroup"
DEFAULT_GRACE = 1.0
SETTLE = 0.5                # seconds a start waits for KILLed leftovers to vanish


def parse_mode(data: "Optional[bytes]") -> tuple:
    """(mode, warning or None); a missing file is the default."""
    if data is None:
        return "control-group", None
    word = data.decode("ascii", "replace").strip()
    if word in MODES:
        return word, None
    if word == "mixed":      # systemd's: the main process first, then the rest -- what we do anyway
        return "control-group", None
    if word == "none":
        return "process", None
    return "control-group", "kill-mode: %r is not control-group or process; using control-group" % word[:60]


def session_members(sid: int) -> "List[int]":
    """Live processes of session `sid`: a pass over /proc with getsid(2), one
    syscall per process (reading each /proc/PID/stat cost ~5x more)."""
    out: List[int] = []
    me = os.getpid()
    try:
        if os.readlink("/proc/self") != str(me):
            return out      # a /proc of another pid namespace: its numbers are not ours
        names = os.listdir("/proc")
    except OSError:
        return out
    for n in names:
        if n.isdigit():
            pid = int(n)
            try:
                if os.getsid(pid) == sid and pid != me:
                    out.append(pid)
            except OSError:
                pass
    return out


class Group:
    def __init__(self, sup: "Supervisor") -> None:
        self.sup = sup
        data, why = read_file(".", FILE, 64)
        self.mode, bad = parse_mode(data)
        if why or bad:
            sup.warn(why or bad)
        self.cg: Optional[str] = None
        self.sid = 0            # session of the last run, in session mode
        self.timer = None
        self.pending = False    # leftovers were sent SIGTERM, not yet SIGKILL
        self.shim: List[str] = []   # prelude(): made once, run before every start
        self.outside_pgrp = False       # session mode: members outside run's process group were signalled
        if self.mode == "control-group":
            b = cgroup.base()
            if b is not None:
                self.cg = cgroup.service_path(b, os.getcwd(), sup.name)
                try:
                    cgroup.make(self.cg)
                except OSError as e:
                    sup.warn("cannot create cgroup %s (%s): using the session" % (self.cg, e.strerror))
                    self.cg = None
        if self.cg:
            self.shim = ["echo $$ >%s 2>/dev/null" % sh_quote(os.path.join(self.cg, "cgroup.procs"))]
        try:
            if self.cg:
                with open(CGROUP_FILE, "w") as f:
                    f.write(self.cg + "\n")
            elif lexists(CGROUP_FILE):
                os.unlink(CGROUP_FILE)
        except OSError:
            pass

    def prelude(self) -> "List[str]":
        """Shell words run's own process runs before exec (execshim): enter the cgroup
        before it can fork; moving it after posix_spawn returned lost children
        forked at once on a loaded machine."""
        return self.shim if self.mode == "control-group" else []

    def started(self, pid: int) -> None:
        """Right after posix_spawn returned: a backstop for a missing /bin/sh."""
        if self.mode != "control-group":
            return
        self.sid = pid if not lexists("nosetsid") else 0
        if self.cg:
            try:
                if pid not in cgroup.procs(self.cg):
                    cgroup.enter(self.cg, pid)
            except OSError as e:
                self.sup.warn("cannot move run into %s (%s): its leftovers are ended by session" % (
                    self.cg, e.strerror))

    def adopted(self, pid: int) -> None:
        """run was left by a killed predecessor (supervisor._adopted_run): know its
        session again, or its leftovers would outlive it in session mode. Its
        cgroup is already known: the path comes from the service dir."""
        if self.mode != "control-group":
            return
        try:
            own = os.getsid(pid) == pid
        except OSError:         # already gone: run was started with setsid unless nosetsid
            own = not lexists("nosetsid")
        self.sid = pid if own else 0    # never a session run shares with us

    def _leftovers(self) -> "List[int]":
        if self.cg:
            return cgroup.procs(self.cg)
        return session_members(self.sid) if self.sid else []

    def died(self, final: bool = False) -> None:
        """run is gone: end the rest of its group.

        `final` (the supervisor leaves once down: the tree's stop): in session
        mode only run's process group is signalled, not every process of its
        session found in /proc: 200 supervisors each reading /proc made the stop
        O(N^2) (13x s6's at N=200), and PID 1's last phase ends the rest."""
        if self.mode != "control-group":
            return
        if self.cg and cgroup.kill_all(self.cg):
            self.pending = True     # the next start waits until the group is empty
            return
        left = [] if final and not self.cg else self._leftovers()
        group = bool(self.sid) and kill(-self.sid, signal.SIGTERM)
        if group:
            kill(-self.sid, signal.SIGCONT)
        for pid in left:
            kill(pid, signal.SIGTERM)
            kill(pid, signal.SIGCONT)
        self.outside_pgrp = bool(left) and not self.cg    # outside run's process group: look again at the SIGKILL
        self.pending = bool(left) or group
        if self.pending and self.timer is None:
            ms, _ = read_uint(".", "timeout-kill", 0)
            self.timer = self.sup.loop.call_later(ms / 1000.0 if ms else DEFAULT_GRACE, self.end)

    def end(self) -> None:
        """SIGKILL what is left; before a new start and when the supervisor leaves."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.pending or self.sup.pid:
            return
        self.pending = False
        if self.cg:
            if not cgroup.kill_all(self.cg):
                for pid in cgroup.procs(self.cg):
                    kill(pid, signal.SIGKILL)
            cgroup.wait_empty(self.cg, SETTLE)
            return
        if self.sid:
            kill(-self.sid, signal.SIGKILL)
            if self.outside_pgrp:
                for pid in session_members(self.sid):
                    kill(pid, signal.SIGKILL)
            self.outside_pgrp = False

    def leave(self) -> None:
        self.end()
        if self.cg and not cgroup.procs(self.cg):
            cgroup.remove(self.cg)


def status_fields(sd: str) -> dict:
    """For pysix-svstat --json: the kill mode, the service's cgroup and its memory.current."""
    data, _ = read_file(sd, FILE, 64)
    cg = None
    try:
        with open(os.path.join(sd, CGROUP_FILE)) as f:
            cg = f.read().strip() or None
    except OSError:
        pass
    return {"kill_mode": parse_mode(data)[0], "cgroup": cg,
            "memory_current": cgroup.memory_current(cg) if cg else None}
