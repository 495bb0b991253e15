"""The few file-tree operations stage 1 needs, without importing shutil.

shutil pulls in fnmatch, bz2, lzma and more: milliseconds on every boot of
a container, for copying a handful of small scripts.

Sources (/etc/services.d) are trusted and their symlinks followed; what is
written or removed is never reached through a symlink: copies are created
with O_EXCL | O_NOFOLLOW and trees are removed through directory fds, so a
symlink planted in the run dir is unlinked, never followed.
"""
import errno
import os
import stat

# Copies keep rwx bits only, as `cp` without -p: a setuid `run` owned by an
# unprivileged user must not become a setuid file owned by root.
COPY_MODE_MASK = 0o777
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def copy_file(src: str, dst: str, extra_mode: int = 0) -> None:
    """Copy the contents and rwx bits of `src` (symlinks followed) to a new file `dst`.

    Raises OSError if `dst` exists (even as a symlink) or `src` is not a
    regular file (a FIFO there would block the boot).
    """
    fin = os.open(src, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fin)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "%s: not a regular file" % src)
        mode = (stat.S_IMODE(st.st_mode) | extra_mode) & COPY_MODE_MASK
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        try:
            while True:
                chunk = os.read(fin, 1 << 16)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fout, view):]
            os.fchmod(fout, mode)   # after the data: never a moment with a wider mode on half a file
            os.utime(fout, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def make_dir_like(src: str, dst: str) -> None:
    """mkdir `dst` with the rwx bits of directory `src` (never setgid/sticky), owner rwx kept."""
    mode = (stat.S_IMODE(os.stat(src).st_mode) & COPY_MODE_MASK) | 0o700
    os.mkdir(dst, 0o700)    # fails if anything, a symlink too, is already there
    fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def remove_tree(path: str) -> None:
    """rm -rf: remove `path` and what it holds, ignoring what cannot be removed.

    A symlink (at `path` or anywhere below) is unlinked, never followed.
    """
    parent, name = os.path.split(os.path.abspath(path))
    try:
        pfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        _remove_at(pfd, name)
    finally:
        os.close(pfd)


def clear_dir(path: str, keep: "frozenset" = frozenset()) -> None:
    """Remove every entry of directory `path` (not followed if a symlink) except `keep`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    except OSError:
        return
    try:
        for name in os.listdir(fd):
            if name not in keep:
                _remove_at(fd, name)
    finally:
        os.close(fd)


def _remove_at(dirfd: int, name: str) -> None:
    try:
        st = os.lstat(name, dir_fd=dirfd)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=dirfd)
        except OSError:
            fd = -1     # swapped for a symlink since the lstat: unlink below
        if fd >= 0:
            try:
                for sub in os.listdir(fd):
                    _remove_at(fd, sub)
            except OSError:
                pass
            finally:
                os.close(fd)
            try:
                os.rmdir(name, dir_fd=dirfd)
                return
            except OSError:
                pass
    try:
        os.unlink(name, dir_fd=dirfd)
    except OSError:
        pass
