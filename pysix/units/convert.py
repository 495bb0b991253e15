"""A loaded `Unit` -> the files of a pysix service directory.

`service_files()` is pure: file name -> (bytes, mode). The service dir then
behaves like any other (pysix-svc, pysix-svstat, the s6 tools, logging):

| directive | file |
| --- | --- |
| ExecStart=, ExecStartPre=, Environment=, EnvironmentFile=, PIDFile= | `run` (execs pysix-unit-exec) + `unit.json` |
| User=, Group=, WorkingDirectory= | `user`, `group`, `working-directory` (and in `unit.json`) |
| Requires=, After= (of units that exist) | `dependencies` |
| Requires= | `requires` (stopped, failed, when one of them fails) |
| Type=oneshot | `type` |
| Type=forking | `notification-fd` (the helper says ready once the daemon is found) |
| OnFailure= | `on-failure` |
| StartLimitBurst=, StartLimitIntervalSec= | `restart-limit` (BURST - 1: failed at the BURST-th death) |
| Restart=, RestartSec= | `restart`, `restart-delay` (ms) |
| KillSignal= | `down-signal` |
| TimeoutStopSec= | `timeout-kill` (ms) |
| TimeoutStartSec= | `timeout-ready` (ms) |
| ExitContainerOnFailure= | `exit-container-on-failure` |
| Condition*= | `conditions` (evaluated at boot: unmet -> `down`) |
| KillMode= | `kill-mode` |
| a `.socket` unit for it | `socket` (pysix/sockets/unit.py) |
"""
import json
import os

from ..execspec import SPEC_FILE
from ..signames import signal_name
from .values import ms
from .model import Unit, service_name
from .quoting import quote

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Collection, Dict, List, Optional, Tuple

NOTIFY_FD = 3


def spec(u: "Unit", passwd: str = "/etc/passwd", group_file: str = "/etc/group") -> dict:
    """What pysix-unit-exec needs, as JSON-able data."""
    def cmds(cs) -> "List[dict]":
        return [{"argv": c.argv, "ignore_failure": c.ignore_failure, "arg0": c.arg0} for c in cs]
    return {
        "unit": u.name, "type": u.type,
        "exec_start_pre": cmds(u.exec_start_pre), "exec_start": cmds(u.exec_start),
        "environment": [list(kv) for kv in u.environment],
        "environment_files": [list(pf) for pf in u.environment_files],
        "user": u.user, "group": u.group, "working_directory": u.working_directory,
        "pid_file": u.pid_file, "notify_fd": NOTIFY_FD if u.type == "forking" else None,
        "timeout_start": None if u.timeout_start in (None, float("inf")) else u.timeout_start,
        "passwd": passwd, "group_file": group_file,
    }


def service_files(u: "Unit", helper: "List[str]", known: "Collection[str]" = (),
                  passwd: str = "/etc/passwd", group_file: str = "/etc/group") -> "Dict[str, Tuple[bytes, int]]":
    """`known`: service names that exist in the scan dir (After= of others is ordering only)."""
    files: Dict[str, Tuple[bytes, int]] = {}

    def put(name: str, text: str, mode: int = 0o644) -> None:
        files[name] = (text.encode("utf-8", "surrogateescape"), mode)

    comment = u.path + (": " + u.description if u.description else "")
    head = "#!/bin/sh\n# %s\n" % comment.replace("\n", " ")
    put("run", head + (direct_script(u) or "exec %s --spec %s\n" % (" ".join(quote(a) for a in helper), SPEC_FILE)),
        0o755)
    put(SPEC_FILE, json.dumps(spec(u, passwd, group_file), indent=1, sort_keys=True) + "\n")
    deps = []
    for r in u.requires + u.after:
        s = service_name(r)
        if (r in u.requires or s in known) and s not in deps:
            deps.append(s)
    if deps:
        put("dependencies", "".join(d + "\n" for d in deps))
    required = []
    for r in u.requires:
        if service_name(r) not in required:
            required.append(service_name(r))
    if required:
        put("requires", "".join(d + "\n" for d in required))
    if u.type == "oneshot":
        put("type", "oneshot\n")
    if u.type == "forking":
        put("notification-fd", "%d\n" % NOTIFY_FD)
    if u.on_failure:
        put("on-failure", service_name(u.on_failure[0]) + "\n")
    if u.start_limit:
        # systemd refuses the start after BURST starts (BURST deaths); pysix fails a
        # service after more than N deaths.
        put("restart-limit", "%d %s\n" % (u.start_limit[0] - 1, _secs(u.start_limit[1])))
    put("restart", u.restart + "\n")
    if u.restart_sec is not None:
        put("restart-delay", "%d\n" % ms(u.restart_sec))
    if u.kill_signal:
        put("down-signal", signal_name(u.kill_signal) + "\n")
    if u.timeout_stop is not None:
        put("timeout-kill", "%d\n" % ms(u.timeout_stop))
    if u.timeout_start is not None:
        put("timeout-ready", "%d\n" % ms(u.timeout_start))
    if u.exit_container_on_failure:
        put("exit-container-on-failure", "")
    for name, value in (("user", u.user), ("group", u.group), ("working-directory", u.working_directory)):
        if value:
            put(name, value + "\n")
    if u.kill_mode:
        put("kill-mode", u.kill_mode + "\n")
    if u.conditions:
        put("conditions", "".join(c.text() + "\n" for c in u.conditions))
    return files


def direct_script(u: "Unit") -> "Optional[str]":
    """The body of a `run` that needs no helper, or None.

    A unit that only sets Environment=, an absolute WorkingDirectory= and
    runs commands (no user, group, env file, forking, `@`, trailing `-`)
    is run by sh alone: starting the helper is a Python interpreter per
    service (about 2x the boot time of a 20-unit tree on a small machine)."""
    if u.user or u.group or u.environment_files or u.type == "forking" or not u.exec_start:
        return None
    wd = u.working_directory
    if wd and not wd.lstrip("-").startswith("/"):
        return None
    cmds = u.exec_start_pre + u.exec_start
    if any(c.arg0 for c in cmds) or u.exec_start[-1].ignore_failure:
        return None
    lines = ["export %s=%s\n" % (k, quote(v)) for k, v in u.environment]
    if wd:
        lines.append("cd %s 2>/dev/null || :\n" % quote(wd[1:]) if wd.startswith("-")
                     else "cd %s || exit 111\n" % quote(wd))
    for c in cmds[:-1]:
        words = " ".join(quote(a) for a in c.argv)
        lines.append("%s || :\n" % words if c.ignore_failure else "%s || exit $?\n" % words)
    lines.append("exec %s\n" % " ".join(quote(a) for a in cmds[-1].argv))
    return "".join(lines)


def _secs(s: float) -> str:
    return str(int(s)) if s == int(s) else repr(round(s, 3))


def write_service(scandir: str, u: "Unit", files: "Dict[str, Tuple[bytes, int]]") -> str:
    """Create scandir/SERVICE with `files`; returns its path."""
    sd = os.path.join(scandir, u.service)
    os.makedirs(sd, exist_ok=True)
    for name, (data, mode) in files.items():
        fd = os.open(os.path.join(sd, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    return sd
