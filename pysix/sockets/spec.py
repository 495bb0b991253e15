"""The `socket` file of a service directory (pure: text in, spec or one-line errors out).

    listen 0.0.0.0:8080        # TCP; also `8080`, `[::1]:8080`, `host:port`
    listen /run/app.sock       # a Unix stream socket (an absolute path)
    mode native                # native (default): run gets the listeners as fd 3..
                               # proxy: a generated NAME.proxy service accepts and forwards
    proxy-target 127.0.0.1:18080
    proxy-timeout 10           # seconds the proxy waits for the target to accept
    activate on-connect        # on-connect (default) or at-boot
    socket-user app            # owner, group and mode of Unix socket files
    socket-group app
    socket-mode 0660
    backlog 4096
    name web                   # LISTEN_FDNAMES (default: the service's name)

`#` starts a comment; blank lines are ignored. The same words are what a
`.socket` unit's ListenStream=, ActivationMode=, ProxyTarget=, SocketUser=,
SocketGroup= and SocketMode= become.
"""
TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

FILE = "socket"
MODES = ("native", "proxy")
ACTIVATIONS = ("on-connect", "at-boot")
DEFAULT_BACKLOG = 4096
DEFAULT_PROXY_TIMEOUT = 10.0
MAX_LISTENERS = 64


class Listen:
    """One address: family 'inet', 'inet6' or 'unix'; host/port or path."""
    __slots__ = ("family", "host", "port", "path")

    def __init__(self, family: str, host: str = "", port: int = 0, path: str = "") -> None:
        self.family, self.host, self.port, self.path = family, host, port, path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Listen) and (self.family, self.host, self.port, self.path) == (
            other.family, other.host, other.port, other.path)

    def __repr__(self) -> str:
        return "Listen(%s)" % format_listen(self)


class SocketSpec:
    __slots__ = ("listens", "mode", "target", "timeout", "activate", "user", "group",
                 "sock_mode", "backlog", "name")

    def __init__(self) -> None:
        self.listens: List[Listen] = []
        self.mode = "native"
        self.target: Optional[Listen] = None
        self.timeout = DEFAULT_PROXY_TIMEOUT
        self.activate = "on-connect"
        self.user = ""
        self.group = ""
        self.sock_mode: Optional[int] = None
        self.backlog = DEFAULT_BACKLOG
        self.name = ""


def format_listen(a: "Listen") -> str:
    if a.family == "unix":
        return a.path
    if a.family == "inet6":
        return "[%s]:%d" % (a.host, a.port)
    return "%s:%d" % (a.host, a.port)


def _port(s: str) -> "Optional[int]":
    if not s.isdigit() or len(s) > 5:
        return None
    n = int(s)
    return n if 0 < n < 65536 else None


def parse_address(s: str) -> "Tuple[Optional[Listen], str]":
    """`8080`, `host:port`, `[v6]:port` or `/path` -> (Listen, '') or (None, why)."""
    s = s.strip()
    if not s:
        return None, "empty address"
    if s.startswith("/"):
        if len(s.encode("utf-8", "surrogateescape")) > 107:
            return None, "unix socket path longer than 107 bytes: %s" % s[:60]
        if "\0" in s:
            return None, "NUL in a socket path"
        return Listen("unix", path=s), ""
    if s.startswith("["):
        host, sep, rest = s[1:].partition("]")
        if not sep or not rest.startswith(":") or ":" not in host and host != "":
            return None, "bad IPv6 address %r (want [addr]:port)" % s[:60]
        port = _port(rest[1:])
        if port is None:
            return None, "bad port in %r" % s[:60]
        return Listen("inet6", host or "::", port), ""
    if s.isdigit():
        port = _port(s)
        if port is None:
            return None, "bad port %r" % s[:60]
        return Listen("inet", "0.0.0.0", port), ""   # systemd's plain port: every address
    host, sep, p = s.rpartition(":")
    if not sep or not host or ":" in host:
        return None, "bad address %r (want PORT, HOST:PORT, [V6]:PORT or /path)" % s[:60]
    port = _port(p)
    if port is None:
        return None, "bad port in %r" % s[:60]
    return Listen("inet", host, port), ""


