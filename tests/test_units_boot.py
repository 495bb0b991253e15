"""Unit files booted by pysix-init as PID 1 of a PID namespace; --validate and --strict-units."""
import os
import signal
import subprocess

import pytest

from helpers import wait_for
from helpers import pid1_of
from test_pid1 import INIT, tree, wait_up

SETUP = """[Unit]
Description=Prepare what every session needs

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo setup >> "$MARKS"'
"""
# The seed's first example: a oneshot per-session init that Requires= a setup unit.
SESSION = """[Unit]
Description=Per-session init
Requires=setup.service
After=setup.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo session-init >> "$MARKS"'
"""
# The seed's second example: a background app.
APP = """[Unit]
Description=The background app
After=session-init.service
Requires=session-init.service
StartLimitBurst=5
StartLimitIntervalSec=60s

[Service]
User=${APP_USER:-app}
WorkingDirectory=${APP_HOME:-/home/app}
ExecStart=/bin/sh -c 'echo "app $(id -u) $(id -G) $(pwd)" >> "$MARKS"; exec sleep 1000'
Restart=on-failure
RestartSec=2s
"""


def unit_tree(tmp, core=None, dropin=None, services=None):
    root = tree(os.path.join(tmp, "r"), services or {})
    for sub, files in (("etc/container-init/units", core or {}), ("etc/container-init.d", dropin or {})):
        d = os.path.join(root, sub)
        os.makedirs(d, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\napp:x:12345:12345:App:/home/app:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\napp:x:12345:\nextra:x:23456:app\n")
    marks = os.path.join(tmp, "marks")
    open(marks, "w").close()
    os.chmod(marks, 0o666)
    return root, marks


def boot(procs, root, marks, args=(), env=None):
    e = dict(os.environ, MARKS=marks)
    e.update(env or {})
    return procs.start(INIT + ["--root", root] + list(args), env=e,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def stop(p):
    os.kill(pid1_of(p), signal.SIGTERM)
    out, _ = p.communicate(timeout=20)
    return p.returncode, out.decode()


def lines_of(marks, n):
    return wait_for(lambda: (lambda ls: ls if len(ls) >= n else None)(open(marks).read().splitlines()),
                    timeout=30, what="%d marks" % n)   # bounded, but the shared machine can be slow


def svstat(root, name):
    sd = os.path.join(root, "run", "pysix", "services", name)
    return subprocess.run(["pysix-svstat", "--pysix", sd], capture_output=True, text=True, timeout=10).stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (PID namespace, User=)")
def test_the_seeds_two_example_units_boot_in_order_as_the_user(tmp, procs):
    root, marks = unit_tree(tmp, {"setup.service": SETUP, "session-init.service": SESSION, "app.service": APP})
    home = os.path.join(tmp, "apphome")
    os.makedirs(home)
    os.chown(home, 12345, 12345)
    os.chmod(tmp, 0o755)
    p = boot(procs, root, marks, env={"APP_HOME": home})
    got = lines_of(marks, 3)
    assert got[:2] == ["setup", "session-init"]
    assert got[2] == "app 12345 12345 23456 %s" % home    # User=${APP_USER:-app}, groups, WorkingDirectory=
    wait_up(root, "app")
    assert "; done" in svstat(root, "setup") and "; done" in svstat(root, "session-init")
    sd = os.path.join(root, "run", "pysix", "services", "app")
    assert open(os.path.join(sd, "restart")).read() == "on-failure\n"
    assert open(os.path.join(sd, "restart-delay")).read() == "2000\n"
    assert open(os.path.join(sd, "restart-limit")).read() == "4 60\n"
    assert open(os.path.join(sd, "dependencies")).read() == "session-init\n"
    code, out = stop(p)
    assert code == 0, out
    assert "warning" not in out and "error" not in out, out


def test_dropin_overrides_and_adds_beside_services_d(tmp, procs):
    core = {"web.service": "[Service]\nExecStart=/bin/sh -c 'echo core-web >> \"$MARKS\"; exec sleep 1000'\n"}
    dropin = {"web.service": "[Unit]\nRequires=legacy.service\n[Service]\n"
                             "ExecStart=/bin/sh -c 'echo dropin-web >> \"$MARKS\"; exec sleep 1000'\n",
              "extra.service": "[Unit]\nRequires=web.service\nAfter=web.service\n[Service]\n"
                               "ExecStart=/bin/sh -c 'echo extra >> \"$MARKS\"; exec sleep 1000'\n"}
    root, marks = unit_tree(tmp, core, dropin, services={"legacy": ("echo legacy >> %s; exec sleep 1000" % os.path.join(tmp, "marks"), {})})
    p = boot(procs, root, marks)
    assert lines_of(marks, 3) == ["legacy", "dropin-web", "extra"]
    code, out = stop(p)
    assert code == 0
    line = "drop-in override: web.service replaces %s/etc/container-init/units/web.service with %s/etc/container-init.d/web.service" % (root, root)
    assert [ln for ln in out.splitlines() if "drop-in override" in ln] == ["pysix-init: " + line]


def test_conditions_at_boot(tmp, procs):
    run = "[Service]\nExecStart=/bin/sh -c 'echo %s >> \"$MARKS\"; exec sleep 1000'\n"
    os.makedirs(os.path.join(tmp, "r", "etc", "app"))
    open(os.path.join(tmp, "r", "etc", "app", "a.conf"), "w").close()
    root, marks = unit_tree(tmp, {
        "path-yes.service": "[Unit]\nConditionPathExists=/etc/app/a.conf\n" + run % "path-yes",
        "path-no.service": "[Unit]\nConditionPathExists=/etc/app/missing\n" + run % "path-no",
        "path-not.service": "[Unit]\nConditionPathExists=!/etc/app/a.conf\n" + run % "path-not",
        "glob-yes.service": "[Unit]\nConditionPathExistsGlob=/etc/app/*.conf\n" + run % "glob-yes",
        "glob-no.service": "[Unit]\nConditionPathExistsGlob=/etc/app/*.yaml\n" + run % "glob-no",
        "env-yes.service": "[Unit]\nConditionEnvironment=MODE=dev\n" + run % "env-yes",
        "env-no.service": "[Unit]\nConditionEnvironment=!MODE\n" + run % "env-no",
        "after-skipped.service": "[Unit]\nRequires=path-no.service\n" + run % "after-skipped",
    })
    p = boot(procs, root, marks, env={"MODE": "dev"})
    wait_up(root, "after-skipped")
    assert sorted(lines_of(marks, 4)) == ["after-skipped", "env-yes", "glob-yes", "path-yes"]
    code, out = stop(p)
    assert sorted(open(marks).read().split()) == ["after-skipped", "env-yes", "glob-yes", "path-yes"]
    for name, why in (("path-no", "ConditionPathExists=/etc/app/missing"), ("path-not", "ConditionPathExists=!/etc/app/a.conf"),
                      ("glob-no", "ConditionPathExistsGlob=/etc/app/*.yaml"), ("env-no", "ConditionEnvironment=!MODE")):
        assert "pysix-init: %s: not started: %s not met" % (name, why) in out, out
        assert os.path.exists(os.path.join(root, "run", "pysix", "services", name, "down"))


def test_validate_prints_one_line_per_unit_and_never_supervises(tmp, procs):
    root, marks = unit_tree(tmp, {"setup.service": SETUP, "session-init.service": SESSION, "app.service": APP})
    r = subprocess.run(["pysix-init", "--root", root, "--validate"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "app.service: simple deps=session-init.service user=app restart=on-failure runs: "
        "/bin/sh -c 'echo \"app $(id -u) $(id -G) $(pwd)\" >> \"$MARKS\"; exec sleep 1000'",
        "session-init.service: oneshot deps=setup.service runs: /bin/sh -c 'echo session-init >> \"$MARKS\"'",
        "setup.service: oneshot (remain) deps=- runs: /bin/sh -c 'echo setup >> \"$MARKS\"'"]
    assert not os.path.exists(os.path.join(root, "run", "pysix", "services"))
    assert open(marks).read() == ""


def test_validate_errors_and_strict_units(tmp, procs):
    root, marks = unit_tree(tmp, {"ok.service": "[Service]\nExecStart=/bin/sh -c 'echo ok >> \"$MARKS\"; exec sleep 1000'\nFancy=1\n"},
                            {"web.socket": "[Socket]\nListenStream=80\n"})
    args = ["pysix-init", "--root", root, "--validate"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0   # warnings only
    assert "ok.service:3: [Service] Fancy=: unknown directive, ignored" in r.stderr
    assert "web.socket: [Socket] Service=web.service: no such unit or service dir: socket unit ignored" in r.stderr
    r = subprocess.run(args + ["--strict-units"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    # --strict-units at boot: refuses to start anything
    r = subprocess.run(INIT + ["--root", root, "--strict-units"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "--strict-units" in r.stderr and open(marks).read() == ""
    # without it, the unit boots despite the warnings
    p = boot(procs, root, marks)
    assert lines_of(marks, 1) == ["ok"]
    assert stop(p)[0] == 0
    # an error: non-zero, one line naming file, line, section, directive
    with open(os.path.join(root, "etc", "container-init.d", "bad.service"), "w") as f:
        f.write("[Service]\nRestart=sometimes\nExecStart=/bin/true\n")
    r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "error: %s/etc/container-init.d/bad.service:2: [Service] Restart= 'sometimes' is not supported" % root in r.stderr


def test_explicit_dirs_and_pysix_check(tmp):
    d = os.path.join(tmp, "elsewhere")
    os.makedirs(d)
    with open(os.path.join(d, "a.service"), "w") as f:
        f.write("[Service]\nExecStart=/bin/true\nKillSignal=NOPE\n")
    root = tree(os.path.join(tmp, "r"))
    r = subprocess.run(["pysix-init", "--root", root, "--units", d, "--validate"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "a.service:3: [Service] KillSignal= unknown signal 'NOPE'" in r.stderr
    r = subprocess.run(["pysix-init", "--root", root, "--units", os.path.join(tmp, "nope"), "--validate"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 100
    os.makedirs(os.path.join(root, "etc", "container-init", "units"))
    os.rename(os.path.join(d, "a.service"), os.path.join(root, "etc", "container-init", "units", "a.service"))
    r = subprocess.run(["pysix-check", "--root", root], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "ERROR %s/etc/container-init/units/a.service:3: [Service] KillSignal= unknown signal" % root in r.stdout


def test_container_init_trace_shape_and_labelled_snapshot(tmp, procs):
    import json
    root, marks = unit_tree(tmp, {"app.service": "[Service]\nExecStart=/bin/sh -c 'echo app >> \"$MARKS\"; exec sleep 1000'\n"})
    trace = os.path.join(tmp, "trace.jsonl")
    p = boot(procs, root, marks, env={"CONTAINER_INIT_TRACE": "1", "CONTAINER_INIT_TRACE_FILE": trace,
                                      "CONTAINER_INIT_TRACE_LABELS": "app.service:app-up"})
    lines_of(marks, 1)
    wait_for(lambda: os.path.exists(trace) and '"snapshot"' in open(trace).read(), timeout=10, what="snapshot")
    assert stop(p)[0] == 0
    recs = [json.loads(ln) for ln in open(trace)]
    assert all("t_start_ms" in r and "dt_ms" in r and "phase" in r for r in recs)
    assert [r["t_start_ms"] for r in recs if r["pid"] == recs[0]["pid"]] == sorted(
        r["t_start_ms"] for r in recs if r["pid"] == recs[0]["pid"])
    snap = [r for r in recs if r["kind"] == "snapshot"]
    assert len(snap) == 1 and snap[0]["label"] == "app-up" and snap[0]["name"] == "app"
    assert snap[0]["mem_snapshot"]["pss_kib"] > 0 and snap[0]["mem_snapshot"]["processes"] >= 3
    phases = [r["phase"] for r in recs if r["kind"] == "phase"]
    assert "stop-services" in phases
    assert any(r["kind"] == "unit" and r["unit"] == "app.service" for r in recs)
