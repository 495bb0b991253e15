"""The few file-tree operations stage 1 needs, without importing shutil.

shutil pulls in fnmatch, bz2, lzma and more: milliseconds on every boot of
a container, for copying a handful of small scripts.
"""
from __future__ import annotations

import os
import stat


def copy_file(src: str, dst: str, extra_mode: int = 0) -> None:
    """Copy the contents and permission bits of `src` (symlinks followed) to `dst`."""
    st = os.stat(src)
    mode = stat.S_IMODE(st.st_mode) | extra_mode
    fin = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
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


def remove_tree(path: str) -> None:
    """rm -rf: remove `path` and what it holds, ignoring what cannot be removed."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    try:
        names = os.listdir(path)
    except OSError:
        names = []
    for name in names:
        remove_tree(os.path.join(path, name))
    try:
        os.rmdir(path)
    except OSError:
        pass
