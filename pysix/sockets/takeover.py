"""A restarted scanner takes a service's listeners over from the supervisor its
predecessor left running, instead of binding them again.

A scanner that was SIGKILLed leaves its supervisors alive (scan.py waits for
them); each holds its service's listeners (handoff.py), and so does its run.
Binding again fails with "address in use" for TCP, or for a Unix socket
replaces the file, so the service would lose its listener, or its held
backlog, once the old supervisor exits. Instead the new scanner copies the
very sockets out of the old supervisor with pidfd_getfd(2) (Linux 5.6; needs
ptrace rights over it: root, or the same uid where Yama allows it). Every
socket fd of the old supervisor is looked at and kept when it is a listening
stream socket bound to one of the addresses of the `socket` file.

Only the scanner runs this, and only when a live supervisor holds the
service's lock (ctypes and socket are imported here, not on any common path).
"""
import os

from .spec import Listen, format_listen

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Tuple
    from .spec import SocketSpec

# pidfd_getfd's number: 438 in the generic syscall table (x86_64, aarch64, arm, riscv, ...);
# alpha, the one exception, is not a pysix target.
SYS_PIDFD_GETFD = 438


def _pidfd_getfd():
    """The syscall as a function (pidfd, fd) -> new close-on-exec fd; OSError on failure."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    call = libc.syscall
    call.restype = ctypes.c_long

    def getfd(pidfd: int, fd: int) -> int:
        r = call(ctypes.c_long(SYS_PIDFD_GETFD), ctypes.c_int(pidfd), ctypes.c_int(fd), ctypes.c_uint(0))
        if r < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        return int(r)
    return getfd


def socket_fds(pid: int) -> "List[int]":
    """The fd numbers of `pid` that are sockets, one per socket (dups skipped)."""
    out, seen = [], set()
    d = "/proc/%d/fd" % pid
    for n in sorted(os.listdir(d), key=lambda x: int(x) if x.isdigit() else -1):
        try:
            link = os.readlink(d + "/" + n)
        except OSError:
            continue
        if link.startswith("socket:[") and link not in seen:
            seen.add(link)
            out.append(int(n))
    return out


def _ip(family: int, host: str) -> bytes:
    import socket
    try:
        return socket.inet_pton(family, host)
    except (OSError, ValueError):
        return b""


def matches(a: "Listen", family: int, name) -> bool:
    """Is a listening socket of `family` bound to `name` (getsockname) the one `a` names?"""
    import socket
    if a.family == "unix":
        if family != socket.AF_UNIX or not isinstance(name, str) or not name:
            return False
        return name == a.path or os.path.realpath(name) == os.path.realpath(a.path)
    fam = socket.AF_INET if a.family == "inet" else socket.AF_INET6
    if family != fam or not isinstance(name, tuple) or name[1] != a.port:
        return False
    want = _ip(fam, a.host)
    return not want or want == _ip(fam, name[0])    # a host name: the port decides


def take_over(pid: int, spec: "SocketSpec") -> "Tuple[Dict[int, int], str]":
    """({index in spec.listens: fd}, '' or why not all): the listeners `pid` holds, as our own fds."""
    import socket
    got: Dict[int, int] = {}
    try:
        pidfd = os.pidfd_open(pid)
    except (OSError, AttributeError) as e:
        return got, "pidfd_open: %s" % getattr(e, "strerror", e)
    try:
        getfd = _pidfd_getfd()
        try:
            fds = socket_fds(pid)
        except OSError as e:
            return got, "cannot read /proc/%d/fd: %s" % (pid, e.strerror)
        for n in fds:
            if len(got) == len(spec.listens):
                break
            try:
                fd = getfd(pidfd, n)
            except OSError as e:
                for mine in got.values():
                    os.close(mine)
                return {}, "pidfd_getfd: %s" % e.strerror
            s = socket.socket(fileno=fd)
            try:
                ok = s.type == socket.SOCK_STREAM and s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                name = s.getsockname() if ok else None
            except OSError:
                ok = False
            i = next((i for i, a in enumerate(spec.listens)
                      if i not in got and ok and matches(a, s.family, name)), -1)
            if i < 0:
                s.close()
            else:
                got[i] = s.detach()
    finally:
        os.close(pidfd)
    if len(got) < len(spec.listens):
        left = [format_listen(a) for i, a in enumerate(spec.listens) if i not in got]
        return got, "it holds no listener on %s" % " ".join(left)
    return got, ""
