"""A tiny run of the benchmark suite, so it never rots.

`bench/run.py --quick` (N small, 1 repeat, 1 s idle window, restart skipped):
the JSON has the expected shape, the markdown tables are printed, and no
process it started is left. Passes whether or not pysix's commands exist yet
(then pysix is listed as skipped); failures of pysix itself are reported as
warnings here, since its own tests own them.
"""
import json
import os
import shutil
import subprocess
import sys

import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = {"s6": "s6-svscan", "runit": "runsvdir", "supervisord": "supervisord"}


def _under(path):
    """Live processes whose cwd is under path."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cwd = os.readlink("/proc/%s/cwd" % d).replace(" (deleted)", "")
                with open("/proc/%s/stat" % d) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if (cwd == path or cwd.startswith(path + "/")) and state != "Z":
                out.append(int(d))
    return out


def test_bench_quick_run(tmp):
    out = os.path.join(tmp, "results.json")
    # Bounded by the timeout only: wall time is the benchmarks' business, not a test's.
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--quick",
                        "--json", out, "--workdir", tmp],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]

    data = json.load(open(out))
    for key in ("quick", "repeats", "systems", "skipped", "errors", "metrics", "targets", "leftover_processes"):
        assert key in data, key
    assert data["quick"] is True and data["repeats"] == 1
    assert data["leftover_processes"] == []
    assert "restart" in data["skipped"]

    # Which systems ran, which were skipped, and why.
    pysix_there = os.path.exists(os.path.join(ROOT, "bin", "pysix-svscan"))
    assert ("pysix" in data["systems"]) == pysix_there
    assert ("pysix" in data["skipped"]) != pysix_there
    for name, cmd in PEERS.items():
        assert (name in data["systems"]) == bool(shutil.which(cmd)), name

    # Errors: the suite's or a peer's fail the test; pysix's are its own tests' business.
    mine = [e for e in data["errors"] if ", pysix:" not in e]
    assert not mine, mine
    for e in data["errors"]:
        if e not in mine:
            warnings.warn("pysix failed in the benchmark: %s" % e)

    # Shape of every metric; boot measured for every system that ran without error.
    for metric, m in data["metrics"].items():
        assert m["unit"] and m["systems"], metric
        for name, v in m["systems"].items():
            assert v["values"] and v["min"] <= v["median"] <= v["max"], (metric, name)
            assert ("ratio_to_s6" in v)
    boot = data["metrics"]["boot N=5"]["systems"]
    for name in data["systems"]:
        assert name in boot or any(", %s:" % name in e for e in data["errors"]), name
    assert "s6" not in boot or boot["s6"]["ratio_to_s6"] == 1.0
    # The boot's timeline: when the first, the middle and the last run started,
    # from the markers' file times (a tick's precision, hence the slack).
    first = data["metrics"]["boot N=5: first run started"]["systems"]
    half = data["metrics"]["boot N=5: half the runs started"]["systems"]
    last = data["metrics"]["boot N=5: last run started"]["systems"]
    for name in boot:
        assert 0 <= first[name]["median"] <= half[name]["median"] <= last[name]["median"] \
            <= boot[name]["median"] + 10, name
    for prefix in ("stop-all", "PSS N=", "idle context switches", "control down+up", "status query"):
        assert any(k.startswith(prefix) for k in data["metrics"]), prefix
    if "PID 1 metrics" not in data["skipped"]:
        codes = data["metrics"]["PID 1: exit code when child exits 42"]["systems"]
        for init in ("tini", "dumb-init"):
            if shutil.which(init):
                assert codes[init]["median"] == 42, init
    # SIGTERM to PID 1 with N services: every init that ran without error has its figure.
    if "pid1stop" not in data["skipped"]:
        stop = data["metrics"].get("pid1stop N=5: SIGTERM until PID 1 exited", {}).get("systems", {})
        for name in ("pysix", "s6"):
            if name in data["systems"] and "%s (pid1stop)" % name not in data["skipped"]:
                assert name in stop or any(e.startswith("pid1stop") and ", %s:" % name in e
                                           for e in data["errors"]), name
    # The skeleton's boot with and without a dependency chain, as a ratio to the flat tree.
    if "depsboot" not in data["skipped"] and not any(e.startswith("depsboot") for e in data["errors"]):
        for metric in ("depsboot: until every run started", "depsboot: until all up, web ready"):
            m = data["metrics"][metric]
            assert m["reference"] == "pysix (no deps)"
            assert set(m["systems"]) == {"pysix (no deps)", "pysix (chain)"}, metric
            assert m["systems"]["pysix (no deps)"]["ratio_to_reference"] == 1.0
        assert "| system | min | median | max | unit | ratio to pysix (no deps) |" in r.stdout
    assert {"target", "pysix", "limit", "ok"} <= set(data["targets"][0])

    assert "| system | min | median | max | unit | ratio to s6 |" in r.stdout
    assert "### targets (pysix)" in r.stdout

    # Nothing it started is still running: every service, supervisor and root ran under tmp.
    left = _under(os.path.realpath(tmp))
    assert not left, "processes left behind: %s" % left
