"""Signal names as s6 prints and parses them (skalibs' table), pure functions."""
# signal's C half: `import signal` also builds its enums, which costs a client
# (pysix-svstat printing "down (signal SIGTERM)") a few ms of imports.
import _signal

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs a client ms to import; annotations are strings anyway
    from typing import Optional

# Names s6 knows, as signal.Signals names them: for a number with several
# names, the first in alphabetical order (hence the reverse walk).
_NAMES = {}
for _name in sorted(vars(_signal), reverse=True):
    if _name.startswith("SIG") and not _name.startswith("SIG_") and _name.isupper():
        _NAMES[getattr(_signal, _name)] = _name
# Linux aliases: prefer the names s6 prints.
_NAMES[_signal.SIGIOT] = "SIGABRT"
_NAMES[_signal.SIGCHLD] = "SIGCHLD"
_BYNAME = {name[3:]: num for num, name in _NAMES.items()}
_BYNAME.update({"IOT": _signal.SIGIOT, "POLL": _signal.SIGPOLL,
                "IO": _signal.SIGIO, "CLD": _signal.SIGCHLD})
# What s6-svstat 2.11 prints (checked against it for 1..126): skalibs calls
# 29 SIGPOLL and has no name for the real-time bounds.
_NAMES[_signal.SIGPOLL] = "SIGPOLL"
for _rt in ("SIGRTMIN", "SIGRTMAX"):
    if hasattr(_signal, _rt):
        _NAMES.pop(getattr(_signal, _rt), None)


def signal_name(num: int) -> str:
    """'SIGTERM' for 15; 'SIG???' for a number s6 would not know."""
    return _NAMES.get(num, "SIG???")


def parse_signal(text: str) -> "Optional[int]":
    """A signal from 'TERM', 'SIGterm', 'sigusr1' or '15'; None if invalid."""
    t = text.strip()
    if t.isdigit() and t.isascii():
        n = int(t)
        return n if 0 < n < _signal.NSIG else None
    u = t.upper()
    if u.startswith("SIG"):
        u = u[3:]
    return _BYNAME.get(u)
