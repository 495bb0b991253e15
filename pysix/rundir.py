"""Choosing pysix-init's run dir, and refusing one another user could have planted.

The configured dir (PYSIX_RUNDIR, else ROOT/run/pysix) is used when it is
writable. Otherwise pysix falls back to a private dir: $XDG_RUNTIME_DIR/pysix
when XDG_RUNTIME_DIR is valid, else /tmp/pysix-UID. /tmp is shared by every
user, so the fallback is accepted only under XDG_RUNTIME_DIR's rules: a real
directory (not a symlink) owned by this uid that no one else may write. A
fallback that fails them is refused, never repaired: whoever made it may
still hold it open.
"""
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Mapping, Optional, Tuple


class RundirError(RuntimeError):
    """A one-line reason the run dir (or a dir in it) cannot be used."""


def unsafe_reason(st: "os.stat_result", uid: int) -> "Optional[str]":
    """Why a directory with this lstat() is not private to `uid`; None if it is."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symlink"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_uid != uid:
        return "is owned by uid %d, not %d" % (st.st_uid, uid)
    if st.st_mode & 0o022:
        return "is writable by group or others (mode %04o)" % stat.S_IMODE(st.st_mode)
    return None


def make_private(path: str, uid: "Optional[int]" = None) -> None:
    """mkdir `path` 0700, or accept an existing one only if it is private to us."""
    uid = os.getuid() if uid is None else uid
    try:
        os.mkdir(path, 0o700)
        return
    except FileExistsError:
        pass
    except OSError as e:
        raise RundirError("cannot create %s: %s" % (path, e.strerror))
    why = unsafe_reason(os.lstat(path), uid)
    if why:
        raise RundirError("refusing %s: it %s (another user may have made it)" % (path, why))


def _xdg_base(env: "Mapping[str, str]", uid: int) -> "Tuple[Optional[str], Optional[str]]":
    """($XDG_RUNTIME_DIR if usable, else None; warning or None)."""
    d = env.get("XDG_RUNTIME_DIR", "")
    if not d:
        return None, None
    if not os.path.isabs(d):
        return None, "XDG_RUNTIME_DIR=%s ignored: not an absolute path" % d
    try:
        st = os.lstat(d)
    except OSError as e:
        return None, "XDG_RUNTIME_DIR=%s ignored: %s" % (d, e.strerror)
    why = unsafe_reason(st, uid) or ("has mode %04o, not 0700" % stat.S_IMODE(st.st_mode)
                                     if st.st_mode & 0o077 else None)
    if why:
        return None, "XDG_RUNTIME_DIR=%s ignored: it %s" % (d, why)
    return d, None


def fallback_dir(env: "Mapping[str, str]", uid: int) -> "Tuple[str, List[str]]":
    base, warn = _xdg_base(env, uid)
    path = os.path.join(base, "pysix") if base else "/tmp/pysix-%d" % uid
    return path, [warn] if warn else []


def choose(want: str, env: "Mapping[str, str]" = os.environ,
           uid: "Optional[int]" = None) -> "Tuple[str, List[str]]":
    """(run dir, warnings); raises RundirError when no safe writable dir exists."""
    uid = os.getuid() if uid is None else uid
    warnings = []
    try:
        os.makedirs(want, mode=0o755, exist_ok=True)
        if os.access(want, os.W_OK | os.X_OK):
            return want, warnings
        why = "not writable"
    except OSError as e:
        why = e.strerror or str(e)
    path, more = fallback_dir(env, uid)
    warnings += more
    try:
        make_private(path, uid)
    except RundirError as e:
        raise RundirError("%s: %s, and %s (mount a tmpfs there or set PYSIX_RUNDIR)" % (want, why, e))
    warnings.append("%s: %s; using %s" % (want, why, path))
    return path, warnings


def real_subdir(parent: str, name: str, mode: int) -> str:
    """parent/name as a real directory: created with `mode` if absent, refused
    (RundirError) if it is a symlink or not a directory; never followed."""
    path = os.path.join(parent, name)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise RundirError("refusing %s: it is a symlink (pysix never follows one there); remove it" % path)
        if not stat.S_ISDIR(st.st_mode):
            raise RundirError("refusing %s: it is not a directory; remove it" % path)
    except OSError as e:
        raise RundirError("cannot create %s: %s" % (path, e.strerror))
    return path
