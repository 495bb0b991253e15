"""Logging throughput: pysix-log against s6-log on the same input.

Both stamp every line (ISO 8601 for pysix-log, s6-log's `T`), rotate at
1 MB and keep 10 archives; the input (~100-byte lines) is generated once
and fed through a pipe, as a service's output would be.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Dict, List


def make_input(path: str, lines: int) -> None:
    with open(path, "wb") as f:
        f.write(b"".join(b"%09d the quick brown fox jumps over the lazy dog, again and again and again ok\n" % i
                         for i in range(lines)))


def one_run(argv: List[str], data_path: str) -> float:
    with open(data_path, "rb") as f:
        data = f.read()
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.communicate(data, timeout=120)
    return time.perf_counter() - t0


def loggers(work: str) -> Dict[str, List[str]]:
    out = {}
    if shutil.which("pysix-log"):
        out["pysix"] = ["pysix-log", "-t", "iso", "-s", "1000000", "-n", "10", os.path.join(work, "pysix")]
    if shutil.which("s6-log"):
        out["s6"] = ["s6-log", "n10", "s1000000", "T", os.path.join(work, "s6")]
    return out


def run(work: str, lines: int = 200000, repeats: int = 3) -> Dict[str, List[float]]:
    """lines/second per logger, runs interleaved."""
    data = os.path.join(work, "input")
    os.makedirs(work, exist_ok=True)
    make_input(data, lines)
    results: Dict[str, List[float]] = {}
    for _ in range(repeats):
        for name, argv in loggers(work).items():
            shutil.rmtree(argv[-1], ignore_errors=True)
            os.makedirs(argv[-1])
            results.setdefault(name, []).append(lines / one_run(argv, data))
    return results
