"""The saved container environment: one file per variable, exact bytes.

A file holds the raw value with nothing added, so empty values, values with
newlines (trailing ones too) and non-UTF-8 bytes all round-trip. This is
s6-overlay v2's format (s6-dumpenv / justc-envdir), which its images rely on.
"""
import os
import stat

from .fscopy import remove_tree

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional

# Where with-contenv looks when PYSIX_RUNDIR is not set: pysix first, then
# the s6-overlay v3 and v2 locations, so migrated scripts keep working.
SEARCH = ("/run/pysix/container_environment", "/run/s6/container_environment",
          "/var/run/s6/container_environment")


def dump(env: "Dict[bytes, bytes]", path: str) -> "List[str]":
    """Replace `path` with one file per variable; returns warnings for skipped names.

    The values are the container's secrets: the dir is 0700 and the files
    0600, for the owner only (root, or the user pysix-init runs as). A
    symlink at `path` is removed, never followed; a file is never written
    through one.
    """
    warnings = []
    remove_tree(path)
    try:
        os.mkdir(path, 0o700)   # fails if anything is back at `path`: nothing is followed
    except OSError as e:
        raise OSError(e.errno, "cannot create %s: %s" % (path, e.strerror)) from None
    dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(dfd, 0o700)   # the umask cannot widen it, but make the mode exact
        for name, value in env.items():
            if not name or b"/" in name or name in (b".", b".."):
                warnings.append("cannot save variable %r: not usable as a file name" % name)
                continue
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600, dir_fd=dfd)
            try:
                view = memoryview(value)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
    finally:
        os.close(dfd)
    return warnings


def load(path: str) -> "Dict[bytes, bytes]":
    """Every regular file of `path` as NAME -> exact value (a NUL ends the value).

    FIFOs, directories and dangling symlinks are skipped (a FIFO never blocks).
    """
    out = {}
    bpath = path.encode()
    for name in os.listdir(bpath):
        if name.startswith(b"."):
            continue
        try:
            fd = os.open(os.path.join(bpath, name), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (IsADirectoryError, PermissionError, FileNotFoundError, OSError):
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            continue
        finally:
            os.close(fd)
        out[name] = b"".join(chunks).split(b"\0", 1)[0]
    return out


def find_dir(env: "Dict[str, str]") -> "Optional[str]":
    rundir = env.get("PYSIX_RUNDIR")
    candidates = [os.path.join(rundir, "container_environment")] if rundir else []
    for d in candidates + list(SEARCH):
        if os.path.isdir(d):
            return d
    return None
