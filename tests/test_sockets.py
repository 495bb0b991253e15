"""Socket activation: the `socket` file, native and proxy modes over TCP and Unix sockets."""
import os
import signal
import socket
import stat
import sys
import threading
import time

from helpers import make_sd, pid_alive, stop, up_pid
from helpers import wait_for as _wait_for

from pysix.sockets.spec import Listen, parse, parse_address, render

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.join(HERE, "sockhelp", "native_echo.py")
BACKEND = os.path.join(HERE, "sockhelp", "backend_echo.py")
PY = sys.executable


def wait_for(pred, timeout=30.0, **kw):
    """Generous: the test machines are shared and often loaded."""
    return _wait_for(pred, timeout=timeout, **kw)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def talk(addr, payload=b"hello", family=socket.AF_INET, timeout=10.0):
    """Connect, read the header line (native) or nothing, send, read the echo."""
    s = socket.socket(family)
    s.settimeout(timeout)
    s.connect(addr)
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf.decode()


def echo(s, payload):
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        d = s.recv(65536)
        if not d:
            break
        got += d
    return got


# the file -----------------------------------------------------------------------

def test_addresses():
    assert parse_address("8080")[0] == Listen("inet", "0.0.0.0", 8080)
    assert parse_address("127.0.0.1:80")[0] == Listen("inet", "127.0.0.1", 80)
    assert parse_address("[::1]:8080")[0] == Listen("inet6", "::1", 8080)
    assert parse_address("/run/app.sock")[0] == Listen("unix", path="/run/app.sock")
    for bad in ("", "0", "70000", "host:", "[::1]8080", "::1:80", "a:b", "/" + "x" * 120):
        a, why = parse_address(bad)
        assert a is None and why, bad


def test_parse_and_render_round_trip():
    text = ("# web\nlisten 0.0.0.0:8080\nlisten /run/a#b.sock\nmode proxy\nproxy-target 127.0.0.1:18080 # inner\n"
            "socket-user 0\nsocket-group 0\nsocket-mode 0660\nactivate at-boot\n")
    spec, errs = parse(text)
    assert errs == []
    assert [a.path or a.port for a in spec.listens] == [8080, "/run/a#b.sock"]
    assert spec.mode == "proxy" and spec.target == Listen("inet", "127.0.0.1", 18080)
    assert spec.sock_mode == 0o660 and spec.activate == "at-boot"
    again, errs = parse(render(spec))
    assert errs == [] and render(again) == render(spec)


def test_bad_files_say_which_line():
    assert parse("")[0] is None and parse("")[1] == ["no listen line"]
    spec, errs = parse("listen 80\nmode magic\n")
    assert spec is None and errs == ["line 2: mode must be native or proxy, not 'magic'"]
    spec, errs = parse("listen 80\nmode proxy\n")
    assert spec is None and errs == ["mode proxy needs a proxy-target line"]
    spec, errs = parse("listen 80\nfrobnicate 1\nsocket-mode 99\n")
    assert spec is not None and errs == ["line 2: unknown setting 'frobnicate'",
                                         "line 3: socket-mode must be octal like 0660, not '99'"]


# native ---------------------------------------------------------------------------

def native_sd(path, listen, *extra, run=None):
    return make_sd(path, run or "exec %s %s" % (PY, NATIVE),
                   socket="listen %s\n%s" % (listen, "".join(x + "\n" for x in extra)))


def test_native_tcp_on_connect(tmp, procs):
    port = free_port()
    scan = os.path.join(tmp, "scan")
    sd = native_sd(os.path.join(scan, "web"), "127.0.0.1:%d" % port)
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: os.path.exists(os.path.join(sd, "supervise", "pysix-state")) and
             b"waiting" in open(os.path.join(sd, "supervise", "pysix-state"), "rb").read(), what="waiting")
    time.sleep(0.3)
    assert not up_pid(sd)       # nothing started before a connection
    # Waiting for a connection is healthy: the listener is held.
    import subprocess
    h = subprocess.run(["pysix", "health"], env=dict(os.environ, PYSIX_SCANDIR=scan),
                       capture_output=True, text=True, timeout=30)
    assert h.returncode == 0, h.stdout + h.stderr
    s = talk(("127.0.0.1", port))
    head = read_line(s)
    pid = up_pid(sd)
    assert head == "pid=%d listen_pid=%d fds=1 names=web\n" % (pid, pid)
    assert echo(s, b"x" * 100000) == b"x" * 100000
    s.close()
    # After a crash the same socket is handed again (the next connection starts it).
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: up_pid(sd) != pid, what="down")
    s = talk(("127.0.0.1", port))
    head = read_line(s)
    assert head.startswith("pid=%d " % wait_for(lambda: up_pid(sd))) and up_pid(sd) != pid
    s.close()
    stop(p)
    assert not pid_alive(pid)


