"""The generated NAME.proxy service dir of a proxy-mode service.

NAME.proxy is an ordinary supervised service: its `socket` file is the public
listeners in native mode, bound by the scanner and started at boot, and its
`run` execs the proxy (proxy.py) pointed at ../NAME and the proxy target.
Only a dir carrying our marker is ever rewritten.
"""
import os
import sys

from .spec import SocketSpec, format_listen, render

MARKER = "pysix-generated"
SUFFIX = ".proxy"


def proxy_files(name: str, spec: "SocketSpec") -> dict:
    """{file: (content, mode)} of NAME.proxy (pure)."""
    import shlex
    pub = SocketSpec()
    pub.listens = list(spec.listens)
    pub.activate = "at-boot"
    pub.user, pub.group, pub.sock_mode, pub.backlog = spec.user, spec.group, spec.sock_mode, spec.backlog
    pub.name = spec.name or name
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = ("#!/bin/sh\n# written by pysix for %s's socket file (mode proxy); edit that, not this\n"
           "PYTHONPATH=%s${PYTHONPATH:+:$PYTHONPATH} exec %s -m pysix.sockets.proxy "
           "--service ../%s --target %s --timeout %g\n") % (
        name, shlex.quote(root), shlex.quote(sys.executable), shlex.quote(name),
        shlex.quote(format_listen(spec.target)), spec.timeout)
    return {"run": (run, 0o755), "socket": (render(pub), 0o644),
            MARKER: ("proxy for %s\n" % name, 0o644)}


def ensure(sd: str, spec: "SocketSpec") -> str:
    """Write (or refresh) NAME.proxy beside `sd`; '' or one line saying why not."""
    sd = sd.rstrip("/")
    name = os.path.basename(sd)
    pd = sd + SUFFIX
    if os.path.lexists(pd) and not os.path.lexists(os.path.join(pd, MARKER)):
        return "%s/socket: mode proxy: %s exists and is not pysix's: proxy not started" % (sd, pd)
    try:
        os.makedirs(pd, exist_ok=True)
        for fn, (content, mode) in proxy_files(name, spec).items():
            path = os.path.join(pd, fn)
            try:
                with open(path) as f:
                    if f.read() == content:
                        continue
            except OSError:
                pass
            tmp = path + ".new"
            with open(tmp, "w") as f:
                f.write(content)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
    except OSError as e:
        return "%s/socket: mode proxy: cannot write %s: %s" % (sd, pd, e.strerror)
    return ""
