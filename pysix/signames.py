"""Signal names as s6 prints and parses them (skalibs' table), pure functions."""
from __future__ import annotations

import signal
from typing import Optional

# Names s6 knows; Python's enum carries the numbers for this platform.
_NAMES = {int(s): s.name for s in signal.Signals
          if s.name.startswith("SIG") and not s.name.startswith("SIG_")}
# Linux aliases: prefer the names s6 prints.
_NAMES[int(signal.SIGIOT)] = "SIGABRT"
_NAMES[int(signal.SIGCHLD)] = "SIGCHLD"
_BYNAME = {name[3:]: num for num, name in _NAMES.items()}
_BYNAME.update({"IOT": int(signal.SIGIOT), "POLL": int(signal.SIGPOLL),
                "IO": int(signal.SIGIO), "CLD": int(signal.SIGCHLD)})
# What s6-svstat 2.11 prints (checked against it for 1..126): skalibs calls
# 29 SIGPOLL and has no name for the real-time bounds.
_NAMES[int(signal.SIGPOLL)] = "SIGPOLL"
for _rt in ("SIGRTMIN", "SIGRTMAX"):
    if hasattr(signal, _rt):
        _NAMES.pop(int(getattr(signal, _rt)), None)


def signal_name(num: int) -> str:
    """'SIGTERM' for 15; 'SIG???' for a number s6 would not know."""
    return _NAMES.get(num, "SIG???")


def parse_signal(text: str) -> Optional[int]:
    """A signal from 'TERM', 'SIGterm', 'sigusr1' or '15'; None if invalid."""
    t = text.strip()
    if t.isdigit() and t.isascii():
        n = int(t)
        return n if 0 < n < signal.NSIG else None
    u = t.upper()
    if u.startswith("SIG"):
        u = u[3:]
    return _BYNAME.get(u)