def test_native_unix_socket_mode_and_stale_file(tmp, procs):
    path = os.path.join(tmp, "app.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)        # a socket file left by a previous boot is replaced
    stale.close()
    scan = os.path.join(tmp, "scan")
    sd = native_sd(os.path.join(scan, "app"), path, "socket-mode 0600", "name api")
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: os.path.exists(os.path.join(sd, "supervise", "status")), what="supervisor")
    wait_for(lambda: os.stat(path).st_ino and stat.S_IMODE(os.stat(path).st_mode) == 0o600, what="mode 0600")
    s = talk(path, family=socket.AF_UNIX)
    head = read_line(s)
    pid = up_pid(sd)
    assert head == "pid=%d listen_pid=%d fds=1 names=api\n" % (pid, pid)
    assert echo(s, b"unix") == b"unix"
    s.close()
    stop(p)


def test_listen_pid_through_an_exec_chain(tmp, procs):
    port = free_port()
    scan = os.path.join(tmp, "scan")
    # run -> sh -> env -> python: LISTEN_PID must name the last one.
    sd = native_sd(os.path.join(scan, "chain"), "127.0.0.1:%d" % port, "activate at-boot",
                   run="exec /bin/sh -c 'exec env %s %s'" % (PY, NATIVE))
    p = procs.start(["pysix-svscan", scan])
    pid = wait_for(lambda: up_pid(sd), what="up at boot")
    s = talk(("127.0.0.1", port))
    head = read_line(s)
    assert head == "pid=%d listen_pid=%d fds=1 names=chain\n" % (pid, pid)
    s.close()
    stop(p)


def test_backlog_held_across_restarts(tmp, procs):
    """Connections while the service is SIGKILLed again and again wait; none is refused."""
    port = free_port()
    scan = os.path.join(tmp, "scan")
    sd = native_sd(os.path.join(scan, "web"), "127.0.0.1:%d" % port, "activate at-boot")
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: up_pid(sd), what="up")
    pids, refused, lost = set(), 0, 0
    for i in range(120):
        if i % 20 == 10:
            pid = up_pid(sd)
            if pid:
                os.kill(pid, signal.SIGKILL)
        try:
            s = talk(("127.0.0.1", port), timeout=10)
        except ConnectionRefusedError:
            refused += 1
            continue
        head = read_line(s)
        if not head and i % 20 == 10:
            # The killed server may have dequeued this one in the instant
            # before SIGKILL took effect: lost by the dying server, not refused.
            lost += 1
            s.close()
            continue
        assert head.startswith("pid="), head
        pids.add(head.split()[0])
        assert echo(s, b"%d" % i) == b"%d" % i
        s.close()
    assert refused == 0 and lost <= 6
    assert len(pids) >= 5       # it really was restarted in between
    stop(p)


def test_pysix_check_reads_the_socket_file(tmp):
    import subprocess
    root = os.path.join(tmp, "root")
    make_sd(os.path.join(root, "etc", "services.d", "web"), "exec sleep 1", socket="listen 80\nmode sideways\n")
    r = subprocess.run(["pysix-check", "--root", root], capture_output=True, text=True, timeout=30)
    assert "services.d/web/socket: line 2: mode must be native or proxy, not 'sideways'" in r.stdout + r.stderr
    assert r.returncode != 0


def test_bad_socket_file_is_one_line_and_the_service_still_runs(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), "exec sleep 1000", socket="listen nowhere\n")
    p = procs.start(["pysix-svscan", scan], stderr=open(os.path.join(tmp, "err"), "wb"))
    pid = wait_for(lambda: up_pid(sd), what="up")
    time.sleep(0.2)
    err = open(os.path.join(tmp, "err")).read()
    assert "web/socket: line 1: bad address 'nowhere'" in err
    stop(p)
    assert not pid_alive(pid)


# proxy ------------------------------------------------------------------------------

def proxy_tree(tmp, public, target, backend_addr=None, delay=None, extra=""):
    scan = os.path.join(tmp, "scan")
    args = "%s %s %s" % (PY, BACKEND, backend_addr or target)
    if delay:
        args += " %g" % delay
    sd = make_sd(os.path.join(scan, "app"), "exec " + args,
                 socket="listen %s\nmode proxy\nproxy-target %s\n%s" % (public, target, extra))
    return scan, sd


