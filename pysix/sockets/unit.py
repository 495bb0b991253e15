"""`.socket` units -> the `socket` file of their service's dir (pure but for the caller's read).

Supported (container-init's subset): [Socket] ListenStream= (a port,
host:port, [v6]:port or an absolute Unix path; several allowed; an empty one
resets the list), SocketUser=, SocketGroup=, SocketMode=, Backlog=,
FileDescriptorName=, Accept=no, Service=, and container-init's
ActivationMode=native|proxy, ProxyTarget=, ProxyTimeoutSec=. [Unit]
Description= and [Install] are accepted. Accept=yes (one service instance
per connection) is not supported: the socket unit is ignored with a
warning saying so, as is one whose Service= names no loaded unit or
service dir. The timeout the proxy waits for ProxyTarget= defaults to the
service's TimeoutStartSec= (the caller passes it).
"""
from .spec import ACTIVATIONS, MODES, SocketSpec, parse_address

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional, Tuple

SOCKET_DIRECTIVES: "Dict[Tuple[str, str], bool]" = {
    ("Unit", "Description"): False, ("Unit", "Documentation"): True,
    ("Socket", "ListenStream"): True, ("Socket", "SocketUser"): False,
    ("Socket", "SocketGroup"): False, ("Socket", "SocketMode"): False,
    ("Socket", "Backlog"): False, ("Socket", "FileDescriptorName"): False,
    ("Socket", "Accept"): False, ("Socket", "Service"): False,
    ("Socket", "ActivationMode"): False, ("Socket", "ProxyTarget"): False,
    ("Socket", "ProxyTimeoutSec"): False,
}


def service_of(name: str, service_directive: "Optional[str]") -> str:
    """The unit name a socket unit activates: Service=, else web.socket -> web.service."""
    if service_directive:
        return service_directive if "." in service_directive else service_directive + ".service"
    return name[:-len(".socket")] + ".service"


def interpret(p, name: str, timeout_start: "Optional[float]" = None
              ) -> "Tuple[Optional[SocketSpec], str, List[str], List[str]]":
    """(spec or None, service unit name, warnings, errors) of a parsed .socket unit."""
    from ..units.values import parse_bool, parse_timespan
    warnings: List[str] = list(p.warnings)
    errors: List[str] = []

    def err(key: str, why: str) -> None:
        errors.append("%s %s" % (p.where("Socket", key), why))

    spec = SocketSpec()
    for v in p.all("Socket", "ListenStream"):
        a, why = parse_address(v)
        if a is None:
            err("ListenStream", why)
        elif a not in spec.listens:
            spec.listens.append(a)
    if not p.all("Socket", "ListenStream"):
        errors.append("%s: [Socket] ListenStream=: none given (only stream sockets are supported)" % p.path)
    accept = p.get("Socket", "Accept")
    if accept is not None:
        b = parse_bool(accept)
        if b is None:
            err("Accept", "invalid boolean %r" % accept)
        elif b:
            warnings.append("%s yes (a service instance per connection) is not supported, only Accept=no: "
                            "socket unit ignored" % p.where("Socket", "Accept"))
            return None, service_of(name, p.get("Socket", "Service")), warnings, errors
    mode = (p.get("Socket", "ActivationMode") or "native").lower()
    if mode not in MODES:
        err("ActivationMode", "%r is not native or proxy" % mode)
    spec.mode = mode
    target = p.get("Socket", "ProxyTarget")
    if target:
        a, why = parse_address(target)
        if a is None:
            err("ProxyTarget", why)
        spec.target = a
        if mode != "proxy":
            warnings.append("%s only used with ActivationMode=proxy, ignored" % p.where("Socket", "ProxyTarget"))
    elif mode == "proxy":
        err("ActivationMode", "proxy needs ProxyTarget=")
    t = p.get("Socket", "ProxyTimeoutSec")
    if t is not None:
        secs = parse_timespan(t)
        if secs is None or not 0 < secs < 86400:
            err("ProxyTimeoutSec", "invalid time span %r" % t)
        else:
            spec.timeout = secs
    elif timeout_start and 0 < timeout_start < 86400:
        spec.timeout = timeout_start
    spec.user = p.get("Socket", "SocketUser") or ""
    spec.group = p.get("Socket", "SocketGroup") or ""
    m = p.get("Socket", "SocketMode")
    if m is not None:
        try:
            spec.sock_mode = int(m, 8)
            if spec.sock_mode > 0o7777:
                raise ValueError
        except ValueError:
            err("SocketMode", "%r is not an octal mode" % m)
    bl = p.get("Socket", "Backlog")
    if bl is not None:
        if bl.isdigit() and 0 < int(bl) <= 65535:
            spec.backlog = int(bl)
        else:
            err("Backlog", "%r is not 1..65535" % bl)
    spec.name = p.get("Socket", "FileDescriptorName") or ""
    spec.activate = ACTIVATIONS[0]
    return (None if errors else spec), service_of(name, p.get("Socket", "Service")), warnings, errors


def load_socket(path: str, name: str, text: str, timeouts: "Dict[str, Optional[float]]"
                ) -> "Tuple[Optional[SocketSpec], str, List[str], List[str]]":
    """Parse and interpret one .socket file; `timeouts`: service unit -> TimeoutStartSec."""
    from ..units.parser import parse
    p = parse(text, path, SOCKET_DIRECTIVES)
    svc = service_of(name, p.get("Socket", "Service"))
    return interpret(p, name, timeouts.get(svc))


def attach(us, sockets: "Dict[str, str]", extra: set) -> None:
    """Load the .socket files `sockets` (name -> path) into `us.sockets`
    (name -> (service dir name, spec)); problems go to us.warnings/errors."""
    from ..units.loader import read_units
    from ..units.model import service_name
    timeouts = {n: u.timeout_start for n, u in us.units.items()}
    for name, path, text in read_units(sockets, us):
        spec, svc, warnings, errors = load_socket(path, name, text, timeouts)
        us.warnings.extend(warnings)
        us.errors.extend(errors)
        if spec is None:
            continue
        sname = service_name(svc)
        if svc not in us.units and sname not in extra:
            us.warnings.append("%s: [Socket] Service=%s: no such unit or service dir: socket unit ignored"
                               % (path, svc))
            continue
        us.sockets[name] = (sname, spec)


def describe(name: str, sname: str, spec: "SocketSpec") -> str:
    """One --validate line."""
    from .spec import format_listen
    bits = ["%s: socket service=%s mode=%s" % (name, sname, spec.mode)]
    if spec.target is not None:
        bits.append("target=%s" % format_listen(spec.target))
    bits.append("listens: %s" % " ".join(format_listen(a) for a in spec.listens))
    return " ".join(bits)


def install_sockets(us, scandir: str, say) -> None:
    """Write each socket unit's `socket` file into its service's dir in the live scan dir."""
    import os
    from .spec import render
    for name, (sname, spec) in sorted(us.sockets.items()):
        sd = os.path.join(scandir, sname)
        if not os.path.isdir(sd):
            say("warning: %s: service dir %s is missing: socket unit ignored" % (name, sd))
            continue
        try:
            with open(os.path.join(sd, "socket"), "w") as f:
                f.write("# from %s\n" % name + render(spec))
        except OSError as e:
            say("error: %s: cannot write %s/socket: %s" % (name, sd, e.strerror))
