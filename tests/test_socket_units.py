"""`.socket` units: converted into the `socket` file of their service; KillMode=."""
import os
import socket
import sys

import pytest

from pysix.sockets.spec import Listen
from pysix.units import load, service_files
from test_sockets import NATIVE, free_port, read_line
from test_units_boot import boot, stop, unit_tree

HELPER = ["pysix-unit-exec"]


def units(tmp, files):
    d = os.path.join(tmp, "units")
    os.makedirs(d, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


WEB = "[Service]\nExecStart=/bin/true\nTimeoutStartSec=7s\nKillMode=process\n"


def test_socket_unit_becomes_the_socket_file(tmp):
    d = units(tmp, {"web.service": WEB, "web.socket": (
        "[Unit]\nDescription=web's port\n[Socket]\nListenStream=8080\nListenStream=[::1]:8081\n"
        "ListenStream=/run/web.sock\nSocketMode=0660\nSocketUser=app\nSocketGroup=app\nAccept=no\n"
        "[Install]\nWantedBy=sockets.target\n")})
    us = load(d, None, env={})
    assert us.ok(strict=True), us.warnings + us.errors
    sname, spec = us.sockets["web.socket"]
    assert sname == "web" and spec.mode == "native" and spec.activate == "on-connect"
    assert spec.listens == [Listen("inet", "0.0.0.0", 8080), Listen("inet6", "::1", 8081),
                            Listen("unix", path="/run/web.sock")]
    assert (spec.sock_mode, spec.user, spec.group) == (0o660, "app", "app")
    assert service_files(us["web.service"], HELPER)["kill-mode"][0] == b"process\n"


def test_proxy_mode_service_and_timeout(tmp):
    d = units(tmp, {"backend.service": WEB, "front.socket": (
        "[Socket]\nListenStream=127.0.0.1:80\nActivationMode=proxy\nProxyTarget=127.0.0.1:18080\n"
        "Service=backend.service\n")})
    us = load(d, None, env={})
    assert us.ok(strict=True), us.warnings + us.errors
    sname, spec = us.sockets["front.socket"]
    assert sname == "backend" and spec.mode == "proxy"
    assert spec.target == Listen("inet", "127.0.0.1", 18080) and spec.timeout == 7.0   # TimeoutStartSec=


def test_accept_yes_and_bad_values(tmp):
    d = units(tmp, {"web.service": WEB,
                    "web.socket": "[Socket]\nListenStream=80\nAccept=yes\n",
                    "bad.socket": "[Socket]\nListenStream=nowhere\nService=web\nActivationMode=proxy\nFancy=1\n"})
    us = load(d, None, env={})
    assert us.sockets == {}
    assert any("web.socket:3: [Socket] Accept= yes (a service instance per connection) is not supported, "
               "only Accept=no: socket unit ignored" in w for w in us.warnings)
    assert any("bad.socket:5: [Socket] Fancy=: unknown directive" in w for w in us.warnings)
    assert "%s/bad.socket:2: [Socket] ListenStream= bad address 'nowhere' (want PORT, HOST:PORT, [V6]:PORT or /path)" % d in us.errors
    assert any("[Socket] ActivationMode= proxy needs ProxyTarget=" in e for e in us.errors)


def test_kill_mode_values(tmp):
    d = units(tmp, {"a.service": "[Service]\nExecStart=/bin/true\nKillMode=mixed\n",
                    "b.service": "[Service]\nExecStart=/bin/true\nKillMode=sideways\n"})
    us = load(d, None, env={})
    assert us["a.service"].kill_mode == "control-group"
    assert any("b.service:3: [Service] KillMode= 'sideways'" in w for w in us.warnings)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (PID namespace)")
def test_socket_unit_boots_and_activates_over_ipv6(tmp, procs):
    port = free_port(socket.AF_INET6, "::1")
    root, marks = unit_tree(tmp, {
        "echo.service": "[Service]\nExecStart=%s %s\n" % (sys.executable, NATIVE),
        "echo.socket": "[Socket]\nListenStream=[::1]:%d\n" % port})
    p = boot(procs, root, marks)
    import time
    t0 = time.monotonic()
    deadline_ok = False
    while time.monotonic() - t0 < 30:
        s = socket.socket(socket.AF_INET6)
        s.settimeout(30)
        try:
            s.connect(("::1", port))
            deadline_ok = True
            break
        except ConnectionRefusedError:
            s.close()
            time.sleep(0.05)
    assert deadline_ok, "the socket unit's listener never appeared"
    head = read_line(s)
    assert head.startswith("pid=") and "fds=1 names=echo" in head
    pid, lpid = head.split()[0][4:], head.split()[1][11:]
    assert pid == lpid
    s.close()
    code, out = stop(p)
    assert "warning" not in out, out
