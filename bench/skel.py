"""Trees for the PID 1 stop and dependency boot metrics: the bundled skeleton and N sleepers.

Starts are seen without changing what a service does: a line that creates
`MARKERS/NAME.PID` is put right after the shebang of each `run` (the shell
runs one `:` builtin with a redirection, then the original script). Whether
a supervisor has the service up (and ready) is read from its
`supervise/status` (s6's 35-byte format, which pysix writes too), whether
the web service listens from `/proc/net/tcp`: no client is run against the
services while they are timed.
"""
from __future__ import annotations

import os
import shutil
import socket
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
SKELETON = os.path.join(os.path.dirname(HERE), "skeleton")

# A 3-level chain: ticker <- worker <- web (web starts once worker is up, worker once ticker is).
CHAIN: Dict[str, List[str]] = {"worker": ["ticker"], "web": ["worker"]}

SLEEP = "exec sleep 100000"


def marker_line(markers: str, name: str) -> str:
    return ": > '%s/%s.'$$\n" % (markers, name)


def inject_marker(run: str, markers: str, name: str) -> None:
    """Make run create MARKERS/NAME.PID first, then do exactly what it did (same file, same mode)."""
    with open(run) as f:
        text = f.read()
    first, _, rest = text.partition("\n")
    if not (first.startswith("#!") and first.split()[0].rsplit("/", 1)[-1] in ("sh", "bash", "dash")):
        raise ValueError("%s is not a sh script (first line %r): cannot mark its start" % (run, first))
    with open(run, "w") as f:
        f.write(first + "\n" + marker_line(markers, name) + rest)


def service_runs(services: str) -> List[Tuple[str, str]]:
    """(marker name, service dir relative to services) for every run, loggers included."""
    out = []
    for name in sorted(os.listdir(services)):
        if os.path.isfile(os.path.join(services, name, "run")):
            out.append((name, name))
        if os.path.isfile(os.path.join(services, name, "log", "run")):
            out.append((name + "-log", name + "/log"))
    return out


def skeleton_root(root: str, markers: str, chain: bool = False) -> List[Tuple[str, str]]:
    """A fresh copy of skeleton/etc under root/etc, every run marked; with chain, the
    `dependencies` files of CHAIN. Returns service_runs() of its services.d."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(markers, ignore_errors=True)
    os.makedirs(markers)
    shutil.copytree(os.path.join(SKELETON, "etc"), os.path.join(root, "etc"), symlinks=True)
    services = os.path.join(root, "etc", "services.d")
    runs = service_runs(services)
    for name, rel in runs:
        inject_marker(os.path.join(services, rel, "run"), markers, name)
    if chain:
        for name, deps in CHAIN.items():
            with open(os.path.join(services, name, "dependencies"), "w") as f:
                f.write("".join(d + "\n" for d in deps))
    return runs


def sleepers(services: str, markers: str, n: int) -> List[Tuple[str, str]]:
    """n services s0..s(n-1) under services, each marks its start and execs a long sleep."""
    shutil.rmtree(services, ignore_errors=True)
    shutil.rmtree(markers, ignore_errors=True)
    os.makedirs(markers)
    for i in range(n):
        d = os.path.join(services, "s%d" % i)
        os.makedirs(d)
        with open(os.path.join(d, "run"), "w") as f:
            f.write("#!/bin/sh\n" + marker_line(markers, "s%d" % i) + SLEEP + "\n")
        os.chmod(os.path.join(d, "run"), 0o755)
    return [("s%d" % i, "s%d" % i) for i in range(n)]


def started(markers: str) -> set:
    try:
        return {m.rsplit(".", 1)[0] for m in os.listdir(markers)}
    except OSError:
        return set()


def status(svdir: str) -> Optional[Tuple[int, int]]:
    """(pid, flags) from svdir/supervise/status, None if unreadable (spec 4.1)."""
    try:
        with open(os.path.join(svdir, "supervise", "status"), "rb") as f:
            b = f.read(35)
    except OSError:
        return None
    if len(b) < 35:
        return None
    return int.from_bytes(b[24:32], "big"), b[34]


def up(svdir: str) -> bool:
    st = status(svdir)
    return st is not None and st[0] != 0 and not st[1] & 0x02


def ready(svdir: str) -> bool:
    st = status(svdir)
    return st is not None and st[0] != 0 and not st[1] & 0x02 and bool(st[1] & 0x08)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """Some socket of this network namespace listens on TCP port (no connection made)."""
    want = ":%04X" % port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(want) and parts[3] == "0A":
                        return True
        except (OSError, StopIteration, IndexError):
            pass
    return False


def clean_env(**extra: str) -> Dict[str, str]:
    """Our environment without settings that would move pysix-init's state or trace it."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYSIX_ROOT", "PYSIX_RUNDIR", "PYSIX_SCANDIR", "PYSIX_TRACE", "PYSIX_TRACE_FILE",
                        "S6_TRACE", "WEB_PORT")}
    env.update(extra)
    return env