def parse(text: str) -> "Tuple[Optional[SocketSpec], List[str]]":
    """(spec, problems): spec is None when the file cannot be used at all.

    Problems are phrased `line N: ...` for the caller to prefix with the file.
    """
    spec = SocketSpec()
    errs: List[str] = []
    fatal = False
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cut = line.find(" #")     # a comment after a value; a `#` inside a path stays
        if cut >= 0:
            line = line[:cut].rstrip()
        key, _, val = line.partition(" ")
        key, val = key.strip(), val.strip()
        where = "line %d: " % n
        if key == "listen":
            a, why = parse_address(val)
            if a is None:
                errs.append(where + why)
                fatal = True
            elif a in spec.listens:
                errs.append(where + "duplicate listen %s" % format_listen(a))
            elif len(spec.listens) >= MAX_LISTENERS:
                errs.append(where + "more than %d listeners" % MAX_LISTENERS)
                fatal = True
            else:
                spec.listens.append(a)
        elif key == "mode":
            if val not in MODES:
                errs.append(where + "mode must be native or proxy, not %r" % val[:60])
                fatal = True
            spec.mode = val
        elif key == "activate":
            if val not in ACTIVATIONS:
                errs.append(where + "activate must be on-connect or at-boot, not %r" % val[:60])
                fatal = True
            spec.activate = val
        elif key == "proxy-target":
            a, why = parse_address(val)
            if a is None:
                errs.append(where + "proxy-target: " + why)
                fatal = True
            spec.target = a
        elif key == "proxy-timeout":
            try:
                spec.timeout = float(val)
                if not 0 < spec.timeout < 86400:
                    raise ValueError
            except ValueError:
                errs.append(where + "proxy-timeout must be seconds > 0, not %r" % val[:60])
                spec.timeout = DEFAULT_PROXY_TIMEOUT
        elif key == "socket-user":
            spec.user = val
        elif key == "socket-group":
            spec.group = val
        elif key == "socket-mode":
            try:
                spec.sock_mode = int(val, 8)
                if spec.sock_mode > 0o7777:
                    raise ValueError
            except ValueError:
                errs.append(where + "socket-mode must be octal like 0660, not %r" % val[:60])
                spec.sock_mode = None
        elif key == "backlog":
            if not val.isdigit() or not 0 < int(val) <= 65535:
                errs.append(where + "backlog must be 1..65535, not %r" % val[:60])
            else:
                spec.backlog = int(val)
        elif key == "name":
            if not val or ":" in val or len(val) > 255:
                errs.append(where + "name must be 1-255 characters without ':'")
            else:
                spec.name = val
        else:
            errs.append(where + "unknown setting %r" % key[:60])
    if not spec.listens and not fatal:
        errs.append("no listen line")
        fatal = True
    if spec.mode == "proxy" and spec.target is None and not fatal:
        errs.append("mode proxy needs a proxy-target line")
        fatal = True
    return (None if fatal else spec), errs


def render(spec: "SocketSpec") -> str:
    """The `socket` file text for `spec` (what a .socket unit is converted to)."""
    out = ["listen %s" % format_listen(a) for a in spec.listens]
    out.append("mode %s" % spec.mode)
    out.append("activate %s" % spec.activate)
    if spec.target is not None:
        out.append("proxy-target %s" % format_listen(spec.target))
    if spec.timeout != DEFAULT_PROXY_TIMEOUT:
        out.append("proxy-timeout %g" % spec.timeout)
    for key, val in (("socket-user", spec.user), ("socket-group", spec.group), ("name", spec.name)):
        if val:
            out.append("%s %s" % (key, val))
    if spec.sock_mode is not None:
        out.append("socket-mode %04o" % spec.sock_mode)
    if spec.backlog != DEFAULT_BACKLOG:
        out.append("backlog %d" % spec.backlog)
    return "\n".join(out) + "\n"
