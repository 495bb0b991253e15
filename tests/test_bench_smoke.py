"""A tiny run of the benchmark suite, so it never rots: shape of the JSON, nothing left behind."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_quick_run(tmp):
    out = os.path.join(tmp, "results.json")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--quick",
                        "--only", "boot,restart,stop,memory,control,pid1,logging", "--json", out],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.load(open(out))
    assert data["quick"] is True and "metrics" in data
    boot = data["metrics"]["boot N=10"]
    assert boot["unit"] == "ms" and "pysix" in boot["systems"]
    for name, v in boot["systems"].items():
        assert v["min"] <= v["median"] <= v["max"]
    assert "| system | min | median | max | ratio to s6 |" in r.stdout
    pid1 = data["metrics"]["PID 1: exit code when child exits 42"]["systems"]
    assert pid1["pysix"]["median"] == 42
    assert data["metrics"]["PID 1: zombies leaked"]["systems"]["pysix"]["max"] == 0
    left = subprocess.run(["pgrep", "-f", "pysix-bench-"], capture_output=True, text=True).stdout.split()
    assert not left, "processes left behind: %s" % left
