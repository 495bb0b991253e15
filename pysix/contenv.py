"""The saved container environment: one file per variable, exact bytes.

A file holds the raw value with nothing added, so empty values, values with
newlines (trailing ones too) and non-UTF-8 bytes all round-trip. This is
s6-overlay v2's format (s6-dumpenv / justc-envdir), which its images rely on.
"""
from __future__ import annotations

import os

from .fscopy import remove_tree

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional

# Where with-contenv looks when PYSIX_RUNDIR is not set: pysix first, then
# the s6-overlay v3 and v2 locations, so migrated scripts keep working.
SEARCH = ("/run/pysix/container_environment", "/run/s6/container_environment",
          "/var/run/s6/container_environment")


def dump(env: Dict[bytes, bytes], path: str) -> List[str]:
    """Replace `path` with one file per variable; returns warnings for skipped names."""
    warnings = []
    remove_tree(path)
    os.makedirs(path, mode=0o755, exist_ok=True)
    os.chmod(path, 0o755)
    for name, value in env.items():
        if not name or b"/" in name or name in (b".", b".."):
            warnings.append("cannot save variable %r: not usable as a file name" % name)
            continue
        fd = os.open(os.path.join(path.encode(), name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(value)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    return warnings


def load(path: str) -> Dict[bytes, bytes]:
    """Every regular file of `path` as NAME -> exact value (a NUL ends the value)."""
    out = {}
    bpath = path.encode()
    for name in os.listdir(bpath):
        if name.startswith(b"."):
            continue
        fn = os.path.join(bpath, name)
        try:
            with open(fn, "rb") as f:
                value = f.read()
        except (IsADirectoryError, PermissionError, FileNotFoundError):
            continue
        out[name] = value.split(b"\0", 1)[0]
    return out


def find_dir(env: Dict[str, str]) -> Optional[str]:
    rundir = env.get("PYSIX_RUNDIR")
    candidates = [os.path.join(rundir, "container_environment")] if rundir else []
    for d in candidates + list(SEARCH):
        if os.path.isdir(d):
            return d
    return None
