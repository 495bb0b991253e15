"""Logging throughput: pysix-log against s6-log on the same input.

Both loggers read the same generated file (100-byte lines) on stdin and
write to a fresh dir on /dev/shm, stamping every line and rotating at 1 MB
with 10 archives kept:

    pysix-log -t iso -s 1000000 -n 10 DIR
    s6-log n10 s1000000 T DIR      (T: ISO 8601, as -t iso; t would be TAI64N)

`feed="file"` gives the logger the file itself as stdin; `feed="pipe"` puts
`cat FILE |` in front, as a service's output arrives. Runs are interleaved
(A B A B ...), so drift in machine load hits both alike; the time is wall
clock from spawn to exit, start-up included. After each run the output is
checked (last line present, archives bounded, ~10 MB kept), so a logger
cannot win by dropping lines. Standard library only.

(bench/bench_log.py, with another signature, is the bench runner's own
logging metric; this file is the stand-alone comparison.)
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 1000000
COUNT = 10


def make_input(path: str, lines: int) -> None:
    """Write `lines` access-log-like lines of exactly 100 bytes each."""
    with open(path, "wb") as f:
        chunk = []
        for i in range(lines):
            head = b"10.0.%d.%d - - GET /api/v1/items/%d?page=%d HTTP/1.1 200 %d" % (
                i % 256, i * 7 % 256, i, i % 97, i * 31 % 100000)
            chunk.append(head.ljust(99, b".") + b"\n")
            if len(chunk) == 10000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def _pysix_cmd() -> List[str]:
    """The working tree's pysix-log, so the bench measures this checkout."""
    local = os.path.join(ROOT, "bin", "pysix-log")
    if os.path.exists(local):
        return [sys.executable, local]
    found = shutil.which("pysix-log")
    if found is None:
        raise RuntimeError("pysix-log not found")
    return [found]


def _time_one(cmd: List[str], logdir: str, input_path: str, feed: str, env: Dict[str, str]) -> float:
    shutil.rmtree(logdir, ignore_errors=True)
    os.mkdir(logdir)
    with open(input_path, "rb") as src:
        t0 = time.perf_counter()
        if feed == "pipe":
            cat = subprocess.Popen(["cat"], stdin=src, stdout=subprocess.PIPE)
            p = subprocess.Popen(cmd + [logdir], stdin=cat.stdout, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=env)
            cat.stdout.close()
            err = p.communicate(timeout=300)[1]
            cat.wait(10)
        else:
            p = subprocess.Popen(cmd + [logdir], stdin=src, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=env)
            err = p.communicate(timeout=300)[1]
        dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (cmd[-1], p.returncode, err.decode(errors="replace")))
    return dt


def _check_output(logdir: str, last: bytes, lines: int) -> None:
    names = sorted(n for n in os.listdir(logdir) if n.startswith("@"))
    if len(names) > COUNT:
        raise RuntimeError("%s keeps %d archives, more than %d" % (logdir, len(names), COUNT))
    total = 0
    newest = b""             # `current` is empty when a rotation came with the last line
    for n in names + ["current"]:
        with open(os.path.join(logdir, n), "rb") as f:
            data = f.read()
        total += data.count(b"\n")
        newest = data or newest
    if not newest.endswith(last):
        raise RuntimeError("%s does not end with the last input line" % logdir)
    expected = min(lines, COUNT * SIZE // 135)   # 100-byte lines + a stamp (s6-log T: 31 bytes)
    if total < expected:
        raise RuntimeError("%s holds %d lines, expected at least %d" % (logdir, total, expected))


def run(lines: int = 200000, repeats: int = 3, feed: str = "file") -> dict:
    base = tempfile.mkdtemp(prefix="pysix-bench-log-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        input_path = os.path.join(base, "input")
        make_input(input_path, lines)
        with open(input_path, "rb") as f:
            f.seek(-100, os.SEEK_END)
            last = f.read()
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        contenders = [("pysix-log", _pysix_cmd() + ["-t", "iso", "-s", str(SIZE), "-n", str(COUNT)])]
        s6 = shutil.which("s6-log")
        if s6 is None:
            print("s6-log not found: measuring pysix-log alone", file=sys.stderr)
        else:
            contenders.append(("s6-log", [s6, "n%d" % COUNT, "s%d" % SIZE, "T"]))
        rates: Dict[str, List[float]] = {name: [] for name, _ in contenders}
        for _ in range(repeats):
            for name, cmd in contenders:
                logdir = os.path.join(base, name)
                rates[name].append(lines / _time_one(cmd, logdir, input_path, feed, env))
                _check_output(logdir, last, lines)
        s6_median = statistics.median(rates["s6-log"]) if "s6-log" in rates else None
        rows = []
        for name, _ in contenders:
            med = statistics.median(rates[name])
            rows.append({"name": name, "min": min(rates[name]), "median": med,
                         "max": max(rates[name]), "unit": "lines/s",
                         "ratio_to_s6": med / s6_median if s6_median else None})
        return {"metric": "logging", "feed": feed, "lines": lines, "repeats": repeats, "rows": rows}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def table(result: dict) -> str:
    out = ["%d lines of 100 bytes from a %s, stamps on, rotation at 1 MB, 10 archives, %d runs each"
           % (result["lines"], result["feed"], result["repeats"]), "",
           "| logger | min lines/s | median lines/s | max lines/s | median / s6-log |",
           "| --- | ---: | ---: | ---: | ---: |"]
    for r in result["rows"]:
        ratio = "%.2f" % r["ratio_to_s6"] if r["ratio_to_s6"] is not None else "n/a"
        out.append("| %s | %.0f | %.0f | %.0f | %s |" % (r["name"], r["min"], r["median"], r["max"], ratio))
    return "\n".join(out)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(table(run(n, k)))
    print()
    print(table(run(n, k, feed="pipe")))
