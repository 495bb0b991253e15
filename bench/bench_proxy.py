"""Socket activation, on loopback: through pysix's proxy against straight to the backend.

    python bench/bench_proxy.py [--quick] [--repeats R] [--json FILE]

One pysix-svscan tree: `app` (proxy mode, a Python backend on its own port,
started on demand), its generated `app.proxy`, and `nat` (native mode,
on-connect). Measured side by side in one run, interleaved per repeat:
* connections/s: connect, 1-byte request, 1-byte answer, close; one client;
* MB/s: one connection sends 256 MB (64 with --quick), the backend counts them;
* first-connection latency of a deferred service: `svc -d` it, then time one
  request from connect to answer (the proxy or the socket starts it), against
  the same request to a service already up.
Both paths talk to the same backend, so ratios are the proxy's cost. The
proxy is also run with --no-splice (a user-space copy) for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ["PATH"] = os.pathsep.join([os.path.join(ROOT, "bin"), os.path.dirname(sys.executable),
                                      os.environ.get("PATH", "")])
os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
sys.path.insert(0, ROOT)

BACKEND = r'''
import os, socket, sys, threading
def serve(c):
    try:
        kind = c.recv(1)
        if kind == b"c":
            c.sendall(b"k")
        elif kind == b"s":
            n = 1
            while True:
                d = c.recv(1 << 20)
                if not d:
                    break
                n += len(d)
            c.sendall(b"%d\n" % n)
    except OSError:
        pass
    c.close()
if len(sys.argv) > 1:
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(4096)
else:
    ls = socket.socket(fileno=3)     # native: LISTEN_FDS
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'''


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_until(pred, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.005)


def up(sd: str) -> bool:
    from pysix.status import unpack_status
    try:
        with open(os.path.join(sd, "supervise", "status"), "rb") as f:
            return unpack_status(f.read()).up
    except (OSError, ValueError):
        return False


def request(port: int, timeout: float = 30.0) -> None:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"c")
    if s.recv(1) != b"k":
        raise RuntimeError("bad answer on port %d" % port)
    s.close()


def conns_per_s(port: int, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        request(port)
        n += 1
    return n / (time.perf_counter() - t0)


def mb_per_s(port: int, mb: int) -> float:
    chunk = b"\0" * (1 << 20)
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    t0 = time.perf_counter()
    s.sendall(b"s")
    for _ in range(mb):
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while not got.endswith(b"\n"):
        d = s.recv(64)
        if not d:
            break
        got += d
    dt = time.perf_counter() - t0
    s.close()
    if int(got or b"0") != mb * (1 << 20) + 1:
        raise RuntimeError("lost bytes: %r" % got)
    return mb / dt


def first_latency(port: int, sd: str, native: bool = False) -> float:
    """svc -d the service, then one request; the start it triggers is inside the time.

    A native service that is down stays down (an operator's `d`); `u` makes
    it wait for a connection again, as at boot. The proxy writes `u` itself.
    """
    subprocess.run(["pysix-svc", "-wD", "-T", "20000", "-d", sd], check=True, timeout=30)
    if native:
        subprocess.run(["pysix-svc", "-u", sd], check=True, timeout=30)
        time.sleep(0.1)
    t0 = time.perf_counter()
    request(port)
    return (time.perf_counter() - t0) * 1000


def warm_latency(port: int) -> float:
    t0 = time.perf_counter()
    request(port)
    return (time.perf_counter() - t0) * 1000


def build(work: str):
    scan = os.path.join(work, "scan")
    ports = {k: free_port() for k in ("pub", "back", "pub_copy", "back_copy", "nat")}
    with open(os.path.join(work, "backend.py"), "w") as f:
        f.write(BACKEND)
    py, be = sys.executable, os.path.join(work, "backend.py")

    def sd(name, run, sock):
        d = os.path.join(scan, name)
        os.makedirs(d)
        with open(os.path.join(d, "run"), "w") as f:
            f.write("#!/bin/sh\nexec %s %s\n" % (run, ""))
        os.chmod(os.path.join(d, "run"), 0o755)
        with open(os.path.join(d, "socket"), "w") as f:
            f.write(sock)
        return d
    sds = {
        "app": sd("app", "%s %s %d" % (py, be, ports["back"]),
                  "listen 127.0.0.1:%d\nmode proxy\nproxy-target 127.0.0.1:%d\n" % (ports["pub"], ports["back"])),
        "nat": sd("nat", "%s %s" % (py, be), "listen 127.0.0.1:%d\n" % ports["nat"]),
        # a hand-made proxy service without splice, for comparison
        "copy": sd("copy", "%s %s %d" % (py, be, ports["back_copy"]),
                   "listen 127.0.0.1:%d\nmode proxy\nproxy-target 127.0.0.1:%d\n" % (
                       ports["pub_copy"], ports["back_copy"])),
    }
    return scan, ports, sds


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--json", default=os.path.join(HERE, "results-proxy.json"))
    a = ap.parse_args()
    repeats = a.repeats or (1 if a.quick else 3)
    secs, mb = (1.0, 64) if a.quick else (3.0, 256)
    work = tempfile.mkdtemp(prefix="pysix-bench-proxy-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    p = None
    res = {}

    def rec(metric, path, v):
        res.setdefault(metric, {}).setdefault(path, []).append(v)
    try:
        scan, ports, sds = build(work)
        p = subprocess.Popen(["pysix-svscan", scan], start_new_session=True)
        wait_until(lambda: os.path.isdir(os.path.join(scan, "copy.proxy")), what="copy.proxy")
        # copy.proxy: the same generated proxy with --no-splice
        run = os.path.join(scan, "copy.proxy", "run")
        text = open(run).read().replace("--timeout", "--no-splice --timeout")
        with open(run, "w") as f:
            f.write(text)
        for name in ("app.proxy", "copy.proxy"):
            wait_until(lambda n=name: up(os.path.join(scan, n)), what=name)
        subprocess.run(["pysix-svc", "-k", os.path.join(scan, "copy.proxy")], timeout=10)
        time.sleep(1.2)
        request(ports["pub"])
        request(ports["pub_copy"])       # both backends up
        request(ports["nat"])
        paths = (("direct", ports["back"]), ("proxy (splice)", ports["pub"]),
                 ("proxy (copy)", ports["pub_copy"]), ("native socket", ports["nat"]))
        for r in range(repeats):
            order = paths[r % len(paths):] + paths[:r % len(paths)]   # interleaved, rotated: load drifts
            for name, port in order:
                rec("connections/s", name, conns_per_s(port, secs))
            for name, port in order:
                rec("MB/s", name, mb_per_s(port, mb))
            rec("request latency, service up (ms)", "direct", warm_latency(ports["back"]))
            rec("request latency, service up (ms)", "proxy (splice)", warm_latency(ports["pub"]))
            rec("first-connection latency, deferred (ms)", "proxy (splice)", first_latency(ports["pub"], sds["app"]))
            rec("first-connection latency, deferred (ms)", "native socket", first_latency(ports["nat"], sds["nat"], native=True))
    finally:
        if p is not None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    for metric, per in res.items():
        ref = statistics.median(per.get("direct") or per.get("proxy (splice)"))
        print("\n### %s (median of %d)\n\n| path | min | median | max | ratio to %s |\n| --- | --- | --- | --- | --- |" % (
            metric, repeats, "direct" if "direct" in per else "proxy (splice)"))
        for path, vals in per.items():
            print("| %s | %.1f | %.1f | %.1f | %.2fx |" % (path, min(vals), statistics.median(vals), max(vals),
                                                         statistics.median(vals) / ref))
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
