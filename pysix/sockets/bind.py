"""Binding the listeners a `socket` file names (done once, by the scanner).

The sockets are held for the life of the scanner (PID 1): a connection that
arrives while the service starts, restarts or crash-loops waits in the
backlog. A Unix socket file left by a previous boot is replaced; anything
else at that path is refused.
"""
import os
import stat

from ..servicedir import in_dir, lexists, read_file
from .spec import FILE, Listen, SocketSpec, format_listen, parse

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    import socket
    from typing import List, Optional, Tuple

READ_MAX = 65536


def read_spec(sd: str) -> "Tuple[Optional[SocketSpec], List[str]]":
    """(spec or None, warnings naming the file); (None, []) when there is no socket file."""
    path = in_dir(sd, FILE)
    if not lexists(path):
        return None, []
    data, why = read_file(sd, FILE, READ_MAX)
    if why or data is None:
        return None, [why or "%s: unreadable" % path]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, ["%s: not UTF-8 text" % path]
    spec, errs = parse(text)
    return spec, ["%s: %s" % (path, e) for e in errs]


def bind_one(a: "Listen", spec: "SocketSpec") -> "socket.socket":
    """A listening, close-on-exec socket for `a`; OSError says why not."""
    import socket
    fam = {"inet": socket.AF_INET, "inet6": socket.AF_INET6, "unix": socket.AF_UNIX}[a.family]
    s = socket.socket(fam, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        if a.family == "unix":
            _clear_stale(a.path)
            old = os.umask(0o177 if spec.sock_mode is not None else 0o111)
            try:
                s.bind(a.path)
            finally:
                os.umask(old)
            if spec.sock_mode is not None:
                os.chmod(a.path, spec.sock_mode)
            if spec.user or spec.group:
                os.chown(a.path, _uid(spec.user), _gid(spec.group))
        else:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if a.family == "inet6":
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((a.host, a.port))
        s.listen(spec.backlog)
    except BaseException:
        s.close()
        raise
    return s


def bind_all(spec: "SocketSpec", where: str) -> 'Tuple[List["socket.socket"], str]':
    """Every listener of `spec`, or ([], one line naming `where` and the address)."""
    out: List[socket.socket] = []
    for a in spec.listens:
        try:
            out.append(bind_one(a, spec))
        except (OSError, KeyError, ValueError) as e:
            for s in out:
                s.close()
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            return [], "%s: cannot listen on %s: %s" % (where, format_listen(a), why)
    return out, ""


def _clear_stale(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(17, "exists and is not a socket")
    os.unlink(path)


def _uid(user: str) -> int:
    if not user:
        return -1
    if user.isdigit():
        return int(user)
    import pwd
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        raise ValueError("socket-user %s: no such user" % user) from None


def _gid(group: str) -> int:
    if not group:
        return -1
    if group.isdigit():
        return int(group)
    import grp
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ValueError("socket-group %s: no such group" % group) from None