def test_proxy_tcp_starts_the_service_on_first_connection(tmp, procs):
    pub, back = free_port(), free_port()
    scan, sd = proxy_tree(tmp, "127.0.0.1:%d" % pub, "127.0.0.1:%d" % back, delay=0.3)
    p = procs.start(["pysix-svscan", scan])
    proxy_sd = os.path.join(scan, "app.proxy")
    wait_for(lambda: up_pid(proxy_sd), what="proxy up")
    time.sleep(0.3)
    assert not up_pid(sd)           # deferred
    t0 = time.monotonic()
    s = talk(("127.0.0.1", pub))
    assert echo(s, b"first") == b"first"
    print("first connection through a deferred start: %.0f ms" % ((time.monotonic() - t0) * 1000))
    assert up_pid(sd)
    big = os.urandom(3 << 20)
    assert echo(s, big) == big
    s.shutdown(socket.SHUT_WR)       # half-close: the echo side still finishes, then EOF
    assert s.recv(10) == b""
    s.close()
    stop(p)


def test_proxy_unix_to_unix(tmp, procs):
    pub, back = os.path.join(tmp, "pub.sock"), os.path.join(tmp, "back.sock")
    scan, sd = proxy_tree(tmp, pub, back)
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: os.path.exists(pub), what="public socket")
    s = talk(pub, family=socket.AF_UNIX)
    assert echo(s, b"over unix" * 1000) == b"over unix" * 1000
    s.close()
    stop(p)


def test_proxy_closes_the_client_when_the_target_never_accepts(tmp, procs):
    pub = free_port()
    scan = os.path.join(tmp, "scan")
    make_sd(os.path.join(scan, "app"), "exec sleep 1000",
            socket="listen 127.0.0.1:%d\nmode proxy\nproxy-target 127.0.0.1:%d\nproxy-timeout 0.5\n" % (pub, free_port()))
    p = procs.start(["pysix-svscan", scan])
    wait_for(lambda: up_pid(os.path.join(scan, "app.proxy")), what="proxy up")
    s = talk(("127.0.0.1", pub))
    t0 = time.monotonic()
    assert s.recv(10) == b""        # closed, not hung
    assert time.monotonic() - t0 < 5
    s.close()
    stop(p)


