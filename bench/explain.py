"""Where the time and memory of a supervision tree go, per process, from /proc.

The figures of `boot`, `stop-all` and `PSS` say how much; these say why:
- CPU on the processor, to the nanosecond: the first field of /proc/PID/schedstat
  (unlike utime/stime in ticks of 10 ms, or wall times on a loaded machine);
- minor faults (/proc/PID/stat): after a fork, each one is mostly a page
  copied on write, the cost of touching the parent's memory;
- private pages by mapping (/proc/PID/smaps): CPython's object arenas (its
  anonymous mmaps), the interpreter's `.data`/`.bss` (libpython or the python
  binary), the malloc heap, and the rest;
- for processes that are gone (the stop), what wait4() reports for them and
  everything they reaped: CPU and minor faults of the whole tree.
"""
from __future__ import annotations

import os
import re
from typing import Dict, Iterable, List, Tuple

TCK = os.sysconf("SC_CLK_TCK")
# The interpreter's own image: libpython3.X.so (shared builds) or the python binary (static ones).
_PYIMAGE = re.compile(r"/(libpython[0-9.]*\.so[0-9.]*|python[0-9.]*)$")
CATEGORIES = ("object arenas (anon)", "python .data/.bss", "heap", "stack", "other")


def cpu_ns(pid: int) -> int:
    """Nanoseconds pid has run on a CPU (its threads, not its children)."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def minflt(pid: int) -> int:
    """Minor faults of pid itself."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[7])
    except (OSError, ValueError, IndexError):
        return 0


def comm(pid: int) -> str:
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def private_by_mapping(pid: int) -> Dict[str, int]:
    """KiB of private (clean + dirty) pages of pid, by CATEGORIES. An anonymous
    mapping right after the interpreter image's writable one is its .bss."""
    out = dict.fromkeys(CATEGORIES, 0)
    try:
        with open("/proc/%d/smaps" % pid) as f:
            text = f.read()
    except OSError:
        return out
    cat, prev_end, prev_py_rw = "other", -1, False
    for line in text.splitlines():
        head = line.split(None, 5)
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            lo, hi = (int(x, 16) for x in head[0].split("-"))
            perms, path = head[1], (head[5] if len(head) > 5 else "")
            py = bool(_PYIMAGE.search(path))
            if py and "w" in perms:
                cat = "python .data/.bss"
            elif not path and prev_py_rw and lo == prev_end:
                cat = "python .data/.bss"
            elif path == "[heap]":
                cat = "heap"
            elif path.startswith("[stack"):
                cat = "stack"
            elif not path and "w" in perms:
                cat = "object arenas (anon)"
            else:
                cat = "other"
            prev_end, prev_py_rw = hi, py and "w" in perms
        elif line.startswith(("Private_Clean:", "Private_Dirty:")):
            out[cat] += int(line.split()[1])
    return out


def pss_uss(pid: int) -> Tuple[int, int]:
    """(PSS, private) KiB of pid, from smaps_rollup."""
    pss = uss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                    uss += int(line.split()[1])
    except OSError:
        pass
    return pss, uss


def snapshot(pids: Iterable[int]) -> Tuple[int, int]:
    """(CPU ns, minor faults) summed over pids."""
    cpu = flt = 0
    for p in pids:
        cpu += cpu_ns(p)
        flt += minflt(p)
    return cpu, flt


def reap_rusage() -> Tuple[float, int, List[int]]:
    """Reap every exited child now: (CPU s, minor faults, pids) of them and all
    that each one reaped in its life (wait4's rusage)."""
    cpu, flt, pids = 0.0, 0, []
    while True:
        try:
            pid, _, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        cpu += ru.ru_utime + ru.ru_stime
        flt += ru.ru_minflt
        pids.append(pid)
    return cpu, flt, pids
