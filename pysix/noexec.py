"""Noticing at boot that the live scan dir is on a noexec mount.

`docker run --read-only --tmpfs /run` mounts /run noexec: the kernel then
refuses to execute any `run` copied there, so the boot says so once, naming
the mount and the fix, instead of services retrying "not executable".
"""
import os

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Optional

ST_NOEXEC = getattr(os, "ST_NOEXEC", 8)


def is_noexec(path: str) -> bool:
    return bool(os.statvfs(path).f_flag & ST_NOEXEC)


def mount_point(path: str) -> str:
    """The top directory of the filesystem holding `path` (same st_dev upwards)."""
    path = os.path.abspath(path)
    dev = os.stat(path).st_dev
    while path != "/":
        parent = os.path.dirname(path)
        if os.stat(parent).st_dev != dev:
            break
        path = parent
    return path


def boot_warning(scandir: str, src: str) -> "Optional[str]":
    """One line when `scandir` is on a noexec mount (scripts are then linked to
    their originals in `src`); None when it is not."""
    if not is_noexec(scandir):
        return None
    return ("%s is on a noexec mount (%s): run, finish and check are linked to their originals in %s "
            "instead of copied; for copies, mount it exec (docker run --tmpfs %s:exec)"
            % (scandir, mount_point(scandir), src, mount_point(scandir)))
