"""Where the live scan dir is, for commands run by people (`pysix`, `pysix-halt`).

Candidates in order: $PYSIX_SCANDIR; $PYSIX_RUNDIR/services; ROOT/run/pysix/services
(ROOT from --root or $PYSIX_ROOT, default /); the fallback pysix-init uses
when that is not writable ($XDG_RUNTIME_DIR or /tmp, then pysix-UID);
s6-overlay's /var/run/s6/services and /run/s6/services. An explicit
setting (the first three) wins when it exists at all; otherwise the first
candidate whose scanner is running (it holds `.s6-svscan/lock`), else the
first that exists.
"""
import os

from .lockprobe import lock_held

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Mapping, Optional, Tuple


def candidates(root: "Optional[str]", env: "Mapping[str, str]") -> "Tuple[List[str], List[str]]":
    """(explicit candidates, guessed candidates), in the order they are tried."""
    explicit: List[str] = []
    if env.get("PYSIX_SCANDIR"):
        explicit.append(env["PYSIX_SCANDIR"])
    if env.get("PYSIX_RUNDIR"):
        explicit.append(os.path.join(env["PYSIX_RUNDIR"], "services"))
    root = root or env.get("PYSIX_ROOT") or ""
    if root and root != "/":
        explicit.append(os.path.join(root, "run", "pysix", "services"))
    guessed = [] if root and root != "/" else ["/run/pysix/services"]
    uid = "pysix-%d" % os.getuid()
    if env.get("XDG_RUNTIME_DIR"):
        guessed.append(os.path.join(env["XDG_RUNTIME_DIR"], uid, "services"))
    guessed += [os.path.join("/tmp", uid, "services"), "/var/run/s6/services", "/run/s6/services"]
    return explicit, guessed


def live(scandir: str) -> bool:
    """A scanner (pysix or s6-svscan) holds this scan dir's lock."""
    try:
        return lock_held(os.path.join(scandir, ".s6-svscan", "lock"))
    except OSError:
        return False


def find_scandir(root: "Optional[str]", env: "Mapping[str, str]") -> "Tuple[Optional[str], List[str]]":
    """(the scan dir or None, every path tried: for the error message)."""
    explicit, guessed = candidates(root, env)
    for d in explicit:
        if os.path.isdir(d):
            return d, explicit
    tried = explicit + guessed
    existing = [d for d in guessed if os.path.isdir(d)]
    for d in existing:
        if live(d):
            return d, tried
    return (existing[0] if existing else None), tried