def test_proxy_100_concurrent_with_a_backend_restart(tmp, procs):
    pub, back = free_port(), free_port()
    scan, sd = proxy_tree(tmp, "127.0.0.1:%d" % pub, "127.0.0.1:%d" % back)
    p = procs.start(["pysix-svscan", scan])
    proxy_sd = os.path.join(scan, "app.proxy")
    proxy_pid = wait_for(lambda: up_pid(proxy_sd), what="proxy up")
    results = {}

    def client(i, rounds, restart_at=None):
        ok = 0
        for r in range(rounds):
            try:
                s = talk(("127.0.0.1", pub), timeout=15)
                payload = b"%d-%d-" % (i, r) * 500
                if echo(s, payload) == payload:
                    ok += 1
                s.close()
            except OSError:
                pass
            time.sleep(0.01)
        results[i] = ok

    # All 100 connected at once, then the backend is killed under them: each
    # open connection ends (no hang), and the next ones wait for the restart.
    socks = [talk(("127.0.0.1", pub), timeout=15) for _ in range(100)]
    for i, s in enumerate(socks):
        assert echo(s, b"%d" % i) == b"%d" % i
    first = up_pid(sd)
    os.kill(first, signal.SIGKILL)
    for s in socks:
        assert s.recv(10) == b""     # reset or EOF, promptly
        s.close()
    threads = [threading.Thread(target=client, args=(i, 5)) for i in range(100)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    os.kill(wait_for(lambda: up_pid(sd), what="restarted"), signal.SIGKILL)   # again, mid-traffic
    for t in threads:
        t.join(60)
    assert sum(results.values()) >= 100 * 5 - 100   # at most the connection open at the kill fails
    assert all(results[i] >= 4 for i in range(100))
    assert up_pid(proxy_sd) == proxy_pid             # the proxy never restarted
    stop(p)


# a restarted scanner --------------------------------------------------------------------

def _connect_loop(addr, family, stop, out):
    """Connect again and again until `stop`; count what was refused, keep the heads."""
    while not stop.is_set():
        try:
            s = talk(addr, family=family, timeout=15)
        except ConnectionRefusedError:
            out["refused"] += 1
            continue
        except OSError as e:
            out["errors"].append(repr(e))
            continue
        try:
            head = read_line(s)
            if head.startswith("pid=") and echo(s, b"ping") == b"ping":
                out["heads"].append(head.split()[0])
            else:
                out["lost"] += 1    # dequeued by a server that was killed at that instant
        except OSError:
            out["lost"] += 1
        s.close()
        time.sleep(0.005)


def _scanner_restart_keeps_the_listener(tmp, procs, unix):
    from pysix.lockprobe import lock_holder
    if unix:
        addr, family, listen = os.path.join(tmp, "web.sock"), socket.AF_UNIX, os.path.join(tmp, "web.sock")
    else:
        port = free_port()
        addr, family, listen = ("127.0.0.1", port), socket.AF_INET, "127.0.0.1:%d" % port
    scan = os.path.join(tmp, "scan")
    sd = native_sd(os.path.join(scan, "web"), listen)
    first = procs.start(["pysix-svscan", scan])
    state = os.path.join(sd, "supervise", "pysix-state")
    wait_for(lambda: os.path.exists(state) and b"waiting" in open(state, "rb").read(), what="waiting")
    s = talk(addr, family=family)           # on-connect: this starts it
    assert read_line(s).startswith("pid=")
    s.close()
    run = wait_for(lambda: up_pid(sd), what="up")
    old_sup = wait_for(lambda: lock_holder(os.path.join(sd, "supervise", "lock")), what="supervisor")
    procs.track(old_sup, run)
    ino = os.stat(addr).st_ino if unix else 0
    first.kill()                            # the scanner only: its supervisors live on
    first.wait(10)
    assert os.kill(old_sup, 0) is None and up_pid(sd) == run
    err = os.path.join(tmp, "err")
    second = procs.start(["pysix-svscan", scan], stderr=open(err, "wb"))
    wait_for(lambda: lock_holder(os.path.join(scan, ".s6-svscan", "lock")) == second.pid, what="new scanner")
    time.sleep(0.3)                         # it has looked at web (and waits for its supervisor)
    stop, out = threading.Event(), {"refused": 0, "lost": 0, "heads": [], "errors": []}
    t = threading.Thread(target=_connect_loop, args=(addr, family, stop, out))
    t.start()
    try:
        time.sleep(0.3)
        os.kill(old_sup, signal.SIGTERM)    # takes its run down and exits: the new scanner's turn
        wait_for(lambda: not pid_alive(old_sup) and not pid_alive(run), what="old supervisor gone")
        new_sup = wait_for(lambda: lock_holder(os.path.join(sd, "supervise", "lock")), what="new supervisor")
        procs.track(new_sup)
        wait_for(lambda: len(set(out["heads"])) >= 2, what="served by the restarted service")
        for _ in range(2):                  # and by the next ones, after crashes
            pid = wait_for(lambda: up_pid(sd), what="up again")
            os.kill(pid, signal.SIGKILL)
            n = len(set(out["heads"]))
            wait_for(lambda: len(set(out["heads"])) > n, what="served after a crash")
    finally:
        stop.set()
        t.join(30)
    assert out["refused"] == 0 and out["errors"] == [], out
    assert out["lost"] <= 3, out
    assert "cannot" not in open(err).read()
    if unix:
        assert os.stat(addr).st_ino == ino  # the same socket file: never bound again
    second.send_signal(signal.SIGTERM)
    second.wait(20)


def test_restarted_scanner_takes_the_tcp_listener_over(tmp, procs):
    _scanner_restart_keeps_the_listener(tmp, procs, unix=False)


def test_restarted_scanner_takes_the_unix_listener_over(tmp, procs):
    _scanner_restart_keeps_the_listener(tmp, procs, unix=True)


def test_take_over_falls_back_to_binding_with_one_warning(tmp, procs):
    """The lock's holder has no such listener (or cannot be read): bound anew, one line."""
    from pysix.sockets.handoff import scanner_listeners
    port = free_port()
    sd = native_sd(os.path.join(tmp, "web"), "127.0.0.1:%d" % port)
    os.makedirs(os.path.join(sd, "supervise"))
    lock = os.path.join(sd, "supervise", "lock")
    holder = procs.start([PY, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
                          "fcntl.lockf(f, fcntl.LOCK_EX); print(flush=True); time.sleep(60)", lock],
                         stdout=-1)
    holder.stdout.readline()
    said = []
    fds = scanner_listeners(sd, said.append)
    try:
        assert len(fds) == 1 and len(said) == 1, said
        assert ("cannot take the listeners over from its running supervisor (pid %d)" % holder.pid) in said[0]
        assert "holds no listener on 127.0.0.1:%d; bound anew" % port in said[0]
        s = socket.socket(fileno=os.dup(fds[0]))
        assert s.getsockname() == ("127.0.0.1", port)
        s.close()
    finally:
        for fd in fds:
            os.close(fd)
    holder.kill()
    holder.wait(10)
