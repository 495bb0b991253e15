"""Directives -> Unit -> service-dir files; loading, drop-ins, conditions; restart policy; exec wrapper (pure or temp dirs)."""
import json
import os
import signal

import pytest

from pysix import execspec, restartpolicy
from pysix.units import load, service_files
from pysix.units.boot import apply_conditions
from pysix.units.conditions import parse_condition, parse_lines, unmet
from pysix.units.envfile import parse as parse_envfile
from pysix.units.passwd import resolve

HELPER = ["/py", "/bin/pysix-unit-exec"]


def units(tmp, files, sub="units"):
    d = os.path.join(tmp, sub)
    os.makedirs(d, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


def files_of(u, known=()):
    return {k: v[0].decode() for k, v in service_files(u, HELPER, known).items()}


APP = """[Unit]
Description=The background app
After=session-init.service
Requires=session-init.service
OnFailure=alert.service
StartLimitBurst=5
StartLimitIntervalSec=60s

[Service]
User=${APP_USER:-app}
Group=staff
WorkingDirectory=${APP_HOME:-/home/app}
Environment="GREETING=hello world" MODE=${MODE:-prod}
EnvironmentFile=-/etc/app.env
ExecStartPre=-/bin/mkdir -p /tmp/x
ExecStart=/usr/bin/app --greet "${GREETING}" --mode ${MODE}
Restart=on-failure
RestartSec=2s
TimeoutStopSec=5s
TimeoutStartSec=1min
KillSignal=SIGINT
ExitContainerOnFailure=true

[Install]
WantedBy=multi-user.target
"""
ONESHOT = "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStart=-/bin/false\n"


def test_app_unit_maps_every_directive(tmp):
    d = units(tmp, {"app.service": APP, "session-init.service": ONESHOT + "[Unit]\nRequires=setup\n",
                    "setup.service": ONESHOT, "alert.service": ONESHOT})
    us = load(d, None, env={"APP_HOME": "/srv/app"})
    assert us.ok(strict=True), us.errors + us.warnings
    u = us["app.service"]
    assert (u.user, u.group, u.working_directory) == ("app", "staff", "/srv/app")
    assert u.environment == [("GREETING", "hello world"), ("MODE", "prod")]
    assert u.exec_start[0].argv == ["/usr/bin/app", "--greet", "hello world", "--mode", "prod"]
    assert us["session-init.service"].requires == ["setup.service"]
    f = files_of(u, known={"session-init", "setup", "alert"})
    assert f["dependencies"] == "session-init\n"
    assert f["on-failure"] == "alert\n"
    assert f["restart-limit"] == "4 60\n"
    assert f["restart"] == "on-failure\n" and f["restart-delay"] == "2000\n"
    assert f["down-signal"] == "SIGINT\n"
    assert f["timeout-kill"] == "5000\n" and f["timeout-ready"] == "60000\n"
    assert f["exit-container-on-failure"] == ""
    assert f["user"] == "app\n" and f["group"] == "staff\n" and f["working-directory"] == "/srv/app\n"
    assert f["run"].startswith("#!/bin/sh\n") and "exec /py /bin/pysix-unit-exec --spec unit.json" in f["run"]
    spec = json.loads(f["unit.json"])
    assert spec["exec_start_pre"] == [{"argv": ["/bin/mkdir", "-p", "/tmp/x"], "ignore_failure": True, "arg0": None}]
    assert spec["environment_files"] == [["/etc/app.env", True]]
    assert service_files(u, HELPER)["run"][1] == 0o755


def test_oneshot_and_defaults(tmp):
    d = units(tmp, {"setup.service": ONESHOT})
    u = load(d, None, env={})["setup.service"]
    assert u.type == "oneshot" and u.remain_after_exit and len(u.exec_start) == 2
    f = files_of(u)
    assert f["type"] == "oneshot\n" and f["restart"] == "no\n"   # systemd's default is Restart=no
    for absent in ("dependencies", "restart-delay", "restart-limit", "down-signal", "user", "conditions"):
        assert absent not in f


def test_forking_asks_for_readiness(tmp):
    d = units(tmp, {"d.service": "[Service]\nType=forking\nPIDFile=/run/d.pid\nExecStart=/usr/sbin/d\n"})
    f = files_of(load(d, None, env={})["d.service"])
    assert f["notification-fd"] == "3\n" and json.loads(f["unit.json"])["pid_file"] == "/run/d.pid"


def test_start_limit_defaults_and_off(tmp):
    d = units(tmp, {"a.service": "[Unit]\nStartLimitBurst=3\n[Service]\nExecStart=/bin/true\n",
                    "b.service": "[Service]\nStartLimitIntervalSec=0\nExecStart=/bin/true\n"})
    us = load(d, None, env={})
    assert us["a.service"].start_limit == (3, 10.0) and us["b.service"].start_limit is None


@pytest.mark.parametrize("text,where", [
    ("[Service]\nType=notify\nExecStart=/bin/true\n", "[Service] Type="),
    ("[Service]\nExecStart=/bin/echo 'open\n", "[Service] ExecStart="),
    ("[Service]\nRestart=sometimes\nExecStart=/bin/true\n", "[Service] Restart="),
    ("[Service]\nRestartSec=soon\nExecStart=/bin/true\n", "[Service] RestartSec="),
    ("[Service]\nKillSignal=SIGNOPE\nExecStart=/bin/true\n", "[Service] KillSignal="),
    ("[Service]\nWorkingDirectory=rel\nExecStart=/bin/true\n", "[Service] WorkingDirectory="),
    ("[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n", "[Service] ExecStart="),
    ("[Service]\nUser=x\n", "[Service] ExecStart="),
    ("[Unit]\nConditionPathExists=relative\n[Service]\nExecStart=/bin/true\n", "[Unit] ConditionPathExists="),
    ("[Unit]\nRequires=ghost.service\n[Service]\nExecStart=/bin/true\n", "[Unit] Requires=ghost.service"),
])
def test_bad_values_are_one_line_naming_file_section_directive(tmp, text, where):
    d = units(tmp, {"bad.service": text})
    us = load(d, None, env={})
    assert "bad.service" not in us.units
    assert len(us.errors) == 1 and where in us.errors[0] and os.path.join(d, "bad.service") in us.errors[0], us.errors


def test_cycle_is_an_error(tmp):
    d = units(tmp, {"a.service": "[Unit]\nRequires=b\n[Service]\nExecStart=/bin/true\n",
                    "b.service": "[Unit]\nAfter=a.service\n[Service]\nExecStart=/bin/true\n"})
    us = load(d, None, env={})
    assert not us.units and "dependency cycle" in us.errors[0]


def test_after_unknown_is_ordering_only(tmp):
    d = units(tmp, {"a.service": "[Unit]\nAfter=network.target ghost.service\n[Service]\nExecStart=/bin/true\n"})
    us = load(d, None, env={})
    assert "a.service" in us.units and len(us.warnings) == 1 and "After=ghost.service" in us.warnings[0]
    assert "dependencies" not in files_of(us["a.service"])


def test_dropin_replaces_core_and_adds_with_cross_references(tmp, monkeypatch):
    core = units(tmp, {"web.service": "[Service]\nExecStart=/bin/core\n",
                       "db.service": "[Service]\nExecStart=/bin/db\n"})
    drop = units(tmp, {"web.service": "[Unit]\nRequires=db.service\n[Service]\nExecStart=/bin/dropin\n",
                       "extra.service": "[Unit]\nAfter=web.service\nRequires=web.service\n[Service]\nExecStart=/bin/x\n"},
                 sub="dropin")
    traced = []
    monkeypatch.setattr("pysix.units.loader.trace", lambda kind, **f: traced.append((kind, f)))
    lines = []
    us = load(core, drop, env={}, log=lines.append)
    assert sorted(us.units) == ["db.service", "extra.service", "web.service"]
    assert us["web.service"].exec_start[0].argv == ["/bin/dropin"]
    assert lines == ["drop-in override: web.service replaces %s/web.service with %s/web.service" % (core, drop)]
    assert traced == [("unit_overridden", {"unit": "web.service", "core": core + "/web.service",
                                           "dropin": drop + "/web.service"})]
    assert us.overrides == [("web.service", core + "/web.service", drop + "/web.service")]


def test_socket_unit_without_its_service_is_a_warning_not_a_crash(tmp):
    d = units(tmp, {"web.socket": "[Socket]\nListenStream=80\n", "a.service": "[Service]\nExecStart=/bin/true\n"})
    us = load(d, None, env={})
    assert "a.service" in us.units and us.ok() and not us.ok(strict=True)
    assert "Service=web.service: no such unit or service dir: socket unit ignored" in us.warnings[0]


def test_references_to_services_d_dirs(tmp):
    d = units(tmp, {"a.service": "[Unit]\nRequires=legacy.service\n[Service]\nExecStart=/bin/true\n"})
    assert not load(d, None, env={}).ok()
    us = load(d, None, env={}, extra=["legacy"])
    assert us.ok() and files_of(us["a.service"], {"legacy"})["dependencies"] == "legacy\n"


# conditions -------------------------------------------------------------------
def test_each_condition_and_negation(tmp):
    os.makedirs(os.path.join(tmp, "etc"))
    open(os.path.join(tmp, "etc", "app.conf"), "w").close()

    def c(kind, v):
        return parse_condition(kind, v)[0]
    env = {"MODE": "dev", "EMPTY": ""}
    assert unmet([c("ConditionPathExists", "/etc/app.conf")], tmp, env) is None
    assert "not met" in unmet([c("ConditionPathExists", "!/etc/app.conf")], tmp, env)
    assert unmet([c("ConditionPathExists", "!/etc/missing")], tmp, env) is None
    assert unmet([c("ConditionPathExistsGlob", "/etc/*.conf")], tmp, env) is None
    assert unmet([c("ConditionPathExistsGlob", "/etc/*.yaml")], tmp, env)
    assert unmet([c("ConditionEnvironment", "MODE=dev")], tmp, env) is None
    assert unmet([c("ConditionEnvironment", "MODE=prod")], tmp, env)
    assert unmet([c("ConditionEnvironment", "EMPTY")], tmp, env) is None
    assert unmet([c("ConditionEnvironment", "!NOPE")], tmp, env) is None
    assert unmet([c("ConditionEnvironment", "!MODE")], tmp, env) == "ConditionEnvironment=!MODE not met"
    # `|`: triggering conditions, at least one must hold
    assert unmet([c("ConditionEnvironment", "|MODE=prod"), c("ConditionEnvironment", "|MODE=dev")], tmp, env) is None
    assert "none of the triggering" in unmet([c("ConditionEnvironment", "|MODE=prod")], tmp, env)


def test_conditions_file_and_boot_pass(tmp):
    scan = os.path.join(tmp, "scan")
    for name, conds, deps in (("skipme", "ConditionEnvironment=WANTED\n", ""), ("runme", "ConditionPathExists=/\n", ""),
                              ("dependent", "", "skipme\nrunme\n")):
        os.makedirs(os.path.join(scan, name))
        if conds:
            open(os.path.join(scan, name, "conditions"), "w").write(conds)
        if deps:
            open(os.path.join(scan, name, "dependencies"), "w").write(deps)
    lines = []
    assert apply_conditions(tmp, scan, {}, lines.append) == ["skipme"]
    assert lines == ["skipme: not started: ConditionEnvironment=WANTED not met"]
    assert os.path.exists(os.path.join(scan, "skipme", "down"))
    assert not os.path.exists(os.path.join(scan, "runme", "down"))
    assert open(os.path.join(scan, "dependent", "dependencies")).read() == "runme\n"
    assert parse_lines("# c\nConditionPathExists=x\n", "f")[1] == ["f:2: ConditionPathExists: path 'x' is not absolute"]


# restart policy, exec wrapper, passwd, env files -------------------------------------
def test_restart_policy():
    assert restartpolicy.parse_restart(b"on-failure\n") == "on-failure"
    assert restartpolicy.parse_restart(b"sometimes") is None
    assert restartpolicy.parse_restart_delay(b"2000\n") == 2000
    assert restartpolicy.parse_restart_delay(b"-1") is None and restartpolicy.parse_restart_delay(b"2s") is None
    sr = restartpolicy.should_restart
    assert sr("always", 0, None) and sr("always", None, signal.SIGTERM)
    assert not sr("no", 1, None) and not sr("no", None, signal.SIGKILL)
    assert sr("on-failure", 3, None) and not sr("on-failure", 0, None)
    assert sr("on-failure", None, signal.SIGKILL) and sr("on-failure", None, signal.SIGSEGV)
    for clean in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        assert not sr("on-failure", None, clean)
    assert restartpolicy.delay(2000) == 2.0 and restartpolicy.delay(None, 1.0) == 1.0


def test_exec_wrapper(tmp):
    sd = os.path.join(tmp, "sd")
    os.makedirs(sd)
    assert execspec.exec_wrapper(sd) is None
    open(os.path.join(sd, "user"), "w").write("app\n")
    w = execspec.exec_wrapper(sd)
    assert w[-3:] == ["--service-dir", sd, "--"] and w[1] == "-S" and "pysix.cli.unitexec" in w[3]
    open(os.path.join(sd, "unit.json"), "w").write("{}")
    assert execspec.exec_wrapper(sd) is None   # a unit's run already goes through the helper


def test_passwd_resolution():
    pw = "root:x:0:0::/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/bash\n"
    gr = "app:x:1000:\nstaff:x:50:\nextra:x:60:bob,app\n"
    ids, why = resolve("app", "", pw, gr)
    assert (ids.uid, ids.gid, ids.groups, ids.home) == (1000, 1000, [1000, 60], "/home/app")
    ids, _ = resolve("app", "staff", pw, gr)
    assert ids.gid == 50 and ids.groups == [50, 60]
    assert resolve("4242", "", pw, gr)[0].uid == 4242
    assert resolve("ghost", "", pw, gr) == (None, "unknown user ghost (not in /etc/passwd)")
    assert resolve("app", "nogroup", pw, gr)[1] == "unknown group nogroup (not in /etc/group)"


def test_environment_file_syntax():
    pairs, bad = parse_envfile('# c\n; c\nA=1\n export B = two words \nC="q \\"x\\""\nD=\'$lit\'\nE=a\\\nb\nnope\n', "f")
    assert pairs == [("A", "1"), ("B", "two words"), ("C", 'q "x"'), ("D", "$lit"), ("E", "ab")]
    assert bad == ["f:9: not NAME=VALUE, ignored"]


def test_units_without_exec_context_run_through_sh_alone(tmp):
    """No user, group, env file, forking: `run` is a plain sh script (no
    interpreter per service), with the same env, directory and order."""
    import subprocess
    out = os.path.join(tmp, "out")
    d = units(tmp, {"o.service": "[Service]\nType=oneshot\nEnvironment=\"A=it's a b\" B=${X:-dflt}\n"
                                 "WorkingDirectory=%s\nExecStartPre=-/bin/false\n"
                                 "ExecStartPre=/bin/sh -c 'echo pre \"$A\" $B $(pwd) >> %s'\n"
                                 "ExecStart=/bin/sh -c 'echo one >> %s'\nExecStart=/bin/sh -c 'echo two >> %s; exit 3'\n"
                                 % (tmp, out, out, out),
                    "u.service": "[Service]\nUser=x\nExecStart=/bin/true\n"})
    us = load(d, None, env={})
    run = files_of(us["o.service"])["run"]
    assert "pysix-unit-exec" not in run and run.startswith("#!/bin/sh\n")
    assert "pysix-unit-exec" in files_of(us["u.service"])["run"]
    r = subprocess.run(["sh", "-c", run], cwd="/", timeout=10)
    assert r.returncode == 3
    assert open(out).read() == "pre it's a b dflt %s\none\ntwo\n" % tmp


def test_install_beside_services_d_name_clash_and_templates(tmp):
    from pysix.units.boot import install
    scan = os.path.join(tmp, "scan")
    os.makedirs(os.path.join(scan, "web"))
    d = units(tmp, {"web.service": "[Service]\nExecStart=/bin/true\n",
                    "api.service": "[Unit]\nDescription=The API\nRequires=web.service\n[Service]\nExecStart=/bin/true\n",
                    "tpl@.service": "[Service]\nExecStart=/bin/true\n"})
    lines = []
    install(tmp, scan, d, None, lines.append, env={})
    assert any("services.d already has a service named web" in ln for ln in lines)
    assert any("template units" in ln for ln in lines)
    assert not os.path.exists(os.path.join(scan, "web", "run"))
    run = os.path.join(scan, "api", "run")
    assert os.access(run, os.X_OK) and open(run).read().splitlines()[1] == "# %s/api.service: The API" % d
    assert open(os.path.join(scan, "api", "dependencies")).read() == "web\n"   # Requires= a services.d dir
