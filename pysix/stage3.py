"""Stage 3 of pysix-init as a table of named phases, each with a deadline. Pure.

A phase ends early when what it waits for is gone ("done") or at its
deadline ("late"); either way the table says which phase comes next. A
second stop request (hurry) sets the deadline of every phase that `hurries`
to now. The CMD's phase does not hurry: a second TERM goes to the CMD
itself, which may handle it within its grace time (as under tini).
"""
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, Mapping, Optional, Tuple

KILL_WAIT_MS = 5000   # after the final SIGKILL, how long the kernel may take to deliver it


class Phase(Record):
    name: str
    setting: str      # the Config field with its deadline in ms; "" = no deadline of PID 1's own
    zero_is_none: bool   # a setting of 0 means "no bound" rather than "at once"
    hurries: bool
    doc: str


PHASES: "Tuple[Phase, ...]" = (
    Phase("stop-cmd", "SERVICES_GRACETIME", False, False,
          "the CMD got the stop signal (TERM, or the one that stopped the container); SIGKILL at the deadline"),
    Phase("stop-services", "", False, True,
          "every service in reverse dependency order; the scanner owns each one's grace and SIGKILL"),
    Phase("cont-finish", "KILL_FINISH_MAXTIME", True, True,
          "/etc/cont-finish.d/* in order; the deadline is per script (SIGKILL at it)"),
    Phase("kill-rest", "KILL_GRACETIME", False, True,
          "TERM and CONT to every process left; ends as soon as none is left"),
    Phase("sigkill-rest", "", False, False,
          "SIGKILL to every process left; waits up to KILL_WAIT_MS for them to go"),
    Phase("exit", "", False, True, "the exit code is decided and pysix-init exits"),
)
BY_NAME: "Dict[str, Phase]" = {p.name: p for p in PHASES}

DONE, LATE = "done", "late"
NEXT: "Dict[Tuple[str, str], str]" = {
    ("stop-cmd", DONE): "stop-services", ("stop-cmd", LATE): "stop-services",
    ("stop-services", DONE): "cont-finish",
    ("cont-finish", DONE): "kill-rest",
    ("kill-rest", DONE): "exit", ("kill-rest", LATE): "sigkill-rest",
    ("sigkill-rest", DONE): "exit", ("sigkill-rest", LATE): "exit",
}
FIRST = PHASES[0].name


def deadline_ms(phase: "Phase", cfg: "Mapping", hurried: bool) -> "Optional[int]":
    """ms from the phase's (or script's) start to its deadline; None = none."""
    if phase.name == "sigkill-rest":
        ms: Optional[int] = KILL_WAIT_MS
    elif not phase.setting:
        return None
    else:
        ms = int(cfg[phase.setting])
        if ms == 0 and phase.zero_is_none:
            ms = None
    if hurried and phase.hurries:
        return 0
    return ms


def next_phase(name: str, how: str) -> str:
    return NEXT[(name, how)]
